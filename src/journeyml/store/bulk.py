"""Bulk loads into the store: a log file through the same readers and validation as training.

``ingest_file(store, path, mapping, now=...)`` reads and maps the file like
``journeyml.events.load_events`` (lenient policy: bad rows go to the rejects file with their
reason; no mapping for a file with the canonical columns), then stores the accepted events in
transactions of whole customers (about ``batch_size`` events each), reporting progress after
each. Every input row is counted once::

    input = accepted (new in the store) + rejected (by validation) + duplicates

where duplicates are rows the store already had, or rows repeating another row of the file.
When the mapping says ``duplicates: keep`` (logs whose identical rows are genuine, separate
events), identical rows are all stored, and re-ingesting the file still adds nothing.
Every transaction that finished is kept if the load stops half-way; running it again completes
it (idempotent).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from journeyml.events import (
    CUSTOMER_ID,
    MappingRef,
    ValidationReport,
    map_events,
    read_for_mapping,
)
from journeyml.progress import NO_PROGRESS, Progress
from journeyml.store.entries import IngestResult
from journeyml.store.store import EventStore

#: events per transaction of a bulk load (whole customers, so about this many)
BATCH_EVENTS = 5_000


@dataclass(frozen=True)
class IngestReport:
    """What a bulk load did with every input row (``n_input = accepted + rejected +
    duplicates``)."""

    source: str
    n_input: int
    accepted: int
    rejected: int
    duplicates: int
    rejects_by_reason: dict[str, int]
    rejects_path: str | None
    customers: int
    seconds: float
    validation: ValidationReport

    def __post_init__(self) -> None:
        if self.accepted + self.rejected + self.duplicates != self.n_input:  # pragma: no cover
            raise AssertionError("accepted + rejected + duplicates must equal the input rows")

    @property
    def rows_per_second(self) -> float:
        """Input rows read, validated and stored per second."""
        return self.n_input / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["validation"] = self.validation.to_dict()
        return out

    def to_text(self) -> str:
        lines = [
            f"source: {self.source}",
            f"rows: {self.n_input:,} input = {self.accepted:,} accepted + {self.rejected:,} "
            f"rejected + {self.duplicates:,} duplicates",
            f"customers: {self.customers:,}; read, validated and stored in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s)",
        ]
        lines += [f"  rejected {reason}: {n:,}" for reason, n in self.rejects_by_reason.items()]
        if self.rejects_path:
            lines.append(f"rejected rows written to: {self.rejects_path}")
        return "\n".join(lines)


def customer_batches(events: pd.DataFrame, size: int) -> list[tuple[int, int]]:
    """Row ranges ``[lo, hi)`` of about ``size`` events that never split a customer (rows
    sorted by customer, as canonical frames are).

    >>> ev = pd.DataFrame({"customer_id": list("aaabbc")})
    >>> customer_batches(ev, 2), customer_batches(ev, 10)
    ([(0, 3), (3, 5), (5, 6)], [(0, 6)])
    """
    n = len(events)
    if n == 0:
        return []
    ids = events[CUSTOMER_ID].to_numpy(dtype=object)
    starts = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1, n]  # customer boundaries
    out: list[tuple[int, int]] = []
    lo = 0
    while lo < n:
        at = min(int(np.searchsorted(starts, lo + max(size, 1), side="left")), len(starts) - 1)
        hi = int(starts[at])
        out.append((lo, hi))
        lo = hi
    return out


def ingest_frame(
    store: EventStore,
    events: pd.DataFrame,
    *,
    source: str,
    now: Any,
    keep_repeats: bool = False,
    batch_size: int = BATCH_EVENTS,
    progress: Progress = NO_PROGRESS,
) -> IngestResult:
    """Store a canonical frame (sorted by customer) in transactions of whole customers,
    reporting the stage ``storing`` (events) to ``progress`` after each."""
    total = IngestResult(0, 0)
    with progress.stage("storing", total=len(events), unit="events") as stage:
        for lo, hi in customer_batches(events, batch_size):
            total += store.ingest(
                events.iloc[lo:hi], source=source, now=now, keep_repeats=keep_repeats
            )
            stage.update(hi)
    return total


def ingest_file(
    store: EventStore,
    path: str | Path,
    mapping: MappingRef = None,
    *,
    now: Any,
    source: str | None = None,
    rejects_path: str | Path | None = None,
    batch_size: int = BATCH_EVENTS,
    progress: Progress = NO_PROGRESS,
) -> IngestReport:
    """Load ``path`` with ``mapping`` (a mapping, a YAML file, a built-in name, or ``None`` for
    a file with the canonical columns) under the lenient policy and store the accepted events;
    ``now`` is both the ingest time and the moment after which timestamps count as in the
    future. ``source`` defaults to the file name. ``progress`` hears the stages reading,
    mapping, validating, sorting and storing."""
    started = time.perf_counter()
    raw, m = read_for_mapping(path, mapping, progress=progress)
    keep_repeats = m.duplicates == "keep"
    # identical rows are not validation errors here: the store counts them as duplicates (or,
    # under ``duplicates: keep``, stores each)
    loaded = map_events(
        raw,
        m.model_copy(update={"duplicates": "keep"}),
        policy="lenient",
        now=now,
        rejects_path=rejects_path,
        source=str(path),
        progress=progress,
    )
    report = loaded.report
    stored = ingest_frame(
        store,
        loaded.events,
        source=source or Path(path).name,
        now=now,
        keep_repeats=keep_repeats,
        batch_size=batch_size,
        progress=progress,
    )
    return IngestReport(
        source=str(path),
        n_input=report.n_input,
        accepted=stored.accepted,
        rejected=report.n_rejected,
        duplicates=stored.duplicates,
        rejects_by_reason=report.rejects_by_reason,
        rejects_path=report.rejects_path,
        customers=report.n_customers,
        seconds=time.perf_counter() - started,
        validation=report,
    )
