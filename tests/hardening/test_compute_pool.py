"""Big requests computed in a pool of processes (issue 15, liveness under load): the same JSON
as computed in-process, every prediction logged with the same digest, bad input found in a
process still a 4xx naming the field, and a process that dies a 503 + Retry-After, then a pool
that recovers. In-process ASGI calls through the edge; no server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psutil
import pytest

from journeyml.serving import (
    BatchRequest,
    ComputePool,
    EdgeConfig,
    EdgeMiddleware,
    EdgeState,
    PredictionLog,
    PredictRequest,
    StoreLink,
    WhatIfRequest,
    handle_batch,
    handle_predict,
    handle_what_if,
)
from journeyml.serving.api import _Answered
from journeyml.store import journey_digest

NOW = datetime(2024, 7, 1, tzinfo=UTC)
PATHS = ("/predict", "/predict_batch", "/whatif")


class _Captured(PredictionLog):
    """A prediction log keeping what it is given (no store is written)."""

    def __init__(self) -> None:
        super().__init__(StoreLink("sqlite:///unused.db"), project="p")
        self.got: list[tuple[str, int, str]] = []

    def add(self, response: Any, used: Any, *, item: int = 0, project: str | None = None) -> None:
        digest = used if isinstance(used, str) else journey_digest(used)
        self.got.append((str(response["customer_id"]), item, digest))


def _journey(predictor: Any, n: int, name: str, **extra: Any) -> dict[str, Any]:
    """``n`` events over the models' vocabulary, out of order, with an unknown touchpoint and
    naive timestamps (answers with warnings as well as probabilities and causes)."""
    tps = [*predictor.spec.touchpoints, "never_seen"]
    chans = list(predictor.spec.channels) or [None]
    stages = list(predictor.spec.stages) or [None]
    events = []
    for i in range(n):
        k = (i * 7919) % n  # shuffled times
        ev: dict[str, Any] = {
            "timestamp": f"2024-0{1 + k % 6}-{1 + k % 28:02d}T{k % 24:02d}:{k % 60:02d}:00"
            + ("" if i % 5 == 0 else "Z"),
            "touchpoint": tps[i % len(tps)],
        }
        if chans[i % len(chans)] is not None:
            ev["channel"] = chans[i % len(chans)]
        if stages[i % len(stages)] is not None and i % 3 == 0:
            ev["stage"] = stages[i % len(stages)]
        if i % 4 == 0:
            ev["value"] = float(i % 50)
        events.append(ev)
    return {"customer_id": name, "events": events, **extra}


def _in_process(predictor: Any, log: _Answered) -> dict[str, Any]:
    """The handlers as the service runs them in-process (threads or the event loop)."""
    return {
        "/predict": lambda req, rid: handle_predict(
            predictor, req, request_id=rid, now=NOW, log=log
        ),
        "/predict_batch": lambda req, rid: handle_batch(
            predictor, req, request_id=rid, now=NOW, log=log
        ),
        "/whatif": lambda req, rid: handle_what_if(predictor, req, request_id=rid, now=NOW),
    }


def _edge(predictor: Any, pool: ComputePool | None, log: _Answered | None = None) -> EdgeMiddleware:
    state = EdgeState(predictor=predictor, handlers=_in_process(predictor, log or _Answered()))
    state.pool = pool
    cfg = EdgeConfig(
        body_models={
            "/predict": PredictRequest,
            "/predict_batch": BatchRequest,
            "/whatif": WhatIfRequest,
        },
        compute_paths=frozenset(PATHS),
    )

    async def unused(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the edge answers these requests itself")

    return EdgeMiddleware(unused, config=cfg, state=state)


async def _call(
    edge: EdgeMiddleware, path: str, body: bytes, rid: str = "rid-1"
) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", b"application/json"), (b"x-request-id", rid.encode())],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await asyncio.wait_for(edge(scope, receive, send), timeout=120)  # never a hang
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return int(sent[0]["status"]), headers, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture(scope="module")
def pool_and_log(predictor: Any) -> Iterator[tuple[ComputePool, _Captured]]:
    log = _Captured()
    pool = ComputePool(predictor, processes=1, log=log, clock=lambda: NOW)
    pool.start()
    yield pool, log
    pool.close()


def test_the_pool_answers_exactly_what_the_service_computes_in_process(
    predictor: Any, pool_and_log: tuple[ComputePool, _Captured]
) -> None:
    pool, log = pool_and_log
    log.got.clear()
    answered = _Answered()
    big = _journey(predictor, 1_500, "big", top_k=5)  # > 64 KB: validated in the process only
    mid = _journey(predictor, 300, "mid")  # < 64 KB, > 256 events: validated here first
    requests = [
        ("/predict", big),
        ("/predict", mid),
        ("/predict_batch", {"journeys": [mid, _journey(predictor, 40, "small"), big]}),
        ("/whatif", {**big, "remove": 3}),
    ]
    assert len(json.dumps(big)) > 64_000 > len(json.dumps(mid))

    async def run() -> list[tuple[Any, Any]]:
        pooled, local = _edge(predictor, pool), _edge(predictor, None, answered)
        out = []
        for path, req in requests:
            body = json.dumps(req).encode()
            out.append((await _call(pooled, path, body), await _call(local, path, body)))
        return out

    answers = asyncio.run(run())
    for (path, _), (got, expected) in zip(requests, answers, strict=True):
        assert got[0] == expected[0] == 200, (path, got[2][:300])
        assert got[2] == expected[2], path  # byte for byte: probabilities, causes, warnings
    first, whatif = json.loads(answers[0][0][2]), json.loads(answers[-1][0][2])
    task = predictor.tasks[0]
    assert first[task]["root_causes"] and first["warnings"] and first["request_id"] == "rid-1"
    assert whatif["before"] and whatif["after"], "the what-if answer is a real one"
    # every prediction (not the what-ifs) logged once, with the in-process digest
    expected_log = [(str(r["customer_id"]), i, journey_digest(u)) for r, u, i in answered.entries]
    assert log.got[: len(expected_log)] == expected_log
    assert len(expected_log) == 5


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"tasks": ["nope"]}, 422, "tasks"),
        ({"explain_classes": ["nope"]}, 422, "explain_classes"),
        ({"top_k": 0}, 400, "top_k"),
        ({"as_of": 1719792000}, 400, "as_of"),
        ({"extra": 1}, 400, "extra"),
    ],
)
def test_bad_input_found_in_a_process_is_the_same_4xx_naming_the_field(
    predictor: Any,
    pool_and_log: tuple[ComputePool, _Captured],
    change: dict[str, Any],
    status: int,
    field: str,
) -> None:
    pool, _ = pool_and_log
    body = json.dumps({**_journey(predictor, 1_500, "bad"), **change}).encode()

    async def run() -> tuple[Any, Any]:
        return (
            await _call(_edge(predictor, pool), "/predict", body),
            await _call(_edge(predictor, None), "/predict", body),
        )

    got, expected = asyncio.run(run())
    assert got[0] == expected[0], (got[2][:300], expected[2][:300])
    assert got[0] == status, got[2][:300]
    answer = json.loads(got[2])
    assert answer["field"] == json.loads(expected[2])["field"]
    assert answer["field"].startswith(field), answer
    assert answer["error"] == json.loads(expected[2])["error"]


def test_too_many_events_and_duplicate_keys_found_in_a_process(
    predictor: Any, pool_and_log: tuple[ComputePool, _Captured]
) -> None:
    pool, _ = pool_and_log
    too_many = json.dumps(_journey(predictor, 10_001, "long")).encode()
    dup = json.dumps(_journey(predictor, 1_500, "dup")).encode()[:-1] + b', "events": []}'
    late = _journey(predictor, 1_500, "late")
    late["events"][700]["timestamp"] = "yesterday"

    async def run() -> list[tuple[int, dict[str, str], bytes]]:
        edge = _edge(predictor, pool)
        return [
            await _call(edge, "/predict", too_many),
            await _call(edge, "/predict", dup),
            await _call(edge, "/predict_batch", json.dumps({"journeys": [late]}).encode()),
        ]

    (s1, _, b1), (s2, _, b2), (s3, _, b3) = asyncio.run(run())
    assert (s1, json.loads(b1)["field"]) == (413, "events")
    assert s2 == 400 and "events" in json.loads(b2)["message"]
    assert (s3, json.loads(b3)["field"]) == (400, "journeys.0.events.700.timestamp")


def test_a_killed_process_is_a_503_with_retry_after_and_the_pool_recovers(
    predictor: Any,
) -> None:
    pool = ComputePool(predictor, processes=1, clock=lambda: NOW)
    pool.start()
    try:
        (pid,) = pool.pids()
        body = json.dumps(_journey(predictor, 1_500, "c")).encode()

        async def run() -> list[tuple[int, dict[str, str], bytes]]:
            edge = _edge(predictor, pool)
            os.kill(pid, signal.SIGKILL)
            psutil.Process(pid).wait(10) if psutil.pid_exists(pid) else None
            broken = await _call(edge, "/predict", body)
            again = await _call(edge, "/predict", body)
            return [broken, again]

        (s1, h1, b1), (s2, _, b2) = asyncio.run(run())
        assert (s1, h1.get("retry-after"), json.loads(b1)["error"]) == (503, "1", "busy")
        assert s2 == 200 and json.loads(b2)["customer_id"] == "c"
        assert pool.restarts == 1 and pool.pids() and pool.pids() != [pid]
        alive = pool.pids()
    finally:
        pool.close()
    _gone, left = psutil.wait_procs([psutil.Process(p) for p in alive if psutil.pid_exists(p)], 10)
    assert not left, "close() leaves no compute process behind"


def test_the_pool_is_used_only_for_the_models_it_holds_and_only_for_big_requests(
    predictor: Any,
) -> None:
    """A small journey stays on the event loop; a pool started with other models than the
    edge serves (a reload) is not used: threads compute with the current ones."""

    class Fake:
        paths = frozenset(PATHS)

        def __init__(self, models: Any) -> None:
            self.predictor = models
            self.calls = 0

        async def run(self, path: str, body: bytes, rid: str) -> tuple[bytes, tuple[str, ...]]:
            self.calls += 1
            return b'{"from": "pool"}', ()

    big = json.dumps(_journey(predictor, 300, "b")).encode()
    small = json.dumps(_journey(predictor, 20, "s")).encode()
    current, stale = Fake(predictor), Fake(object())

    async def run() -> list[bytes]:
        out = []
        for pool, body in ((current, big), (current, small), (stale, big)):
            out.append((await _call(_edge(predictor, pool), "/predict", body))[2])  # type: ignore[arg-type]
        return out

    via_pool, small_answer, via_thread = asyncio.run(run())
    assert via_pool == b'{"from": "pool"}' and current.calls == 1
    assert json.loads(small_answer)["customer_id"] == "s"
    assert json.loads(via_thread)["customer_id"] == "b" and stale.calls == 0


def test_compute_processes_setting() -> None:
    from journeyml.errors import ConfigError
    from journeyml.serving import ServiceSettings

    assert ServiceSettings.from_env({}).compute_processes == 2
    assert ServiceSettings.from_env({"JOURNEYML_COMPUTE_PROCESSES": "0"}).compute_processes == 0
    with pytest.raises(ConfigError, match="JOURNEYML_COMPUTE_PROCESSES"):
        ServiceSettings.from_env({"JOURNEYML_COMPUTE_PROCESSES": "-1"})
    with pytest.raises(ConfigError, match=">= 1"):
        ServiceSettings.from_env({"JOURNEYML_COMPUTE_THREADS": "0"})


def test_compute_processes_leave_when_the_worker_is_killed(trained_store: Any) -> None:
    """SIGKILL to the worker (no shutdown hook runs): its compute processes end too."""
    import subprocess
    import sys

    code = (
        "from journeyml.scoring import Predictor\n"
        "from journeyml.serving import ComputePool\n"
        "import time\n"
        f"pool = ComputePool(Predictor.from_registry({trained_store[0]!r}), processes=2)\n"
        "pool.start()\n"
        "print(*pool.pids(), flush=True)\n"
        "time.sleep(300)\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert worker.stdout is not None
        pids = [int(p) for p in worker.stdout.readline().split()]
        assert len(pids) == 2, "the pool started"
        procs = [psutil.Process(p) for p in pids]
    finally:
        worker.kill()
        worker.wait(30)
    _gone, left = psutil.wait_procs(procs, timeout=20)
    assert not left, [p.pid for p in left]
