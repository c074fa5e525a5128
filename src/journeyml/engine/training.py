"""Training on the cluster with ``lightgbm.dask`` (LightGBM's own distributed training:
every worker builds histograms of the rows it holds, and the workers merge them over the
network), from the Dask DataFrame of :func:`~journeyml.engine.partition_frames`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from journeyml.engine.frames import ELIGIBLE, LABEL
from journeyml.errors import TrainingError
from journeyml.features import AS_OF, FeatureSpec


def train_dask(
    client: Any,
    frame: Any,
    spec: FeatureSpec,
    task: str,
    *,
    train_until: pd.Timestamp,
    params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
    seed: int = 0,
) -> Any:
    """A binary LightGBM booster for ``task`` trained on the cluster on the eligible rows of
    ``frame`` with ``as_of < train_until`` (the temporal split's training window).

    ``lightgbm.dask`` has no early stopping: the number of rounds is fixed (choose it with a
    local run on a sample, whose ``best_iteration`` MLflow records). Returns a
    ``lightgbm.Booster`` that scores like any local one.
    """
    import lightgbm as lgb

    label, eligible = LABEL.format(task), ELIGIBLE.format(task)
    if label not in frame.columns:
        raise TrainingError(
            f"expected a {label!r} column (partition_frames with task {task!r}), got none. "
            "Pass the task to partition_frames.",
        )
    rows = frame[frame[eligible] & (frame[AS_OF] < pd.Timestamp(train_until))]
    names: Sequence[str] = spec.names
    X = rows[list(names)].to_dask_array(lengths=True)
    y = rows[label].to_dask_array(lengths=True)
    model = lgb.DaskLGBMClassifier(
        client=client,
        n_estimators=num_boost_round,
        random_state=seed,
        verbose=-1,
        **(params or {}),
    )
    model.fit(X, y, categorical_feature=list(spec.categorical_indices))
    return model.booster_
