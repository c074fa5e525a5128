"""One task's model: LightGBM fitting with early stopping, calibration, baselines, metrics,
and the saved bundle."""

from journeyml.modeling import baselines, bgnbd
from journeyml.modeling.boosting import DEFAULT_LGB_PARAMS, fit_early_stopped, lgb_params
from journeyml.modeling.bundle import META_FILE, MODEL_FILE, ModelBundle
from journeyml.modeling.calibration import Calibrator, choose_calibrator
from journeyml.modeling.evaluation import (
    binary_metrics,
    expected_calibration_error,
    metrics_by_segment,
    multiclass_metrics,
    reliability_curve,
)
from journeyml.modeling.training import TaskResult, train_task

__all__ = [
    "DEFAULT_LGB_PARAMS",
    "META_FILE",
    "MODEL_FILE",
    "Calibrator",
    "ModelBundle",
    "TaskResult",
    "baselines",
    "bgnbd",
    "binary_metrics",
    "choose_calibrator",
    "expected_calibration_error",
    "fit_early_stopped",
    "lgb_params",
    "metrics_by_segment",
    "multiclass_metrics",
    "reliability_curve",
    "train_task",
]
