"""The report's cost with held-out evidence pooled over earlier dates, on 50,000 customers.

Usage::

    python benchmarks/report_evidence.py [--customers 50000] [--no-write]

Trains the demo pipeline (``pipelines/demo.yaml``: 3,000 simulated retail customers, 240 days)
into a temporary MLflow store, simulates ``--customers`` customers of the same world over the
same days (another seed), and times :func:`journeyml.report.build.gather` on them twice, in one
process: with the evidence pooled over earlier dates (the default, at most
``journeyml.report.evidence.MAX_ROWS`` rows per task) and with ``evidence_rows=0`` (the
customers' own outcomes after ``as_of``, as before). Writes the ``report_evidence`` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import numpy as np
    import pandas as pd
    from _docs import machine, write_section

    from journeyml.lifecycle import load_pipeline_config, run_training
    from journeyml.report.build import gather
    from journeyml.report.evidence import MAX_ROWS
    from journeyml.scoring import Predictor
    from journeyml.sim import simulate

    tmp = Path(tempfile.mkdtemp(prefix="journeyml-report-evidence-"))
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    config = load_pipeline_config(ROOT / "pipelines" / "demo.yaml")
    run_training(config, tracking_uri=uri)
    sim = config.data.simulate
    assert sim is not None
    events = simulate(args.customers, seed=sim.seed + 1, days=sim.days).events
    predictor = Predictor.from_registry(uri)
    rows = []
    for label, k in (("own outcomes after as_of (before)", 0), ("pooled earlier dates", MAX_ROWS)):
        t0 = time.perf_counter()
        data = gather(predictor, events, evidence_rows=k)
        seconds = time.perf_counter() - t0
        lines = "; ".join(f"{s.name}: {s.evidence.rstrip('.')}" for s in data.tasks)
        rows.append((label, seconds, lines))
        print(f"{label}: {seconds:.1f}s  {lines}")
    load = os.getloadavg()[0]
    text = "\n".join(
        [
            "## The report with pooled held-out evidence (`benchmarks/report_evidence.py`)",
            "",
            f"The demo pipeline's models (3,000 customers), a report on {args.customers:,} "
            f"simulated retail customers ({len(events):,} events; seed {sim.seed + 1}, "
            f"{sim.days} days), `gather` timed once each in one process, load average "
            f"{load:.1f} at the end. Machine: "
            + machine(f"numpy {np.__version__}", f"pandas {pd.__version__}")
            + ".",
            "",
            "| evidence | time (s) |",
            "|---|---:|",
            *[f"| {label} | {s:.1f} |" for label, s, _ in rows],
            "",
            *[f"- {label}: {lines}" for label, _, lines in rows],
        ]
    )
    if not args.no_write:
        write_section("report_evidence", text)


if __name__ == "__main__":
    main()
