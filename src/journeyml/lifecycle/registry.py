"""The model registry: one registered model per project and task (``journeyml-<project>-<task>``),
its versions, the ``challenger`` / ``champion`` aliases and the promotion gate, and loading a
task's champion bundle back (with a feature fingerprint check).

Project and task names are ``[a-z][a-z0-9_]*`` (no ``-``), so a name reads back unambiguously;
every registered model also carries its project and task as tags, which is what listing reads.

>>> model_name("demo", "next_stage")
'journeyml-demo-next_stage'
>>> legacy_model_name("next_stage")
'journeyml-next-stage'
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import RegisteredModel
from mlflow.exceptions import MlflowException
from mlflow.utils import logging_utils

from journeyml.errors import (
    ConfigError,
    FingerprintMismatchError,
    ModelIntegrityError,
    ModelNotFoundError,
)
from journeyml.lifecycle.gate import HIGHER_IS_BETTER, BaselineComparison
from journeyml.modeling import ModelBundle
from journeyml.tasks import LEGACY_TASKS, check_name

CHAMPION = "champion"
CHALLENGER = "challenger"
#: the project a store's single set of models belonged to before projects existed
DEFAULT_PROJECT = "demo"
PROJECT_TAG = "journeyml.project"
TASK_TAG = "journeyml.task"
#: the versions that were champion, oldest first (comma-separated): what rollback goes back to
HISTORY_TAG = "journeyml.champion_history"
MAX_HISTORY = 200


def model_name(project: str, task: str) -> str:
    """The registered model of ``task`` in ``project``."""
    return f"journeyml-{project}-{task}"


def legacy_model_name(task: str) -> str:
    """The name a task's model had before projects (one set of models per store)."""
    return f"journeyml-{task.replace('_', '-')}"


