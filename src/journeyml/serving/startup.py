"""Start-up of the HTTP service, kept out of the BentoML shell so it is testable.

:func:`load_predictor`: the champions from the registry, or the bundled copies when the
registry cannot be reached; never a model whose features differ from this code's.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from journeyml.errors import (
    FingerprintMismatchError,
    JourneyMLError,
    ModelIntegrityError,
    ModelNotFoundError,
)
from journeyml.features import FEATURE_CODE_VERSION
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.serving.process import write_refusal
from journeyml.serving.settings import ServiceSettings

log = logging.getLogger("journeyml.serving")


#: the BentoML service class, as ``bentoml serve`` names it inside ``service/``
SERVICE_TARGET = "service:JourneyService"


def serve_command(service_dir: Path, host: str, port: int) -> list[str]:
    """The command that starts the journeyml service (``bentoml serve``) with this Python.

    >>> serve_command(Path("/repo/service"), "127.0.0.1", 3000)[2:5]
    ['bentoml', 'serve', 'service:JourneyService']
    """
    import sys

    return [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        SERVICE_TARGET,
        "--working-dir",
        str(service_dir.resolve()),
        "--host",
        host,
        "--port",
        str(port),
    ]


# --- start-up --------------------------------------------------------------------------------
def load_predictor(settings: ServiceSettings) -> tuple[Predictor, str]:
    """(predictor, where it came from). Falls back to ``settings.model_dir`` when the registry
    fails for any reason but a feature mismatch; a mismatch always refuses to start."""
    bundled = settings.model_dir
    if settings.tracking_uri:
        # fail fast on a dead tracking server instead of MLflow's minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.registry_timeout))
        try:
            pred = Predictor.from_registry(settings.tracking_uri, project=settings.project)
            source = f"registry {settings.tracking_uri}"
        except (FingerprintMismatchError, ModelIntegrityError):
            raise  # a wrong or damaged champion is never silently replaced
        except Exception as exc:  # unreachable, no champion, broken artifact...
            if bundled is None or not bundled.exists():
                raise ModelNotFoundError(
                    f"expected champions in the registry at {settings.tracking_uri}, got an error "
                    f"({type(exc).__name__}: {str(exc)[:300]}); and no bundled copies at "
                    f"{bundled}. Start the tracking server, or export copies with "
                    "`journeyml export-models --out DIR` and set JOURNEYML_MODEL_DIR."
                ) from exc
            log.warning(
                "registry %s unavailable (%s: %s); serving the bundled copies in %s",
                settings.tracking_uri,
                type(exc).__name__,
                str(exc)[:200],
                bundled,
            )
            pred, source = _bundled(bundled, settings.project), f"bundled {bundled}"
    elif bundled is not None:
        pred, source = _bundled(bundled, settings.project), f"bundled {bundled}"
    else:
        raise ModelNotFoundError(
            "expected JOURNEYML_TRACKING_URI or JOURNEYML_MODEL_DIR, got neither."
        )
    self_check(pred)
    return pred, source


def _bundled(folder: Path, project: str | None) -> Predictor:
    pred = Predictor.from_dir(folder)
    if project is not None and pred.project is not None and pred.project != project:
        raise ModelNotFoundError(
            f"expected bundled copies of project {project!r} in {folder}, got project "
            f"{pred.project!r}. Export that project's champions with `journeyml export-models "
            f"--project {project} --out {folder}`, or unset JOURNEYML_PROJECT."
        )
    return pred


def self_check(pred: Predictor) -> None:
    """Refuse models the feature code cannot feed: another feature code version, another
    number of columns, or features this code does not build."""
    for t, b in pred.bundles.items():
        if b.spec.code_version != FEATURE_CODE_VERSION:
            raise FingerprintMismatchError(
                f"expected the {t} model to be built for feature code version "
                f"{FEATURE_CODE_VERSION}, got {b.spec.code_version!r}. Retrain and promote it."
            )
        n_model, n_spec = b.booster.num_feature(), len(b.spec.features)
        if n_model != n_spec:
            raise FingerprintMismatchError(
                f"expected the {t} model to take the {n_spec} features of its spec "
                f"(fingerprint {b.spec.fingerprint}), got a model taking {n_model}. The artifact "
                "is inconsistent: retrain and promote it."
            )
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    tp = pred.spec.touchpoints[0] if pred.spec.touchpoints else "x"
    try:
        out = pred.predict_journey(
            "self-check",
            [{"timestamp": t0, "touchpoint": tp, "channel": None, "stage": None, "value": None}],
            datetime(2024, 1, 2, tzinfo=UTC),
            ScoreRequest(pred.tasks, explain=True),
        )
    except JourneyMLError as exc:
        raise FingerprintMismatchError(
            f"expected this code to build every feature of the models (fingerprint "
            f"{pred.fingerprint}), got: {exc.message}"
        ) from exc
    for t in pred.tasks:
        if not np.isfinite(out[t]["probability"]):
            raise FingerprintMismatchError(f"expected a finite {t} probability on the self-check")


def load_or_exit(settings: ServiceSettings) -> Predictor:
    """:func:`load_predictor` with the refusal logged in one clear line (and written to
    ``settings.refusal_file`` for ``journeyml serve``) before re-raising."""
    try:
        pred, source = load_predictor(settings)
    except JourneyMLError as exc:
        line = f"journeyml: refusing to start: [{exc.code}] {exc.message}"
        log.critical("%s", line)
        write_refusal(settings.refusal_file, line)
        raise
    log.info(
        "journeyml: serving project %s: %s (fingerprint %s) from %s",
        pred.project or "(unnamed)",
        ", ".join(f"{t} v{v}" for t, v in pred.versions().items()),
        pred.fingerprint,
        source,
    )
    return pred


def stop_parent_server() -> None:
    """After a refusal to start: stop the ``bentoml serve`` process that spawned this worker,
    which would otherwise respawn it forever (outside containers)."""
    import signal

    import psutil

    try:
        parent = psutil.Process(os.getppid())
        if any("bentoml" in part for part in parent.cmdline()):
            parent.send_signal(signal.SIGTERM)
    except psutil.Error:  # pragma: no cover - best effort
        pass


def default_model_dir(service_dir: Path) -> Path:
    return service_dir / "bundled"
