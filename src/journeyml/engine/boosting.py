"""A task's booster trained on the cluster with ``lightgbm.dask`` (LightGBM's own distributed
training: every worker builds histograms of the rows it holds, and the workers merge them over
the network), inside the normal training pipeline (:func:`journeyml.modeling.train_task`).

:class:`DaskBoosterFit` has the contract of :func:`journeyml.modeling.boosting.fit_rows`: the
same LightGBM parameters, the same early stopping on the validation window. The training rows
are taken from the per-partition feature blocks that :class:`~journeyml.engine.DaskFeatures`
left on the workers (each worker keeps the rows of its own partitions), with their labels sent
alongside; only the validation window travels from the driver, in full to every worker.

``lightgbm.dask`` has no early stopping of its own (each worker would judge its own share of
the validation rows and they could stop at different rounds). Every worker holds the same
model after each round, so :class:`StopOnValidation` — given the whole validation window on
every worker — reaches the same verdict on every worker, at the same round, as
``lightgbm.early_stopping`` on the validation log loss does on one machine.
"""

from __future__ import annotations

import math
from typing import Any

import lightgbm as lgb
import numpy as np

from journeyml.engine.features import DaskFeatures
from journeyml.features import FeatureRows, as_rows

_EPS = 1e-15


def _log_loss(raw: np.ndarray, y: np.ndarray) -> float:
    if raw.ndim == 1:
        p = np.clip(1.0 / (1.0 + np.exp(-raw)), _EPS, 1 - _EPS)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
    z = raw - raw.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(y)), y.astype(np.int64)]))


class StopOnValidation:
    """A LightGBM callback: stop when the validation log loss has not improved for ``rounds``
    rounds, keeping the best round (``lightgbm.early_stopping``'s rule). Raw scores are
    accumulated one tree at a time, so each round costs one tree's prediction."""

    order = 30
    before_iteration = False

    def __init__(self, X: np.ndarray, y: np.ndarray, rounds: int, metric: str) -> None:
        self.X, self.y, self.rounds, self.metric = X, y, rounds, metric
        self.raw: np.ndarray | None = None
        self.best, self.best_iter = math.inf, 0

    def __call__(self, env: Any) -> None:
        i = env.iteration
        step = np.asarray(
            env.model.predict(self.X, start_iteration=i, num_iteration=1, raw_score=True)
        )
        self.raw = step if self.raw is None else self.raw + step
        loss = _log_loss(self.raw, self.y)
        if loss < self.best:
            self.best, self.best_iter = loss, i
        if i - self.best_iter >= self.rounds or i == env.end_iteration - 1:
            raise lgb.callback.EarlyStopException(
                self.best_iter, [("valid_0", self.metric, self.best, False)]
            )


def _take(block: np.ndarray, local: np.ndarray, dtype: Any) -> np.ndarray:
    return np.ascontiguousarray(block[local], dtype=dtype)  # the driver's matrix's dtype


class DaskBoosterFit:
    """Fit a task's booster with ``lightgbm.dask`` on the cluster of ``client`` (see the
    module). ``features``: the engine that computed the feature matrix; without it, or for a
    matrix it did not compute, the training rows are sent from this machine in
    ``n_workers`` blocks (still trained on the cluster)."""

    def __init__(self, client: Any, features: DaskFeatures | None = None) -> None:
        self.client = client
        self.features = features
        #: what the last fit used: "partition blocks" or "sent from the driver"
        self.last_source = ""

    def _training_rows(self, X: np.ndarray, y: np.ndarray, train: np.ndarray) -> tuple[Any, Any]:
        import dask.array as da
        from dask.delayed import delayed

        blocks = self.features.blocks_of(X) if self.features is not None else None
        if blocks is None:
            self.last_source = "sent from the driver"
            n_workers = max(1, len(self.client.scheduler_info()["workers"]))
            rows = np.flatnonzero(train)
            size = max(1, math.ceil(rows.size / n_workers))
            Xd = da.from_array(X[rows], chunks=(size, X.shape[1]))
            return Xd, da.from_array(y[rows], chunks=(size,))
        self.last_source = "partition blocks"
        xs, ys = [], []
        for rows, future in zip(blocks.rows, blocks.futures, strict=True):
            local = np.flatnonzero(train[rows])
            if local.size == 0:
                continue
            part = self.client.submit(_take, future, local, X.dtype, pure=False)
            xs.append(da.from_delayed(delayed(part), shape=(local.size, X.shape[1]), dtype=X.dtype))
            ys.append(da.from_array(y[rows[local]], chunks=(local.size,)))
        return da.concatenate(xs), da.concatenate(ys)

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
    ) -> lgb.Booster:
        import lightgbm.dask as lgbd

        X = as_rows(X).matrix()  # the matrix the cluster computed (DaskFeatures)
        Xd, yd = self._training_rows(X, y, train)
        p = {k: v for k, v in params.items() if k != "num_threads"}  # the workers' own threads
        n_classes = int(p.get("num_class", 2))
        covered = np.unique(y[train]).size == n_classes
        # the classifier re-encodes the classes it sees: when the training rows lack one of the
        # task's classes, the plain estimator keeps the task's objective and class count
        model_cls = lgbd.DaskLGBMClassifier if covered else lgbd.DaskLGBMRegressor
        model = model_cls(client=self.client, n_estimators=num_boost_round, **p)
        stop = StopOnValidation(X[valid], y[valid], early_stopping_rounds, str(p["metric"]))
        model.fit(Xd, yd, categorical_feature=categorical, callbacks=[stop])
        booster: lgb.Booster = model.booster_
        return booster
