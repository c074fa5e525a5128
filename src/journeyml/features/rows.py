"""The feature rows of a set of cutoffs, read some rows at a time: from a matrix in memory
(:class:`MatrixRows`), or computed from the events as they are read, in chunks of whole
customers (:class:`ChunkedRows`), so that training never holds every cutoff's features.

Both give the same values in the same blocks (C-ordered, ``block`` rows each, the last one
shorter), so a row-by-row model reads bit for bit what it would read from the matrix:

>>> from journeyml import FeatureBuilder, build_features, every_n_days, simulate
>>> ev = simulate(60, seed=2, days=90).events
>>> spec = FeatureBuilder(windows_days=(7,)).fit(ev).spec_
>>> cut = every_n_days(ev, every_days=14)
>>> streamed = ChunkedRows.of(ev, cut, spec, chunk_events=500)
>>> whole = MatrixRows(build_features(ev, cut, spec, dtype=np.float32).to_numpy(np.float32))
>>> idx = np.arange(3, len(cut), 2)
>>> pairs = zip(streamed.blocks(idx, 50), whole.blocks(idx, 50), strict=True)
>>> all(np.array_equal(a, b, equal_nan=True) for a, b in pairs)
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from journeyml.features.arrays import EventArrays
from journeyml.features.build import (
    CHUNK_EVENTS,
    chunk_context,
    compute_features,
    customer_chunks,
    cutoff_codes,
    encode_events,
    features_from_context,
)
from journeyml.features.spec import FeatureSpec


@runtime_checkable
class FeatureRows(Protocol):
    """Feature rows of a cutoff set (``shape``: cutoffs × features), read by row numbers."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def blocks(self, idx: np.ndarray, block: int) -> Iterator[np.ndarray]:
        """The rows ``idx`` (ascending row numbers), in order, ``block`` rows at a time."""
        ...

    def take(self, idx: np.ndarray) -> np.ndarray:
        """The rows ``idx`` (row numbers in any order) at once: for samples."""
        ...

    def column(self, j: int) -> np.ndarray:
        """Column ``j`` of every row."""
        ...

    def matrix(self) -> np.ndarray:
        """Every row at once."""
        ...


@dataclass(frozen=True)
class MatrixRows:
    """The rows of a matrix held in memory."""

    X: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.X.shape[0]), int(self.X.shape[1]))

    def blocks(self, idx: np.ndarray, block: int) -> Iterator[np.ndarray]:
        for i in range(0, len(idx), block):
            yield self.X[idx[i : i + block]]

    def take(self, idx: np.ndarray) -> np.ndarray:
        return np.asarray(self.X[idx])

    def column(self, j: int) -> np.ndarray:
        return np.asarray(self.X[:, j])

    def matrix(self) -> np.ndarray:
        return self.X


def as_rows(X: np.ndarray | FeatureRows) -> FeatureRows:
    """``X`` itself if it reads rows already, else the rows of the matrix ``X``."""
    return MatrixRows(X) if isinstance(X, np.ndarray) else X


def _reblocked(runs: Iterator[np.ndarray], block: int) -> Iterator[np.ndarray]:
    """Consecutive runs of rows cut again into blocks of exactly ``block`` rows (the last
    shorter), C-ordered as a matrix's ``X[idx]`` is."""
    buf: list[np.ndarray] = []
    have = 0
    for run in runs:
        buf.append(run)
        have += run.shape[0]
        while have >= block:
            rows = np.concatenate(buf) if len(buf) > 1 else buf[0]
            yield np.ascontiguousarray(rows[:block])
            rest = rows[block:]
            buf, have = ([rest], rest.shape[0]) if rest.shape[0] else ([], 0)
    if have:
        yield np.ascontiguousarray(np.concatenate(buf) if len(buf) > 1 else buf[0])


