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
       [--monitor-n 1000000] [--write]
"""

from __future__ import annotations

import argparse
import contextlib
import json
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

import _load
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
from journeyml.store import EventStore

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


def server_cpu_s(proc: subprocess.Popen[bytes]) -> float:
    """CPU seconds used so far by the server and its worker processes."""
    import psutil

    top = psutil.Process(proc.pid)
    total = 0.0
    for p in [top, *top.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def bench_ingest(
    url: str, batches: list[list[dict]], proc: subprocess.Popen[bytes]
) -> tuple[float, float]:
    """(events/s acknowledged, events per second of the service's own CPU time: what the
    service could take if it had a core to itself; the database's CPU is not in it)."""
    bodies = [json.dumps({"events": b}).encode() for b in batches]
    head = {"content-type": "application/json"}
    with httpx.Client(timeout=120) as client:
        client.post(url + "/events", content=bodies[0], headers=head).raise_for_status()
        cpu0 = server_cpu_s(proc)
        t0 = time.perf_counter()
        n = 0
        for b in bodies[1:]:
            r = client.post(url + "/events", content=b, headers=head)
            r.raise_for_status()
            n += r.json()["accepted"]
        wall = time.perf_counter() - t0
        return n / wall, n / max(server_cpu_s(proc) - cpu0, 1e-9)


def bench_by_id(
    url: str, ids: list[str], as_of: str, proc: subprocess.Popen[bytes]
) -> tuple[list[float], float]:
    """Seconds per ``GET /customers/{id}/predictions``, one after another on one keep-alive
    connection with the lean client of ``_load`` (httpx spends ~1.4 ms of CPU per request on
    the same 2 cores, which would show as server latency; serving.py measures the same way),
    and the service's CPU milliseconds per request (its worker and threads)."""
    host, port = url.removeprefix("http://").split(":")
    reqs = [
        _load.get_bytes(host, int(port), f"/customers/{c}/predictions?as_of={as_of}") for c in ids
    ]
    out = []
    with socket.create_connection((host, int(port))) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        cpu0 = server_cpu_s(proc)
        for req in reqs:
            t0 = time.perf_counter()
            s.sendall(req)
            status, body = _load.read_response(f)
            out.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"expected 200, got {status}: {body[-500:]!r}")
        cpu_ms = (server_cpu_s(proc) - cpu0) / len(reqs) * 1000
    return out, cpu_ms


def bench_log_cost(pred: Predictor, uri: str, ids: list[str], rounds: int) -> dict[str, float]:
    store = EventStore.open(uri)
    link = StoreLink(uri, opener=lambda _u: store)
    plog = PredictionLog(link, project="bench")
    as_of = "2024-07-01T00:00:00Z"
    plain: list[float] = []
    logged: list[float] = []
    cpu: list[float] = []
    for i in range(rounds):
        for cid in ids:
            for lg, acc in (
                ((None, plain), (plog, logged)) if i % 2 else ((plog, logged), (None, plain))
            ):
                t0, c0 = time.perf_counter(), time.thread_time()
                handle_customer_predictions(
                    pred, link, cid, as_of=as_of, tasks=None, now=NOW, request_id=None, log=lg
                )
                acc.append(time.perf_counter() - t0)
                if lg is None:
                    cpu.append(time.thread_time() - c0)
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
        "plain_cpu_p50": ms(cpu, 0.5),
        "logged_p50": ms(logged, 0.5),
        "add_p50_us": ms(adds, 0.5) * 1000,
        "written": plog.written,
    }


def fill_log(store: EventStore, pred: Predictor, n: int, customers: int) -> float:
    """Write ``n`` prediction-log entries over 8 weeks straight into the table (bulk inserts of
    50,000 rows; a service logs through ``PredictionLog``, which is not what is timed here);
    returns the seconds it took."""
    import json

    from journeyml.store.tables import prediction_log
    from journeyml.store.writes import insert_new

    rng = np.random.default_rng(3)
    weeks = pd.date_range("2024-05-06", periods=8, freq="7D", tz="UTC").asi8
    versions = json.dumps(pred.versions(), separators=(",", ":"))
    binary = [t for t in pred.tasks if pred.bundles[t].kind == "binary"]
    key = (prediction_log.c.request_id, prediction_log.c.item)
    t0 = time.perf_counter()
    for lo in range(0, n, 50_000):
        m = min(n, lo + 50_000) - lo
        p = rng.beta(2, 8, size=m).round(4)
        who = rng.integers(customers, size=m)
        rows = [
            {
                "request_id": f"m{(lo + i) // 1000}", "item": (lo + i) % 1000,
                "project": pred.project or "demo", "customer_id": f"m{who[i]}",
                "as_of_ns": int(weeks[(lo + i) % 8]), "model_versions": versions,
                "feature_fingerprint": pred.fingerprint,
                "probabilities": json.dumps({t: float(p[i]) for t in binary}),
                "top_causes": json.dumps({"churn": [
                    {"cause": "touchpoint:support_call", "points": 5.0},
                    {"cause": "touchpoint:complaint", "points": round(3.0 * float(p[i]), 3)},
                ]}),
                "events_hash": "x", "n_events": 30, "created_at_ns": NOW_NS,
            }
            for i in range(m)
        ]  # fmt: skip
        with store._write() as conn:
            insert_new(conn, prediction_log, rows, key)
    return time.perf_counter() - t0


NOW_NS = int(pd.Timestamp(NOW).value)
#: runs a command and prints its peak resident memory (KiB): a fresh parent sees only it
PEAK_RSS = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)"
)


