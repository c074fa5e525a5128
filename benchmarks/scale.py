"""Time and peak memory of training, batch scoring and features as the log grows.

Run from the repository root::

    .venv/bin/python benchmarks/scale.py train --customers 29000          # ≈ 1 M events
    .venv/bin/python benchmarks/scale.py score --customers 50000          # ≈ 1.76 M events
    .venv/bin/python benchmarks/scale.py all --write                      # the doc's table

Every measurement runs in a fresh Python process (``--child``), so its peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own: the interpreter, the imports, the
simulated events and the work. ``train`` runs the demo pipeline's three tasks
(``pipelines/demo.yaml``: weekly snapshots, conversion, churn, next stage) on simulated
events into a throw-away MLflow store; ``score`` trains a small model set once (cached), then
scores every customer of a larger simulated log with explanations to JSONL, as
``journeyml score`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "scale"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _config(customers: int, days: int, seed: int) -> Any:
    from journeyml.lifecycle import load_pipeline_config

    cfg = load_pipeline_config(ROOT / "pipelines" / "demo.yaml")
    assert cfg.data.simulate is not None
    sim = cfg.data.simulate.model_copy(update={"customers": customers, "days": days, "seed": seed})
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"simulate": sim})})


def child_train(args: argparse.Namespace) -> dict[str, Any]:
    from journeyml.lifecycle import run_training

    cfg = _config(args.customers, args.days, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_training(cfg, tracking_uri=f"sqlite:///{tmp}/mlflow.db")
        seconds = time.perf_counter() - t0
    return {
        "customers": args.customers,
        "seconds": seconds,
        "timings": {k: round(v, 1) for k, v in res.timings.items()},
        "metrics": {
            t: round(r.metrics.get("roc_auc", r.metrics.get("accuracy", 0)), 4)
            for t, r in res.results.items()
        },
    }


def _models(cache: Path) -> Path:
    """A small model set (demo pipeline, 3,000 customers), trained once and saved."""
    out = cache / "journeyml-scale-models"
    if (out / "conversion" / "bundle.json").exists():
        return out
    from journeyml.lifecycle import run_training
    from journeyml.scoring import Predictor

    cfg = _config(3000, 240, 7)
    with tempfile.TemporaryDirectory() as tmp:
        res = run_training(cfg, tracking_uri=f"sqlite:///{tmp}/mlflow.db")
    Predictor({t: r.bundle for t, r in res.results.items()}).save(out)
    return out


def _events(cache: Path, customers: int, days: int, seed: int) -> Path:
    import pandas as pd

    from journeyml.sim import simulate

    path = cache / f"journeyml-scale-{customers}-{days}-{seed}.parquet"
    if not path.exists():
        ev = simulate(customers, seed=seed, days=days).events
        for col in ev.columns:
            if ev[col].dtype == object or str(ev[col].dtype) == "str":
                ev[col] = ev[col].astype("category")
        ev.to_parquet(path, index=False)
        del ev
    _ = pd
    return path


def child_score(args: argparse.Namespace) -> dict[str, Any]:
    """``journeyml score --out scores.jsonl`` in-process: a parquet file through the loader,
    or (``--partitioned``) a partitioned dataset read one partition at a time."""
    from journeyml.events import is_partitioned, load_events, open_partitioned
    from journeyml.scoring import Predictor, ScoreRequest
    from journeyml.serving import score_chunks, write_responses

    cache = Path(args.cache)
    t0 = time.perf_counter()
    source = Path(args.events)
    pred = Predictor.from_dir(Path(args.models))
    req = ScoreRequest(pred.tasks, explain=True, top_k=3)
    if is_partitioned(source):
        from journeyml.engine import partition_responses

        chunks = partition_responses(open_partitioned(source), pred, req)
        n_events = json.loads((source / "_journeyml_partitions.json").read_text())["n_events"]
    else:
        ev = load_events(source, None, policy="lenient").events
        n_events = len(ev)
        chunks = score_chunks(pred, ev, None, req)
    t_load = time.perf_counter() - t0
    rss_loaded = _rss_mb()
    t1 = time.perf_counter()
    n = write_responses(chunks, cache / "journeyml-scale-scores.jsonl", pred.tasks)
    seconds = time.perf_counter() - t1
    return {
        "events": n_events,
        "customers": n,
        "partitioned": is_partitioned(source),
        "load_seconds": t_load,
        "seconds": seconds,
        "customers_per_s": n / seconds,
        "rss_after_load_mb": rss_loaded,
    }


def _dataset(cache: Path, customers: int, days: int, seed: int, parts: int) -> Path:
    """A partitioned dataset of ``customers`` simulated customers, generated and written in
    chunks of 30,000 customers (≈ 1 M events): the log never sits in memory at once."""
    from journeyml.events import PartitionWriter
    from journeyml.sim import simulate

    path = cache / f"journeyml-scale-parts-{customers}-{days}-{seed}-{parts}"
    if (path / "_journeyml_partitions.json").exists():
        return path
    step = 30_000
    with PartitionWriter(path, parts) as w:
        for k, first in enumerate(range(0, customers, step)):
            ev = simulate(min(step, customers - first), seed=seed + k, days=days).events
            ev["customer_id"] = f"k{k}-" + ev["customer_id"].astype(str)
            w.write(ev)
    return path


def child_features(args: argparse.Namespace) -> dict[str, Any]:
    """Features of every customer (one cutoff after its last event) of a partitioned dataset
    on a LocalCluster of ``--workers`` processes; peak RSS of each worker."""
    from journeyml.engine import at_time, connect, partition_frames
    from journeyml.events import open_partitioned, read_partition
    from journeyml.features import FeatureBuilder

    ds = open_partitioned(Path(args.events))
    first = read_partition(ds, 0)
    spec = FeatureBuilder(attributes=("segment", "region")).fit(first).spec_
    del first
    with connect(n_workers=args.workers, threads_per_worker=1, memory_limit=0) as client:
        frame = partition_frames(ds, spec, at_time())
        t0 = time.perf_counter()
        rows = int(frame.map_partitions(len).sum().compute())
        seconds = time.perf_counter() - t0
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    meta = json.loads((Path(args.events) / "_journeyml_partitions.json").read_text())
    return {
        "events": meta["n_events"],
        "customers": rows,
        "partitions": ds.n_partitions,
        "workers": args.workers,
        "seconds": seconds,
        "events_per_s": meta["n_events"] / seconds,
        "worker_peak_rss_mb": sorted(rss.values()),
    }


def run_child(kind: str, **kw: Any) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["train", "score", "features"], nargs="?", default="train")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--child", default=None)
    ap.add_argument("--customers", type=int, default=29_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=tempfile.gettempdir())
    ap.add_argument("--events", default="")
    ap.add_argument("--models", default="")
    ap.add_argument("--partitioned", action="store_true", help="score: read a partitioned set")
    ap.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md#scale")
    args = ap.parse_args()
    if args.child:
        kinds = {"train": child_train, "score": child_score, "features": child_features}
        out = kinds[args.child](args)
        out["peak_rss_mb"] = _rss_mb()
        print(json.dumps(out))
        return
    cache = Path(args.cache)
    if args.what == "train":
        res = run_child("train", customers=args.customers, days=args.days, seed=args.seed)
    elif args.what == "features":
        t0 = time.perf_counter()
        parts = _dataset(cache, args.customers, args.days, args.seed, args.partitions)
        written = time.perf_counter() - t0
        res = run_child("features", events=parts, workers=args.workers)
        res["generate_and_write_seconds"] = written
    else:
        events = _events(cache, args.customers, args.days, args.seed)
        if args.partitioned:  # the same events, partitioned by customer
            from journeyml.events import is_partitioned, repartition

            folder = events.with_suffix(f".parts{args.partitions}")
            if not is_partitioned(folder):
                repartition(events, folder, args.partitions)
            events = folder
        models = _models(cache)
        res = run_child("score", events=events, models=models, cache=cache)
    res["load_average"] = [round(x, 1) for x in os.getloadavg()]
    res["what"] = args.what
    print(json.dumps(res, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = (
        f"{args.what}-{args.customers}"
        + (f"-w{args.workers}" if args.what == "features" else "")
        + ("-partitioned" if args.what == "score" and args.partitioned else "")
    )
    (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=1) + "\n")
    if args.write:
        write_doc()


def _row(r: dict[str, Any]) -> str:
    la = r["load_average"][0]
    if r["what"] == "train":
        t = r["timings"]
        return (
            f"| train (3 demo tasks) | {r['customers']:,} customers | {r['seconds']:.0f} s "
            f"(features {t['features']:.0f} s; "
            + ", ".join(f"{k[6:]} {v:.0f} s" for k, v in t.items() if k.startswith("train_"))
            + f") | {r['peak_rss_mb']:,.0f} MB | {la:.1f} |"
        )
    if r["what"] == "score":
        src = "partitioned dataset" if r.get("partitioned") else "parquet file"
        return (
            f"| score with explanations → JSONL ({src}) | {r['events']:,} events, "
            f"{r['customers']:,} customers | {r['seconds']:.0f} s "
            f"({r['customers_per_s']:,.0f} customers/s; "
            f"loading {r['load_seconds']:.0f} s) | {r['peak_rss_mb']:,.0f} MB "
            f"(after loading {r['rss_after_load_mb']:,.0f}) | {la:.1f} |"
        )
    rss = ", ".join(f"{m:,.0f}" for m in r["worker_peak_rss_mb"])
    return (
        f"| features, LocalCluster {r['workers']} worker(s), {r['partitions']} partitions | "
        f"{r['events']:,} events | {r['seconds']:.0f} s ({r['events_per_s']:,.0f} events/s) "
        f"| workers {rss} MB | {la:.1f} |"
    )


def write_doc() -> None:
    from _docs import machine, write_section

    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    for r in rows:  # old results without the sizes
        r.setdefault("customers", 0)
    text = "\n".join(
        [
            "## Scale",
            "",
            "Command: `.venv/bin/python benchmarks/scale.py {train,score,features} --customers N "
            "[--workers W] --write` (each measurement in a fresh process; results in "
            "`results/scale/`; peak RSS is the whole process: interpreter, imports, events, "
            "work). Simulated events, about 35 per customer over 180 days.",
            "",
            f"Machine: {machine()}. **Measured under load**: the last column is the 1-minute "
            "load average on 2 cores when the run ended (other engineers' work shared the "
            "cores), so times are several times what a quiet machine gives; memory is not "
            "affected.",
            "",
            "| run | size | time | peak RSS | load |",
            "|---|---|---|---|---|",
            *[_row(r) for r in rows],
        ]
    )
    write_section("scale", text)


if __name__ == "__main__":
    main()