class _StreamedRows:
    """What rows computed as they are read share: blocks, rows in any order and kept columns,
    all from the subclass's ``_runs`` (the requested rows, ascending, in consecutive runs)."""

    dtype: Any
    columns: dict[int, np.ndarray]

    @property
    def shape(self) -> tuple[int, int]:
        raise NotImplementedError

    def _runs(self, idx: np.ndarray, window: int) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def blocks(self, idx: np.ndarray, block: int) -> Iterator[np.ndarray]:
        return _reblocked(self._runs(np.asarray(idx, dtype=np.int64), block), block)

    def take(self, idx: np.ndarray) -> np.ndarray:
        """The rows ``idx`` (row numbers in any order) at once, from the runs of the sorted
        rows."""
        idx = np.asarray(idx, dtype=np.int64)
        order = np.argsort(idx, kind="stable")
        out = np.empty((len(idx), self.shape[1]), dtype=self.dtype)
        at = 0
        for run in self._runs(idx[order], 32_768):
            out[order[at : at + run.shape[0]]] = run
            at += run.shape[0]
        return out

    def column(self, j: int) -> np.ndarray:
        """Column ``j`` of every row: computed in one pass the first time, then kept."""
        if j not in self.columns:
            out = np.empty(self.shape[0], dtype=self.dtype)
            at = 0
            for run in self._runs(np.arange(self.shape[0]), 32_768):
                out[at : at + run.shape[0]] = run[:, j]
                at += run.shape[0]
            self.columns[j] = out
        return self.columns[j]


@dataclass
class ChunkedRows(_StreamedRows):
    """Rows computed when they are read, in chunks of whole customers of about
    ``chunk_events`` events (:func:`customer_chunks`): every feature depends on one
    customer's events only, so they are the rows of :func:`build_features` bit for bit
    (stored in ``dtype``, rounded once from float64 as ``build_features`` rounds them). Only
    the chunk being computed is in memory; requested columns are kept (:meth:`column`).

    Reading is fast when the cutoffs are grouped by customer in the events' customer order
    (``ordered``, as the pipeline's cutoffs are): one pass over the chunks. Otherwise rows are
    computed ``block`` cutoffs at a time, each block reading all of its customers' events."""

    events: EventArrays
    spec: FeatureSpec
    q_cust: np.ndarray
    as_of: np.ndarray
    n_events: np.ndarray | None = None
    dtype: Any = np.float32
    chunk_events: int = CHUNK_EVENTS
    columns: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(
        cls,
        events: pd.DataFrame | EventArrays,
        cutoffs: pd.DataFrame,
        spec: FeatureSpec,
        **kw: Any,
    ) -> ChunkedRows:
        """The rows of ``build_features(events, cutoffs, spec)`` (``events`` may be encoded
        already, :func:`encode_events`: several cutoff sets then share one encoding)."""
        arr = events if isinstance(events, EventArrays) else encode_events(events, spec)
        q_cust, as_of, n_ev = cutoff_codes(arr, cutoffs)
        return cls(arr, spec, q_cust, as_of, n_ev, **kw)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.q_cust.shape[0]), len(self.spec.features))

    @property
    def ordered(self) -> bool:
        """The cutoffs are grouped by customer in the events' order (customers without events
        first): chunks then come in row order."""
        return bool((np.diff(self.q_cust) >= 0).all())

    def _runs(self, idx: np.ndarray, window: int) -> Iterator[np.ndarray]:
        """The rows ``idx`` (ascending) in consecutive runs, in order."""
        q, as_of = self.q_cust[idx], self.as_of[idx]
        n_ev = None if self.n_events is None else self.n_events[idx]
        if not self.ordered:
            for i in range(0, len(idx), window):
                part = slice(i, i + window)
                yield compute_features(
                    self.events,
                    self.spec,
                    q[part],
                    as_of[part],
                    None if n_ev is None else n_ev[part],
                    dtype=self.dtype,
                )
            return
        for chunk in customer_chunks(self.events, q, self.chunk_events):
            # ordered cutoffs: each chunk's rows follow the previous chunk's
            X = features_from_context(chunk_context(chunk, self.spec, as_of, n_ev))
            yield X.astype(self.dtype, copy=False)

    def matrix(self) -> np.ndarray:
        """Every row at once (as :func:`build_features` computes it)."""
        return compute_features(
            self.events, self.spec, self.q_cust, self.as_of, self.n_events, dtype=self.dtype
        )


