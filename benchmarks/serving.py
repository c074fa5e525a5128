"""Serving benchmark: the real BentoML server on loopback vs ``mlflow models serve``.

- one journey of 50 events, explanations for all three tasks: p50/p95/p99 of sequential
  requests, and throughput + p99 at concurrency 8 (a bounded asyncio loop, loopback only);
- batch scoring throughput: ``Predictor.probabilities`` (journeys/s, no explanations);
- the peer: ``mlflow models serve --env-manager local`` of the same conversion model (feature
  rows in, probabilities out: no feature building, no explanations — it does less work).

Writes docs/benchmarks.md between ``<!-- BEGIN serving -->`` and ``<!-- END serving -->``.
Usage: .venv/bin/python benchmarks/serving.py [--tracking-uri URI] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from _docs import write_section

from journeyml.serving import serve_command

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def sequential(url: str, body: Any, n: int) -> np.ndarray:
    out = []
    with httpx.Client(timeout=30) as c:
        for _ in range(20):
            c.post(url, json=body)
        for _ in range(n):
            t = time.perf_counter()
            r = c.post(url, json=body)
            out.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
    return np.array(out) * 1e3


async def _concurrent(url: str, body: Any, seconds: float, conc: int) -> tuple[float, np.ndarray]:
    lat: list[float] = []
    payload = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=conc)) as c:
        end = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < end:
                t = time.perf_counter()
                r = await c.post(url, content=payload, headers=headers)
                lat.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        dt = time.perf_counter() - t0
    return len(lat) / dt, np.array(lat) * 1e3


def concurrent(url: str, body: Any, seconds: float, conc: int = 8) -> tuple[float, np.ndarray]:
    return asyncio.run(_concurrent(url, body, seconds, conc))


def journey50(sim: Any) -> dict[str, Any]:
    from journeyml.api import requests_from_frame

    ev = sim.events
    counts = ev.groupby("customer_id").size()
    cid = counts[counts >= 50].index[0]
    g = ev[ev.customer_id == cid].sort_values("timestamp")
    cut = pd.DataFrame(
        {"customer_id": [cid], "as_of": [g.timestamp.iloc[49] + pd.Timedelta(seconds=1)]}
    )
    (body,) = requests_from_frame(ev, cut, attributes=["segment"])
    assert len(body["events"]) == 50
    return body


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    from journeyml import registry
    from journeyml.features.build import build_features
    from journeyml.scoring import Predictor
    from journeyml.simulate import simulate

    tmp = Path(tempfile.mkdtemp(prefix="jml-bench-"))
    uri = a.tracking_uri
    if uri is None:  # train the small test pipeline
        sys.path.insert(0, str(REPO / "tests"))
        from conftest import SMALL_PIPELINE
        from journeyml.config import PipelineConfig
        from journeyml.pipeline import run_training

        uri = f"sqlite:///{tmp / 'mlflow.db'}"
        run_training(PipelineConfig.model_validate(SMALL_PIPELINE), tracking_uri=uri)
    pred = Predictor.from_registry(uri)
    sim = simulate(900, seed=11, days=150)
    body = journey50(sim)
    env = {**os.environ, "JOURNEYML_TRACKING_URI": uri, "BENTOML_DO_NOT_TRACK": "true"}
    res: dict[str, Any] = {}

    # --- journeyml server
    port = free_port()
    cmd = serve_command(REPO / "service", "127.0.0.1", port)
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait(f"http://127.0.0.1:{port}/readyz", proc)
        url = f"http://127.0.0.1:{port}/predict"
        res["seq"] = sequential(url, body, a.requests)
        res["conc_rps"], res["conc_lat"] = concurrent(url, body, a.seconds)
    finally:
        stop(proc)

    # --- batch scoring
    cut = pd.DataFrame({"customer_id": np.repeat(sim.events.customer_id.unique(), 30)})
    span = sim.events.timestamp.max() - sim.events.timestamp.min()
    rng = np.random.default_rng(0)
    cut["as_of"] = sim.events.timestamp.min() + span * rng.uniform(0.1, 1, len(cut))
    pred.probabilities(sim.events, cut.iloc[:100])
    t = time.perf_counter()
    pred.probabilities(sim.events, cut)
    res["batch_jps"] = len(cut) / (time.perf_counter() - t)
    res["batch_n"] = len(cut)

    # --- peer: mlflow models serve of the conversion model
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    X = build_features(
        sim.events,
        pd.DataFrame(
            {"customer_id": [body["customer_id"]], "as_of": [pd.Timestamp(body["as_of"])]}
        ),
        pred.spec,
    )
    peer_body = {
        "dataframe_split": {
            "columns": list(X.columns),
            "data": np.nan_to_num(X.to_numpy(), nan=0.0).tolist(),
        }
    }
    port = free_port()
    # mlflow execs `uvicorn` by name: put this interpreter's bin folder first on PATH
    bindir = str(Path(sys.executable).parent)
    penv = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{bindir}:{os.environ['PATH']}"}
    pcmd = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        f"models:/{registry.model_name('conversion')}@champion",
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    proc = subprocess.Popen(
        pcmd, env=penv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait(f"http://127.0.0.1:{port}/ping", proc)
        url = f"http://127.0.0.1:{port}/invocations"
        res["peer_seq"] = sequential(url, peer_body, a.requests)
        res["peer_rps"], res["peer_lat"] = concurrent(url, peer_body, a.seconds)
    finally:
        stop(proc)
    text = report(res, a)
    print(text)
    if not a.no_write:
        write_section("serving", text)


def report(r: dict[str, Any], a: Any) -> str:
    import lightgbm

    def pct(x: np.ndarray) -> str:
        return " | ".join(f"{np.percentile(x, q):.1f}" for q in (50, 95, 99))

    load = os.getloadavg()[0]
    ratio = r["conc_rps"] / r["peer_rps"]
    ok = lambda b: "met" if b else "**missed**"  # noqa: E731
    p50, p99c = np.percentile(r["seq"], 50), np.percentile(r["conc_lat"], 99)
    row_j = f"{pct(r['seq'])} | {r['conc_rps']:.0f} | {p99c:.1f}"
    row_p = f"{pct(r['peer_seq'])} | {r['peer_rps']:.0f} | {np.percentile(r['peer_lat'], 99):.1f}"
    thr_ok = ok(r["conc_rps"] >= 300 and p99c <= 50)
    return f"""## Serving (`benchmarks/serving.py`)