@dataclass(frozen=True)
class GateDecision:
    task: str
    version: str
    promote: bool
    metric: str
    challenger_score: float
    champion_score: float | None
    champion_version: str | None
    margin: float
    reason: str
    project: str = DEFAULT_PROJECT
    #: the comparisons that failed: "baseline" and/or "champion" (empty when promoted)
    failed: tuple[str, ...] = ()
    #: the challenger against the best baseline, per checked metric
    baselines: tuple[BaselineComparison, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["baselines"] = [b.to_dict() for b in self.baselines]
        out["failed"] = list(self.failed)
        return out


# --- what the store holds -----------------------------------------------------------------
def registered_models() -> list[RegisteredModel]:
    """Every registered model of the store (all pages)."""
    client = MlflowClient()
    out: list[RegisteredModel] = []
    token: str | None = None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def list_projects() -> list[str]:
    """The projects with at least one registered model, sorted."""
    return sorted({str(m.tags[PROJECT_TAG]) for m in registered_models() if PROJECT_TAG in m.tags})


def project_models(project: str) -> dict[str, RegisteredModel]:
    """task → registered model, for the models of ``project``."""
    return {
        str(m.tags.get(TASK_TAG)): m
        for m in registered_models()
        if m.tags.get(PROJECT_TAG) == project and TASK_TAG in m.tags
    }


def project_tasks(project: str, *, alias: str = CHAMPION) -> list[str]:
    """The tasks of ``project`` that have a version with ``alias``."""
    return [t for t, m in project_models(project).items() if alias in (m.aliases or {})]


def legacy_models() -> list[RegisteredModel]:
    """Models named as before projects (``journeyml-conversion``...) not yet adopted."""
    names = {legacy_model_name(t) for t in LEGACY_TASKS}
    return [
        m
        for m in registered_models()
        if m.name in names and "journeyml.adopted_into" not in m.tags and PROJECT_TAG not in m.tags
    ]


def resolve_project(project: str | None) -> str:
    """``project`` if given (checked as a name); else ``demo`` if the store has it, else the
    store's only project; otherwise an error that lists the projects and how to choose."""
    if project is not None:
        return check_name(project, what="project", field="project")
    projects = list_projects()
    if DEFAULT_PROJECT in projects:
        return DEFAULT_PROJECT
    if len(projects) == 1:
        return projects[0]
    if projects:
        raise ConfigError(
            f"expected a project (--project or JOURNEYML_PROJECT), got none, and the store "
            f"holds several: {projects}. Choose one of them.",
            field="project",
        )
    legacy = legacy_models()
    if legacy:
        raise ModelNotFoundError(
            f"expected models of a project, got only models from before projects "
            f"({sorted(m.name for m in legacy)}). Adopt them into a project with "
            f"`journeyml models adopt-legacy --project {DEFAULT_PROJECT}`; their champions "
            "stay champions.",
            field="project",
        )
    raise ModelNotFoundError(
        "expected registered models, got none in this store. Train with `journeyml train "
        "<config>` (or `make demo`).",
        field="project",
    )


# --- versions and aliases ------------------------------------------------------------------
@contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """MLflow's own event lines ("Successfully registered model …", "Created version …")
    silenced: the caller says the same in its words. Failures still raise."""
    stream = logging_utils.MLFLOW_LOGGING_STREAM
    was = stream.enabled
    stream.enabled = False
    try:
        yield
    finally:
        stream.enabled = was


def register(model_uri: str, project: str, task: str, run_id: str) -> str:
    """Register a new version and give it the ``challenger`` alias; return the version."""
    name = model_name(project, task)
    with _quiet_mlflow():
        mv = mlflow.register_model(model_uri, name, tags={"run_id": run_id})
    client = MlflowClient()
    client.set_registered_model_tag(name, PROJECT_TAG, project)
    client.set_registered_model_tag(name, TASK_TAG, task)
    client.set_registered_model_alias(name, CHALLENGER, str(mv.version))
    return str(mv.version)


def alias_version(project: str, task: str, alias: str) -> str | None:
    try:
        return str(
            MlflowClient().get_model_version_by_alias(model_name(project, task), alias).version
        )
    except MlflowException:
        return None


def champion_version(project: str, task: str) -> str | None:
    return alias_version(project, task, CHAMPION)


def decide(
    project: str,
    task: str,
    version: str,
    challenger_score: float,
    *,
    metric: str,
    margin: float,
    score_champion: Callable[[ModelBundle], float],
    floor: Sequence[BaselineComparison] = (),
) -> GateDecision:
    """Promote only if the challenger is not below its task's best baselines (``floor``, see
    :func:`journeyml.lifecycle.gate.compare_baselines`) and there is no champion or the
    challenger beats it by ``margin`` on ``metric`` — the champion scored on the same held-out
    window by ``score_champion``. The reason names every failed comparison with both figures."""
    below = [c for c in floor if not c.passed]
    base_text = (
        "; ".join(f"challenger {c.text()}" for c in (below or floor))
        or "no baseline to compare with"
    )
    current = champion_version(project, task)
    champ_score: float | None = None
    if current is None:
        beats, champ_text = True, "no champion yet"
    else:
        try:
            champ = load_bundle(project, task, alias=CHAMPION)
        except FingerprintMismatchError as exc:
            beats = True
            champ_text = f"champion v{current} cannot be served by this code: {exc.message}"
        else:
            champ_score = float(score_champion(champ))
            higher = HIGHER_IS_BETTER[metric]
            gain = challenger_score - champ_score if higher else champ_score - challenger_score
            beats = gain > margin
            champ_text = (
                f"challenger {metric} {challenger_score:.4f} vs champion v{current} "
                f"{champ_score:.4f}: gain {gain:+.4f} {'>' if beats else '<='} margin {margin}"
            )
    failed = tuple(
        name for name, bad in (("baseline", bool(below)), ("champion", not beats)) if bad
    )
    if not failed:
        reason = champ_text if not floor else f"{champ_text}; {base_text}"
    else:
        parts = [f"below the best baseline: {base_text}"] if below else []
        parts += [f"not better than the champion: {champ_text}"] if not beats else []
        reason = "; ".join(parts)
    return GateDecision(
        task,
        version,
        not failed,
        metric,
        challenger_score,
        champ_score,
        current,
        margin,
        reason,
        project,
        failed,
        tuple(floor),
    )


def note_refusal(project: str, task: str, version: str, reason: str) -> None:
    """Record on a version the gate kept out why it stays challenger (a version tag)."""
    MlflowClient().set_model_version_tag(
        model_name(project, task), version, "journeyml.gate", reason[:4900]
    )


def apply(decisions: list[GateDecision]) -> None:
    """Move ``champion`` for every promoted decision (called last, once all tasks succeeded)."""
    for d in decisions:
        if d.promote:
            set_champion(d.project, d.task, d.version)


def champion_history(project: str, task: str) -> list[str]:
    """The versions that have been champion, oldest first (the model's history tag)."""
    m = MlflowClient().get_registered_model(model_name(project, task))
    raw = str(m.tags.get(HISTORY_TAG, ""))
    return [v for v in raw.split(",") if v]


def set_champion(
    project: str, task: str, version: str, *, history: list[str] | None = None
) -> None:
    """Give ``version`` the ``champion`` alias and append it to the champion history (or
    write ``history`` as given: rollback shortens it)."""
    name = model_name(project, task)
    client = MlflowClient()
    if history is None:
        history = [*champion_history(project, task), version]
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history[-MAX_HISTORY:]))


