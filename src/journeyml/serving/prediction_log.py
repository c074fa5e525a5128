"""The service's link to the event store, and the prediction log it writes in the background.

:class:`StoreLink` opens the store on first use (a store that is down at start-up does not stop
the service: the endpoints that need it answer 503 until it is back). :class:`PredictionLog`
records every prediction the service answers: the request path only appends to an in-memory
buffer (microseconds); a background thread digests the events each prediction used and writes
the entries in batches, one transaction each (:meth:`EventStore.log_predictions`). A store that
is down keeps the entries buffered (up to ``max_pending``, oldest dropped first and counted) and
the thread retries; :meth:`PredictionLog.close` flushes what is left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from journeyml.errors import JourneyMLError, StoreNotConfiguredError, StoreUnavailableError
from journeyml.serving import metrics
from journeyml.store import EventStore, PredictionRecord, journey_digest

log = logging.getLogger("journeyml.serving")

#: (response, events used or their digest, item, created_at in ns, project)
_Pending = tuple[Mapping[str, Any], Sequence[Mapping[str, Any]] | str, int, int, str]


class StoreLink:
    """The store at ``uri`` (None: no store), opened on first use and kept."""

    def __init__(self, uri: str | None, *, opener: Callable[[str], EventStore] | None = None):
        self.uri = uri
        self._opener = opener or EventStore.open
        self._store: EventStore | None = None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return self.uri is not None

    def get(self) -> EventStore:
        """The open store; :class:`StoreNotConfiguredError` (501) without one,
        :class:`StoreUnavailableError` (503) when it cannot be opened now."""
        if self._store is not None:
            return self._store
        if self.uri is None:
            raise StoreNotConfiguredError(
                "expected this service to have an event store, got none: start it with "
                "`journeyml serve` (which uses ./store/journeyml.db) or set JOURNEYML_STORE_URI.",
            )
        with self._lock:
            if self._store is None:
                self._store = self._opener(self.uri)
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


class PredictionLog:
    """Buffered, batched writes of prediction-log entries (see the module docstring).

    ``add`` is what the request path calls; ``flush`` writes what is buffered now (the
    background thread calls it every ``interval_s``, or sooner once ``batch`` entries wait).
    """

    def __init__(
        self,
        link: StoreLink,
        *,
        project: str,
        interval_s: float = 0.2,
        batch: int = 500,
        max_pending: int = 100_000,
    ) -> None:
        self.link = link
        self.project = project
        self.interval_s = interval_s
        self.batch = batch
        self.max_pending = max_pending
        self._pending: deque[_Pending] = deque()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.failures = 0

    @property
    def enabled(self) -> bool:
        return self.link.configured

    def add(
        self,
        response: Mapping[str, Any],
        used: Sequence[Mapping[str, Any]] | str,
        *,
        item: int = 0,
        project: str | None = None,
    ) -> None:
        """Buffer the entry of one answered prediction (``used``: the events strictly before
        its ``as_of``, or their :func:`~journeyml.store.journey_digest` when a compute process
        made it already). Never raises and never waits for the store."""
        if not self.enabled:
            return
        if len(self._pending) >= self.max_pending:
            self._pending.popleft()
            self.dropped += 1
            metrics.log_dropped()
        self._pending.append((response, used, item, time.time_ns(), project or self.project))
        self._ensure_thread()
        if len(self._pending) >= self.batch:
            self._wake.set()

    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write every buffered entry now (batches of ``batch``); returns how many were written.
        Raises :class:`StoreUnavailableError` (entries kept) when the store cannot take them."""
        written = 0
        with self._flush_lock:
            while self._pending:
                taken: list[_Pending] = []
                while self._pending and len(taken) < self.batch:
                    taken.append(self._pending.popleft())
                entries = [_entry(p) for p in taken]
                try:
                    self.link.get().log_predictions(entries)
                except StoreUnavailableError:
                    self._pending.extendleft(reversed(taken))
                    metrics.log_flushed(0, len(self._pending), ok=False)
                    raise
                written += len(entries)
                self.written += len(entries)
                metrics.log_flushed(len(entries), len(self._pending), ok=True)
        return written

    def discard_customer(self, customer_id: str) -> int:
        """Drop buffered entries of ``customer_id`` (before erasing the customer)."""
        with self._flush_lock:
            kept = [p for p in self._pending if str(p[0].get("customer_id")) != customer_id]
            n = len(self._pending) - len(kept)
            self._pending.clear()
            self._pending.extend(kept)
        return n

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread and write what is left (best effort when the store is down)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        try:
            self.flush()
        except JourneyMLError as exc:
            log.error("prediction log: %d entries not written at exit: %s", self.pending(), exc)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._thread_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="journeyml-prediction-log", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if not self._pending:
                continue
            try:
                self.flush()
            except JourneyMLError as exc:  # store down: keep the entries, try again later
                self.failures += 1
                log.warning(
                    "prediction log: %d entries wait for the store: %s", self.pending(), exc
                )
                self._stop.wait(min(5.0, self.interval_s * 10))
            except Exception:  # a bug must not kill the thread silently
                self.failures += 1
                log.exception("prediction log: writing failed")
                self._stop.wait(1.0)


def _entry(p: _Pending) -> PredictionRecord:
    response, used, item, created_ns, project = p
    return PredictionRecord.from_response(
        response,
        project=project,
        events_hash=used if isinstance(used, str) else journey_digest(used),
        created_at=created_ns,
        item=item,
    )
