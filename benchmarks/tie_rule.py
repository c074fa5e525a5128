"""The blend against its logistic baseline where trees cannot help: a linear world, 12 seeds,
``train_task`` as ``journeyml train`` runs it, and the gate's floor on the test window.

Run from the repository root (one label per checkout measured)::

    .venv/bin/python benchmarks/tie_rule.py --label after      # ~2 min on 2 idle cores

Each seed: 48 standard normal features, of which two carry the signal, linearly (log-odds
``x0 + 0.5·x1 − 1``); 3,000 training, 1,500 validation and 1,500 test rows. The logistic
baseline is the right model here, so a tie is the best any model can do; the question is
whether the model served lands below its baseline on the test window by chance (refused by
the gate) or equals it.

Writes ``results/tie-rule-<label>.json`` and the section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _docs import machine, write_section

from journeyml.events.schema import CHANNEL, CUSTOMER_ID, STAGE, TIMESTAMP, TOUCHPOINT
from journeyml.features import FeatureBuilder
from journeyml.lifecycle.gate import compare_baselines
from journeyml.modeling import train_task
from journeyml.tasks import TemporalSplit, task_from_block

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
SEEDS = range(12)
TASK = task_from_block("buys", {"kind": "occurs", "horizon_days": 7, "outcome": ["purchase"]})


def _spec():  # type: ignore[no-untyped-def]
    ev = pd.DataFrame(
        {
            CUSTOMER_ID: ["a", "a", "b"],
            TIMESTAMP: pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
            TOUCHPOINT: ["visit", "purchase", "visit"],
            CHANNEL: "web",
            STAGE: "s",
        }
    )
    return FeatureBuilder(windows_days=(7,)).fit(ev).spec_


def measure(seed: int) -> dict[str, Any]:
    spec = _spec()
    F = len(spec.names)
    rng = np.random.default_rng(seed)
    n = 6000
    X = rng.normal(size=(n, F))
    y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] + 0.5 * X[:, 1] - 1.0)))).astype(np.int64)
    mask = [np.zeros(n, bool) for _ in range(3)]
    mask[0][:3000], mask[1][3000:4500], mask[2][4500:] = True, True, True
    t = pd.Timestamp("2024-01-01", tz="UTC")
    res = train_task(
        TASK,
        spec,
        X,
        pd.DataFrame({"label": y, "eligible": True}),
        TemporalSplit(*mask, t, t),
        lgb_params={"num_threads": 1},
    )
    floor = compare_baselines(
        res.metrics, res.baselines, metrics=("roc_auc", "log_loss"), margin=0.0
    )
    return {
        "seed": seed,
        "share": res.bundle.linear_weight,
        "C": res.bundle.info.get("linear_C"),
        "calibrator": res.bundle.calibrator.method,
        "auc": res.metrics["roc_auc"],
        "logistic_auc": res.baselines["logistic"]["roc_auc"],
        "log_loss": res.metrics["log_loss"],
        "logistic_log_loss": res.baselines["logistic"]["log_loss"],
        "refused": [c.metric for c in floor if not c.passed],
    }


def render(runs: dict[str, dict[str, Any]]) -> str:
    labels = sorted(runs, key=lambda lab: runs[lab]["when"])
    lines = [
        "## The obvious wins ties: a linear world (`benchmarks/tie_rule.py`)",
        "",
        "Trees cannot beat logistic regression here (the signal is linear in two of 48",
        "features; 3,000 / 1,500 / 1,500 rows, 12 seeds), so a tie is the best outcome. Each",
        "cell: the linear share and C served, test AUC minus the logistic baseline's, and the",
        "metrics on which the gate's floor (margin 0) refuses the model.",
        "",
        "| seed | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for i, seed in enumerate(SEEDS):
        cells = []
        for lab in labels:
            r = runs[lab]["rows"][i]
            refused = ", ".join(r["refused"]) or "promoted"
            cells.append(
                f"{r['share']}, {r['C']} · {r['auc'] - r['logistic_auc']:+.5f} · {refused}"
            )
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    lines.append(
        "| refused | "
        + " | ".join(
            f"{sum(bool(r['refused']) for r in runs[lab]['rows'])} of {len(SEEDS)}"
            for lab in labels
        )
        + " |"
    )
    lines.append("")
    for lab in labels:
        run = runs[lab]
        lines.append(
            f"- {lab}: {run['when']}, load {run['load']}; {run['machine']}, shared with other "
            "work (load changes the seconds, never the figures: seeded, single-threaded)."
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args()
    if not args.render_only:
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        rows = []
        for seed in SEEDS:
            rows.append(measure(seed))
            print(json.dumps(rows[-1]), flush=True)
        run = {
            "rows": rows,
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load": f"{load} before, {' / '.join(f'{x:.1f}' for x in os.getloadavg())} after",
            "machine": machine(),
        }
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"tie-rule-{args.label}.json").write_text(json.dumps(run, indent=1))
    runs = {
        p.stem.removeprefix("tie-rule-"): json.loads(p.read_text())
        for p in sorted(RESULTS.glob("tie-rule-*.json"))
    }
    write_section("tie-rule", render(runs))


if __name__ == "__main__":
    main()
