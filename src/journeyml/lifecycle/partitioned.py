"""Training data from a customer-partitioned event dataset (``data.path`` naming a folder
written by :class:`journeyml.events.PartitionWriter` or :func:`journeyml.events.repartition`),
read one partition at a time: the events are never whole in memory.

Every cutoff and label depends on one customer's events only, and each customer's events are
in one partition, so each partition gives exactly the cutoffs and labels the whole log gives
for its customers (the snapshot grid and the end of observation are the whole log's, read
first from the timestamps alone). They are computed partition by partition with the same
code as for a log in memory (:mod:`journeyml.lifecycle.cutoffs`) and kept, with the number
of each cutoff's partition; the feature rows are computed partition by partition as they are
read (:class:`journeyml.features.PartitionedRows`).

Passes over the partitions: the timestamps and the task vocabulary's columns (the grid, the
end, the checks); cutoffs and labels; the vocabularies (the training period's events, the
columns the features read, put together once); then the rows, as the tasks read them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError, EmptyDataError
from journeyml.events import (
    CANONICAL_COLUMNS,
    CUSTOMER_ID,
    STAGE,
    TIMESTAMP,
    TOUCHPOINT,
    PartitionedEvents,
    is_partitioned,
    open_partitioned,
    read_partition,
    resolve_mapping,
    resolve_mapping_ref,
    resolve_named_path,
    to_canonical,
)
from journeyml.features import FeatureBuilder, FeatureSpec, PartitionedRows
from journeyml.lifecycle.config import PipelineConfig
from journeyml.lifecycle.cutoffs import (
    TaskData,
    resolve_tasks,
    split_tasks,
    task_labels,
)
from journeyml.lifecycle.tracking import data_fingerprint
from journeyml.tasks import CutoffMode, DataDefaults, Funnel, TaskConfig, task_attributes

Progress = Callable[[str], None]
#: customers of the first partition kept for MLflow's schema and input example and for the
#: messages of a task without labels
SAMPLE_CUSTOMERS = 2_000


def partitioned_path(config: PipelineConfig) -> Path | None:
    """``data.path`` when it names a partitioned dataset (a folder with the manifest)."""
    d = config.data
    if d.path is None:
        return None
    path = resolve_named_path(d.path, base=config.base_dir, key="data.path")
    return path if path.is_dir() and is_partitioned(path) else None


@dataclass
class PartitionedData:
    """A partitioned dataset opened for training, with what the whole log says (the first
    event's day, the end of observation, the number of events, the task vocabulary)."""

    dataset: PartitionedEvents
    start: pd.Timestamp
    observation_end: pd.Timestamp
    n_events: int
    n_customers: int
    vocabulary: pd.DataFrame
    defaults: DataDefaults
    source: str

    def load(self, i: int) -> pd.DataFrame:
        """Partition ``i``'s events, canonical and in the canonical order."""
        return to_canonical(read_partition(self.dataset, i))


def _defaults(config: PipelineConfig) -> DataDefaults:
    """The mapping's outcomes and company-sent touchpoints (the events are canonical
    already: the mapping is not applied), or none said."""
    ref = resolve_mapping_ref(config.data.mapping, base=config.base_dir, key="data.mapping")
    if ref is None:
        return DataDefaults(source="the partitioned dataset")
    m = resolve_mapping(ref)
    return DataDefaults.from_outcomes(
        m.outcomes, m.company_sent, source=f"the mapping ({m.source})"
    )


def open_training_data(config: PipelineConfig, path: Path) -> PartitionedData:
    """The first pass: customers, timestamps and the columns the tasks name, partition by
    partition."""
    import pyarrow.parquet as pq

    ds = open_partitioned(path)
    defaults = _defaults(config)
    tasks = config.task_configs(defaults)
    wanted = [CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, STAGE]
    wanted += sorted({a for t in tasks.values() for a in task_attributes(t)} - set(wanted))
    lo: pd.Timestamp | None = None
    hi: pd.Timestamp | None = None
    n = n_customers = 0
    seen: dict[str, set[object]] = {}
    for f in ds.files:
        names = set(pq.read_schema(f).names)
        if TIMESTAMP not in names:
            raise ConfigError(
                f"expected canonical events with a {TIMESTAMP!r} column in {f}, got columns "
                f"{sorted(names)}. Write the dataset from loaded events "
                "(journeyml.events.load_events, then PartitionWriter or repartition).",
                field="data.path",
            )
        part = pq.read_table(f, columns=[c for c in wanted if c in names]).to_pandas()
        if part.empty:
            continue
        ts = pd.to_datetime(part[TIMESTAMP], utc=True)
        lo = ts.min() if lo is None else min(lo, ts.min())
        hi = ts.max() if hi is None else max(hi, ts.max())
        n += len(part)
        n_customers += part[CUSTOMER_ID].nunique()
        for c in part.columns.drop([TIMESTAMP, CUSTOMER_ID], errors="ignore"):
            seen.setdefault(c, set()).update(pd.unique(part[c].dropna()))
    if lo is None or hi is None:
        raise EmptyDataError(
            f"expected events in the partitioned dataset {path}, got none. Write the events "
            "into it again (journeyml.events.repartition).",
            field="data.path",
        )
    return PartitionedData(
        ds,
        lo.floor("D"),
        hi + pd.Timedelta(1, "ns"),
        n,
        n_customers,
        _vocabulary(seen),
        defaults,
        str(path),
    )


def _vocabulary(seen: dict[str, set[object]]) -> pd.DataFrame:
    """A frame with every value of each column (shorter columns repeat their first value):
    what :func:`journeyml.tasks.check_vocabulary` reads of the events."""
    values = {c: sorted(v, key=str) for c, v in seen.items()}
    n = max((len(v) for v in values.values()), default=0)
    return pd.DataFrame(
        {
            c: pd.Series(v + [v[0]] * (n - len(v)) if v else [None] * n, dtype=object)
            for c, v in values.items()
        }
    )


@dataclass
class PartitionedTasks:
    """What :func:`prepare_partitioned` returns: ``prepare_tasks``' three values, the
    partition of each cutoff, and what the pipeline reports and logs of the events."""

    tasks: dict[str, TaskConfig]
    cutoff_sets: dict[CutoffMode, pd.DataFrame]
    prepared: dict[str, TaskData]
    partitions: dict[CutoffMode, np.ndarray]
    fingerprint: str
    sample: pd.DataFrame


def prepare_partitioned(
    config: PipelineConfig, data: PartitionedData, progress: Progress | None = None
) -> PartitionedTasks:
    """Tasks resolved and checked, then cutoffs and labels one partition at a time (the
    code of a log in memory, with the whole log's grid and end), put together, split."""
    say = progress or (lambda _msg: None)
    tasks, modes = resolve_tasks(config, data.defaults, data.vocabulary)
    cuts: dict[CutoffMode, list[pd.DataFrame]] = {m: [] for m in dict.fromkeys(modes.values())}
    parts: dict[CutoffMode, list[np.ndarray]] = {m: [] for m in cuts}
    labels: dict[str, list[pd.DataFrame]] = {name: [] for name in tasks}
    funnels: dict[str, list[Funnel]] = {name: [] for name in tasks}
    firsts: list[pd.DataFrame] = []
    digest = hashlib.sha256()
    sample: pd.DataFrame | None = None
    for i in range(data.dataset.n_partitions):
        ev = data.load(i)
        if ev.empty:
            continue
        digest.update(data_fingerprint(ev).encode())
        first = ev.drop_duplicates(CUSTOMER_ID)  # each customer's first event
        firsts.append(first)
        if sample is None:
            keep = first[CUSTOMER_ID].iloc[:SAMPLE_CUSTOMERS]
            sample = ev[ev[CUSTOMER_ID].isin(keep)].reset_index(drop=True)
        cutoff_sets, labelled = task_labels(
            config, tasks, modes, ev, data.observation_end, start=data.start
        )
        for m, c in cutoff_sets.items():
            cuts[m].append(c)
            parts[m].append(np.full(len(c), i, dtype=np.int32))
        for name, (lab, funnel) in labelled.items():
            labels[name].append(lab)
            funnels[name].append(funnel)
    assert sample is not None  # open_training_data found events
    cutoff_sets = {m: pd.concat(c, ignore_index=True) for m, c in cuts.items()}
    whole = {
        name: (pd.concat(labels[name], ignore_index=True), Funnel.merged(funnels[name]))
        for name in tasks
    }
    prepared = split_tasks(
        config,
        tasks,
        modes,
        cutoff_sets,
        whole,
        events=pd.concat(firsts, ignore_index=True),
        say=say,
        hints=sample,
    )
    return PartitionedTasks(
        tasks,
        cutoff_sets,
        prepared,
        {m: np.concatenate(p) for m, p in parts.items()},
        digest.hexdigest()[:16],
        sample,
    )


def fit_builder(
    builder: FeatureBuilder, data: PartitionedData, until: pd.Timestamp
) -> FeatureBuilder:
    """``builder`` fitted on the events before ``until`` (the training period), read one
    partition at a time, only the columns the features read, put together in the canonical
    order (the order of the whole log's events: the same vocabularies)."""
    keep = [*CANONICAL_COLUMNS, *builder.params().attributes]
    frames = []
    for i in range(data.dataset.n_partitions):
        ev = data.load(i)
        frames.append(ev.loc[ev[TIMESTAMP] < until, [c for c in keep if c in ev.columns]])
        del ev
    return builder.fit(to_canonical(pd.concat(frames, ignore_index=True)))


def partition_rows(
    data: PartitionedData,
    cutoffs: pd.DataFrame,
    partitions: np.ndarray,
    spec: FeatureSpec,
    dtype: Any = np.float32,
) -> PartitionedRows:
    """The feature rows of ``cutoffs`` (grouped by partition), computed partition by
    partition as they are read."""
    return PartitionedRows.of(data.load, cutoffs, partitions, spec, dtype=dtype)


def refuse_engine(engine: str) -> None:
    """The Dask engine partitions a log itself; a partitioned dataset trains on this machine."""
    raise ConfigError(
        f"expected engine local with a partitioned dataset in data.path, got {engine}: the "
        "Dask engine reads a log file and partitions it itself. Leave engine out (this machine, "
        "one partition in memory at a time) or point data.path at the log file.",
        field="engine",
    )
