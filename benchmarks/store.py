"""Event store benchmark: ingest in batches of 500 and reading one journey, SQLite and PostgreSQL.

Through the library (``journeyml.store.EventStore``), what the later HTTP endpoints will call:

- ingest events/s, batches of 500 events, one transaction each: as canonical frames
  (``ingest``), as event dicts (``ingest_records``, what ``POST /events`` will hand over), and the
  same batches again (a client retrying: every event a duplicate);
- reading a 200-event journey by customer id: p50/p95 of ``journey_records`` (the dicts the
  API's feature path takes) and ``journey`` (a canonical frame);
- appending one prediction to the log (``log_prediction``, one transaction): p50/p95; and the
  cost per prediction when a writer appends them 50 per transaction (``log_predictions``).

The store holds every event ingested so far when it is read. SQLite is a file in a temporary
folder (WAL, synchronous=FULL); PostgreSQL a database created for the run and dropped after.
Each statistic is the median over ``--rounds`` rounds.

Writes docs/benchmarks.md between ``<!-- BEGIN store -->`` and ``<!-- END store -->``.
Usage: .venv/bin/python benchmarks/store.py [--customers 500] [--rounds 3] [--write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _docs import machine, write_section

from journeyml.store import EventStore, PredictionRecord

PG_ADMIN = os.environ.get("JOURNEYML_BENCH_PG_URI", "postgresql://postgres@127.0.0.1:5432/test")
BATCH = 500
PER_CUSTOMER = 200
LOG_BATCH = 50
NOW = "2025-01-01"
TOUCHPOINTS = np.array(["ad", "visit", "product_view", "email_open", "cart_add", "purchase"])


def make_events(first: int, customers: int, seed: int) -> pd.DataFrame:
    """``customers`` journeys of exactly 200 events (customer ids from ``first``)."""
    rng = np.random.default_rng(seed)
    n = customers * PER_CUSTOMER
    cust = np.repeat(np.arange(first, first + customers), PER_CUSTOMER)
    ts = pd.Timestamp("2024-01-01", tz="UTC").value + np.sort(
        rng.integers(0, 180 * 86_400 * 10**9, size=n)
    )
    tp = TOUCHPOINTS[rng.integers(0, len(TOUCHPOINTS), size=n)]
    return pd.DataFrame(
        {
            "customer_id": np.char.add("c", cust.astype(str)).astype(object),
            "timestamp": pd.to_datetime(ts, utc=True),
            "touchpoint": tp.astype(object),
            "channel": np.where(rng.random(n) < 0.5, "web", "app").astype(object),
            "stage": None,
            "value": np.where(tp == "purchase", rng.gamma(2.0, 30.0, size=n), np.nan),
            "segment": np.array(["new", "loyal", "lapsed"], dtype=object)[cust % 3],
        }
    ).sort_values(["customer_id", "timestamp"], ignore_index=True)


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in frame.itertuples(index=False):
        rec = {
            "customer_id": r.customer_id,
            "timestamp": r.timestamp.isoformat(),
            "touchpoint": r.touchpoint,
            "channel": r.channel,
            "attributes": {"segment": r.segment},
        }
        if r.value == r.value:
            rec["value"] = float(r.value)
        out.append(rec)
    return out


def log_entry(customer_id: str, i: int) -> PredictionRecord:
    """A prediction-log entry the size of a real one (three tasks, a few causes)."""
    cause = {
        "cause": "touchpoint:visit",
        "points": 1.5,
        "direction": "raises",
        "sentence": "3 visits in the last 7 days raised churn risk by 2 points",
        "features": ["count_touchpoint_visit_7d"],
        "events": ["2024-06-01T10:00:00+00:00"],
    }
    return PredictionRecord(
        request_id=uuid.uuid4().hex, project="bench", customer_id=customer_id,
        as_of=pd.Timestamp(NOW),
        model_versions={"churn": "1", "conversion": "1", "next_stage": "1"},
        feature_fingerprint="f" * 16,
        probabilities={"churn": 0.1 * (i % 10), "conversion": 0.2,
                       "next_stage": {"none": 0.5, "retention": 0.5}},
        top_causes={"churn": [cause] * 3, "conversion": [cause] * 3},
        events_hash="0" * 32, n_events=PER_CUSTOMER, created_at=pd.Timestamp(NOW),
    )  # fmt: skip


def _rate(n: int, seconds: float) -> float:
    return n / seconds


def _ms(samples: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(samples), q) * 1000)


def one_round(
    store: EventStore, first: int, customers: int, reads: int, seed: int
) -> dict[str, float]:
    half = customers // 2
    frames = make_events(first, half, seed)
    records = as_records(make_events(first + half, customers - half, seed + 1))
    batches = [frames.iloc[i : i + BATCH] for i in range(0, len(frames), BATCH)]
    t = time.perf_counter()
    for b in batches:
        assert store.ingest(b, source="bench", now=NOW).accepted == len(b)
    frame_rate = _rate(len(frames), time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(0, len(records), BATCH):
        part = records[i : i + BATCH]
        assert store.ingest_records(part, source="bench", now=NOW).accepted == len(part)
    record_rate = _rate(len(records), time.perf_counter() - t)
    t = time.perf_counter()
    for b in batches:
        assert store.ingest(b, source="bench", now=NOW).duplicates == len(b)
    retry_rate = _rate(len(frames), time.perf_counter() - t)

    rng = np.random.default_rng(seed)
    ids = [f"c{i}" for i in rng.integers(first, first + customers, size=reads)]
    rec_times, frame_times = [], []
    for cid in ids:
        t = time.perf_counter()
        got = store.journey_records(cid)
        rec_times.append(time.perf_counter() - t)
        assert len(got) == PER_CUSTOMER
        t = time.perf_counter()
        store.journey(cid)
        frame_times.append(time.perf_counter() - t)
    log_times = []
    for i, cid in enumerate(ids):
        t = time.perf_counter()
        store.log_prediction(log_entry(cid, i))
        log_times.append(time.perf_counter() - t)
    entries = [log_entry(cid, i) for i, cid in enumerate(ids)]
    t = time.perf_counter()
    for lo in range(0, len(entries), LOG_BATCH):
        store.log_predictions(entries[lo : lo + LOG_BATCH])
    log_batched_us = (time.perf_counter() - t) / len(entries) * 1e6
    return {
        "ingest_frames": frame_rate,
        "ingest_records": record_rate,
        "ingest_retry": retry_rate,
        "read_records_p50": _ms(rec_times, 0.5),
        "read_records_p95": _ms(rec_times, 0.95),
        "read_frame_p50": _ms(frame_times, 0.5),
        "log_p50": _ms(log_times, 0.5),
        "log_p95": _ms(log_times, 0.95),
        "log_batched_us": log_batched_us,
        "events_after": float(store.count_events()),
    }


@contextmanager
def sqlite_store() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_store() -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"journeyml_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_backend(name: str, args: argparse.Namespace) -> dict[str, float]:
    maker = sqlite_store if name == "sqlite" else postgres_store
    rounds = []
    with maker() as uri, EventStore.open(uri) as store:
        for r in range(args.rounds):
            rounds.append(one_round(store, r * args.customers, args.customers, args.reads, seed=r))
            print(
                f"  {name} round {r + 1}: "
                + ", ".join(f"{k} {v:,.1f}" for k, v in rounds[-1].items())
            )
    out = {k: statistics.median(x[k] for x in rounds) for k in rounds[0]}
    out["events_after"] = rounds[-1]["events_after"]
    return out


def _machine() -> str:
    import sqlite3

    import sqlalchemy

    return machine(
        f"SQLAlchemy {sqlalchemy.__version__}",
        f"SQLite {sqlite3.sqlite_version}",
        f"load average {os.getloadavg()[0]:.1f} at the end",
    )


def _pg_version() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'} on loopback"


def section(results: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    rows = [
        "| backend | ingest, frames (events/s) | ingest, event dicts (events/s) | "
        "retried batch, all duplicates (events/s) | read 200-event journey, dicts: p50 / p95 "
        "(ms) | as a frame: p50 (ms) | log one prediction: p50 / p95 (ms) | "
        f"log {LOG_BATCH} per transaction (µs each) | events stored |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        rows.append(
            f"| {name} | {r['ingest_frames']:,.0f} | {r['ingest_records']:,.0f} | "
            f"{r['ingest_retry']:,.0f} | {r['read_records_p50']:.2f} / {r['read_records_p95']:.2f} "
            f"| {r['read_frame_p50']:.2f} | {r['log_p50']:.2f} / {r['log_p95']:.2f} | "
            f"{r['log_batched_us']:,.0f} | {r['events_after']:,.0f} |"
        )
    backends = ", ".join(results)
    return "\n".join(
        [
            "## Event store (`journeyml.store`)",
            "",
            f"Command: `.venv/bin/python benchmarks/store.py --customers {args.customers} "
            f"--reads {args.reads} --rounds {args.rounds}` ({backends}; each round ingests "
            f"{args.customers} new journeys of {PER_CUSTOMER} events in batches of {BATCH}, one "
            "transaction per batch — half as frames, half as event dicts — then the frames "
            f"again, then reads {args.reads} random journeys and logs {args.reads} predictions; "
            "medians over rounds).",
            "",
            f"Machine: {_machine()}." + (f" {_pg_version()}." if "postgresql" in results else ""),
            "",
            *rows,
            "",
            "Target for the later `POST /events` path: ≥ 20,000 events/s in batches of 500 (the "
            "library is what it will call; HTTP parsing comes on top). SQLite commits with "
            "`synchronous=FULL` (a batch is on disk when acknowledged); PostgreSQL with its "
            "defaults (`synchronous_commit=on`): one commit per prediction pays one disk sync, "
            "so a service that must add ≤ 1 ms per prediction should log in batches "
            "(the last column).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500, help="new journeys per round")
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args()
    results = {b: run_backend(b, args) for b in args.backends}
    text = section(results, args)
    print(text)
    if args.write:
        write_section("store", text)


if __name__ == "__main__":
    main()
