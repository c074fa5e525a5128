"""Soak test: the real server under a steady open-loop load for N minutes.

R requests per second of realistic journeys: simulated customers (a year of their events) cut
at random moments, 1-200 events each; about 5 % of requests are bad on purpose (a duplicate
key, a wrong type, an unknown task, not JSON) and must get their 4xx.

The load generator is a fixed pool of senders (keep-alive connections, one prepared request
each time, as :mod:`_load` does): request ``i`` is due at ``t0 + i / R``; a free sender takes
the next due request and sends it at its time. If every sender is busy the request goes out
late, and its latency counts from when it was due (no coordinated omission), so a server that
falls behind shows it in the latencies and in the "late" column instead of stalling the
generator. A second connection asks ``GET /healthz`` ten times a second (liveness under load).

Reports per minute: requests sent, unexpected answers (5xx, a connection error or timeout, a
valid request refused or a bad one accepted), latency p50/p95/p99 from the due time, requests
sent more than 100 ms late, ``/healthz`` p99, and the resident memory (RSS) of the server's
whole process tree; then the RSS growth from the end of the first minute to the end of the last.

Usage: .venv/bin/python benchmarks/soak.py --minutes 10 --rate 100 [--write] [--tracking-uri URI]
(``--write`` puts the report in docs/benchmarks.md between ``<!-- BEGIN soak -->`` and
``<!-- END soak -->``; without a tracking URI the test pipeline is trained into a temp store).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _load
import httpx
import numpy as np
import pandas as pd
import psutil
from _docs import machine, write_section
from serving import HOST, REPO, free_port, serve, stop

from journeyml.serving import requests_from_frame, serve_command

#: (body, content type, the status it must get)
BAD = [
    (b'{"customer_id": "x", "events": [], "events": []}', "application/json", 400),
    (b'{"customer_id": "x", "events": [], "explain": 0}', "application/json", 400),
    (b'{"customer_id": "x", "events": [], "tasks": ["bogus"]}', "application/json", 422),
    (b"customer_id=x", "text/plain", 415),
]
BAD_SHARE = 0.05
MAX_EVENTS = 200
LATE_S = 0.1
TIMEOUT_S = 30.0


def journeys(n: int, seed: int = 0) -> tuple[list[bytes], np.ndarray]:
    """``n`` /predict bodies of 1-200 events (simulated customers over a year, random
    cut-offs) and their event counts."""
    from journeyml.sim import simulate

    ev = simulate(900, seed=11, days=365).events
    rng = np.random.default_rng(seed)
    first = ev.groupby("customer_id").timestamp.min()
    last = ev.groupby("customer_id").timestamp.max()
    cids = rng.choice(ev.customer_id.unique(), size=n)
    frac = rng.uniform(0.0, 1.0, size=n)
    as_of = [
        first[c] + (last[c] - first[c]) * f + pd.Timedelta(seconds=1)
        for c, f in zip(cids, frac, strict=True)
    ]
    cut = pd.DataFrame({"customer_id": cids, "as_of": as_of})
    out, sizes = [], []
    for b in requests_from_frame(ev, cut, attributes=["segment"]):
        b["events"] = b["events"][-MAX_EVENTS:]
        if b["events"]:
            out.append(json.dumps(b).encode())
            sizes.append(len(b["events"]))
    return out, np.array(sizes)


def rss_mb(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return float("nan")
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


@dataclass
class Record:
    """What the generator saw: one row per request, the probes and memory samples."""

    due: list[float] = field(default_factory=list)  # seconds from t0
    done: list[float] = field(default_factory=list)  # answered, seconds from t0
    latency_ms: list[float] = field(default_factory=list)  # from the due time
    late_s: list[float] = field(default_factory=list)  # sent this long after its due time
    ok: list[bool] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # unexpected answers by kind
    probes: list[tuple[float, float]] = field(default_factory=list)  # (t, ms) of /healthz
    rss: list[tuple[float, float]] = field(default_factory=list)  # (t, MB)


async def _sender(
    port: int,
    plan: list[tuple[bytes, int]],
    rate: float,
    t0: float,
    counter: list[int],
    rec: Record,
) -> None:
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while counter[0] < len(plan):
        i = counter[0]
        counter[0] += 1
        req, want = plan[i]
        due = t0 + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        sent = time.perf_counter()
        status: int | str
        try:
            if conn is None:
                conn = await asyncio.open_connection(HOST, port)
            status, keep = await asyncio.wait_for(_load.exchange(*conn, req), TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, RuntimeError) as exc:
            status, keep = type(exc).__name__, False
        done = time.perf_counter()
        if not keep and conn is not None:
            conn[1].close()
            conn = None
        rec.done.append(done - t0)
        rec.due.append(due - t0)
        rec.latency_ms.append((done - due) * 1e3)
        rec.late_s.append(sent - due)
        rec.ok.append(status == want)
        if status != want:
            key = f"{status} (expected {want})"
            rec.statuses[key] = rec.statuses.get(key, 0) + 1


async def _prober(port: int, end: float, rec: Record) -> None:
    req = _load.get_bytes(HOST, port, "/healthz")
    conn = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < end:
            t = time.perf_counter()
            status, _ = await _load.exchange(*conn, req)
            rec.probes.append((t, (time.perf_counter() - t) * 1e3 if status == 200 else 1e9))
            await asyncio.sleep(max(0.0, t + 0.1 - time.perf_counter()))
    finally:
        conn[1].close()


async def _sampler(pid: int, end: float, t0: float, rec: Record) -> None:
    while time.perf_counter() < end:
        await asyncio.sleep(min(5.0, max(0.0, end - time.perf_counter())))
        rec.rss.append((time.perf_counter() - t0, rss_mb(pid)))


def plan_requests(port: int, bodies: list[bytes], n: int, seed: int = 1) -> list[tuple[bytes, int]]:
    """The ``n`` requests in order (each distinct request prepared once and shared)."""
    rng = np.random.default_rng(seed)
    good = [_load.request_bytes(HOST, port, "/predict", b) for b in bodies]
    bad = [(_load.request_bytes(HOST, port, "/predict", b, c), w) for b, c, w in BAD]
    return [
        bad[i % len(bad)] if rng.random() < BAD_SHARE else (good[i % len(good)], 200)
        for i in range(n)
    ]


async def run_load(
    port: int, pid: int, plan: list[tuple[bytes, int]], rate: float, senders: int
) -> tuple[Record, float]:
    rec = Record()
    t0 = time.perf_counter() + 0.5
    end = t0 + len(plan) / rate
    counter = [0]
    jobs = [_sender(port, plan, rate, t0, counter, rec) for _ in range(senders)]
    await asyncio.gather(*jobs, _prober(port, end, rec), _sampler(pid, end, t0, rec))
    return rec, t0


def per_minute(rec: Record, t0: float, minutes: int) -> list[dict[str, Any]]:
    due = np.array(rec.due)
    lat = np.array(rec.latency_ms)
    late = np.array(rec.late_s)
    ok = np.array(rec.ok)
    probe_t = np.array([t - t0 for t, _ in rec.probes])
    probe_ms = np.array([ms for _, ms in rec.probes])
    rows = []
    for m in range(minutes):
        sel = (due >= 60 * m) & (due < 60 * (m + 1))
        psel = (probe_t >= 60 * m) & (probe_t < 60 * (m + 1))
        rss = [mb for t, mb in rec.rss if t <= 60 * (m + 1) + 1]
        q = np.percentile(lat[sel], [50, 95, 99]) if sel.any() else [np.nan] * 3
        rows.append(
            {
                "minute": m + 1,
                "requests": int(sel.sum()),
                "unexpected": int((~ok[sel]).sum()),
                "p50": float(q[0]),
                "p95": float(q[1]),
                "p99": float(q[2]),
                "late": int((late[sel] > LATE_S).sum()),
                "healthz_p99": float(np.percentile(probe_ms[psel], 99)) if psel.any() else np.nan,
                "rss_mb": rss[-1] if rss else float("nan"),
            }
        )
    return rows


def report(a: Any, rows: list[dict[str, Any]], rec: Record, info: dict[str, Any]) -> str:
    first, last = rows[0]["rss_mb"], rows[-1]["rss_mb"]
    growth = 100 * (last - first) / first
    unexpected = sum(r["unexpected"] for r in rows)
    total = sum(r["requests"] for r in rows)
    probes = np.array([ms for _, ms in rec.probes])
    sizes = info["sizes"]
    quiet = info["load"][0] <= 2 and info["load_after"] <= 2
    ok = lambda b: "met" if b else "**missed**"  # noqa: E731
    lines = [
        "## Soak (`benchmarks/soak.py`)",
        "",
        f"Command: `.venv/bin/python benchmarks/soak.py --minutes {a.minutes:g} --rate {a.rate:g}"
        " --write` — the real server (`bentoml serve`, "
        f"{a.workers} worker{'s' if a.workers > 1 else ''}) on loopback, open-loop load of "
        f"`POST /predict` from {a.senders} keep-alive senders (request *i* due at "
        f"*t0 + i/{a.rate:g}* s, latency counted from its due time). Journeys: simulated "
        f"customers over a year cut at random moments, {sizes.min()}–{sizes.max()} events "
        f"(median {int(np.median(sizes))}); {BAD_SHARE:.0%} bad requests on purpose (duplicate "
        "key, wrong type, unknown task, not JSON: each must get its 4xx). `/healthz` asked ten "
        "times a second on its own connection.",
        "",
        f"Machine: {machine()}; load average {info['load'][0]:.1f} before and "
        f"{info['load_after']:.1f} after the run"
        + ("" if quiet else " (**under load**: shared with other jobs; latencies inflated)")
        + f"; RSS of the server's process tree after warm-up {info['rss0']:.0f} MB.",
        "",
        "| minute | requests | unexpected | p50 ms | p95 ms | p99 ms | sent > 100 ms late | "
        "`/healthz` p99 ms | RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['minute']} | {r['requests']} | {r['unexpected']} | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['late']} | {r['healthz_p99']:.1f} | "
            f"{r['rss_mb']:.0f} |"
        )
    kinds = ", ".join(f"{k}: {n}" for k, n in sorted(rec.statuses.items())) or "none"
    hz = float(np.percentile(probes, 99)) if len(probes) else float("nan")
    lines += [
        "",
        f"Total: {total} requests due at {total / (len(rows) * 60):.1f} req/s, answered at "
        f"{total / max(rec.done):.1f} req/s (the last answer {max(rec.done):.0f} s after the "
        f"start); unexpected answers by kind: {kinds}.",
        "",
        "| target | measured | |",
        "|---|---:|---|",
        f"| 0 errors | {unexpected} unexpected answers | {ok(unexpected == 0)} |",
        f"| RSS growth < 5 % (end of minute 1 → end of minute {len(rows)}) | "
        f"{first:.0f} → {last:.0f} MB ({growth:+.1f} %) | {ok(growth < 5)} |",
        f"| `/healthz` p99 ≤ 50 ms | {hz:.1f} ms ({len(probes)} probes) | {ok(hz <= 50)} |",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=10)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--senders", type=int, default=32)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md's section")
    a = ap.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = a.tracking_uri
    if uri is None:  # train the small test pipeline
        sys.path.insert(0, str(REPO / "tests"))
        from conftest import SMALL_PIPELINE
        from journeyml.lifecycle import PipelineConfig, run_training

        uri = f"sqlite:///{Path(tempfile.mkdtemp(prefix='jml-soak-')) / 'mlflow.db'}"
        run_training(PipelineConfig.model_validate(SMALL_PIPELINE), tracking_uri=uri)
    bodies, sizes = journeys(2000)
    env = {
        **os.environ,
        "JOURNEYML_TRACKING_URI": uri,
        "JOURNEYML_WORKERS": str(a.workers),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    port = free_port()
    proc = serve(serve_command(REPO / "service", HOST, port), env, f"http://{HOST}:{port}/readyz")
    info: dict[str, Any] = {"sizes": sizes, "load": os.getloadavg()}
    try:
        for b in bodies[:50]:  # warm-up
            r = httpx.post(
                f"http://{HOST}:{port}/predict",
                content=b,
                headers={"content-type": "application/json"},
                timeout=60,
            )
            r.raise_for_status()
        info["rss0"] = rss_mb(proc.pid)
        plan = plan_requests(port, bodies, int(a.minutes * 60 * a.rate))
        print(f"{len(plan)} requests over {a.minutes} min, {a.senders} senders", flush=True)
        rec, t0 = asyncio.run(run_load(port, proc.pid, plan, a.rate, a.senders))
    finally:
        stop(proc)
    info["load_after"] = os.getloadavg()[0]
    text = report(a, per_minute(rec, t0, a.minutes), rec, info)
    print(text)
    if a.write:
        write_section("soak", text)


if __name__ == "__main__":
    main()
