"""Features and labels per partition: the same code on one machine and on every Dask worker.

:func:`partition_frame` turns one partition's events into its cutoffs' rows — the feature
columns of :func:`journeyml.features.build_features` and, per task, the label and eligibility
of :func:`journeyml.tasks.labels_and_funnel` — using only that partition's events, which hold
every event of its customers. :func:`partition_frames` maps it over a partitioned dataset as a
Dask DataFrame (one Dask partition per dataset partition, ``dask.dataframe.from_map``).

Snapshot times must not depend on the partition: :func:`snapshots` takes the grid's start and
end from the whole log (a partition alone would start its grid at its own first event).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError
from journeyml.events import (
    CUSTOMER_ID,
    TIMESTAMP,
    PartitionedEvents,
    is_canonical,
    read_partition,
    to_canonical,
)
from journeyml.features import AS_OF, FeatureSpec, build_features
from journeyml.tasks import TaskConfig, every_n_days, labels_and_funnel

LABEL = "label:{}"
ELIGIBLE = "eligible:{}"


@dataclass(frozen=True)
class Cutoffs:
    """Which cutoffs a partition gets: snapshots on a grid shared by all partitions, or one
    per customer at a time (``as_of``) or right after its last event (``as_of`` None)."""

    mode: Literal["every_n_days", "per_customer"]
    every_days: float = 7.0
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    as_of: pd.Timestamp | None = None

    def make(self, events: pd.DataFrame) -> pd.DataFrame:
        if self.mode == "every_n_days":
            return every_n_days(events, self.every_days, start=self.start, end=self.end)
        last = events.groupby(CUSTOMER_ID, sort=True, observed=True)[TIMESTAMP].max()
        t = last.to_numpy() + pd.Timedelta(1, "s") if self.as_of is None else self.as_of
        out = pd.DataFrame({CUSTOMER_ID: last.index.astype(str).to_numpy(dtype=object)})
        out[AS_OF] = pd.to_datetime(t, utc=True) if self.as_of is None else t
        return out


def snapshots(every_days: float, start: pd.Timestamp, end: pd.Timestamp) -> Cutoffs:
    """Snapshots every ``every_days`` from ``start`` (the whole log's first day, as
    :func:`journeyml.tasks.every_n_days` computes it) up to ``end`` (exclusive)."""
    if every_days <= 0:
        raise ConfigError(f"expected every_days > 0, got {every_days}", field="every_days")
    return Cutoffs("every_n_days", every_days, pd.Timestamp(start), pd.Timestamp(end))


def at_time(as_of: Any = None) -> Cutoffs:
    """One cutoff per customer: at ``as_of`` (naive = UTC), or one second after its last
    event (None)."""
    if as_of is None:
        return Cutoffs("per_customer")
    t = pd.Timestamp(as_of)
    return Cutoffs("per_customer", as_of=t.tz_localize("UTC") if t.tzinfo is None else t)


def partition_frame(
    events: pd.DataFrame,
    spec: FeatureSpec,
    cutoffs: Cutoffs,
    tasks: Sequence[TaskConfig] = (),
    observation_end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One partition's rows: ``customer_id``, ``as_of``, the features (``spec.names``) and
    ``label:<task>`` / ``eligible:<task>`` per task, sorted by customer and time."""
    ev = events if is_canonical(events) else to_canonical(events)
    cut = cutoffs.make(ev).reset_index(drop=True)
    X = build_features(ev, cut, spec)
    cols: dict[str, Any] = {
        CUSTOMER_ID: cut[CUSTOMER_ID].astype(str).to_numpy(dtype=object),
        AS_OF: pd.to_datetime(cut[AS_OF], utc=True).to_numpy(),
    }
    if tasks:
        if observation_end is None:
            raise ConfigError("expected observation_end with tasks (labels need it).")
        for task in tasks:
            labels, _ = labels_and_funnel(ev, cut, task, observation_end=observation_end)
            cols[LABEL.format(task.name)] = labels["label"].to_numpy()
            cols[ELIGIBLE.format(task.name)] = labels["eligible"].to_numpy(bool)
    head = pd.DataFrame(cols)
    head[AS_OF] = pd.to_datetime(head[AS_OF], utc=True)
    return pd.concat([head, X.reset_index(drop=True)], axis=1)


def _meta(spec: FeatureSpec, tasks: Sequence[TaskConfig]) -> pd.DataFrame:
    cols: dict[str, Any] = {
        CUSTOMER_ID: pd.Series([], dtype=object),
        AS_OF: pd.Series([], dtype="datetime64[ns, UTC]"),
    }
    for t in tasks:
        dtype = np.int64 if t.output == "binary" else object
        cols[LABEL.format(t.name)] = pd.Series([], dtype=dtype)
        cols[ELIGIBLE.format(t.name)] = pd.Series([], dtype=bool)
    for name in spec.names:
        cols[name] = pd.Series([], dtype=np.float64)
    return pd.DataFrame(cols)


def _one(
    i: int,
    ds: PartitionedEvents,
    spec: FeatureSpec,
    cutoffs: Cutoffs,
    tasks: Sequence[TaskConfig],
    observation_end: pd.Timestamp | None,
    before: Callable[[int], None] | None,
) -> pd.DataFrame:
    if before is not None:
        before(i)
    frame = partition_frame(read_partition(ds, i), spec, cutoffs, tasks, observation_end)
    return frame if len(frame) else _meta(spec, tasks)


def partition_frames(
    ds: PartitionedEvents,
    spec: FeatureSpec,
    cutoffs: Cutoffs,
    tasks: Sequence[TaskConfig] = (),
    observation_end: pd.Timestamp | None = None,
    *,
    before: Callable[[int], None] | None = None,
) -> Any:
    """A Dask DataFrame of :func:`partition_frame` over every partition of ``ds`` (lazy:
    ``.compute()``, ``.to_parquet()`` or :func:`~journeyml.engine.train_dask` run it on the
    cluster of the current client). ``before(i)`` runs first in each task (tests use it to
    kill a worker)."""
    import dask.dataframe as dd

    return dd.from_map(
        _one,
        range(ds.n_partitions),
        args=(ds, spec, cutoffs, tuple(tasks), observation_end, before),
        meta=_meta(spec, tasks),
        label="journeyml-features",
        enforce_metadata=False,
    )
