"""What ``journeyml models`` does with the registry: list the projects' models and their
aliases, promote a version by hand, roll the champion back, and adopt the models of a store
from before projects (``journeyml-conversion``...) into a project without losing a champion.

Promotion and rollback keep the champion history (a tag of the registered model), so a
rollback goes back to the version that was champion before, not to version n - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from journeyml.errors import ConfigError, ModelNotFoundError
from journeyml.lifecycle import registry
from journeyml.tasks import LEGACY_TASKS, check_name


@dataclass(frozen=True)
class ModelRow:
    """One registered model of a project: its versions and which carry an alias."""

    project: str
    task: str
    name: str
    versions: int
    latest: str | None
    champion: str | None
    challenger: str | None
    history: tuple[str, ...]


def list_models(project: str | None = None) -> list[ModelRow]:
    """Every project's models (or one project's), sorted by project then task."""
    rows: list[ModelRow] = []
    client = MlflowClient()
    for m in registry.registered_models():
        proj, task = m.tags.get(registry.PROJECT_TAG), m.tags.get(registry.TASK_TAG)
        if proj is None or task is None or (project is not None and proj != project):
            continue
        versions = [str(v.version) for v in client.search_model_versions(f"name = '{m.name}'")]
        aliases = dict(m.aliases or {})
        raw = str(m.tags.get(registry.HISTORY_TAG, ""))
        rows.append(
            ModelRow(
                str(proj),
                str(task),
                m.name,
                len(versions),
                max(versions, key=int) if versions else None,
                _str(aliases.get(registry.CHAMPION)),
                _str(aliases.get(registry.CHALLENGER)),
                tuple(v for v in raw.split(",") if v),
            )
        )
    return sorted(rows, key=lambda r: (r.project, r.task))


def _str(v: object) -> str | None:
    return None if v is None else str(v)


def _existing(project: str, task: str) -> str:
    check_name(project, what="project", field="project")
    name = registry.model_name(project, task)
    try:
        MlflowClient().get_registered_model(name)
    except MlflowException as exc:
        tasks = sorted(registry.project_models(project))
        raise ModelNotFoundError(
            f"expected a registered model for task {task!r} of project {project!r} ({name}), "
            f"got none; the project's tasks: {tasks or 'none'}. `journeyml models list` shows "
            "the store.",
            field="task",
        ) from exc
    return name


def promote(project: str, task: str, version: str | None = None) -> tuple[str | None, str]:
    """Make ``version`` (default: the ``challenger``) the champion, by hand (no gate);
    returns (previous champion, new champion)."""
    name = _existing(project, task)
    client = MlflowClient()
    if version is None:
        version = registry.alias_version(project, task, registry.CHALLENGER)
        if version is None:
            raise ModelNotFoundError(
                f"expected a challenger of {name} to promote, got none. Give --version.",
                field="version",
            )
    try:
        client.get_model_version(name, version)
    except MlflowException as exc:
        raise ModelNotFoundError(
            f"expected version {version} of {name}, got none. `journeyml models list "
            f"--project {project}` shows its versions.",
            field="version",
        ) from exc
    before = registry.champion_version(project, task)
    registry.set_champion(project, task, version)
    return before, version


def rollback(project: str, task: str) -> tuple[str, str]:
    """The champion goes back to the version that was champion before it; returns (from, to).
    The history is shortened, so rolling back again goes one further back."""
    name = _existing(project, task)
    current = registry.champion_version(project, task)
    history = registry.champion_history(project, task)
    if current is None:
        raise ModelNotFoundError(f"expected a champion of {name} to roll back, got none.")
    # the history ends with the current champion (unless it was moved outside journeyml)
    if history and history[-1] == current:
        history = history[:-1]
    if not history:
        raise ConfigError(
            f"expected an earlier champion of {name} to go back to, got none: v{current} is the "
            f"first. Promote another version with `journeyml models promote --project {project} "
            f"--task {task} --version N`.",
            field="task",
        )
    previous = history[-1]
    registry.set_champion(project, task, previous, history=history)
    return current, previous


@dataclass(frozen=True)
class Adopted:
    legacy: str
    name: str
    #: legacy version → the new version
    versions: dict[str, str]
    champion: str | None
    challenger: str | None


def adopt_legacy(project: str = registry.DEFAULT_PROJECT) -> list[Adopted]:
    """Copy every version of the models named before projects (``journeyml-conversion``,
    ``journeyml-churn``, ``journeyml-next-stage``) into ``project``, in order, with their
    champion and challenger aliases; the old models stay, tagged as adopted. A project that
    already has a model for the task is left alone (an error says so)."""
    check_name(project, what="project", field="project")
    client = MlflowClient()
    by_name = {m.name: m for m in registry.legacy_models()}
    out: list[Adopted] = []
    for task in LEGACY_TASKS:
        old = by_name.get(registry.legacy_model_name(task))
        if old is None:
            continue
        new = registry.model_name(project, task)
        if task in registry.project_models(project):
            raise ConfigError(
                f"expected project {project!r} to have no {task} model yet, got {new}: adopting "
                f"{old.name} would mix their versions. Adopt into another project "
                "(--project NAME).",
                field="project",
            )
        mvs = sorted(
            client.search_model_versions(f"name = '{old.name}'"), key=lambda v: int(v.version)
        )
        client.create_registered_model(
            new, tags={registry.PROJECT_TAG: project, registry.TASK_TAG: task}
        )
        mapping: dict[str, str] = {}
        for mv in mvs:  # in order: the new numbers keep the old order
            tags = {**dict(mv.tags or {}), "journeyml.adopted_from": f"{old.name}/{mv.version}"}
            nv = client.create_model_version(
                new, str(mv.source), run_id=mv.run_id, tags=tags, description=mv.description
            )
            mapping[str(mv.version)] = str(nv.version)
        aliases = dict(old.aliases or {})
        champ = aliases.get(registry.CHAMPION)
        chall = aliases.get(registry.CHALLENGER)
        if chall is not None:
            client.set_registered_model_alias(new, registry.CHALLENGER, mapping[str(chall)])
        if champ is not None:
            registry.set_champion(project, task, mapping[str(champ)])
        client.set_registered_model_tag(old.name, "journeyml.adopted_into", new)
        out.append(
            Adopted(
                old.name,
                new,
                mapping,
                None if champ is None else mapping[str(champ)],
                None if chall is None else mapping[str(chall)],
            )
        )
    return out
