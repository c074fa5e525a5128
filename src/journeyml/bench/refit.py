"""Fit with early stopping, then refit on everything: the benchmarks' training step.

A probe model early-stops on the validation rows; the final model is refit on all rows with
the probe's best number of rounds scaled up by the share of rows the probe did not see.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np


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
    dtr = lgb.Dataset(X[~valid], y[~valid], categorical_feature=categorical, free_raw_data=False)
    dva = lgb.Dataset(X[valid], y[valid], categorical_feature=categorical, reference=dtr)
    probe = lgb.train(
        params,
        dtr,
        num_boost_round=num_boost_round,
        valid_sets=[dva],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
    best = max(1, int(probe.best_iteration or num_boost_round))
    rounds = max(1, round(best / (1 - valid_fraction)))
    booster = lgb.train(
        params, lgb.Dataset(X, y, categorical_feature=categorical), num_boost_round=rounds
    )
    return booster, best, rounds
