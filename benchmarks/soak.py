"""Soak test: the real server under a steady open-loop load for N minutes.

R requests per second (scheduled at fixed times, not waiting for answers) of realistic
journeys: 1-200 events of simulated customers, cut at random moments; about 5 % of requests
are bad on purpose (duplicate keys, a wrong type, an unknown task, not JSON) and must get
their 4xx. Reports, per minute: requests, unexpected answers (5xx, a connection error, a
valid request refused or a bad one accepted), latency p50/p95/p99, and the resident memory
(RSS) of the server's whole process tree; and the RSS growth from the first minute to the last.

Writes docs/benchmarks.md between ``<!-- BEGIN soak -->`` and ``<!-- END soak -->``.
Usage: .venv/bin/python benchmarks/soak.py --minutes 10 --rate 100 [--tracking-uri URI]
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
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil
from _docs import write_section
from serving import HOST, REPO, free_port, serve, stop

from journeyml.serving import requests_from_frame, serve_command

UNDER_LOAD = " (**under load**: shared with other jobs; latencies are inflated)"
BAD = [
    (b'{"customer_id": "x", "events": [], "events": []}', "application/json", 400),
    (b'{"customer_id": "x", "events": [], "explain": 0}', "application/json", 400),
    (b'{"customer_id": "x", "events": [], "tasks": ["bogus"]}', "application/json", 422),
    (b"customer_id=x", "text/plain", 415),
]


def journeys(n: int, seed: int = 0) -> list[bytes]:
    """``n`` /predict bodies of 1-200 events (simulated customers, random cut-offs)."""
    from journeyml.sim import simulate

    sim = simulate(900, seed=11, days=150)
    ev = sim.events
    rng = np.random.default_rng(seed)
    ids = ev.customer_id.unique()
    counts = ev.groupby("customer_id").size()
    first = ev.groupby("customer_id").timestamp.min()
    last = ev.groupby("customer_id").timestamp.max()
    cids = rng.choice(ids, size=n)
    frac = rng.uniform(0.05, 1.0, size=n)
    as_of = [
        first[c] + (last[c] - first[c]) * f + pd.Timedelta(seconds=1)
        for c, f in zip(cids, frac, strict=True)
    ]
    cut = pd.DataFrame({"customer_id": cids, "as_of": as_of})
    bodies = requests_from_frame(ev, cut, attributes=["segment"])
    out = []
    for b in bodies:
        b["events"] = b["events"][-200:] or b["events"]
        if not b["events"]:
            continue
        out.append(json.dumps(b).encode())
    print(
        f"{len(out)} journeys, events per journey: median "
        f"{int(np.median([counts[c] for c in cids]))}",
        flush=True,
    )
    return out


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


async def run_load(
    url: str, pid: int, bodies: list[bytes], minutes: float, rate: float
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    per_minute: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        t0 = time.perf_counter()
        n_total = int(minutes * 60 * rate)
        tasks: list[asyncio.Task[tuple[int, float, bool]]] = []

        async def one(i: int) -> tuple[int, float, bool]:
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            if rng.random() < 0.05:
                body, ctype, want = BAD[i % len(BAD)]
            else:
                body, ctype, want = bodies[i % len(bodies)], "application/json", 200
            start = time.perf_counter()
            try:
                r = await client.post("/predict", content=body, headers={"content-type": ctype})
                ok = r.status_code == want
            except httpx.HTTPError:
                ok = False
            return int((start - t0) // 60), (time.perf_counter() - start) * 1000, ok

        for i in range(n_total):
            tasks.append(asyncio.create_task(one(i)))
        minute_marks: dict[int, float] = {}

        async def sample_rss() -> None:
            m = 0
            while m < int(np.ceil(minutes)):
                await asyncio.sleep(max(0.0, t0 + (m + 1) * 60 - time.perf_counter()))
                minute_marks[m] = rss_mb(pid)
                m += 1

        sampler = asyncio.create_task(sample_rss())
        results = await asyncio.gather(*tasks)
        await sampler
    for m in range(int(np.ceil(minutes))):
        rows = [(lat, ok) for mm, lat, ok in results if mm == m]
        lat = np.array([r[0] for r in rows]) if rows else np.array([np.nan])
        per_minute.append(
            {
                "minute": m + 1,
                "requests": len(rows),
                "unexpected": sum(1 for r in rows if not r[1]),
                "p50": float(np.percentile(lat, 50)),
                "p95": float(np.percentile(lat, 95)),
                "p99": float(np.percentile(lat, 99)),
                "rss_mb": minute_marks.get(m, float("nan")),
            }
        )
    return per_minute


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    tmp = Path(tempfile.mkdtemp(prefix="jml-soak-"))
    uri = a.tracking_uri
    if uri is None:
        sys.path.insert(0, str(REPO / "tests"))
        from conftest import SMALL_PIPELINE
        from journeyml.lifecycle import PipelineConfig, run_training

        uri = f"sqlite:///{tmp / 'mlflow.db'}"
        run_training(PipelineConfig.model_validate(SMALL_PIPELINE), tracking_uri=uri)
    bodies = journeys(2000)
    env = {**os.environ, "JOURNEYML_TRACKING_URI": uri, "BENTOML_DO_NOT_TRACK": "true"}
    port = free_port()
    proc = serve(serve_command(REPO / "service", HOST, port), env, f"http://{HOST}:{port}/readyz")
    load_before = os.getloadavg()
    try:
        url = f"http://{HOST}:{port}"
        for b in bodies[:50]:  # warm-up
            httpx.post(url + "/predict", content=b, headers={"content-type": "application/json"})
        rss0 = rss_mb(proc.pid)
        rows = asyncio.run(run_load(url, proc.pid, bodies, a.minutes, a.rate))
    finally:
        stop(proc)
    load_after = os.getloadavg()
    first, last = rows[0]["rss_mb"], rows[-1]["rss_mb"]
    growth = 100 * (last - first) / first
    unexpected = sum(r["unexpected"] for r in rows)
    total = sum(r["requests"] for r in rows)
    lines = [
        "## Soak (`benchmarks/soak.py`)",
        "",
        f"Command: `.venv/bin/python benchmarks/soak.py --minutes {a.minutes:g} --rate {a.rate:g}`"
        " — the real server (1 worker) on loopback, open-loop load of /predict: simulated "
        "journeys of 1-200 events cut at random moments, ~5 % bad requests on purpose "
        "(duplicate key, wrong type, unknown task, not JSON: each must get its 4xx).",
        f"Machine: {os.cpu_count()} cores, load average {load_before[0]:.1f} before and "
        f"{load_after[0]:.1f} after the run"
        + (
            " (**under load**: shared with other jobs; latencies are inflated)"
            if load_before[0] > 2
            else ""
        )
        + f"; RSS of the server's process tree after warm-up {rss0:.0f} MB.",
        "",
        "| minute | requests | unexpected answers | p50 ms | p95 ms | p99 ms | RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['minute']} | {r['requests']} | {r['unexpected']} | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['rss_mb']:.0f} |"
        )
    lines += [
        "",
        f"Total: {total} requests, **{unexpected} unexpected answers**; RSS growth from the "
        f"first minute to the last **{growth:+.1f} %** (bar: 0 errors, < 5 %).",
    ]
    text = "\n".join(lines)
    print(text)
    if not a.no_write:
        write_section("soak", text)


if __name__ == "__main__":
    main()