def bench_monitor(pred: Predictor, n: int, folder: Path, tracking_uri: str) -> dict[str, float]:
    """``journeyml monitor`` (the command, in its own process) on ``n`` logged predictions:
    seconds and peak memory."""
    uri = f"sqlite:///{folder / 'monitor.db'}"
    customers = 2000
    with EventStore.open(uri) as store:
        store.ingest_records(events_of(pred, customers, 30, 5, "m"), source="bench", now=NOW)
        fill_s = fill_log(store, pred, n, customers)
    cmd = [
        str(Path(sys.executable).with_name("journeyml")), "monitor", "--store", uri,
        "--tracking-uri", tracking_uri, "--no-mlflow", "--out", str(folder / "monitor.html"),
    ]  # fmt: skip
    if pred.project:
        cmd += ["--project", pred.project]
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *cmd], capture_output=True, text=True, check=True
    )
    mon_s = time.perf_counter() - t0
    peak_kib, rc = done.stdout.split()[-2:]
    if rc not in ("0", "1"):  # 1: a threshold crossed (the simulated log drifts by design)
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return {"fill_s": fill_s, "monitor_s": mon_s, "peak_mb": int(peak_kib) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracking-uri", required=True)
    ap.add_argument("--project", default=None)
    ap.add_argument("--batches", type=int, default=40, help="batches of 500 per backend")
    ap.add_argument("--reads", type=int, default=200)
    ap.add_argument("--monitor-n", type=int, default=1_000_000)
    ap.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"])
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = ap.parse_args()
    if args.tracking_uri.startswith("sqlite:///") and not args.tracking_uri.startswith(
        "sqlite:////"
    ):  # the server runs in service/: a relative path would name another (empty) store
        args.tracking_uri = f"sqlite:///{Path(args.tracking_uri[10:]).resolve()}"
    load0 = os.getloadavg()[0]
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
            rate, cpu_rate = bench_ingest(url, batches, proc)
            bench_by_id(url, ids[:20], "2024-07-01T00:00:00Z", proc)  # warm-up
            by_id, by_id_cpu = bench_by_id(url, ids, "2024-07-01T00:00:00Z", proc)
        finally:
            stop(proc)
        r = {
            "ingest": rate,
            "ingest_cpu": cpu_rate,
            "by_id_p50": ms(by_id, 0.5),
            "by_id_p95": ms(by_id, 0.95),
            "by_id_cpu": by_id_cpu,
        }
        r.update(bench_log_cost(pred, uri, ids[:50], 3))
        results[backend] = r
        print(backend, r, flush=True)
        if created is not None:
            drop_pg(created[1])
    mon = bench_monitor(pred, args.monitor_n, folder, args.tracking_uri) if args.monitor_n else None
    print("monitor", mon, flush=True)
    load = os.getloadavg()[0]
    rows = "\n".join(
        f"| {b} | {r['ingest']:,.0f} | {r['ingest_cpu']:,.0f} | "
        f"{r['by_id_p50']:.1f} / {r['by_id_p95']:.1f} | {r['by_id_cpu']:.1f} | "
        f"{r['plain_p50']:.2f} | "
        f"{r['plain_cpu_p50']:.2f} | {r['logged_p50']:.2f} | "
        f"{r['logged_p50'] - r['plain_p50']:+.2f} | {r['add_p50_us']:.1f} |"
        for b, r in results.items()
    )
    mon_line = (
        f"`journeyml monitor` on {args.monitor_n:,} logged predictions over 8 weeks (the "
        "command in its own process, start-up and model loading included; SQLite; 2,000 "
        "customers of 30 events; sample 5,000 per week; HTML page written, `--no-mlflow`): "
        f"**{mon['monitor_s']:.1f} s, peak memory {mon['peak_mb']:,.0f} MB** (bulk-writing the "
        f"log first: {mon['fill_s']:.1f} s)."
        if mon
        else ""
    )
    cmd = (
        f"`.venv/bin/python benchmarks/store_http.py --tracking-uri … --batches {args.batches} "
        f"--reads {args.reads} --monitor-n {args.monitor_n}`"
    )
    shared = (
        " (shared with other work: rates and latencies are lower bounds)"
        if max(load, load0) > 3
        else ""
    )
    header = (
        "| backend | `POST /events`, batches of 500 (events/s) | the same per second of the "
        "service's CPU (events/s) | `GET /customers/{id}/predictions`, 200 events, HTTP p50 / "
        "p95 (ms) | the service's CPU per request (ms) | handler without log p50 (ms) | its CPU "
        "time p50 (ms) | with log p50 (ms) | added (ms) | `PredictionLog.add` p50 (µs) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    text = "\n\n".join(
        [
            "## Event store through the service (`benchmarks/store_http.py`)",
            f"Command: {cmd} (the demo's champions: three tasks with root causes; one BentoML "
            "worker; one client sending one request at a time: httpx for `POST /events`, the "
            "lean keep-alive client of `benchmarks/_load.py` for scoring by id, as "
            "`benchmarks/serving.py` does).",
            f"Machine: {machine()}; load average {load0:.1f} at the start, {load:.1f} at the "
            f"end{shared}. CPU times do not wait for a core, so they stay near what a quiet "
            "machine shows; the rates and latencies do not.",
            f"{header}\n{rows}",
            mon_line,
        ]
    )
    print(text)
    if args.write:
        write_section("store-http", text)


if __name__ == "__main__":
    main()