Command: `.venv/bin/python benchmarks/serving.py` (trains the test pipeline into a temp store;
{a.requests} sequential requests, {a.seconds:g} s at concurrency 8, httpx on loopback).

Machine: {os.cpu_count()} cores, Linux {platform.machine()}, Python {platform.python_version()},
lightgbm {lightgbm.__version__}; load average at the end {load:.1f} (the machine is shared:
other work ran at the same time, so these are upper bounds on latency).

journeyml: one journey of 50 events, all three tasks with root causes (1 worker, access log
off). Peer: `mlflow models serve --env-manager local` of the same conversion model, given the
ready feature row — it builds no features and explains nothing (less work per request).

| | p50 ms | p95 ms | p99 ms | req/s at concurrency 8 | p99 ms at concurrency 8 |
|---|---:|---:|---:|---:|---:|
| journeyml `/predict` (3 tasks + explanations) | {row_j} |
| `mlflow models serve` (conversion only, no explanations) | {row_p} |

Batch scoring (`Predictor.probabilities`, 3 tasks, no explanations): {r["batch_jps"]:,.0f}
journeys/s ({r["batch_n"]:,} journeys).

| target | measured | |
|---|---:|---|
| p50 ≤ 6 ms | {p50:.1f} ms | {ok(p50 <= 6)} |
| ≥ 300 req/s at p99 ≤ 50 ms | {r["conc_rps"]:.0f} req/s, p99 {p99c:.1f} ms | {thr_ok} |
| batch ≥ 20k journeys/s | {r["batch_jps"]:,.0f} | {ok(r["batch_jps"] >= 20000)} |
| ≥ 2× `mlflow models serve` throughput | {ratio:.2f}× | {ok(ratio >= 2)} |
"""


if __name__ == "__main__":
    main()