def artifact_location(name: str, version: str) -> str:
    """Where a model version's files are, surviving a moved project folder: an embedded store
    (``sqlite:///<folder>/mlflow.db``) records absolute artefact paths, so when the recorded
    one is gone the same path under the store's current ``artifacts`` folder is used; when
    that is missing too, the error says what moved."""
    client = MlflowClient()
    recorded = client.get_model_version_download_uri(name, version)
    if not recorded.startswith("file://"):
        return f"models:/{name}/{version}"
    path = Path(unquote(urlparse(recorded).path))
    if path.exists():
        return f"models:/{name}/{version}"
    tracking = mlflow.get_tracking_uri()
    mv = client.get_model_version(name, version)
    old_root = Path(
        unquote(
            urlparse(
                client.get_experiment(
                    client.get_run(str(mv.run_id)).info.experiment_id
                ).artifact_location
            ).path
        )
    )
    candidate = None
    if tracking.startswith("sqlite:///") and path.is_relative_to(old_root):
        new_root = Path(tracking[len("sqlite:///") :]).parent / "artifacts"
        candidate = new_root / path.relative_to(old_root)
        if candidate.exists():
            return candidate.as_uri()
    raise ModelNotFoundError(
        f"expected the files of {name} version {version} at {path}, where they were recorded "
        "when it was trained, got nothing there"
        + (f" nor at {candidate} (beside this store)" if candidate is not None else "")
        + f". The store ({tracking}) was moved or its artefacts folder {old_root} was: move "
        "the folder holding mlflow.db together with its artifacts/ folder, or retrain.",
        field="tracking_uri",
    )


def load_bundle(
    project: str, task: str, *, alias: str = CHAMPION, dst: Path | None = None
) -> ModelBundle:
    """Download ``models:/journeyml-<project>-<task>@<alias>`` and load its bundle; the version
    it resolved to is recorded in ``bundle.info["registry_version"]`` (the alias is resolved
    once, so a promotion happening meanwhile cannot mix versions). The download goes to a
    temporary folder removed after loading (or to ``dst``)."""
    name = model_name(project, task)
    uri = f"models:/{name}@{alias}"
    with tempfile.TemporaryDirectory(prefix="journeyml-model-") as tmp:
        try:
            version = str(MlflowClient().get_model_version_by_alias(name, alias).version)
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=artifact_location(name, version),
                dst_path=str(dst if dst is not None else tmp),
            )
        except MlflowException as exc:
            raise ModelNotFoundError(
                f"expected a registered model {uri} (project {project!r}, task {task!r}), got "
                f"none ({exc.message}). Train one with `journeyml train` (or `make demo`); "
                "`journeyml models list` shows what the store holds."
            ) from exc
        try:
            bundle = ModelBundle.load(Path(local))
        except ModelIntegrityError as exc:
            where = f"models:/{name}/{version}"  # not the temporary download
            raise ModelIntegrityError(
                f"{name} version {version} ({alias}): "
                + exc.message.replace(str(local).rstrip("/"), where),
                field=(exc.field or "").replace(str(local).rstrip("/"), where) or None,
            ) from exc
    bundle.info["registry_version"] = version
    bundle.info["registry_alias"] = alias
    bundle.info["project"] = project
    return bundle
