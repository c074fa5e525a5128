"""Faults: a store that is down or busy answers StoreUnavailableError (HTTP 503) and comes back;
``kill -9`` during a stream of ingests loses nothing acknowledged and leaves no batch
half-written; two processes ingest and read at once. Both backends, real processes."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from journeyml.errors import StoreUnavailableError
from journeyml.store import EventStore, upgrade_store

sys.path.insert(0, str(Path(__file__).parent))
from store_worker import BATCH, batch, customer
from tcp_proxy import TcpProxy

WORKER = str(Path(__file__).with_name("store_worker.py"))
NOW = "2025-01-01"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _counts(uri: str) -> dict[str, int]:
    with EventStore.open(uri, create=False) as store:
        frames = list(store.journeys())
    out: dict[str, int] = {}
    for f in frames:
        for cid, n in f.groupby("customer_id").size().items():
            out[str(cid)] = int(n)
    return out


# --- down, busy, broken ---------------------------------------------------------------------
def test_a_postgres_server_that_is_not_there_is_unavailable() -> None:
    uri = f"postgresql://me:secret@127.0.0.1:{_free_port()}/journeys"
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as info:
        EventStore.open(uri, connect_timeout_s=2)
    err = info.value
    assert err.http_status == 503 and err.code == "store_unavailable" and err.retry_after == 5
    assert "127.0.0.1" in err.message and "secret" not in err.message and "retry" in err.message
    assert time.monotonic() - started < 10


def test_a_postgres_store_that_goes_down_answers_503_and_comes_back(postgres) -> None:  # type: ignore[no-untyped-def]
    proxy = TcpProxy(target=make_url(postgres.new_schema()).port or 5432)
    uri = make_url(postgres.new_schema()).set(port=proxy.port).render_as_string(False)
    proxy.start()
    try:
        with EventStore.open(uri, connect_timeout_s=2) as store:
            assert store.ingest(batch(1), source="t", now=NOW).accepted == BATCH
            proxy.stop()
            for call in (
                lambda: store.ingest(batch(2), source="t", now=NOW),
                lambda: store.journey(customer(1)),
                lambda: store.journey_records(customer(1)),
                lambda: store.has_customer(customer(1)),
                store.ping,
            ):
                with pytest.raises(StoreUnavailableError) as info:
                    call()
                assert info.value.http_status == 503
            proxy.start()
            store.ping()
            assert store.ingest(batch(2), source="t", now=NOW).accepted == BATCH
            assert len(store.journey(customer(1))) == BATCH
            assert len(store.journey_records(customer(1))) == BATCH
            assert store.count_events() == 2 * BATCH
    finally:
        proxy.stop()


def test_driver_errors_of_the_hot_paths_are_raised_as_sqlalchemy_raises_them(
    store: EventStore,
) -> None:
    """The journey read, the customer probe and the bulk insert run on the driver's cursor:
    its errors still become SQLAlchemy's, so guarded() maps them as on every other path."""
    assert store.ingest(batch(1), source="t", now=NOW).accepted == BATCH
    with store._engine.begin() as conn:  # the table gone from under the store
        conn.exec_driver_sql("DROP TABLE events")
    for call in (
        lambda: store.journey_records(customer(1)),
        lambda: store.has_customer(customer(1)),
        lambda: store.ingest(batch(2), source="t", now=NOW),
    ):
        with pytest.raises((StoreUnavailableError, sa_exc.DBAPIError)) as info:
            call()
        if store.backend == "sqlite":  # "no such table" is an OperationalError: 503
            assert isinstance(info.value, StoreUnavailableError)
            assert info.value.http_status == 503
        else:  # UndefinedTable is a ProgrammingError: a bug, propagated as SQLAlchemy's
            assert isinstance(info.value, sa_exc.ProgrammingError)


def test_a_sqlite_store_locked_too_long_is_busy_then_works(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    uri = f"sqlite:///{path}"
    with EventStore.open(uri, busy_timeout_s=0.2) as store:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        try:
            with pytest.raises(StoreUnavailableError) as info:
                store.ingest(batch(1), source="t", now=NOW)
            assert info.value.retry_after == 1 and "busy" in info.value.message
            assert store.journey(customer(1)).empty  # readers are not blocked (WAL)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert store.ingest(batch(1), source="t", now=NOW).accepted == BATCH


def test_a_sqlite_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(StoreUnavailableError, match="not a database"):
        EventStore.open(f"sqlite:///{path}")


def test_a_sqlite_store_in_a_folder_that_cannot_exist_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreUnavailableError, match="folder"):
        EventStore.open(f"sqlite:///{tmp_path / 'file' / 'store.db'}")


# --- kill -9 and concurrency (real processes) --------------------------------------------------
@pytest.mark.integration
def test_kill_9_during_a_stream_of_ingests_loses_nothing_acknowledged(store_uri: str) -> None:
    upgrade_store(store_uri)
    rng = random.Random(7)
    acked: dict[int, tuple[int, int]] = {}
    start = 0
    want = rng.randint(2, 6)
    for _ in range(2):  # killed twice: the second run resends the first one's batch in flight
        proc = subprocess.Popen(
            [sys.executable, WORKER, "stream", store_uri, str(start), str(start + 10_000)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            word, b, *counts = line.split()
            if word == "ack":
                acked[int(b)] = (int(counts[0]), int(counts[1]))
            elif len(acked) >= want:  # "send": the next batch is being written right now
                time.sleep(rng.uniform(0.0, 0.01))
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=30)
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        start = max(acked) + 1  # the batch in flight is sent again: committed or not
        want = len(acked) + rng.randint(2, 6)
    counts = _counts(store_uri)
    for b in acked:  # every acknowledged batch is there, whole
        assert counts.get(customer(b)) == BATCH, f"acknowledged batch {b} is not whole"
    assert all(n == BATCH for n in counts.values()), f"half-written batches: {counts}"
    in_flight = {customer(max(acked) + 1)}
    assert set(counts) - {customer(b) for b in acked} <= in_flight
    # a resent batch that had committed before the kill counted as duplicates, not twice
    assert all(a + d == BATCH for a, d in acked.values())


@pytest.mark.integration
def test_two_processes_ingest_and_read_at_once(store_uri: str) -> None:
    n = 16
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, "race", store_uri, str(seed), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]  # both open a store without a schema at once: one creates it
    results = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["accepted"] for r in results) == n * BATCH  # each event stored by one of them
    assert all(r["accepted"] + r["duplicates"] == n * BATCH for r in results)
    assert all(r["reads"] == n and r["streamed"] > 0 for r in results)
    assert [r["partial"] for r in results] == [[], []], "a read saw half a transaction"
    counts = _counts(store_uri)
    assert counts == {customer(b): BATCH for b in range(n)}
