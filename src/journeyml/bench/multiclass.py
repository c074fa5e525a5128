"""The benchmarks' next-activity model: the same recipe as a ``next`` task of ``journeyml
train`` (LightGBM's softmax blended with a multinomial logistic part in per-class raw scores,
:mod:`journeyml.modeling.softmax`), fitted with early stopping on the validation rows and then
refit on all rows.

The share and the L2 strength are chosen on the probe models' raw scores for the validation rows
(models that never saw them), with the tie rule against the logistic baseline's fit, then
applied to the refit models. The baseline's fit on all rows (``baseline``) is the one served
when the tie rule falls back to it, so a model that falls back scores exactly its baseline.
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
    SoftmaxPart,
    choose_softmax,
    softmax,
)


@dataclass
class NextModel:
    booster: lgb.Booster
    linear: SoftmaxPart | None = None
    #: the linear part's share of the per-class raw scores
    weight: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, K)."""
        if self.linear is None:
            return np.asarray(self.booster.predict(X, num_threads=1))
        f = np.asarray(self.booster.predict(X, raw_score=True, num_threads=1))
        return softmax((1 - self.weight) * f + self.weight * self.linear.raw(X))


def fit_next(
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    valid: np.ndarray,
    categorical: list[int],
    baseline: SoftmaxPart,
    *,
    num_boost_round: int,
    early_stopping_rounds: int,
    valid_fraction: float,
    groups: np.ndarray | None = None,
    blend_linear: bool = True,
    seed: int = 0,
) -> NextModel:
    """Probe on the rows outside ``valid`` (early stopping on ``valid``), choose the blend on
    ``valid`` (``groups``: each row's case, for the standard errors), refit on every row.
    ``baseline``: the logistic baseline's fit on every row (at ``BASELINE_C``);
    ``blend_linear`` False: LightGBM alone."""
    tr = ~valid
    n_classes = int(params["num_class"])
    _, best, f_va = probe(
        params,
        X,
        y,
        valid,
        categorical,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
    )
    k, weight = REGULARISATION.index(BASELINE_C), 0.0
    scores: dict[str, float] = {}
    if blend_linear:
        parts = SoftmaxPart.fit_path(X[tr], y[tr], n_classes=n_classes, seed=seed)
        k, weight, scores = choose_softmax(
            f_va,
            [lin.raw(X[valid]) for lin in parts],
            y[valid],
            reference=k,
            groups=None if groups is None else groups[valid],
        )
    booster, rounds = refit(params, X, y, categorical, best, valid_fraction)
    C = REGULARISATION[k]
    linear = None
    if weight > 0:
        same = C == BASELINE_C
        linear = baseline if same else SoftmaxPart.fit(X, y, n_classes=n_classes, C=C, seed=seed)
    info = {
        "best_iteration": best,
        "refit_rounds": rounds,
        "linear_weight": weight,
        "linear_C": C,
        "blend_valid_log_loss": scores,
    }
    return NextModel(booster, linear, weight, info)
