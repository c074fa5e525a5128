"""Fit with early stopping, then refit on everything: the benchmarks' training step.

A probe model early-stops on the validation rows; the final model is refit on all rows with
the probe's best number of rounds scaled up by the share of rows the probe did not see.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np

from journeyml.modeling import fit_early_stopped


def probe_and_refit(
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    valid: np.ndarray,
    categorical: list[int],
    *,
    num_boost_round: int,
    early_stopping_rounds: int,
    valid_fraction: float,
) -> tuple[lgb.Booster, int, int]:
    """Returns (the refit booster, the probe's best iteration, the refit's rounds)."""
    probe = fit_early_stopped(
        params,
        (X[~valid], y[~valid]),
        (X[valid], y[valid]),
        categorical,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
    )
    best = max(1, int(probe.best_iteration or num_boost_round))
    rounds = max(1, round(best / (1 - valid_fraction)))
    booster = lgb.train(
        params, lgb.Dataset(X, y, categorical_feature=categorical), num_boost_round=rounds
    )
    return booster, best, rounds
