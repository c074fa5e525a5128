"""One task's model: LightGBM fitting with early stopping, calibration, baselines, metrics,
and the saved bundle."""

from journeyml.modeling import baselines, bgnbd
from journeyml.modeling.boosting import (
    DEFAULT_LGB_PARAMS,
    BoosterFit,
    fit_early_stopped,
    fit_rows,
    lgb_params,
)
from journeyml.modeling.bounds import PROBABILITY_FLOOR, bounded, floor_distribution
from journeyml.modeling.bundle import META_FILE, MODEL_FILE, ModelBundle
from journeyml.modeling.calibration import Calibrator, choose_calibrator
from journeyml.modeling.evaluation import (
    binary_metrics,
    ece_equal_mass,
    ece_noise,
    expected_calibration_error,
    metrics_by_segment,
    multiclass_metrics,
    reliability_curve,
)
from journeyml.modeling.integrity import CHECKSUM_FILE, parse_in_child, write_checksums
from journeyml.modeling.linear import (
    BASELINE_C,
    REGULARISATION,
    LinearPart,
    choose_blend,
    choose_linear,
    choose_weight,
    sigmoid,
    trees_validated,
)
from journeyml.modeling.rare import MANY_CLASSES, ClassGrouping, leaf_minimum
from journeyml.modeling.softmax import SoftmaxPart, choose_softmax, softmax
from journeyml.modeling.training import TaskResult, by_rows, train_task

__all__ = [
    "BASELINE_C",
    "CHECKSUM_FILE",
    "DEFAULT_LGB_PARAMS",
    "MANY_CLASSES",
    "META_FILE",
    "MODEL_FILE",
    "PROBABILITY_FLOOR",
    "REGULARISATION",
    "BoosterFit",
    "Calibrator",
    "ClassGrouping",
    "LinearPart",
    "ModelBundle",
    "SoftmaxPart",
    "TaskResult",
    "baselines",
    "bgnbd",
    "binary_metrics",
    "bounded",
    "by_rows",
    "choose_blend",
    "choose_calibrator",
    "choose_linear",
    "choose_softmax",
    "choose_weight",
    "ece_equal_mass",
    "ece_noise",
    "expected_calibration_error",
    "fit_early_stopped",
    "fit_rows",
    "floor_distribution",
    "leaf_minimum",
    "lgb_params",
    "metrics_by_segment",
    "multiclass_metrics",
    "parse_in_child",
    "reliability_curve",
    "sigmoid",
    "softmax",
    "train_task",
    "trees_validated",
    "write_checksums",
]
