"""LightGBM with early stopping on a validation set: the one training step behind the task
models (:mod:`journeyml.training`) and the benchmarks' probe (:mod:`journeyml.bench.refit`)."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np


def fit_early_stopped(
    params: dict[str, Any],
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    categorical: list[int],
    *,
    num_boost_round: int,
    early_stopping_rounds: int,
) -> lgb.Booster:
    """Boost on ``train`` (X, y) until the validation loss on ``valid`` has not improved for
    ``early_stopping_rounds`` rounds; the booster keeps its ``best_iteration``."""
    dtrain = lgb.Dataset(
        *train, categorical_feature=categorical, free_raw_data=False, params={"verbose": -1}
    )
    dvalid = lgb.Dataset(*valid, categorical_feature=categorical, reference=dtrain)
    return lgb.train(
        params,
        dtrain,
        num_boost_round=num_boost_round,
        valid_sets=[dvalid],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
