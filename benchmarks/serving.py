"""Serving benchmark: the real BentoML server on loopback vs ``mlflow models serve``.

- one journey of 50 events, explanations for all three tasks: p50/p95/p99 of sequential
  requests, and throughput + p99 at concurrency 8 (closed loop, keep-alive), with 1 and with
  2 workers;
- batch scoring throughput: ``Predictor.probabilities`` (journeys/s, no explanations);
- the peer: ``mlflow models serve --env-manager local`` of the same conversion model as
  journeyml logs it (the journey's events in, the API's answer for that one task out: features,
  probability and root causes, through pandas), with the same worker counts.

Requests come from :mod:`_load` (a lean keep-alive HTTP/1.1 client: on 2 cores a heavy client
would steal the server's CPU). Each configuration runs ``--rounds`` rounds of (``--requests``
sequential requests, ``--seconds`` at concurrency 8); the table gives the median over rounds
of each statistic, since this shared machine's speed drifts by ±20 % from minute to minute.

Writes docs/benchmarks.md between ``<!-- BEGIN serving -->`` and ``<!-- END serving -->``.
Usage: .venv/bin/python benchmarks/serving.py [--tracking-uri URI] [--rounds 3]
"""

from __future__ import annotations

import argparse
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

import _load
import httpx
import numpy as np
import pandas as pd
from _docs import write_section

from journeyml.serving import serve_command

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


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


def rounds(port: int, path: str, body: bytes, a: Any) -> dict[str, float]:
    """Median over rounds of: sequential p50/p95/p99, and req/s + p99 at concurrency 8."""
    stats: dict[str, list[float]] = {}
    for _ in range(a.rounds):
        seq = _load.sequential(HOST, port, path, body, a.requests)
        conc = _load.concurrent(HOST, port, path, body, a.seconds, conc=8)
        if seq.errors or conc.errors:
            raise RuntimeError(f"{path}: {seq.errors + conc.errors} answers were not 200")
        for q in (50, 95, 99):
            stats.setdefault(f"p{q}", []).append(float(np.percentile(seq.latencies_ms, q)))
        stats.setdefault("rps", []).append(conc.rps)
        stats.setdefault("conc_p99", []).append(float(np.percentile(conc.latencies_ms, 99)))
    out = {k: float(np.median(v)) for k, v in stats.items()}
    out["rps_min"], out["rps_max"] = min(stats["rps"]), max(stats["rps"])
    return out


def same_answer(port: int, peer_body: dict[str, Any], answer: dict[str, Any]) -> None:
    """The peer answers what journeyml's ``/predict`` answered for the conversion task (same
    probability and root causes): the two servers do the same work."""
    r = httpx.post(f"http://{HOST}:{port}/invocations", json=peer_body, timeout=60)
    if r.status_code != 200:
        raise RuntimeError(f"the peer answered {r.status_code}: {r.text[-2000:]}")
    (peer,) = r.json()["predictions"]
    got, want = peer["conversion"], answer["conversion"]
    if abs(got["probability"] - want["probability"]) > 1e-9 or len(got["root_causes"]) != len(
        want["root_causes"]
    ):
        raise RuntimeError(f"the peer answered {got}, journeyml {want}: not the same work")


def journey50(sim: Any) -> dict[str, Any]:
    from journeyml.serving import requests_from_frame

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


