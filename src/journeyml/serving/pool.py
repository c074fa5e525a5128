"""Big requests computed in worker processes, so the event loop keeps answering probes
(issue 15, liveness under load).

A thread computing a 10,000-event journey holds the GIL most of the time (pandas and Python
feature and explanation code), and the event loop answering ``/healthz`` waits for it: 0.3 s
p99 beside four such requests. :class:`ComputePool` computes them in ``processes`` spawned
processes instead. Each holds a copy of the service's own predictor (pickled once, sent to every
process at its start: the same models, so the same answers, and no second registry read or
temporary folder). The parent sends the request body as it came (bytes: cheap to send, and
not validated there when big: pydantic holds the GIL for about 0.1 s on 10,000 events); the
process validates it and computes with the functions the service uses in-process
(:func:`~journeyml.serving.handle_predict`, :func:`~journeyml.serving.handle_batch`,
:func:`~journeyml.serving.handle_what_if`), and sends back the answer as JSON and the digests of
the events each prediction used; the parent writes the prediction-log entries from them.

Failures: a bad request found in a process comes back as the same error (code, status, field,
details: a 4xx, never a 500); a process that dies (killed, out of memory) fails the requests it
held with 503 + ``Retry-After`` and the pool is started again. The processes ignore SIGINT (the
parent shuts the pool down at exit) and leave at once when the parent is gone, even killed (a
thread watches the parent's sentinel: their request queue never closes, since they hold its
writing end too, and ``PR_SET_PDEATHSIG`` fires when the *thread* that started a process ends,
and a restarted pool is started from a short-lived thread).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

from journeyml.errors import JourneyMLError, ServiceBusyError
from journeyml.scoring import Predictor
from journeyml.serving.api import (
    BatchRequest,
    PredictRequest,
    _Answered,
    handle_batch,
    handle_predict,
)
from journeyml.serving.edge import _checked
from journeyml.serving.prediction_log import PredictionLog, StoreLink
from journeyml.serving.whatif import WhatIfRequest, handle_what_if
from journeyml.store import journey_digest

log = logging.getLogger("journeyml.serving")

#: the paths a pool computes
POOL_PATHS = frozenset({"/predict", "/predict_batch", "/whatif"})

#: (response, digest of the events it used, item in its batch): one prediction-log entry
LogEntry = tuple[dict[str, Any], str, int]


@dataclass(frozen=True)
class Limits:
    """The request limits the processes apply (``JOURNEYML_MAX_EVENTS``, ``_MAX_BATCH``)."""

    max_events: int = 10_000
    max_batch: int = 1_000


@dataclass
class Computed:
    """What a pool process sends back: the answer as JSON, the tasks asked (one entry per
    journey, for metrics) and the prediction-log entries (when the service logs)."""

    answer: bytes
    tasks: tuple[str, ...]
    entries: list[LogEntry]


#: the request model of each path a pool computes
_BODIES: dict[str, type[PredictRequest | BatchRequest | WhatIfRequest]] = {
    "/predict": PredictRequest,
    "/predict_batch": BatchRequest,
    "/whatif": WhatIfRequest,
}


def answer(
    predictor: Predictor,
    req: PredictRequest | BatchRequest | WhatIfRequest,
    *,
    limits: Limits,
    request_id: str,
    now: datetime,
    store: StoreLink | None,
    log: PredictionLog | _Answered | None,
) -> dict[str, Any]:
    """The answer to a validated ``/predict``, ``/predict_batch`` or ``/whatif`` request: the
    one dispatch used in the service's worker and in a pool process (a what-if is never logged
    as a prediction: the edited journey is not the customer's)."""
    if isinstance(req, WhatIfRequest):  # first: a what-if is a PredictRequest with an edit
        return handle_what_if(
            predictor, req, max_events=limits.max_events, request_id=request_id, now=now,
            store=store,
        )  # fmt: skip
    if isinstance(req, BatchRequest):
        return handle_batch(
            predictor, req, max_batch=limits.max_batch, max_events=limits.max_events,
            request_id=request_id, now=now, store=store, log=log,
        )  # fmt: skip
    return handle_predict(
        predictor, req, max_events=limits.max_events, request_id=request_id, now=now,
        store=store, log=log,
    )  # fmt: skip


def compute(
    predictor: Predictor,
    path: str,
    body: bytes,
    *,
    limits: Limits,
    request_id: str,
    now: datetime,
    store: StoreLink | None,
    logged: bool = True,
) -> Computed:
    """The answer to a ``path`` request with this JSON ``body`` (validated here), with the
    handlers the service uses in-process (what a pool process runs; raises
    :class:`JourneyMLError` for bad input). ``logged``: also the prediction-log entries."""
    from pydantic_core import to_json

    model = _BODIES.get(path)
    if model is None:
        raise ValueError(f"expected a path among {sorted(POOL_PATHS)}, got {path!r}")
    _, req = _checked(model, body)
    assert isinstance(req, PredictRequest | BatchRequest | WhatIfRequest)
    asked = [j.tasks for j in req.journeys] if isinstance(req, BatchRequest) else [req.tasks]
    answered = _Answered()
    result = answer(
        predictor, req, limits=limits, request_id=request_id, now=now, store=store, log=answered
    )
    entries = (
        [(r, journey_digest(used), item) for r, used, item in answered.entries] if logged else []
    )
    tasks = tuple(t for a in asked for t in (predictor.tasks if a is None else a))
    return Computed(to_json(result), tasks, entries)


# --- in a pool process -------------------------------------------------------------------------
_PROCESS: dict[str, Any] = {}


