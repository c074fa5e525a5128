"""Which tasks ``journeyml init`` proposes for every shared log and both simulated worlds, and
why churn is left out where it is.

Run from the repository root (needs ``../shared/data``)::

    .venv/bin/python benchmarks/init_proposals.py --label after    # ~2 min

Each run saves ``results/init-proposals-<label>.json``; the section of docs/benchmarks.md shows
every label found there side by side (run it on an older checkout with another label to
compare).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _docs import write_section

from journeyml.events import inspect_log
from journeyml.lifecycle import proposal
from journeyml.sim import simulate_world, write_simulation

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "results"
LOGS = (
    "attribution-kaggle-subset/attribution_data_subset.csv.gz",
    "cdnow/CDNOW_master.txt.gz",
    "cdnow/CDNOW_sample.txt.gz",
    "helpdesk-full/Helpdesk.xes.gz",
    "helpdesk-full/Helpdesk.events.csv.gz",
    "bpic2013-incidents/bpi_challenge_2013_incidents.xes.gz",
    "tax2017/env_permit.csv.gz",
    "tax2017/helpdesk.csv.gz",
    "tax2017/bpi_13_incidents.csv.gz",
)


def propose(path: Path) -> dict[str, Any]:
    found = inspect_log(path)
    _, tasks = proposal.task_blocks(found, proposal.plan_for(found))
    left_out = getattr(proposal, "churn_left_out", lambda _f: None)(found)
    return {"tasks": tasks, "left_out": left_out or ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    args = ap.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for world in ("retail", "b2b"):  # pipelines/demo.yaml and b2b.yaml's worlds
            path = Path(tmp) / f"simulated-{world}.parquet"
            write_simulation(simulate_world(world, 3000, seed=7, days=240), path)
            out[f"simulated {world} (3,000 customers, seed 7)"] = propose(path)
    for log in LOGS:
        out[log] = propose(DATA / log)
    run = {
        "logs": out,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    print(json.dumps(run, indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"init-proposals-{args.label}.json").write_text(json.dumps(run, indent=1))
    runs = {
        p.stem.removeprefix("init-proposals-"): json.loads(p.read_text())
        for p in sorted(RESULTS.glob("init-proposals-*.json"))
    }
    labels = sorted(runs, key=lambda lab: runs[lab]["when"])  # oldest first
    lines = [
        "## What `journeyml init` proposes",
        "",
        "Command: `.venv/bin/python benchmarks/init_proposals.py --label <label>` (the tasks of",
        "the pipeline init proposes for each log; one label per checkout measured).",
        "",
        "| log | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for log in runs[labels[-1]]["logs"]:
        cells = [", ".join(runs[lab]["logs"].get(log, {}).get("tasks", ["—"])) for lab in labels]
        lines.append(f"| {log} | " + " | ".join(cells) + " |")
    lines.append("")
    for lab in labels:
        for log, p in runs[lab]["logs"].items():
            if p["left_out"]:
                lines.append(f"- {lab}, {log}: {p['left_out']}")
        lines.append(f"- {lab}: {runs[lab]['when']}, load {runs[lab]['load']}.")
    write_section("init-proposals", "\n".join(lines))


if __name__ == "__main__":
    main()