def serve(cmd: list[str], env: dict[str, str], ready: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait(ready, proc)
    except BaseException:
        stop(proc)
        raise
    return proc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    from journeyml.lifecycle import registry
    from journeyml.scoring import Predictor
    from journeyml.sim import simulate

    tmp = Path(tempfile.mkdtemp(prefix="jml-bench-"))
    uri = a.tracking_uri
    if uri is None:  # train the small test pipeline
        sys.path.insert(0, str(REPO / "tests"))
        from conftest import SMALL_PIPELINE
        from journeyml.lifecycle import PipelineConfig, run_training

        uri = f"sqlite:///{tmp / 'mlflow.db'}"
        run_training(PipelineConfig.model_validate(SMALL_PIPELINE), tracking_uri=uri)
    pred = Predictor.from_registry(uri)
    sim = simulate(900, seed=11, days=150)
    body = journey50(sim)
    payload = json.dumps(body).encode()
    res: dict[str, Any] = {"models": {t: b.booster.num_trees() for t, b in pred.bundles.items()}}

    # --- journeyml server, 1 and 2 workers
    for workers in (1, 2):
        env = {
            **os.environ,
            "JOURNEYML_TRACKING_URI": uri,
            "JOURNEYML_WORKERS": str(workers),
            "BENTOML_DO_NOT_TRACK": "true",
        }
        port = free_port()
        proc = serve(
            serve_command(REPO / "service", HOST, port), env, f"http://{HOST}:{port}/readyz"
        )
        try:
            answer = httpx.post(
                f"http://{HOST}:{port}/predict",
                content=payload,
                headers={"content-type": "application/json"},
                timeout=60,
            ).json()
            res[f"jml{workers}"] = rounds(port, "/predict", payload, a)
        finally:
            stop(proc)
        print(f"journeyml, {workers} worker(s): {res[f'jml{workers}']}", flush=True)

    # --- batch scoring
    cut = pd.DataFrame({"customer_id": np.repeat(sim.events.customer_id.unique(), 30)})
    span = sim.events.timestamp.max() - sim.events.timestamp.min()
    rng = np.random.default_rng(0)
    cut["as_of"] = sim.events.timestamp.min() + span * rng.uniform(0.1, 1, len(cut))
    pred.probabilities(sim.events, cut.iloc[:100])
    batch = []
    for _ in range(a.rounds):
        t = time.perf_counter()
        pred.probabilities(sim.events, cut)
        batch.append(len(cut) / (time.perf_counter() - t))
    res["batch_jps"] = float(np.median(batch))
    res["batch_n"] = len(cut)

    # --- peer: mlflow models serve of the conversion model, same worker counts
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # the logged model takes journeys (events) and answers as the API does, for one task
    peer_body = {
        "dataframe_records": [
            {
                "customer_id": body["customer_id"],
                "as_of": body["as_of"],
                **{k: v for k, v in e.items() if k != "attributes"},
                **(e.get("attributes") or {}),
            }
            for e in body["events"]
        ]
    }
    # mlflow execs `uvicorn` by name: put this interpreter's bin folder first on PATH
    bindir = str(Path(sys.executable).parent)
    penv = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{bindir}:{os.environ['PATH']}"}
    for workers in (1, 2):
        port = free_port()
        pcmd = [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            f"models:/{registry.model_name(pred.project or 'demo', 'conversion')}@champion",
            "--env-manager",
            "local",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        proc = serve(pcmd, penv, f"http://{HOST}:{port}/ping")
        try:
            same_answer(port, peer_body, answer)
            res[f"peer{workers}"] = rounds(port, "/invocations", json.dumps(peer_body).encode(), a)
        finally:
            stop(proc)
        print(f"mlflow models serve, {workers} worker(s): {res[f'peer{workers}']}", flush=True)
    (REPO / "results").mkdir(exist_ok=True)
    (REPO / "results" / "serving.json").write_text(json.dumps(res, indent=1))
    text = report(res, a)
    print(text)
    if not a.no_write:
        write_section("serving", text)


def report(r: dict[str, Any], a: Any) -> str:
    import lightgbm

    load = os.getloadavg()[0]
    ok = lambda b: "met" if b else "**missed**"  # noqa: E731

    def row(name: str, k: str) -> str:
        x = r[k]
        return (
            f"| {name} | {x['p50']:.1f} | {x['p95']:.1f} | {x['p99']:.1f} | {x['rps']:.0f} "
            f"({x['rps_min']:.0f}–{x['rps_max']:.0f}) | {x['conc_p99']:.1f} |"
        )

    j1, j2, p1, p2 = r["jml1"], r["jml2"], r["peer1"], r["peer2"]
    best = max((j1, j2), key=lambda x: x["rps"])
    thr_ok = best["rps"] >= 300 and best["conc_p99"] <= 50
    thr_text = f"{best['rps']:.0f} req/s, p99 {best['conc_p99']:.1f} ms"
    ratios = (j1["rps"] / p1["rps"], j2["rps"] / p2["rps"])
    ratio_text = f"{ratios[0]:.2f}× (1 worker each), {ratios[1]:.2f}× (2 workers each)"
    trees = ", ".join(f"{t} {n}" for t, n in r["models"].items())
    return f"""## Serving (`benchmarks/serving.py`)

Command: `.venv/bin/python benchmarks/serving.py` (trains the test pipeline into a temp store —
trees per model: {trees}; {a.rounds} rounds per server of {a.requests} sequential requests then
{a.seconds:g} s at concurrency 8, keep-alive, from the lean client in `benchmarks/_load.py`;
each figure is the median over rounds, the range of req/s over rounds in brackets).

Machine: {os.cpu_count()} cores, Linux {platform.machine()}, Python {platform.python_version()},
lightgbm {lightgbm.__version__}; load average at the end {load:.1f}. The client runs on the same
2 cores as the server.

journeyml: one journey of 50 events, all three tasks with root causes (access log off).
Peer: `mlflow models serve --env-manager local` of the same conversion model as logged (the
journey's events in, features, probability and root causes for that one task out).

| server | p50 ms | p95 ms | p99 ms | req/s at concurrency 8 | p99 ms at concurrency 8 |
|---|---:|---:|---:|---:|---:|
{row("journeyml `/predict`, 1 worker (3 tasks + explanations)", "jml1")}
{row("journeyml `/predict`, 2 workers", "jml2")}
{row("`mlflow models serve`, 1 worker (conversion only, with explanations)", "peer1")}
{row("`mlflow models serve`, 2 workers", "peer2")}

Batch scoring (`Predictor.probabilities`, 3 tasks, no explanations): {r["batch_jps"]:,.0f}
journeys/s ({r["batch_n"]:,} journeys, median of {a.rounds}).

| target | measured | |
|---|---:|---|
| p50 ≤ 6 ms | {j1["p50"]:.1f} ms (1 worker) | {ok(j1["p50"] <= 6)} |
| ≥ 300 req/s at p99 ≤ 50 ms | {thr_text} | {ok(thr_ok)} |
| batch ≥ 20k journeys/s | {r["batch_jps"]:,.0f} | {ok(r["batch_jps"] >= 20000)} |
| ≥ 2× `mlflow models serve` throughput | {ratio_text} | {ok(min(ratios) >= 2)} |
"""


if __name__ == "__main__":
    main()
