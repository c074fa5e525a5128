"""Faults of the store over HTTP, on both backends: two workers ingesting and scoring at once,
one of them killed with SIGKILL in the middle of a stream of ingests. Nothing acknowledged is
lost, a retried batch stores nothing twice, and no answer is a 500."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("bento")]

BATCHES = 30
PER_BATCH = 100


def batch(i: int) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": f"k{(i * PER_BATCH + j) % 40}",
            "timestamp": f"2024-0{1 + i % 6}-{1 + j % 28:02d}T{j % 24:02d}:00:{i % 60:02d}Z",
            "touchpoint": "site_visit" if j % 3 else "support_call",
            "channel": "web",
            "event_id": f"b{i}-e{j}",
        }
        for j in range(PER_BATCH)
    ]


def test_kill_a_worker_while_two_ingest_and_score(
    store_uri: str, trained_store: Any, tmp_path: Path
) -> None:
    import psutil

    from journey_servers import start_bento_server, stop_server
    from journeyml.store import EventStore

    uri = store_uri
    EventStore.open(uri).close()  # the schema exists before the workers start
    h = start_bento_server(
        {
            "JOURNEYML_TRACKING_URI": trained_store[0],
            "JOURNEYML_STORE_URI": uri,
            "JOURNEYML_WORKERS": "2",
        },
        tmp_path / "server.log",
    )
    acknowledged: list[int] = []
    statuses: list[int] = []
    stop = threading.Event()

    def ingest() -> None:
        with httpx.Client(timeout=30) as c:
            for i in range(BATCHES):
                while True:  # a batch is retried until acknowledged (ingest is idempotent)
                    try:
                        r = c.post(h.url + "/events", json={"events": batch(i)})
                    except httpx.HTTPError:
                        time.sleep(0.2)
                        continue
                    statuses.append(r.status_code)
                    if r.status_code == 200:
                        assert not r.json()["rejected"]
                        acknowledged.append(i)
                        break
                    time.sleep(0.2)

    def score() -> None:
        with httpx.Client(timeout=30) as c:
            while not stop.is_set():
                try:
                    r = c.get(h.url + "/customers/k1/predictions")
                except httpx.HTTPError:
                    continue
                statuses.append(r.status_code)

    try:
        threads = [threading.Thread(target=ingest), threading.Thread(target=score)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < BATCHES // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [p for p in psutil.Process(h.proc.pid).children(recursive=True) if p.is_running()]
        assert workers, "no worker processes found"
        os.kill(workers[-1].pid, signal.SIGKILL)
        threads[0].join(240)
        stop.set()
        threads[1].join(60)
        assert not threads[0].is_alive(), f"ingest stalled after {len(acknowledged)} batches"
    finally:
        stop.set()
        stop_server(h.proc)
    assert sorted(acknowledged) == list(range(BATCHES))
    assert 500 not in statuses and all(s in (200, 404, 503) for s in statuses), set(statuses)
    with EventStore.open(uri) as es:
        assert es.count_events() == BATCHES * PER_BATCH  # every batch once, none twice
        ids = set(es.provenance("k1")["event_id"])
        assert {f"b{i}-e{j}" for i in range(BATCHES) for j in range(PER_BATCH)
                if (i * PER_BATCH + j) % 40 == 1} == ids  # fmt: skip
