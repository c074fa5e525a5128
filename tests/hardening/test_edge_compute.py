"""Where the edge computes a request (issue 15, liveness; issue 13, throughput): a small journey
on the event loop (no thread hop, no GIL hand-offs), batches, long journeys and store reads in
a thread, at most ``compute_threads`` of them at once. In-process ASGI calls, no server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from journeyml.serving import BatchRequest, EdgeConfig, EdgeMiddleware, EdgeState, PredictRequest

EV = {"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "site_visit"}


async def _unused_app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the edge answers these requests itself")


def _edge(handler: Any, **config: Any) -> EdgeMiddleware:
    state = EdgeState(handlers={"/predict": handler, "/predict_batch": handler})
    cfg = EdgeConfig(
        body_models={"/predict": PredictRequest, "/predict_batch": BatchRequest}, **config
    )
    return EdgeMiddleware(_unused_app, config=cfg, state=state)


async def _call(edge: EdgeMiddleware, path: str, body: dict[str, Any]) -> int:
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", b"application/json")],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await edge(scope, receive, send)
    return int(sent[0]["status"])


def test_small_journeys_are_computed_on_the_loop_the_rest_in_a_thread() -> None:
    seen: list[tuple[str, bool]] = []

    def handler(req: Any, rid: str) -> dict[str, Any]:
        name = getattr(req, "customer_id", "batch")
        seen.append((name, threading.current_thread() is threading.main_thread()))
        return {"ok": True}

    edge = _edge(handler, inline_events=10)

    async def run() -> list[int]:
        return [
            await _call(edge, "/predict", {"customer_id": "small", "events": [EV] * 10}),
            await _call(edge, "/predict", {"customer_id": "long", "events": [EV] * 11}),
            await _call(
                edge, "/predict", {"customer_id": "stored", "events": [EV], "use_store": True}
            ),
            await _call(edge, "/predict_batch", {"journeys": [{"customer_id": "b", "events": []}]}),
        ]

    assert asyncio.run(run()) == [200] * 4
    assert seen == [("small", True), ("long", False), ("stored", False), ("batch", False)]


def test_big_requests_use_at_most_compute_threads_threads_at_once() -> None:
    lock = threading.Lock()
    running, peak = [0], [0]

    def handler(req: Any, rid: str) -> dict[str, Any]:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return {"ok": True}

    edge = _edge(handler, inline_events=0, compute_threads=2, max_inflight=16)

    async def run() -> list[int]:
        body = {"customer_id": "c", "events": [EV]}
        return list(await asyncio.gather(*(_call(edge, "/predict", body) for _ in range(6))))

    assert asyncio.run(run()) == [200] * 6
    assert peak[0] == 2


def test_a_probe_waits_for_at_most_about_one_small_journey_not_the_whole_queue() -> None:
    order: list[str] = []
    edge: EdgeMiddleware

    async def probe() -> None:
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await edge(
            {"type": "http", "method": "GET", "path": "/healthz", "headers": []}, receive, send
        )
        order.append("probe")

    def handler(req: Any, rid: str) -> dict[str, Any]:
        if not order:  # the probe arrives while the first small journey is computed
            asyncio.get_running_loop().create_task(probe())
        time.sleep(0.01)  # a small journey blocks the loop for a while
        order.append(req.customer_id)
        return {"ok": True}

    edge = _edge(handler)

    async def run() -> None:
        calls = [
            _call(edge, "/predict", {"customer_id": f"c{k}", "events": [EV]}) for k in range(8)
        ]
        await asyncio.gather(*calls)
        await asyncio.sleep(0.05)

    asyncio.run(run())
    assert "probe" in order and order.index("probe") <= 2, order