@dataclass
class PartitionedRows(_StreamedRows):
    """Rows of cutoffs grouped by partition of a customer-partitioned event log (each
    customer's events in one partition), computed partition by partition as they are read:
    only one partition's events are in memory at a time. Rows ``bounds[k]`` (start, stop)
    belong to partition ``partitions[k]``; within it the rows are those of a
    :class:`ChunkedRows` of that partition's events (``load(partition)``), so every value is
    the one :func:`build_features` gives on the whole log for that cutoff.

    >>> from journeyml import FeatureBuilder, build_features, every_n_days, simulate
    >>> ev = simulate(40, seed=3, days=60).events
    >>> spec = FeatureBuilder(windows_days=(7,)).fit(ev).spec_
    >>> halves = [ev[ev.customer_id.isin(ev.customer_id.unique()[i::2])] for i in (0, 1)]
    >>> cuts = [every_n_days(h, 14, start=ev.timestamp.min().floor("D")) for h in halves]
    >>> parts = PartitionedRows(lambda i: halves[i], pd.concat(cuts, ignore_index=True),
    ...     spec, [0, 1], [(0, len(cuts[0])), (len(cuts[0]), len(cuts[0]) + len(cuts[1]))])
    >>> whole = build_features(ev, parts.cutoffs, spec, dtype=np.float32).to_numpy(np.float32)
    >>> np.array_equal(parts.take(np.arange(len(parts.cutoffs))), whole, equal_nan=True)
    True
    """

    load: Callable[[int], pd.DataFrame]
    cutoffs: pd.DataFrame
    spec: FeatureSpec
    partitions: list[int]
    bounds: list[tuple[int, int]]
    dtype: Any = np.float32
    chunk_events: int = CHUNK_EVENTS
    columns: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(
        cls,
        load: Callable[[int], pd.DataFrame],
        cutoffs: pd.DataFrame,
        partition: np.ndarray,
        spec: FeatureSpec,
        **kw: Any,
    ) -> PartitionedRows:
        """The rows of ``cutoffs``, whose customer's partition is ``partition`` (one number
        per cutoff, ascending: the cutoffs grouped by partition)."""
        partition = np.asarray(partition, dtype=np.int64)
        if (np.diff(partition) < 0).any():
            raise ValueError("expected cutoffs grouped by partition (ascending partition numbers)")
        parts, starts = np.unique(partition, return_index=True)
        stops = np.r_[starts[1:], len(partition)].astype(np.int64)
        bounds = [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
        return cls(load, cutoffs, spec, [int(p) for p in parts], bounds, **kw)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.cutoffs), len(self.spec.features))

    def _runs(self, idx: np.ndarray, window: int) -> Iterator[np.ndarray]:
        """The rows ``idx`` (ascending) in consecutive runs, in order: one partition's
        events read at a time, and only for partitions with a requested row."""
        for p, (lo, hi) in zip(self.partitions, self.bounds, strict=True):
            a, b = np.searchsorted(idx, [lo, hi])
            if a == b:
                continue
            rows = ChunkedRows.of(
                self.load(p),
                self.cutoffs.iloc[lo:hi],
                self.spec,
                dtype=self.dtype,
                chunk_events=self.chunk_events,
            )
            yield from rows._runs(idx[a:b] - lo, window)

    def matrix(self) -> np.ndarray:
        """Every row at once."""
        return self.take(np.arange(self.shape[0]))
