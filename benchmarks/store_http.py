"""The event store through the service: POST /events, scoring by id, the prediction log's cost,
and journeyml monitor on a large log.

- ``POST /events``, batches of 500 events (event dicts as JSON), one client sending batches one
  after another to the real BentoML server (1 worker), SQLite and PostgreSQL: events/s
  acknowledged (parsing, per-event validation, one transaction per batch);
- ``GET /customers/{id}/predictions`` of a customer with 200 stored events, three tasks with
  root causes: p50/p95 over HTTP (SQLite), and in the process (the handler, no HTTP);
- the cost of the prediction log: p50 of the handler with and without a ``PredictionLog``
  (in-process, 200-event journeys, the background writer running), and ``PredictionLog.add``
  alone;
- ``monitor()`` on ``--monitor-n`` logged predictions over 8 weeks (SQLite).

Needs trained champions: ``--tracking-uri`` (e.g. the demo's ``sqlite:///mlflow/mlflow.db``).
Writes docs/benchmarks.md between ``<!-- BEGIN store-http -->`` and ``<!-- END store-http -->``.
Usage: .venv/bin/python benchmarks/store_http.py --tracking-uri URI [--batches 40]
       [--monitor-n 100000] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from _docs import machine, write_section

from journeyml.scoring import Predictor
from journeyml.serving import (
    PredictionLog,
    StoreLink,
    handle_customer_predictions,
    serve_command,
)
from journeyml.store import EventStore, PredictionRecord

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("JOURNEYML_BENCH_PG_URI", "postgresql://postgres@127.0.0.1:5432/test")
BATCH = 500
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def events_of(pred: Predictor, customers: int, per: int, seed: int, prefix: str) -> list[dict]:
    rng = np.random.default_rng(seed)
    tps = list(pred.spec.touchpoints)
    chans = list(pred.spec.channels) or ["web"]
    out = []
    base = pd.Timestamp("2024-01-01", tz="UTC").value
    for c in range(customers):
        ts = np.sort(base + rng.integers(0, 180 * 86_400 * 10**9, size=per))
        for t in ts:
            out.append(
                {
                    "customer_id": f"{prefix}{c}",
                    "timestamp": pd.Timestamp(int(t), tz="UTC").isoformat(),
                    "touchpoint": tps[rng.integers(len(tps))],
                    "channel": chans[rng.integers(len(chans))],
                }
            )
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        serve_command(REPO / "service", "127.0.0.1", port),
        env={**os.environ, **env, "BENTOML_DO_NOT_TRACK": "true"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError(log.read_text()[-2000:])


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def pg_uri() -> tuple[str, str] | None:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"journeyml_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        return None
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), name


def drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ms(xs: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(xs) * 1000, q))


def bench_ingest(url: str, batches: list[list[dict]]) -> float:
    with httpx.Client(timeout=120) as client:
        client.post(url + "/events", json={"events": batches[0]}).raise_for_status()  # warm-up
        t0 = time.perf_counter()
        n = 0
        for b in batches[1:]:
            r = client.post(url + "/events", json={"events": b})
            r.raise_for_status()
            n += r.json()["accepted"]
        return n / (time.perf_counter() - t0)


def bench_by_id(url: str, ids: list[str], as_of: str) -> list[float]:
    out = []
    with httpx.Client(timeout=60) as client:
        for cid in ids:
            t0 = time.perf_counter()
            r = client.get(f"{url}/customers/{cid}/predictions", params={"as_of": as_of})
            out.append(time.perf_counter() - t0)
            r.raise_for_status()
    return out


def bench_log_cost(pred: Predictor, uri: str, ids: list[str], rounds: int) -> dict[str, float]:
    store = EventStore.open(uri)
    link = StoreLink(uri, opener=lambda _u: store)
    plog = PredictionLog(link, project="bench")
    as_of = "2024-07-01T00:00:00Z"
    plain: list[float] = []
    logged: list[float] = []
    for i in range(rounds):
        for cid in ids:
            for lg, acc in (
                ((None, plain), (plog, logged)) if i % 2 else ((plog, logged), (None, plain))
            ):
                t0 = time.perf_counter()
                handle_customer_predictions(
                    pred, link, cid, as_of=as_of, tasks=None, now=NOW, request_id=None, log=lg
                )
                acc.append(time.perf_counter() - t0)
    response = handle_customer_predictions(
        pred, link, ids[0], as_of=as_of, tasks=None, now=NOW, request_id=None
    )
    used = store.journey_records(ids[0], before=as_of)
    adds = []
    for _ in range(2000):
        t0 = time.perf_counter()
        plog.add(response, used)
        adds.append(time.perf_counter() - t0)
    plog.close()
    store.close()
    return {
        "plain_p50": ms(plain, 0.5),
        "logged_p50": ms(logged, 0.5),
        "add_p50_us": ms(adds, 0.5) * 1000,
        "written": plog.written,
    }


def bench_monitor(pred: Predictor, n: int, folder: Path) -> dict[str, float]:
    from journeyml.monitor import monitor

    uri = f"sqlite:///{folder / 'monitor.db'}"
    store = EventStore.open(uri)
    customers = 2000
    evs = events_of(pred, customers, 30, 5, "m")
    store.ingest_records(evs, source="bench", now=NOW)
    rng = np.random.default_rng(3)
    weeks = pd.date_range("2024-05-06", periods=8, freq="7D", tz="UTC")
    versions = pred.versions()
    t0 = time.perf_counter()
    batch: list[PredictionRecord] = []
    for i in range(n):
        p = float(rng.beta(2, 8))
        batch.append(
            PredictionRecord(
                request_id=f"m{i // 1000}", item=i % 1000, project="bench",
                customer_id=f"m{rng.integers(customers)}", as_of=weeks[i % 8],
                model_versions=versions, feature_fingerprint=pred.fingerprint,
                probabilities={t: p for t in pred.tasks if pred.bundles[t].kind == "binary"},
                top_causes={"churn": [{"cause": "touchpoint:support_call", "points": 5.0},
                                      {"cause": "touchpoint:complaint", "points": 3.0 * p}]},
                events_hash="x", n_events=30, created_at=NOW,
            )
        )  # fmt: skip
        if len(batch) == 5000:
            store.log_predictions(batch)
            batch = []
    if batch:
        store.log_predictions(batch)
    fill_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = monitor(store, pred, now="2024-09-01", project="bench", sample_per_week=5000)
    mon_s = time.perf_counter() - t0
    store.close()
    return {"fill_s": fill_s, "monitor_s": mon_s, "weeks": float(res.weekly["week"].nunique())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracking-uri", required=True)
    ap.add_argument("--project", default=None)
    ap.add_argument("--batches", type=int, default=40, help="batches of 500 per backend")
    ap.add_argument("--reads", type=int, default=200)
    ap.add_argument("--monitor-n", type=int, default=100_000)
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    pred = Predictor.from_registry(args.tracking_uri, project=args.project)
    folder = Path(tempfile.mkdtemp(prefix="journeyml-bench-"))
    n_customers = args.batches * BATCH // 200
    events = events_of(pred, n_customers, 200, 1, "c")
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    ids = [f"c{i}" for i in range(min(args.reads, n_customers))]
    results: dict[str, dict[str, float]] = {}
    for backend in args.backends:
        created = None
        if backend == "sqlite":
            uri = f"sqlite:///{folder / 'http.db'}"
        else:
            created = pg_uri()
            if created is None:
                print("PostgreSQL unreachable: skipped", file=sys.stderr)
                continue
            uri = created[0]
        env = {"JOURNEYML_TRACKING_URI": args.tracking_uri, "JOURNEYML_STORE_URI": uri}
        if args.project:
            env["JOURNEYML_PROJECT"] = args.project
        proc, url = start_server(env, folder / f"{backend}.log")
        try:
            rate = bench_ingest(url, batches)
            by_id = bench_by_id(url, ids, "2024-07-01T00:00:00Z")
        finally:
            stop(proc)
        r = {"ingest": rate, "by_id_p50": ms(by_id, 0.5), "by_id_p95": ms(by_id, 0.95)}
        r.update(bench_log_cost(pred, uri, ids[:50], 3))
        results[backend] = r
        print(backend, r, flush=True)
        if created is not None:
            drop_pg(created[1])
    mon = bench_monitor(pred, args.monitor_n, folder) if args.monitor_n else None
    print("monitor", mon, flush=True)
    load = os.getloadavg()[0]
    rows = "\n".join(
        f"| {b} | {r['ingest']:,.0f} | {r['by_id_p50']:.1f} / {r['by_id_p95']:.1f} | "
        f"{r['plain_p50']:.2f} | {r['logged_p50']:.2f} | {r['logged_p50'] - r['plain_p50']:+.2f} | "
        f"{r['add_p50_us']:.1f} |"
        for b, r in results.items()
    )
    mon_line = (
        f"`monitor()` on {args.monitor_n:,} logged predictions over {mon['weeks']:.0f} weeks "
        f"(SQLite; 2,000 customers of 30 events; sample 5,000 per week): {mon['monitor_s']:.1f} s "
        f"(writing them to the log: {mon['fill_s']:.1f} s)."
        if mon
        else ""
    )
    cmd = (
        f"`.venv/bin/python benchmarks/store_http.py --tracking-uri … --batches {args.batches} "
        f"--reads {args.reads} --monitor-n {args.monitor_n}`"
    )
    shared = " (shared with other work: figures are lower bounds)" if load > 3 else ""
    header = (
        "| backend | `POST /events`, batches of 500 (events/s) | `GET /customers/{id}/predictions`"
        ", 200 events, HTTP p50 / p95 (ms) | handler without log p50 (ms) | with log p50 (ms) "
        "| added (ms) | `PredictionLog.add` p50 (µs) |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    text = "\n\n".join(
        [
            "## Event store through the service (`benchmarks/store_http.py`)",
            f"Command: {cmd} (the demo's champions: three tasks with root causes; one BentoML "
            "worker; one client sending one request at a time).",
            f"Machine: {machine()}; load average {load:.1f} at the end{shared}.",
            f"{header}\n{rows}",
            mon_line,
        ]
    )
    print(text)
    if not args.no_write:
        write_section("store-http", text)


if __name__ == "__main__":
    main()
