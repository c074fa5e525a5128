"""A partitioned event dataset: canonical events in parquet files, one per partition, each
customer in exactly one partition (by a hash of the customer id).

Every feature and label depends on one customer's events only, so each partition can be
processed on its own — chunk by chunk on one machine, or one task per partition on a Dask
cluster — and the results are those of the whole log. The layout::

    events/                          # the dataset folder
      _journeyml_partitions.json     # {"by": "customer_id", "hash": ..., "n_partitions": 8}
      part-00000.parquet             # every event of the customers whose hash % 8 == 0
      ...

:class:`PartitionWriter` writes it from chunks of any size (a customer's events may arrive in
several chunks: they land in the same file). :func:`repartition` turns any parquet file or
folder of canonical events into one, in batches. :func:`open_partitioned` refuses a folder
without the manifest, naming the fix, and :func:`read_partition` checks that every customer
it reads belongs to that partition.

>>> import tempfile, pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a", "b", "a", "c"],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
...                                 utc=True), "touchpoint": ["visit"] * 4})
>>> folder = Path(tempfile.mkdtemp()) / "events"
>>> with PartitionWriter(folder, n_partitions=3) as w:
...     w.write(ev.iloc[:2]); w.write(ev.iloc[2:])
>>> ds = open_partitioned(folder)
>>> sorted(len(read_partition(ds, i)) for i in range(ds.n_partitions))  # a's 2 events together
[0, 2, 2]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from journeyml.errors import DataError
from journeyml.events.schema import CUSTOMER_ID, TIMESTAMP

MANIFEST = "_journeyml_partitions.json"
#: pandas' SipHash of the id text with its fixed default key: the same in every process
HASH = "pandas.util.hash_array(str(customer_id)) % n_partitions"


def partition_of(customer_ids: Any, n_partitions: int) -> np.ndarray:
    """The partition of each customer id (stable across processes, machines and runs).

    >>> partition_of(["a", "b", "a"], 4).tolist()
    [0, 3, 0]
    """
    ids = np.asarray(pd.Series(customer_ids).astype(str).to_numpy(dtype=object))
    h = pd.util.hash_array(ids, categorize=True)
    return (h % np.uint64(n_partitions)).astype(np.int64)


@dataclass(frozen=True)
class PartitionedEvents:
    """An opened dataset: its folder and number of partitions."""

    path: Path
    n_partitions: int

    def file(self, i: int) -> Path:
        return self.path / f"part-{i:05d}.parquet"

    @property
    def files(self) -> list[Path]:
        return [self.file(i) for i in range(self.n_partitions)]


class PartitionWriter:
    """Writes canonical events into a partitioned dataset, from chunks in any order.

    Each partition's file stays open until :meth:`close`, so a customer whose events arrive
    in several chunks still lands in one file. Every file exists afterwards (possibly with no
    rows), so readers see ``n_partitions`` files.
    """

    def __init__(self, path: Path, n_partitions: int) -> None:
        if n_partitions < 1:
            raise DataError(
                f"expected n_partitions >= 1, got {n_partitions}. Ask for at least one.",
                field="n_partitions",
            )
        self.path = Path(path)
        if self.path.exists() and any(self.path.iterdir()):
            raise DataError(
                f"expected an empty or new folder for the partitioned events, got {self.path} "
                "with files in it. Remove it or choose another folder.",
                field="path",
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.dataset = PartitionedEvents(self.path, n_partitions)
        self._writers: dict[int, Any] = {}
        self._schema: Any = None
        self.n_events = 0

    def write(self, events: pd.DataFrame) -> None:
        """Append a chunk of canonical events (any customers, any order)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if events.empty:
            return
        for col in (CUSTOMER_ID, TIMESTAMP):
            if col not in events.columns:
                raise DataError(
                    f"expected canonical events with a {col!r} column, got columns "
                    f"{list(events.columns)}. Load the log with journeyml.events.load_events.",
                    field=col,
                )
        part = partition_of(events[CUSTOMER_ID], self.dataset.n_partitions)
        table = pa.Table.from_pandas(events, preserve_index=False)
        if self._schema is None:
            self._schema = table.schema
        elif not table.schema.equals(self._schema):
            table = table.cast(self._schema)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.dataset.n_partitions + 1))
        for i in range(self.dataset.n_partitions):
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            if hi == lo:
                continue
            w = self._writers.get(i)
            if w is None:
                w = self._writers[i] = pq.ParquetWriter(self.dataset.file(i), self._schema)
            w.write_table(table.take(pa.array(order[lo:hi])))
        self.n_events += len(events)

    def close(self) -> PartitionedEvents:
        import pyarrow.parquet as pq

        for w in self._writers.values():
            w.close()
        self._writers.clear()
        if self._schema is not None:
            for f in self.dataset.files:
                if not f.exists():
                    pq.write_table(self._schema.empty_table(), f)
        manifest = {
            "by": CUSTOMER_ID,
            "hash": HASH,
            "n_partitions": self.dataset.n_partitions,
            "n_events": self.n_events,
        }
        (self.path / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        return self.dataset

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_partitioned(events: pd.DataFrame, path: Path, n_partitions: int) -> PartitionedEvents:
    """A partitioned dataset of an in-memory event frame."""
    with PartitionWriter(path, n_partitions) as w:
        w.write(events)
    return w.dataset


def _batches(source: Path, batch_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.dataset as pads

    for batch in pads.dataset(source, format="parquet").to_batches(batch_size=batch_rows):
        yield batch.to_pandas()


def repartition(
    source: Path, path: Path, n_partitions: int, *, batch_rows: int = 1_000_000
) -> PartitionedEvents:
    """Partition any parquet file or folder of canonical events by customer, reading it in
    batches of ``batch_rows`` rows (memory follows the batch, not the log)."""
    with PartitionWriter(path, n_partitions) as w:
        for chunk in _batches(Path(source), batch_rows):
            w.write(chunk)
    return w.dataset


def is_partitioned(path: Path) -> bool:
    """Whether ``path`` is a folder written by :class:`PartitionWriter`."""
    return (Path(path) / MANIFEST).is_file()


def open_partitioned(path: Path) -> PartitionedEvents:
    """Open a dataset written by :class:`PartitionWriter`; anything else is refused with the
    command that partitions it (a customer's events must never be split across partitions)."""
    path = Path(path)
    manifest = path / MANIFEST
    if not manifest.exists():
        raise DataError(
            f"expected events partitioned by customer (a folder with {MANIFEST}), got {path}, "
            "which is not partitioned by journeyml: a customer's events could be split across "
            "its files. Partition it first: journeyml.events.repartition("
            f"{str(path)!r}, 'events-partitioned', n_partitions=...).",
            field="path",
        )
    meta = json.loads(manifest.read_text())
    if meta.get("by") != CUSTOMER_ID or meta.get("hash") != HASH:
        raise DataError(
            f"expected a dataset partitioned by {HASH}, got {meta.get('hash')!r} by "
            f"{meta.get('by')!r} in {manifest}. Repartition it with "
            "journeyml.events.repartition.",
            field="path",
        )
    ds = PartitionedEvents(path, int(meta["n_partitions"]))
    missing = [f.name for f in ds.files if not f.exists()]
    if missing:
        raise DataError(
            f"expected {ds.n_partitions} partition files in {path}, got {len(missing)} missing "
            f"(e.g. {missing[0]}). The dataset is incomplete: write it again.",
            field="path",
        )
    return ds


def read_partition(ds: PartitionedEvents, i: int) -> pd.DataFrame:
    """The events of partition ``i``, checked: every customer in it hashes to ``i``."""
    ev = pd.read_parquet(ds.file(i))
    if len(ev):
        ids = pd.unique(ev[CUSTOMER_ID].astype(str).to_numpy(dtype=object))
        wrong = partition_of(ids, ds.n_partitions) != i
        if wrong.any():
            raise DataError(
                f"expected only customers of partition {i} in {ds.file(i).name}, got "
                f"{int(wrong.sum())} others (e.g. {ids[wrong][0]!r}): the file was changed "
                "after partitioning. Repartition the events with journeyml.events.repartition.",
                field="path",
            )
    return ev
