"""Monitoring results into MLflow: one run per ``journeyml monitor`` in the experiment
``journeyml-monitor-<project>``, each weekly measure a metric stepped by week (its timestamp the
week's Monday), the page and the tables as artefacts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from journeyml.monitor.compute import MonitorResult

MEASURES = (
    "n_predictions", "n_matured", "mean_prediction", "observed_rate", "auc", "log_loss", "ece",
    "prediction_psi", "max_feature_psi", "explanation_shift",
)  # fmt: skip


def log_to_mlflow(result: MonitorResult, tracking_uri: str, page: Path | None = None) -> str:
    """Log ``result`` (and ``page``) to a new MLflow run; returns its id."""
    import mlflow

    from journeyml.lifecycle import tracking

    # artefacts beside the tracking database, as training's (never ./mlruns in the cwd)
    tracking.configure(tracking_uri, f"journeyml-monitor-{result.project or 'all'}")
    with mlflow.start_run(run_name=f"monitor {result.now.date()}") as run:
        mlflow.set_tags({"journeyml.kind": "monitor", "journeyml.breaches": len(result.breaches)})
        weekly = result.weekly
        for r in weekly.to_dict("records"):
            step = int(r["week"].value // (7 * 86_400 * 10**9))
            ts = int(r["week"].value // 10**6)
            for m in MEASURES:
                v = r.get(m)
                if v is not None and np.isfinite(v):
                    mlflow.log_metric(f"{r['task']}.{m}", float(v), step=step, timestamp=ts)
        with tempfile.TemporaryDirectory() as tmp:
            for name, frame in (("weekly", weekly), ("features", result.features),
                                ("explanations", result.explanations)):  # fmt: skip
                if not frame.empty:
                    f = Path(tmp) / f"{name}.csv"
                    frame.to_csv(f, index=False)
                    mlflow.log_artifact(str(f), artifact_path="monitor")
        if page is not None:
            mlflow.log_artifact(str(page), artifact_path="monitor")
        return str(run.info.run_id)
