"""LightGBM parameters and early stopping on a validation set: the one training step behind
the task models (:mod:`journeyml.modeling.training`) and the benchmarks (:mod:`journeyml.bench`).

>>> p = lgb_params("multiclass", 3, {"num_leaves": 7, "objective": "binary"}, seed=1)
>>> (p["objective"], p["num_class"], p["num_leaves"], p["learning_rate"], p["seed"])
('multiclass', 3, 7, 0.05, 1)
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import lightgbm as lgb
import numpy as np

from journeyml.features import FeatureRows
from journeyml.modeling.binning import train_valid_datasets

DEFAULT_LGB_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_cat_to_onehot": 8,
    "cat_smooth": 10.0,
    "verbose": -1,
    "num_threads": 1,  # small data and a busy 2-core machine: one thread is fastest
}


def lgb_params(
    kind: Literal["binary", "multiclass"],
    n_classes: int,
    overrides: dict[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The defaults, then ``overrides``; the objective, its metric and the seed come last (an
    override cannot change what the task is), and training is deterministic."""
    p = {**DEFAULT_LGB_PARAMS, **(overrides or {}), "seed": seed, "deterministic": True}
    if kind == "binary":
        p.update(objective="binary", metric="binary_logloss")
    else:
        p.update(objective="multiclass", num_class=n_classes, metric="multi_logloss")
    return p


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
    dtrain = train_dataset(params, *train, categorical)
    return boost(
        params,
        dtrain,
        valid_dataset(params, dtrain, *valid, categorical),
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
    )


def train_dataset(
    params: dict[str, Any], X: np.ndarray, y: np.ndarray, categorical: list[int]
) -> lgb.Dataset:
    """The binned training set, constructed now with the training parameters (as
    :func:`lightgbm.train` would construct it) and without its raw rows: once binned, a
    caller that drops ``X`` gets its memory back before the validation rows are copied."""
    return lgb.Dataset(
        X, y, categorical_feature=categorical, free_raw_data=True, params=dict(params)
    ).construct()


def valid_dataset(
    params: dict[str, Any],
    train: lgb.Dataset,
    X: np.ndarray,
    y: np.ndarray,
    categorical: list[int],
) -> lgb.Dataset:
    """The validation set, binned with ``train``'s bins, without its raw rows."""
    return lgb.Dataset(
        X,
        y,
        categorical_feature=categorical,
        reference=train,
        free_raw_data=True,
        params=dict(params),
    ).construct()


def boost(
    params: dict[str, Any],
    dtrain: lgb.Dataset,
    dvalid: lgb.Dataset,
    *,
    num_boost_round: int,
    early_stopping_rounds: int,
) -> lgb.Booster:
    """Boost on ``dtrain``, stopping early on ``dvalid`` (both from :func:`train_dataset`
    and :func:`valid_dataset`)."""
    return lgb.train(
        params,
        dtrain,
        num_boost_round=num_boost_round,
        valid_sets=[dvalid],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )


class BoosterFit(Protocol):
    """How a task's booster is fitted: on this machine (:func:`fit_rows`) or on a Dask
    cluster (:class:`journeyml.engine.DaskBoosterFit`). ``X`` and ``y`` are every cutoff of
    the task's cutoff set (``X`` a matrix or rows read as they are needed,
    :class:`journeyml.features.FeatureRows`); ``train`` and ``valid`` are boolean masks over
    them."""

    def __call__(
        self,
        params: dict[str, Any],
        X: np.ndarray | FeatureRows,
        y: np.ndarray,
        train: np.ndarray,
        valid: np.ndarray,
        categorical: list[int],
        *,
        num_boost_round: int,
        early_stopping_rounds: int,
    ) -> lgb.Booster: ...


def fit_rows(
    params: dict[str, Any],
    X: np.ndarray | FeatureRows,
    y: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    categorical: list[int],
    *,
    num_boost_round: int,
    early_stopping_rounds: int,
) -> lgb.Booster:
    """:func:`fit_early_stopped` on the rows of ``train`` and ``valid`` (this machine).

    The rows are binned straight from ``X``, a block at a time
    (:func:`journeyml.modeling.binning.train_valid_datasets`): no copy of the selected rows,
    and the same bins, booster and predictions as datasets built from ``X[train]`` and
    ``X[valid]``."""
    dtrain, dvalid = train_valid_datasets(params, X, train, valid, y, categorical)
    return boost(
        params,
        dtrain,
        dvalid,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
    )
