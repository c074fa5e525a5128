"""Liveness under load: ``GET /healthz`` latency while the worker computes large journeys.

The real server (1 worker, default settings) gets, for ``--seconds`` each, closed-loop load of
large requests from N keep-alive senders while one more connection asks ``/healthz`` every
20 ms:

- 4 and 8 concurrent ``POST /predict`` of one 10,000-event journey (the most events a journey
  may have);
- 4 concurrent ``POST /predict_batch`` of 10 journeys of 1,000 events;
- for reference, 8 concurrent ``POST /predict`` of a 50-event journey (computed on the event
  loop) — the probe waits behind the small journeys already queued.

Reports ``/healthz`` p50/p99/max, the large requests answered per second and their answers
(200, or 503 + Retry-After when more than ``JOURNEYML_MAX_INFLIGHT`` are queued). Bar: ``/healthz``
p99 <= 50 ms (issue 15).

Usage: .venv/bin/python benchmarks/liveness.py [--seconds 20] [--write] [--tracking-uri URI]
(``--write``: docs/benchmarks.md between ``<!-- BEGIN liveness -->`` and ``<!-- END liveness -->``)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import _load
import numpy as np
from _docs import machine, write_section
from serving import HOST, REPO, free_port, journey50, serve, stop

from journeyml.serving import serve_command

PROBE_EVERY_S = 0.02


def big_journey(n: int, name: str) -> dict[str, Any]:
    touch = ["site_visit", "email_open", "ad_click", "product_view", "cart_add"]
    return {
        "customer_id": name,
        "events": [
            {
                "timestamp": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T"
                f"{i % 24:02d}:{i % 60:02d}:00Z",
                "touchpoint": touch[i % len(touch)],
            }
            for i in range(n)
        ],
    }


async def _sender(port: int, req: bytes, end: float, lat: list[float], codes: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < end:
            t = time.perf_counter()
            status, keep = await _load.exchange(reader, writer, req)
            codes[status] += 1
            if status == 200:
                lat.append(time.perf_counter() - t)
            if status == 503:
                await asyncio.sleep(0.2)  # as a client honouring Retry-After would, briefly
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()


async def _prober(port: int, start: float, end: float, probes: list[float]) -> None:
    req = _load.get_bytes(HOST, port, "/healthz")
    reader, writer = await asyncio.open_connection(HOST, port)
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    try:
        while time.perf_counter() < end:
            t = time.perf_counter()
            status, _ = await _load.exchange(reader, writer, req)
            probes.append((time.perf_counter() - t) * 1e3 if status == 200 else float("inf"))
            await asyncio.sleep(max(0.0, t + PROBE_EVERY_S - time.perf_counter()))
    finally:
        writer.close()


def phase(port: int, path: str, body: bytes, senders: int, seconds: float) -> dict[str, Any]:
    req = _load.request_bytes(HOST, port, path, body)
    lat: list[float] = []
    codes: Counter[int] = Counter()
    probes: list[float] = []

    async def run() -> float:
        t0 = time.perf_counter()
        end = t0 + seconds
        # probes start once every sender has sent its first request
        jobs = [_sender(port, req, end, lat, codes) for _ in range(senders)]
        await asyncio.gather(*jobs, _prober(port, t0 + 0.5, end, probes))
        return time.perf_counter() - t0

    dt = asyncio.run(run())
    p = np.array(probes)
    return {
        "path": path,
        "senders": senders,
        "rps": codes[200] / dt,
        "codes": dict(codes),
        "req_p50": float(np.median(lat) * 1e3) if lat else float("nan"),
        "probes": len(p),
        "hz_p50": float(np.percentile(p, 50)),
        "hz_p99": float(np.percentile(p, 99)),
        "hz_max": float(p.max()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = a.tracking_uri
    if uri is None:  # train the small test pipeline
        sys.path.insert(0, str(REPO / "tests"))
        from conftest import SMALL_PIPELINE
        from journeyml.lifecycle import PipelineConfig, run_training

        uri = f"sqlite:///{Path(tempfile.mkdtemp(prefix='jml-live-')) / 'mlflow.db'}"
        run_training(PipelineConfig.model_validate(SMALL_PIPELINE), tracking_uri=uri)
    from journeyml.sim import simulate

    small = json.dumps(journey50(simulate(900, seed=11, days=150))).encode()
    big = json.dumps(big_journey(10_000, "big")).encode()
    batch = json.dumps({"journeys": [big_journey(1_000, f"b{k}") for k in range(10)]}).encode()
    env = {**os.environ, "JOURNEYML_TRACKING_URI": uri, "BENTOML_DO_NOT_TRACK": "true"}
    port = free_port()
    proc = serve(serve_command(REPO / "service", HOST, port), env, f"http://{HOST}:{port}/readyz")
    load_before = os.getloadavg()[0]
    memory = rss(proc.pid)
    print(memory, flush=True)
    rows = []
    try:
        for label, path, body, n in [
            ("`/predict`, one 10,000-event journey", "/predict", big, 4),
            ("`/predict`, one 10,000-event journey", "/predict", big, 8),
            ("`/predict_batch`, 10 journeys × 1,000 events", "/predict_batch", batch, 4),
            ("`/predict`, one 50-event journey (on the event loop)", "/predict", small, 8),
        ]:
            r = phase(port, path, body, n, a.seconds)
            r["label"] = label
            rows.append(r)
            print(r, flush=True)
    finally:
        stop(proc)
    text = report(a, rows, load_before, os.getloadavg()[0], memory)
    print(text)
    if a.write:
        write_section("liveness", text)


def rss(pid: int) -> dict[str, list[float]]:
    """Resident memory (MB) of the server's processes once ready: the compute pool's processes
    (spawned by multiprocessing) and the others (BentoML's arbiter, the worker, helpers)."""
    import psutil

    out: dict[str, list[float]] = {"pool": [], "other": []}
    for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            cmd = " ".join(p.cmdline())
            mb = p.memory_info().rss / 1e6
        except psutil.Error:
            continue
        if "resource_tracker" in cmd:
            continue
        out["pool" if "multiprocessing" in cmd else "other"].append(mb)
    return out


def report(
    a: Any,
    rows: list[dict[str, Any]],
    before: float,
    after: float,
    memory: dict[str, list[float]],
) -> str:
    quiet = before <= 2 and after <= 2
    ok = lambda b: "met" if b else "**missed**"  # noqa: E731
    lines = [
        "## Liveness under load (`benchmarks/liveness.py`)",
        "",
        f"Command: `.venv/bin/python benchmarks/liveness.py --seconds {a.seconds:g} --write` — "
        "the real server (1 worker, default settings: requests of more than 256 events or "
        "several journeys computed in a pool of 2 processes (`JOURNEYML_COMPUTE_PROCESSES`), "
        "at most 32 queued, then 503) on "
        f"loopback; each row: {a.seconds:g} s of closed-loop load from N keep-alive senders "
        f"while one more connection asks `GET /healthz` every {PROBE_EVERY_S * 1e3:.0f} ms.",
        "",
        f"Machine: {machine()}; load average {before:.1f} before and {after:.1f} after"
        + ("" if quiet else " (**under load**: shared with other jobs; latencies inflated)")
        + ".",
        "",
        "Memory once ready (RSS): compute processes "
        + (", ".join(f"{m:.0f}" for m in memory["pool"]) or "none")
        + f" MB (the pool's cost: {sum(memory['pool']):.0f} MB); the server's other processes "
        + ", ".join(f"{m:.0f}" for m in sorted(memory["other"], reverse=True))
        + " MB.",
        "",
        "| load | senders | answered/s | answers | request p50 ms | `/healthz` p50 ms | "
        "`/healthz` p99 ms | `/healthz` max ms | p99 ≤ 50 ms |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(r["codes"].items()))
        lines.append(
            f"| {r['label']} | {r['senders']} | {r['rps']:.1f} | {codes} | {r['req_p50']:.0f} | "
            f"{r['hz_p50']:.1f} | {r['hz_p99']:.1f} | {r['hz_max']:.1f} | "
            f"{ok(r['hz_p99'] <= 50)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
