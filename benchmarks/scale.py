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


def _worker_rss_mb() -> float:  # run on each worker: that process's peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_cpu_s() -> float:  # run on each worker: that process's CPU time so far
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _config(customers: int, days: int, seed: int) -> Any:
    from journeyml.lifecycle import load_pipeline_config

    cfg = load_pipeline_config(ROOT / "pipelines" / "demo.yaml")
    assert cfg.data.simulate is not None
    sim = cfg.data.simulate.model_copy(update={"customers": customers, "days": days, "seed": seed})
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"simulate": sim})})


def child_train(args: argparse.Namespace) -> dict[str, Any]:
    from journeyml.lifecycle import run_training

    cfg = _config(args.customers, args.days, args.seed)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        lines: list[str] = []
        res = run_training(cfg, tracking_uri=f"sqlite:///{tmp}/mlflow.db", progress=lines.append)
        seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "customers": args.customers,
        "events": int(lines[0].split()[1].replace(",", "")),  # "loaded N events of ..."
        "seconds": seconds,
        # CPU time of the process (all threads): under load it is what the work costs, where
        # the wall time is what the other engineers' work left of the two cores
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_average_start": round(load_before, 1),
        "timings": {k: round(v, 1) for k, v in res.timings.items()},
        "metrics": {
            t: round(r.metrics.get("roc_auc", r.metrics.get("accuracy", 0)), 4)
            for t, r in res.results.items()
        },
        "test_metrics": {
            t: {k: round(v, 4) for k, v in r.metrics.items() if k in _REPORTED}
            for t, r in res.results.items()
        },
        "baselines": {
            t: {
                b: {k: round(v, 4) for k, v in m.items() if k in _REPORTED}
                for b, m in r.baselines.items()
            }
            for t, r in res.results.items()
        },
        "gate": {
            d.task: {"passed": "baseline" not in d.failed, "reason": d.reason}
            for d in res.decisions
        },
    }


#: the test metrics the benchmark keeps (before / after comparisons of a change)
_REPORTED = ("roc_auc", "log_loss", "ece", "accuracy", "macro_f1")


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
        cpu = client.run(_worker_cpu_s)
    meta = json.loads((Path(args.events) / "_journeyml_partitions.json").read_text())
    return {
        "events": meta["n_events"],
        "customers": rows,
        "partitions": ds.n_partitions,
        "workers": args.workers,
        "seconds": seconds,
        "events_per_s": meta["n_events"] / seconds,
        "worker_peak_rss_mb": sorted(rss.values()),
        # CPU seconds of the worker processes (start-up included): events per CPU second is
        # the per-core rate, which the machine's load does not change much
        "worker_cpu_s": sorted(cpu.values()),
        "events_per_cpu_s": meta["n_events"] / sum(cpu.values()),
    }


def child_dask_train(args: argparse.Namespace) -> dict[str, Any]:
    """The demo pipeline (three tasks) with ``engine: dask`` on a LocalCluster of ``--workers``
    processes (features per partition, boosters by ``lightgbm.dask``), then the same pipeline
    on this machine with the same data and seed: time and test metrics side by side."""
    from journeyml.engine import DaskBoosterFit, DaskFeatures, connect
    from journeyml.lifecycle import run_training

    cfg = _config(args.customers, args.days, args.seed)
    out: dict[str, Any] = {"customers": args.customers, "workers": args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        with connect(n_workers=args.workers, threads_per_worker=1, memory_limit=0) as client:
            features = DaskFeatures(client, args.partitions, Path(tmp) / "work")
            t0 = time.perf_counter()
            said: list[str] = []
            res = run_training(
                cfg,
                tracking_uri=f"sqlite:///{tmp}/dask.db",
                progress=said.append,
                features=features,
                fit=DaskBoosterFit(client, features),
            )
            out["dask_seconds"] = time.perf_counter() - t0
            out["events"] = int(said[0].split()[1].replace(",", ""))  # "loaded N events of ..."
            out["worker_peak_rss_mb"] = sorted(
                client.run(
                    lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                ).values()
            )
        runs = [("dask", res)]
        if args.compare:
            t0 = time.perf_counter()
            runs.append(("local", run_training(cfg, tracking_uri=f"sqlite:///{tmp}/local.db")))
            out["local_seconds"] = time.perf_counter() - t0
    for name, r in runs:
        out[f"{name}_timings"] = {k: round(v, 1) for k, v in r.timings.items()}
        out[f"{name}_metrics"] = {
            t: {k: round(float(v), 4) for k, v in x.metrics.items() if k in METRICS}
            for t, x in r.results.items()
        }
        out[f"{name}_best_iteration"] = {
            t: x.bundle.info.get("best_iteration") for t, x in r.results.items()
        }
    return out


METRICS = ("roc_auc", "log_loss", "accuracy", "macro_f1", "ece")


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
    ap.add_argument(
        "what", choices=["train", "score", "features", "dask-train"], nargs="?", default="train"
    )
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
    ap.add_argument("--compare", type=int, default=1, help="dask-train: also train locally")
    ap.add_argument("--write", action="store_true", help="rewrite docs/benchmarks.md#scale")
    args = ap.parse_args()
    if args.child:
        kinds = {
            "train": child_train,
            "score": child_score,
            "features": child_features,
            "dask-train": child_dask_train,
        }
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
    elif args.what == "dask-train":
        res = run_child(
            "dask-train",
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            workers=args.workers,
            partitions=args.partitions,
            compare=args.compare,
        )
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
        + (f"-w{args.workers}" if args.what in ("features", "dask-train") else "")
        + ("-partitioned" if args.what == "score" and args.partitioned else "")
    )
    (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=1) + "\n")
    if args.write:
        write_doc()
        write_dask_doc()


