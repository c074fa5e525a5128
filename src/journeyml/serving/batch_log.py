"""The prediction log of batch scoring: every customer scored from a file is logged as the API
logs a ``/predict_batch`` request — one request id for the run, each prediction its ``item``
(its row in the output), with model versions, feature fingerprint, probabilities, top causes
and the digest of the events it used (those strictly before its ``as_of``).

Entries are written in bulk, one transaction per chunk of customers
(:meth:`~journeyml.store.EventStore.log_predictions`), as the chunk is scored. A replay
(``journeyml replay REQUEST_ID --item N``) recomputes one from the store: it is identical when
the file's events were ingested into the store (``journeyml ingest FILE``), and says so
plainly when they were not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from journeyml.events import CUSTOMER_ID, TIMESTAMP
from journeyml.features import to_ns
from journeyml.store import EventStore, PredictionRecord, digest_of, frame_fingerprints

#: the prefix of a file-scoring run's request id (the store's own scoring runs use ``score-``)
BATCH_PREFIX = "batch-"
#: columns of an event frame that are not part of an event record (its digest)
_NOT_RECORDED = frozenset({CUSTOMER_ID, "event_id"})


class BatchLog:
    """Logs the chunks of one batch-scoring run into ``store``'s prediction log.

    ``created_at``: the run's time (any time ``to_ns`` reads), recorded with every entry.
    """

    def __init__(self, store: EventStore, *, project: str, created_at: Any) -> None:
        self.store = store
        self.project = project
        self.created_at = created_at
        self.written = 0

    def __call__(self, rows: Sequence[Mapping[str, Any]], events: pd.DataFrame) -> int:
        """Log ``rows`` (the responses of one chunk, in output order) whose journeys are in
        ``events`` (the chunk's canonical events, a customer's together); returns how many
        entries were written. Items continue from the previous chunk."""
        if not rows:
            return 0
        digests = events_digests(rows, events)
        entries = [
            PredictionRecord.from_response(
                row,
                project=self.project,
                events_hash=digest,
                created_at=self.created_at,
                item=self.written + i,
            )
            for i, (row, digest) in enumerate(zip(rows, digests, strict=True))
        ]
        n = self.store.log_predictions(entries)
        self.written += len(entries)
        return n


def events_digests(rows: Sequence[Mapping[str, Any]], events: pd.DataFrame) -> list[str]:
    """For each response, :func:`~journeyml.store.journey_digest` of its customer's events
    strictly before its ``as_of`` (what the prediction used), with every field the store keeps
    (timestamp, touchpoint, channel, stage, value and the attribute columns)."""
    lines = frame_fingerprints(events.drop(columns=[c for c in _NOT_RECORDED if c in events]))
    ids = events[CUSTOMER_ID].astype(str).to_numpy()
    ts = events[TIMESTAMP].to_numpy(dtype="datetime64[ns]").view(np.int64)
    codes, uniques = pd.factorize(ids, sort=False)
    order = np.argsort(codes, kind="stable")  # a customer's events together
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    where = {str(c): i for i, c in enumerate(uniques)}
    out: list[str] = []
    for row in rows:
        k = where.get(str(row[CUSTOMER_ID]))
        if k is None:
            out.append(digest_of(()))
            continue
        t = to_ns(row["as_of"])
        mine = order[bounds[k] : bounds[k + 1]]
        out.append(digest_of(lines[i] for i in mine[ts[mine] < t].tolist()))
    return out
