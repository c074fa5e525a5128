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
    from journeyml.events import load_events
    from journeyml.scoring import Predictor, ScoreRequest, write_scores

    cache = Path(args.cache)
    models = Path(args.models)
    t0 = time.perf_counter()
    ev = load_events(Path(args.events), None, policy="lenient").events
    t_load = time.perf_counter() - t0
    rss_loaded = _rss_mb()
    pred = Predictor.from_dir(models)
    out = cache / "journeyml-scale-scores.jsonl"
    t1 = time.perf_counter()
    n = write_scores(pred, ev, out, ScoreRequest(pred.tasks, explain=True, top_k=3))
    seconds = time.perf_counter() - t1
    return {
        "events": len(ev),
        "customers": n,
        "load_seconds": t_load,
        "seconds": seconds,
        "customers_per_s": n / seconds,
        "rss_after_load_mb": rss_loaded,
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
    ap.add_argument("what", choices=["train", "score"], nargs="?", default="train")
    ap.add_argument("--child", default=None)
    ap.add_argument("--customers", type=int, default=29_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=tempfile.gettempdir())
    ap.add_argument("--events", default="")
    ap.add_argument("--models", default="")
    args = ap.parse_args()
    if args.child:
        out = {"train": child_train, "score": child_score}[args.child](args)
        out["peak_rss_mb"] = _rss_mb()
        print(json.dumps(out))
        return
    cache = Path(args.cache)
    if args.what == "train":
        res = run_child("train", customers=args.customers, days=args.days, seed=args.seed)
    else:
        events = _events(cache, args.customers, args.days, args.seed)
        models = _models(cache)
        res = run_child("score", events=events, models=models, cache=cache)
    res["load_average"] = os.getloadavg()
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