def _start_process(predictor: bytes, limits: Limits, store_uri: str | None, logged: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, name="journeyml-parent-watch", daemon=True).start()
    _PROCESS["predictor"] = pickle.loads(predictor)
    _PROCESS["limits"] = limits
    _PROCESS["store"] = StoreLink(store_uri)
    _PROCESS["logged"] = logged


def _exit_with_parent() -> None:
    """Wait for the parent to end, then end this process (no orphan computing for no one)."""
    import multiprocessing
    import time
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        wait([parent.sentinel])
    else:  # pragma: no cover - not started by multiprocessing
        first = os.getppid()
        while os.getppid() == first:
            time.sleep(1.0)
    os._exit(0)


def _ready() -> int:
    return os.getpid()


def _run(path: str, body: bytes, request_id: str, now: datetime) -> tuple[str, Any]:
    """``("ok", Computed)``, ``("error", the error's fields)`` for a :class:`JourneyMLError`, or
    ``("bug", traceback)``: plain data the parent can always read back (not every exception
    class survives pickling)."""
    try:
        done = compute(
            _PROCESS["predictor"],
            path,
            body,
            limits=_PROCESS["limits"],
            request_id=request_id,
            now=now,
            store=_PROCESS["store"],
            logged=_PROCESS["logged"],
        )
    except JourneyMLError as exc:
        fields = {
            "cls": type(exc).__name__,
            "code": exc.code,
            "status": exc.http_status,
            "message": exc.message,
            "field": exc.field,
            "details": exc.details,
            "retry_after": getattr(exc, "retry_after", None),
        }
        return "error", fields
    except Exception:
        return "bug", traceback.format_exc()
    return "ok", done


class RemoteError(JourneyMLError):
    """An error a pool process raised, rebuilt in the parent with its code, status, field and
    details (and ``retry_after`` when it had one)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(fields["message"], field=fields["field"], details=fields["details"])
        self.code = str(fields["code"])
        self.http_status = int(fields["status"])
        self.kind = str(fields["cls"])
        if fields.get("retry_after") is not None:
            self.retry_after = int(fields["retry_after"])


# --- in the parent ------------------------------------------------------------------------------
class ComputePool:
    """``processes`` processes computing the requests of :data:`POOL_PATHS` (see the module
    docstring). :meth:`start` before use (blocks until every process holds the models);
    :meth:`run` from the event loop; :meth:`close` at shutdown."""

    paths = POOL_PATHS

    def __init__(
        self,
        predictor: Predictor,
        *,
        processes: int = 2,
        limits: Limits | None = None,
        store_uri: str | None = None,
        log: PredictionLog | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.predictor = predictor
        self.processes = max(1, processes)
        self.limits = limits or Limits()
        self.store_uri = store_uri
        self.log = log
        self.clock = clock
        self.restarts = 0
        self._logged = log is not None and log.enabled
        self._pickled = pickle.dumps(predictor, protocol=pickle.HIGHEST_PROTOCOL)
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the processes and wait until each has loaded the models."""
        with self._lock:
            if self._executor is None:
                self._executor = self._new()
            executor = self._executor
        _warm(executor, self.processes)

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.processes,
            mp_context=get_context("spawn"),
            initializer=_start_process,
            initargs=(self._pickled, self.limits, self.store_uri, self._logged),
        )

    def pids(self) -> list[int]:
        """The processes' ids (for tests and the benchmark's memory figure)."""
        ex = self._executor
        procs = getattr(ex, "_processes", None) or {}
        return sorted(int(p) for p in procs)

    async def run(self, path: str, body: bytes, request_id: str) -> tuple[bytes, tuple[str, ...]]:
        """The answer to one request (JSON) and the tasks it asked for, computed in a process;
        its predictions are logged here."""
        with self._lock:
            if self._executor is None:
                self._executor = self._new()
            executor = self._executor
        try:
            fut: Future[tuple[str, Any]] = executor.submit(
                _run, path, body, request_id, self.clock()
            )
            status, value = await asyncio.wrap_future(fut)
        except BrokenProcessPool as exc:
            self._restart(executor, exc)
            raise ServiceBusyError(
                "expected a compute process to answer, got one that stopped (it is being "
                "restarted). Retry after 1 second.",
                retry_after=1,
            ) from None
        if status == "error":
            raise RemoteError(value)
        if status == "bug":
            raise RuntimeError(f"a compute process failed on {path}:\n{value}")
        done: Computed = value
        if self.log is not None:
            for response, digest, item in done.entries:
                self.log.add(response, digest, item=item)
        return done.answer, done.tasks

    def _restart(self, broken: ProcessPoolExecutor, exc: BaseException) -> None:
        with self._lock:
            if self._executor is not broken:
                return  # another request restarted it already
            self.restarts += 1
            self._executor = self._new()
            fresh = self._executor
        log.error("journeyml: a compute process stopped (%s); restarting the pool", exc)
        broken.shutdown(wait=False, cancel_futures=True)
        # spawning takes seconds: off the event loop (requests meanwhile wait in the new pool)
        threading.Thread(target=_warm, args=(fresh, self.processes), daemon=True).start()

    def close(self) -> None:
        """Stop the processes (requests still queued are cancelled) and wait for them."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _warm(executor: ProcessPoolExecutor, n: int) -> None:
    try:
        for f in [executor.submit(_ready) for _ in range(n)]:
            f.result()
    except BrokenProcessPool:  # the requests meeting it restart the pool
        log.error("journeyml: compute processes failed to start")
    except RuntimeError:  # shut down meanwhile
        pass


__all__ = ["POOL_PATHS", "ComputePool", "Computed", "Limits", "RemoteError", "compute"]
