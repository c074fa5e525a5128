"""Peak memory of each stage of training the demo pipeline (where ``scale.py train``'s peak
comes from).

Run from the repository root::

    .venv/bin/python benchmarks/train_stages.py --customers 29000          # ≈ 1 M events

One process: a thread samples the resident set (``VmRSS``) every 10 ms, and the stages of
``run_training`` (loading, labels, vocabularies, features, each task's booster, linear part,
predictions, logistic baseline, MLflow logging, the gate) are wrapped to say which stage is
running. For each stage: the RSS when it was first entered and the highest RSS seen while it
ran (a stage that runs once per task: over all tasks). Written to
``results/scale/stages/train-N.json`` (with the wall and CPU time, the load average and the
test metrics, as ``scale.py train`` records them: ``scale.py --write`` puts a size that
``scale.py train`` has not measured into docs/benchmarks.md from here); the sampler misses peaks
shorter than 10 ms, so the process's ``ru_maxrss`` is reported beside. Each stage's line is also
printed to stderr as the stage ends, so a long run that dies still says how far it got.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
T0 = time.perf_counter()


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


class Stages:
    """The stage running now, and each stage's entry and peak RSS."""

    def __init__(self) -> None:
        self.now = "other"
        self.peak: dict[str, float] = {}
        self.entered: dict[str, float] = {}

    def sample(self) -> None:
        r, label = rss_mb(), self.now
        if r > self.peak.get(label, 0.0):
            self.peak[label] = r

    def run(self) -> None:
        while True:
            self.sample()
            time.sleep(0.01)

    def wrap(self, owner: Any, attr: str, label: str, *, quiet: bool = False) -> None:
        f: Callable[..., Any] = getattr(owner, attr)

        @functools.wraps(f)
        def wrapped(*a: Any, **k: Any) -> Any:
            before, self.now = self.now, label
            self.entered.setdefault(label, rss_mb())
            try:
                return f(*a, **k)
            finally:
                self.sample()
                self.now = before
                # as it goes (a long run that dies still says how far it got)
                if not quiet:
                    print(
                        f"{time.perf_counter() - T0:7.1f}s {label}: now {rss_mb():,.0f} MB, "
                        f"peak so far {self.peak.get(label, 0.0):,.0f} MB",
                        file=sys.stderr,
                        flush=True,
                    )

        setattr(owner, attr, wrapped)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=29_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--partitioned",
        action="store_true",
        help="train from a customer-partitioned copy of the same simulated events (written "
        "first by a separate process, cached in --cache), one partition in memory at a time",
    )
    ap.add_argument(
        "--events-per-partition",
        type=int,
        default=320_000,
        help="--partitioned: about this many events per partition",
    )
    ap.add_argument("--cache", default=tempfile.gettempdir())
    args = ap.parse_args()
    if args.partitioned:  # before the sampler starts: the simulation is not measured
        folder = _partitioned_copy(args)

    import journeyml.features.rows as rows
    import journeyml.lifecycle.partitioned as partitioned
    import journeyml.lifecycle.pipeline as pipeline
    import journeyml.lifecycle.registry as registry
    import journeyml.lifecycle.tracking as tracking
    import journeyml.modeling.training as training
    from journeyml.features import FeatureBuilder

    s = Stages()
    # the features are computed a chunk of customers at a time as each task reads its rows
    # (journeyml.features.ChunkedRows): "features (a chunk)" is the chunks' share, in any stage
    s.wrap(rows, "features_from_context", "features (a chunk)", quiet=True)
    s.wrap(partitioned.PartitionedData, "load", "read a partition", quiet=True)
    for owner, attr, label in [
        (pipeline, "load_data", "load (simulate)"),
        (pipeline, "prepare_tasks", "cutoffs and labels"),
        (partitioned, "open_training_data", "load (scan the partitions)"),
        (partitioned, "prepare_partitioned", "cutoffs and labels"),
        (partitioned, "fit_builder", "vocabularies"),
        (FeatureBuilder, "fit", "vocabularies"),
        (pipeline, "encode_events", "features (encoding the events)"),
        (pipeline, "segment_labels", "segments"),
        (pipeline, "train_task", "task: other"),
        (pipeline, "fit_rows", "task: booster"),
        (training.LinearPart, "fit_path", "task: linear part"),
        (training.ModelBundle, "predict_proba", "task: predictions"),
        (training.baselines, "fit_logistic", "task: logistic baseline"),
        (training.baselines, "logistic_proba", "task: logistic baseline"),
        (pipeline, "metrics_by_segment", "metrics by segment"),
        (tracking, "log_task", "MLflow logging"),
        (registry, "decide", "gate"),
    ]:
        s.wrap(owner, attr, label)
    threading.Thread(target=s.run, daemon=True).start()

    from scale import _config

    from journeyml.lifecycle import run_training

    cfg = _config(args.customers, args.days, args.seed)
    if args.partitioned:
        data = cfg.data.model_copy(update={"simulate": None, "path": str(folder)})
        cfg = cfg.model_copy(update={"data": data})
    load = os.getloadavg()[0]
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_training(cfg, tracking_uri=f"sqlite:///{tmp}/mlflow.db", progress=lines.append)
        seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "customers": args.customers,
        **(
            {"label": f", partitioned ({_n_parts(args)} partitions)", "compare": False}
            if args.partitioned
            else {}
        ),
        "events": int(lines[0].split()[1].replace(",", "")),
        "cutoffs": int(
            re.search(
                r"([\d,]+) cutoffs", next(x for x in lines if x.startswith(("built", "features:")))
            )  # type: ignore[union-attr]
            .group(1)
            .replace(",", "")
        ),
        "what": "train",
        "seconds": round(seconds, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "timings": {k: round(v, 1) for k, v in res.timings.items()},
        # as scale.py records them: at the start, then (1, 5, 15 minutes) at the end
        "load_average_start": round(load, 1),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "stages": {
            k: {"entered_mb": round(v), "peak_mb": round(s.peak.get(k, v))}
            for k, v in s.entered.items()
        },
        "test_metrics": {
            t: {k: v for k, v in r.metrics.items() if k in ("roc_auc", "log_loss", "accuracy")}
            for t, r in res.results.items()
        },
    }
    print(json.dumps(out, indent=1))
    name = f"train-{args.customers}" + ("-partitioned" if args.partitioned else "")
    dest = ROOT / "results" / "scale" / "stages" / f"{name}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=1) + "\n")


def _n_parts(args: argparse.Namespace) -> int:
    """Partitions of about ``--events-per-partition`` events (≈ 35 events per customer)."""
    return max(1, round(args.customers * 35.2 / args.events_per_partition))


def _partitioned_copy(args: argparse.Namespace) -> Path:
    """The pipeline's simulated events (the same as the in-memory run's), partitioned by
    customer: simulated and written by a child process, so this process never holds them."""
    import subprocess

    n = _n_parts(args)
    folder = (
        Path(args.cache) / f"journeyml-train-parts-{args.customers}-{args.days}-{args.seed}-{n}"
    )
    if not (folder / "_journeyml_partitions.json").exists():
        code = (
            "import sys; sys.path.insert(0, 'benchmarks'); from scale import _config; "
            "from journeyml.lifecycle import load_data; "
            "from journeyml.events import write_partitioned; "
            f"cfg = _config({args.customers}, {args.days}, {args.seed}); "
            f"write_partitioned(load_data(cfg).events, {str(folder)!r}, {n})"
        )
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return folder


if __name__ == "__main__":
    main()
