"""MLflow logging: every task run logs params, metrics, dataset lineage, the FeatureSpec, the
reliability diagram, the baselines and the model (a pyfunc owning the whole bundle, with an
input example), so that ``mlflow models serve`` and journeyml's own service load the same thing.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd

from journeyml.features import slug
from journeyml.modeling import ModelBundle, TaskResult

BUNDLE_ARTIFACT = "bundle"
MODEL_NAME = "model"


class JourneyModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """pyfunc wrapper: feature rows in (columns = FeatureSpec names), probabilities out."""

    def load_context(self, context: Any) -> None:
        self.bundle = ModelBundle.load(Path(context.artifacts[BUNDLE_ARTIFACT]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        names = self.bundle.spec.names
        X = model_input.reindex(columns=names).to_numpy(dtype=np.float64)
        p = self.bundle.predict_proba(X)
        if self.bundle.kind == "binary":
            return pd.DataFrame({"probability": p})
        return pd.DataFrame(p, columns=list(self.bundle.classes))


def configure(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at ``tracking_uri`` and make sure ``experiment`` exists; return its id.
    A file-based store keeps artefacts beside the SQLite database (``mlflow/artifacts``)."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is not None:
        mlflow.set_experiment(experiment)
        return str(exp.experiment_id)
    location = None
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///") :])
        location = (db.parent / "artifacts").resolve().as_uri()
    exp_id = mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    return str(exp_id)


def _flat(prefix: str, d: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in d.items():
        if isinstance(v, (int, float, np.floating, np.integer)) and np.isfinite(v):
            out[f"{prefix}{k}"] = float(v)
    return out


def _reliability_png(rel: dict[str, list[float]], title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "--", color="grey", lw=1, label="perfect")
    ax.plot(rel.get("predicted", []), rel.get("observed", []), "o-", label="model")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def log_task(
    result: TaskResult,
    *,
    params: dict[str, Any],
    dataset: pd.DataFrame | None,
    dataset_source: str,
    X_example: np.ndarray,
) -> str:
    """Log one task into the active run; returns the logged model's URI."""
    bundle = result.bundle
    task = bundle.task
    mlflow.log_params(
        {k: (json.dumps(v) if isinstance(v, (list, tuple, dict)) else v) for k, v in params.items()}
    )
    mlflow.log_metrics(_flat("test_", result.metrics))
    for name, m in result.baselines.items():
        mlflow.log_metrics(_flat(f"baseline_{name}_", m))
    mlflow.log_metrics(_flat("calibration_valid_logloss_", result.calibration_scores))
    mlflow.log_metrics(_flat("n_", result.counts))
    mlflow.set_tags(
        {
            "task": task.name,
            "feature_fingerprint": bundle.spec.fingerprint,
            "calibration": bundle.calibrator.method,
        }
    )
    if dataset is not None:
        mlflow.log_input(
            mlflow.data.from_pandas(  # type: ignore[attr-defined]
                dataset, source=dataset_source, name=f"{task.name}-events"
            ),
            context="training",
        )
    mlflow.log_dict(bundle.spec.to_dict(), "feature_spec.json")
    mlflow.log_dict(result.baselines, "baselines.json")
    if result.segment_metrics:
        mlflow.log_dict(result.segment_metrics, "segments.json")
        for seg, m in result.segment_metrics.items():
            mlflow.log_metrics(_flat(f"test_segment_{slug(seg)}_", m))
    mlflow.log_dict(
        {
            "metrics": result.metrics,
            "reliability": result.reliability,
            "calibration": result.calibration_scores,
            "counts": result.counts,
        },
        "evaluation.json",
    )
    with tempfile.TemporaryDirectory() as tmp:
        if result.reliability:
            mlflow.log_artifact(
                str(
                    _reliability_png(
                        result.reliability,
                        f"{task.name}: reliability (test window)",
                        Path(tmp) / "reliability.png",
                    )
                )
            )
        bdir = bundle.save(Path(tmp) / BUNDLE_ARTIFACT)
        example = pd.DataFrame(X_example[:5], columns=bundle.spec.names)
        info = mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=JourneyModel(),
            artifacts={BUNDLE_ARTIFACT: str(bdir)},
            input_example=example,
            pip_requirements=_requirements(),
        )
    return str(info.model_uri)


def _requirements() -> list[str]:
    from importlib.metadata import version

    pkgs = ["lightgbm", "numpy", "pandas", "scikit-learn", "mlflow", "pyyaml", "pydantic"]
    return [f"{p}=={version(p)}" for p in pkgs]
