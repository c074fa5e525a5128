"""Monitoring that closes the loop: quality once outcomes matured, feature and prediction drift
(PSI), explanation drift, per project, task and week, from the prediction log and the stored
events; an HTML page and MLflow metrics. See ``docs/monitoring.md``."""

from journeyml.monitor.compute import MonitorResult, Thresholds, monitor, top_features, week_start
from journeyml.monitor.page import render_page
from journeyml.monitor.psi import psi
from journeyml.monitor.tracking import log_to_mlflow

__all__ = [
    "MonitorResult",
    "Thresholds",
    "log_to_mlflow",
    "monitor",
    "psi",
    "render_page",
    "top_features",
    "week_start",
]
