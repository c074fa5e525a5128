"""One task's model: LightGBM fitting with early stopping, calibration, baselines, metrics,
the saved bundle and the per-class boosters that explain one class at a time."""

from journeyml.modeling import baselines, bgnbd
from journeyml.modeling.boosting import DEFAULT_LGB_PARAMS, fit_early_stopped, lgb_params
from journeyml.modeling.bundle import META_FILE, MODEL_FILE, ModelBundle
from journeyml.modeling.calibration import Calibrator, choose_calibrator
from journeyml.modeling.class_boosters import split_by_class
from journeyml.modeling.evaluation import (
    binary_metrics,
    ece_equal_mass,
    expected_calibration_error,
    metrics_by_segment,
    multiclass_metrics,
    reliability_curve,
)
from journeyml.modeling.linear import LinearPart, choose_blend, choose_weight, sigmoid
from journeyml.modeling.training import TaskResult, train_task

__all__ = [
    "DEFAULT_LGB_PARAMS",
    "META_FILE",
    "MODEL_FILE",
    "Calibrator",
    "LinearPart",
    "ModelBundle",
    "TaskResult",
    "baselines",
    "bgnbd",
    "binary_metrics",
    "choose_blend",
    "choose_calibrator",
    "choose_weight",
    "ece_equal_mass",
    "expected_calibration_error",
    "fit_early_stopped",
    "lgb_params",
    "metrics_by_segment",
    "multiclass_metrics",
    "reliability_curve",
    "sigmoid",
    "split_by_class",
    "train_task",
]