def _row(r: dict[str, Any]) -> str:
    la = r["load_average"][0]
    if r["what"] == "train":
        t = r["timings"]
        size = f"{r['events']:,} events, " if r.get("events") else ""
        cpu = f", {r['cpu_seconds']:.0f} s CPU" if r.get("cpu_seconds") else ""
        start = f"{r['load_average_start']:.1f} → " if "load_average_start" in r else ""
        by = f" (`{r['by']}`)" if r.get("by") else ""
        return (
            f"| train (3 demo tasks){r.get('label', '')}{by} | {size}{r['customers']:,} customers "
            f"| {r['seconds']:.0f} s wall{cpu} (features {t['features']:.0f} s; "
            + ", ".join(f"{k[6:]} {v:.0f} s" for k, v in t.items() if k.startswith("train_"))
            + f") | {r['peak_rss_mb']:,.0f} MB | {start}{la:.1f} |"
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
    if r["what"] == "features" and "events_per_cpu_s" in r:
        cpu = ", ".join(f"{c:.0f}" for c in r["worker_cpu_s"])
        return (
            f"| features, LocalCluster {r['workers']} worker(s), {r['partitions']} partitions | "
            f"{r['events']:,} events | {r['seconds']:.0f} s ({r['events_per_s']:,.0f} events/s; "
            f"worker CPU {cpu} s: {r['events_per_cpu_s']:,.0f} events per CPU second) "
            f"| workers {rss} MB | {la:.1f} |"
        )
    if r["what"] == "dask-train":
        t = r["dask_timings"]
        parts = ", ".join(f"{k[6:]} {v:.0f} s" for k, v in t.items() if k.startswith("train_"))
        vs = ""
        if "local_metrics" in r:
            vs = f"; local {r['local_seconds']:.0f} s; test dask vs local: " + ", ".join(
                f"{k} {_headline(r['dask_metrics'][k])} vs {_headline(r['local_metrics'][k])}"
                for k in r["dask_metrics"]
            )
        return (
            f"| train (3 demo tasks), engine dask, LocalCluster {r['workers']} workers | "
            f"{r['events']:,} events, {r['customers']:,} customers | {r['dask_seconds']:.0f} s "
            f"(features {t['features']:.0f} s; {parts}){vs} | "
            f"driver {r['peak_rss_mb']:,.0f} MB, workers {rss} MB | {la:.1f} |"
        )
    return (
        f"| features, LocalCluster {r['workers']} worker(s), {r['partitions']} partitions | "
        f"{r['events']:,} events | {r['seconds']:.0f} s ({r['events_per_s']:,.0f} events/s) "
        f"| workers {rss} MB | {la:.1f} |"
    )


def _headline(m: dict[str, float]) -> str:
    return f"AUC {m['roc_auc']:.3f}" if "roc_auc" in m else f"accuracy {m['accuracy']:.3f}"


def write_doc() -> None:
    from _docs import machine, write_section

    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    rows = [r for r in rows if r["what"] not in DASK]  # those: write_dask_doc
    # sizes measured only by train_stages.py (per-stage peaks; the same run otherwise)
    sizes = {r.get("customers") for r in rows if r["what"] == "train" and "label" not in r}
    for p in sorted((RESULTS / "stages").glob("train-*.json")):
        r = json.loads(p.read_text())
        # a partitioned run (labelled) is a row of its own beside the in-memory one
        if r.get("what") == "train" and (r["customers"] not in sizes or "label" in r):
            rows.append({**r, "by": "train_stages.py"})
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
            f"Machine: {machine()}. The last column is the 1-minute load average on 2 cores "
            "(at the start → at the end where both were recorded): rows with a load above 2 "
            "were **measured under load** (other engineers' work shared the cores), so their "
            "times are several times what a quiet machine gives; memory is not affected. "
            "Training runs since streamed training rows (the rows without a label, and the "
            "latest `train_stages.py` run) hold no feature matrix: their `features` is only the "
            "events' encoding, the rows are computed inside each task as it reads them "
            '(docs/scale.md, "Training without the feature matrix").',
            "",
            "| run | size | time | peak RSS | load |",
            "|---|---|---|---|---|",
            *[_row(r) for r in rows],
        ]
    )
    pairs = [(r, b) for r in rows for b in rows if b is not r and _is_before_of(b, r)]
    if pairs:
        text += "\n\n" + "\n\n".join(_quality(after, before) for after, before in pairs)
    write_section("scale", text)


