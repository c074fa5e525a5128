"""The model registry: versions, the ``challenger`` / ``champion`` aliases and the promotion
gate, and loading a task's champion bundle back (with a feature fingerprint check)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from journeyml.errors import FingerprintMismatchError, ModelIntegrityError, ModelNotFoundError
from journeyml.modeling import ModelBundle

CHAMPION = "champion"
CHALLENGER = "challenger"
HIGHER_IS_BETTER = {"roc_auc": True, "accuracy": True, "log_loss": False, "brier": False}


def model_name(task: str) -> str:
    """``next_stage`` → ``journeyml-next-stage``."""
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


def register(model_uri: str, task: str, run_id: str) -> str:
    """Register a new version and give it the ``challenger`` alias; return the version."""
    mv = mlflow.register_model(model_uri, model_name(task), tags={"run_id": run_id})
    MlflowClient().set_registered_model_alias(model_name(task), CHALLENGER, str(mv.version))
    return str(mv.version)


def champion_version(task: str) -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(model_name(task), CHAMPION).version)
    except MlflowException:
        return None


def decide(
    task: str,
    version: str,
    challenger_score: float,
    *,
    metric: str,
    margin: float,
    score_champion: Callable[[ModelBundle], float],
) -> GateDecision:
    """Promote if there is no champion, or if the challenger beats it by ``margin`` on
    ``metric`` — the champion scored on the same held-out window by ``score_champion``."""
    current = champion_version(task)
    if current is None:
        return GateDecision(
            task, version, True, metric, challenger_score, None, None, margin, "no champion yet"
        )
    try:
        champ = load_bundle(task, alias=CHAMPION)
    except FingerprintMismatchError as exc:
        return GateDecision(
            task,
            version,
            True,
            metric,
            challenger_score,
            None,
            current,
            margin,
            f"champion v{current} cannot be served by this code: {exc.message}",
        )
    champ_score = float(score_champion(champ))
    higher = HIGHER_IS_BETTER[metric]
    gain = challenger_score - champ_score if higher else champ_score - challenger_score
    promote = gain > margin
    reason = (
        f"challenger {metric} {challenger_score:.4f} vs champion {champ_score:.4f}: "
        f"gain {gain:+.4f} {'>' if promote else '<='} margin {margin}"
    )
    return GateDecision(
        task, version, promote, metric, challenger_score, champ_score, current, margin, reason
    )


def apply(decisions: list[GateDecision]) -> None:
    """Move ``champion`` for every promoted decision (called last, once all tasks succeeded)."""
    client = MlflowClient()
    for d in decisions:
        if d.promote:
            client.set_registered_model_alias(model_name(d.task), CHAMPION, d.version)


def load_bundle(task: str, *, alias: str = CHAMPION, dst: Path | None = None) -> ModelBundle:
    """Download ``models:/journeyml-<task>@<alias>`` and load its bundle; the version it
    resolved to is recorded in ``bundle.info["registry_version"]`` (the alias is resolved once,
    so a promotion happening meanwhile cannot mix versions)."""
    uri = f"models:/{model_name(task)}@{alias}"
    with tempfile.TemporaryDirectory(prefix="journeyml-model-") as tmp:  # removed after loading
        try:
            version = str(
                MlflowClient().get_model_version_by_alias(model_name(task), alias).version
            )
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{model_name(task)}/{version}",
                dst_path=str(dst if dst is not None else tmp),
            )
        except MlflowException as exc:
            raise ModelNotFoundError(
                f"expected a registered model {uri}, got none ({exc.message}). "
                "Train one with `journeyml train` (or `make demo`)."
            ) from exc
        try:
            bundle = ModelBundle.load(Path(local))
        except ModelIntegrityError as exc:
            where = f"models:/{model_name(task)}/{version}"  # not the temporary download
            raise ModelIntegrityError(
                f"{model_name(task)} version {version} ({alias}): "
                + exc.message.replace(str(local).rstrip("/"), where),
                field=(exc.field or "").replace(str(local).rstrip("/"), where) or None,
            ) from exc
    bundle.info["registry_version"] = version
    bundle.info["registry_alias"] = alias
    return bundle
