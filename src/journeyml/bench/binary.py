"""The benchmarks' binary model: the same recipe as ``journeyml train`` (LightGBM, a linear
model blended in log-odds where validation prefers it, calibration chosen by log loss on
validation), fitted with early stopping on the validation rows and then refit on all rows.

The blend weight and the calibrator are chosen on the probe models' predictions for the
validation rows (models that never saw them), then applied to the refit models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np

from journeyml.bench.refit import probe, refit
from journeyml.modeling import (
    BASELINE_C,
    REGULARISATION,
    Calibrator,
    LinearPart,
    choose_blend,
    choose_calibrator,
    choose_linear,
    sigmoid,
)


@dataclass
class BinaryModel:
    booster: lgb.Booster
    linear: LinearPart | None = None
    #: the linear model's share of the log-odds blend
    weight: float = 0.0
    calibrator: Calibrator = field(default_factory=Calibrator)
    info: dict[str, Any] = field(default_factory=dict)

    def trees_margin(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(X, raw_score=True, num_threads=1))

    def margin(self, X: np.ndarray) -> np.ndarray:
        f = self.trees_margin(X)
        if self.linear is None or self.weight == 0:
            return f
        return np.asarray((1 - self.weight) * f + self.weight * self.linear.raw(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities."""
        return self.calibrator.apply(sigmoid(self.margin(X)))

    def trees_only(self, X: np.ndarray) -> np.ndarray:
        """The LightGBM model alone, uncalibrated (for comparison)."""
        return sigmoid(self.trees_margin(X))


def fit_binary(
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    valid: np.ndarray,
    categorical: list[int],
    *,
    num_boost_round: int,
    early_stopping_rounds: int,
    valid_fraction: float,
    blend_linear: bool = True,
    seed: int = 0,
) -> BinaryModel:
    """Probe on the rows outside ``valid`` (early stopping on ``valid``), choose the blend and
    the calibrator on ``valid``, refit on every row."""
    tr = ~valid
    _, best, f_va = probe(
        params,
        X,
        y,
        valid,
        categorical,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
    )
    info: dict[str, Any] = {"best_iteration": best}
    if blend_linear:
        fits = LinearPart.fit_path(X[tr], y[tr], seed=seed)
        k, w, _ = choose_linear(
            f_va,
            [lin.raw(X[valid]) for lin in fits],
            y[valid],
            reference=REGULARISATION.index(BASELINE_C),
        )
        weight, calibrator, scores = choose_blend(
            f_va, fits[k].raw(X[valid]), y[valid], seed=seed, weight=w
        )
        info.update(scores, linear_C=REGULARISATION[k])
    else:
        weight = 0.0
        calibrator, cal_scores = choose_calibrator(sigmoid(f_va), y[valid], seed=seed)
        info["calibration"] = cal_scores
    booster, rounds = refit(params, X, y, categorical, best, valid_fraction)
    linear = LinearPart.fit(X, y, C=info.get("linear_C", 1.0), seed=seed) if weight > 0 else None
    info.update(refit_rounds=rounds, linear_weight=weight, calibration_method=calibrator.method)
    return BinaryModel(booster, linear, weight, calibrator, info)
