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
    _, best, _ = probe(
        params,
        X,
        y,
        valid,
        categorical,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
    )
    booster, rounds = refit(params, X, y, categorical, best, valid_fraction)
    return booster, best, rounds


def probe(
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    valid: np.ndarray,
    categorical: list[int],
    *,
    num_boost_round: int,
    early_stopping_rounds: int,
) -> tuple[lgb.Booster, int, np.ndarray]:
    """The probe model, fitted on the rows outside ``valid`` and early-stopped on ``valid``,
    its best iteration and its raw scores of the ``valid`` rows (a model that never saw them:
    what a blend or a calibrator is chosen on)."""
    model = fit_early_stopped(
        params,
        (X[~valid], y[~valid]),
        (X[valid], y[valid]),
        categorical,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
    )
    best = max(1, int(model.best_iteration or num_boost_round))
    f = model.predict(X[valid], raw_score=True, num_iteration=best, num_threads=1)
    return model, best, np.asarray(f)


def refit(
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    categorical: list[int],
    best: int,
    valid_fraction: float,
) -> tuple[lgb.Booster, int]:
    """The final booster on every row, with the probe's ``best`` rounds scaled up by the share
    of rows the probe did not see; and that number of rounds."""
    rounds = max(1, round(best / (1 - valid_fraction)))
    booster = lgb.train(
        params, lgb.Dataset(X, y, categorical_feature=categorical), num_boost_round=rounds
    )
    return booster, rounds