def _is_before_of(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return (
        after["what"] == before["what"] == "train"
        and "label" in before
        and before.get("compare", True)  # False: a row of the table, not a before
        and "label" not in after
        and before["customers"] == after["customers"]
        and "test_metrics" in before
        and "test_metrics" in after
    )


def _quality(after: dict[str, Any], before: dict[str, Any]) -> str:
    """Test metrics of the three tasks before and after, beside the best baseline of each
    metric (after) and whether the promotion gate's baseline check passed."""
    lines = [
        f"Model quality at {after['customers']:,} customers, same simulated events and split: "
        f"{before['label'].lstrip(', ')} and after this work (the latest run at that size, "
        "which may include later changes of main).",
        "",
        "| task | metric | before | after | best baseline (after) | gate's baseline check "
        "(before / after) |",
        "|---|---|---|---|---|---|",
    ]
    lower = {"log_loss", "ece"}
    for task, m in after["test_metrics"].items():
        gate = f"{_gate(before, task)} / {_gate(after, task)}"
        for k, v in m.items():
            was = before["test_metrics"].get(task, {}).get(k)
            base = [(b, bm[k]) for b, bm in after["baselines"].get(task, {}).items() if k in bm]
            best = (min if k in lower else max)(base, key=lambda x: x[1]) if base else None
            lines.append(
                f"| {task} | {k} | {'' if was is None else f'{was:.4f}'} | {v:.4f} | "
                + (f"{best[1]:.4f} ({best[0]})" if best else "")
                + f" | {gate} |"
            )
    return "\n".join(lines)


def _gate(r: dict[str, Any], task: str) -> str:
    g = r.get("gate", {}).get(task)
    return "?" if g is None else ("passed" if g["passed"] else "failed")


DASK = ("features", "dask-train")


def write_dask_doc() -> None:
    """The Dask runs (``features``, ``dask-train``) as their own section, ``scale-dask``."""
    from _docs import machine, write_section

    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    rows = sorted(
        (r for r in rows if r["what"] in DASK),
        key=lambda r: (r["what"], r.get("events", 0), r.get("workers", 0)),
    )
    text = "\n".join(
        [
            "### Scale on a Dask LocalCluster",
            "",
            "Commands: `.venv/bin/python benchmarks/scale.py features --customers N "
            "--partitions P --workers W --write` (features of every customer, one cutoff "
            "after its last event, from a partitioned dataset the simulator wrote in chunks of "
            "30,000 customers: the log is never in memory at once) and `benchmarks/scale.py "
            "dask-train --customers N --workers W` (the demo pipeline with `engine: dask`, "
            "then the same pipeline on one machine; `--compare 0` skips the local run). Peak "
            "RSS per worker process; CPU seconds per worker (start-up included).",
            "",
            f"Machine: {machine()}. **Measured under load** (last column: 1-minute load "
            "average on the 2 cores when the run ended): wall times are several times a quiet "
            "machine's; events per CPU second and memory much less so.",
            "",
            "| run | size | time | peak RSS | load |",
            "|---|---|---|---|---|",
            *[_row(r) for r in rows],
        ]
    )
    write_section("scale-dask", text)


if __name__ == "__main__":
    main()
