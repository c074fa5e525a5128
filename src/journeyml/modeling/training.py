"""Fit one task: LightGBM with early stopping on the temporal validation window, calibration
kept only where it improves log loss, baselines on the same split, metrics on the test window.

Class imbalance is left to the data (no re-weighting), so the booster's probabilities stay
probabilities; calibration then corrects what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from journeyml.errors import TrainingError
from journeyml.features import FeatureSpec
from journeyml.modeling import baselines, boosting
from journeyml.modeling.bundle import ModelBundle
from journeyml.modeling.evaluation import binary_metrics, multiclass_metrics, reliability_curve
from journeyml.modeling.linear import LinearPart, choose_blend
from journeyml.tasks import MIN_CUTOFFS, NONE_CLASS, TaskConfig, TemporalSplit


@dataclass
class TaskResult:
    bundle: ModelBundle
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    reliability: dict[str, list[float]] = field(default_factory=dict)
    calibration_scores: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    test_predictions: np.ndarray | None = None
    #: the test metrics per segment / persona (filled by the pipeline when segments exist)
    segment_metrics: dict[str, dict[str, float]] = field(default_factory=dict)


def train_task(
    task: TaskConfig,
    spec: FeatureSpec,
    X: np.ndarray,
    labels: pd.DataFrame,
    split: TemporalSplit,
    *,
    lgb_params: dict[str, Any] | None = None,
    num_boost_round: int = 1000,
    early_stopping_rounds: int = 50,
    seed: int = 0,
) -> TaskResult:
    """Train ``task`` on the eligible training cutoffs, stop early on validation, evaluate on
    test. ``X`` rows align with ``labels`` and the split masks."""
    elig = labels["eligible"].to_numpy(bool)
    tr, va, te = split.train & elig, split.valid & elig, split.test & elig
    counts = {"train": int(tr.sum()), "valid": int(va.sum()), "test": int(te.sum())}
    if any(counts[k] < n for k, n in MIN_CUTOFFS.items()):
        raise TrainingError(
            f"expected at least {MIN_CUTOFFS['train']} training, {MIN_CUTOFFS['valid']} "
            f"validation and {MIN_CUTOFFS['test']} test cutoffs for {task.name}, got {counts}. "
            "journeyml.tasks.check_labels and check_split say which filter or split part "
            "removed them."
        )
    y_all = labels["label"].to_numpy()
    cat = spec.categorical_indices
    if task.output == "binary":
        classes: tuple[str, ...] = ("0", "1")
        y = y_all.astype(np.int64)
        if len(np.unique(y[tr])) < 2:
            raise TrainingError(
                f"expected both outcomes among training cutoffs for {task.name}, got only "
                f"{np.unique(y[tr]).tolist()}. Check the outcome touchpoints in the config."
            )
    else:
        seen = sorted({str(v) for v in y_all[tr]} | {NONE_CLASS})
        classes = tuple(seen)
        idx = {c: i for i, c in enumerate(classes)}
        y = np.array([idx.get(str(v), -1) for v in y_all], dtype=np.int64)
        va = va & (y >= 0)
    params = boosting.lgb_params(task.output, len(classes), lgb_params, seed)
    booster = boosting.fit_early_stopped(
        params,
        (X[tr], y[tr]),
        (X[va], y[va]),
        cat,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
    )
    booster.free_dataset()
    bundle = ModelBundle(
        task=task,
        booster=booster,
        spec=spec,
        classes=classes,
        info={"best_iteration": booster.best_iteration, "counts": counts},
    )
    result = TaskResult(bundle=bundle, metrics={}, baselines={}, counts=counts)

    if task.output == "binary":
        # a linear model blended in log-odds where the validation window prefers it (it
        # extrapolates where trees are flat), then calibration; both chosen by log loss
        linear = LinearPart.fit(X[tr], y[tr], seed=seed)
        weight, calibrator, scores = choose_blend(
            bundle.margin(X[va]), linear.raw(X[va]), y[va], seed=seed
        )
        bundle.linear = linear if weight > 0 else None
        bundle.linear_weight = weight
        bundle.calibrator = calibrator
        bundle.info["linear_weight"] = weight
        result.calibration_scores = scores["calibration"]
        p = bundle.predict_proba(X[te])
        result.metrics = binary_metrics(y[te], p)
        result.reliability = reliability_curve(y[te], p)
        result.test_predictions = p
        result.baselines["prior"] = binary_metrics(
            y[te], baselines.prior_binary(y[tr], int(te.sum()))
        )
        result.baselines["logistic"] = binary_metrics(
            y[te], baselines.logistic(X[tr], y[tr], X[te], seed=seed)
        )
    else:
        p = bundle.predict_proba(X[te])
        y_te = [str(v) for v in y_all[te]]
        result.metrics = multiclass_metrics(y_te, p, classes)
        result.test_predictions = p
        result.baselines["prior"] = multiclass_metrics(
            y_te,
            baselines.prior_multiclass([str(v) for v in y_all[tr]], classes, len(y_te)),
            classes,
        )
        known = y >= 0
        lr_tr = tr & known
        lr = baselines.logistic(X[lr_tr], y[lr_tr], X[te], seed=seed)
        full = np.zeros((int(te.sum()), len(classes)))
        present = np.unique(y[lr_tr])
        full[:, present] = lr if lr.ndim == 2 else np.c_[1 - lr, lr]
        result.baselines["logistic"] = multiclass_metrics(y_te, full, classes)
        state = "last_stage_1" if task.target == "stage" else "last_touchpoint_1"
        if state in spec.names:
            j = spec.names.index(state)
            result.baselines["markov"] = multiclass_metrics(
                y_te,
                baselines.markov_successor(
                    np.nan_to_num(X[tr, j], nan=-1).tolist(),
                    [str(v) for v in y_all[tr]],
                    np.nan_to_num(X[te, j], nan=-1).tolist(),
                    classes,
                ),
                classes,
            )
    bundle.metrics = result.metrics
    return result
