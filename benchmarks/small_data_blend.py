"""Each binary model against its best baseline on a small log and on the larger worlds: what
``journeyml train`` measures on the test window, with the blend it chose and the gate's word.

Run from the repository root (needs ``../shared/data``)::

    .venv/bin/python benchmarks/small_data_blend.py --label after     # ~6 min on 2 idle cores
    .venv/bin/python benchmarks/small_data_blend.py --label before    # e.g. on an older checkout

Each run saves ``results/small-data-blend-<label>.json``; the section of docs/benchmarks.md
shows every label found there, side by side. The worlds:

- the Kaggle attribution sample, with the pipeline ``journeyml init`` proposes for it, plus the
  churn task init proposed before it learned to leave it out there (2,332 training rows, 97 %
  lapse): the small-data case;
- the simulated shop (pipelines/demo.yaml) and the B2B world (pipelines/b2b.yaml);
- an insurer's member log the project was not built around (``benchmarks/insurer_world.py``,
  5,000 members, seeds 1 to 3), trained with the pipeline ``journeyml init`` proposes for it;
- the third simulated world (``journeyml.sim.insurer``, 5,000 customers, seed 7, 300 days)
  exported as an outside log with the insurer's columns (``member_ref``, ``event_time`` with
  +01/+02 offsets, ``action``, ``medium``, ``premium_eur``, ``region``), trained with init's
  proposal (its next task left out): the shape of the outside check where conversion tied.

- CDNOW, as ``journeyml benchmark pipelines/benchmarks/cdnow-holdout.yaml`` runs it (the same
  blend code, ``journeyml.bench.binary``; no gate there: the margin over the best baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from _docs import machine, write_section
from insurer_world import simulate_insurer
from rich.console import Console

from journeyml.bench import load_benchmark_config, run_benchmark
from journeyml.events import inspect_log
from journeyml.lifecycle import load_pipeline_config, run_training
from journeyml.lifecycle.init_cli import init_command
from journeyml.lifecycle.proposal import pipeline_yaml

ROOT = Path(__file__).resolve().parents[1]
ATTRIBUTION = ROOT.parent / "shared" / "data" / "attribution-kaggle-subset"
RESULTS = ROOT / "results"
INSURER_SEEDS = (1, 2, 3)


def attribution_config(folder: Path) -> Path:
    """init's proposal for the attribution sample, with the churn task it used to propose."""
    log = ATTRIBUTION / "attribution_data_subset.csv.gz"
    found = inspect_log(log)
    config = yaml.safe_load(
        pipeline_yaml(found, name="attribution", data_path=str(log), mapping=None)
    )
    config["data"]["mapping"] = str(ROOT / "src" / "journeyml" / "mappings" / "attribution.yaml")
    horizon = config["tasks"]["conversion"]["horizon_days"]
    config["tasks"].setdefault(
        "churn", {"kind": "lapses", "horizon_days": horizon, "inactivity": True}
    )
    path = folder / "attribution.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def insurer_config(folder: Path, seed: int) -> Path:
    """The insurer world's log (5,000 members, ``seed``) and init's proposal for it."""
    (folder / f"insurer-{seed}").mkdir()
    log = folder / f"insurer-{seed}" / "insurer.csv"
    simulate_insurer(5000, seed=seed).to_csv(log, index=False)
    config = log.with_suffix(".yaml")
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (closed with the process)
    code = init_command(log, config_out=config, name="insurer", console=quiet, out=quiet)
    assert code == 0, f"journeyml init {log} failed"
    return config


def sim_insurer_config(folder: Path) -> Path:
    """``journeyml.sim.insurer`` written as an outside log, and init's proposal for it (the
    conversion and churn tasks)."""
    from journeyml.sim import simulate_world

    res = simulate_world("insurer", 5000, seed=7, days=300)
    ev, people = res.events, res.customers.set_index("customer_id")
    regions = {"single": "north", "family": "south", "senior": "east", "business": "west"}
    (folder / "sim-insurer").mkdir()
    log = folder / "sim-insurer" / "members.csv"
    pd.DataFrame(
        {
            "member_ref": ev["customer_id"],
            "event_time": pd.to_datetime(ev["timestamp"], utc=True)
            .dt.tz_convert("Europe/Berlin")
            .map(lambda t: t.isoformat()),
            "action": ev["touchpoint"],
            "medium": ev["channel"],
            "premium_eur": ev["value"],
            "region": ev["customer_id"].map(people["household"]).map(regions),
        }
    ).to_csv(log, index=False)
    config = log.with_suffix(".yaml")
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 (closed with the process)
    assert init_command(log, config_out=config, name="insurer", console=quiet, out=quiet) == 0
    block = yaml.safe_load(config.read_text())
    block["tasks"].pop("next_stage", None)
    config.write_text(yaml.safe_dump(block, sort_keys=False))
    return config


def measure(name: str, config_path: Path, folder: Path) -> list[dict[str, Any]]:
    config = load_pipeline_config(config_path)
    t0 = time.perf_counter()
    out = run_training(config, tracking_uri=f"sqlite:///{folder / (name + '.db')}")
    seconds = time.perf_counter() - t0
    gate = {d.task: d for d in out.decisions}
    rows = []
    for task, res in out.results.items():
        if "roc_auc" not in res.metrics:
            continue
        base = {k: v["roc_auc"] for k, v in res.baselines.items() if "roc_auc" in v}
        best = max(base, key=lambda k: base[k])
        info = res.bundle.info
        d = gate.get(task)
        rows.append(
            {
                "world": name,
                "task": task,
                "train_rows": res.counts["train"],
                "auc": res.metrics["roc_auc"],
                "ece": res.metrics.get("ece"),
                "baseline": best,
                "baseline_auc": base[best],
                "linear_share": info.get("linear_weight"),
                "linear_C": info.get("linear_C"),
                "best_iteration": info.get("best_iteration"),
                "gate": "champion" if d is not None and d.promote else "challenger",
                "gate_reason": d.reason if d is not None else "",
                "train_seconds": round(seconds, 1),
            }
        )
    return rows


def cdnow() -> list[dict[str, Any]]:
    t0 = time.perf_counter()
    result = run_benchmark(load_benchmark_config(ROOT / "pipelines/benchmarks/cdnow-holdout.yaml"))
    m, d = result["margin"], result["details"]
    return [
        {
            "world": "cdnow (benchmark)",
            "task": result["task"],
            "train_rows": d["n_training_snapshots"],
            "auc": m["journeyml"],
            "ece": d.get("ece"),
            "baseline": m["best_baseline"],
            "baseline_auc": m["baseline"],
            "linear_share": d.get("linear_weight"),
            "linear_C": d.get("linear_C"),
            "best_iteration": d.get("best_iteration"),
            "gate": f"margin {m['margin']:+.4f}",
            "gate_reason": "",
            "train_seconds": round(time.perf_counter() - t0, 1),
        }
    ]


def render(runs: dict[str, dict[str, Any]]) -> str:
    labels = sorted(runs, key=lambda lab: runs[lab]["when"])  # oldest first
    lines = [
        "## Small data: the blend against its baseline",
        "",
        "Command: `.venv/bin/python benchmarks/small_data_blend.py --label <label>` (one label per",
        "checkout measured; binary tasks of each world, test window). AUC is the test ROC AUC,",
        "the baseline the best of the task's baselines by it; share and C are the blend's linear",
        "part; ECE the test window's (10 bins); gate is the first training's outcome (no",
        "champion yet, so only baselines count).",
        "",
        "| world · task | train rows | "
        + " | ".join(f"{lab}: AUC (baseline) · share, C · ECE · gate" for lab in labels)
        + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    keys: list[tuple[str, str]] = []
    for lab in labels:
        for r in runs[lab]["rows"]:
            if (r["world"], r["task"]) not in keys:
                keys.append((r["world"], r["task"]))
    for world, task in keys:
        cells, train = [], ""
        for lab in labels:
            r = next(
                (r for r in runs[lab]["rows"] if (r["world"], r["task"]) == (world, task)), None
            )
            if r is None:
                cells.append("—")
                continue
            train = f"{r['train_rows']:,}"
            ece = "—" if r.get("ece") is None else f"{r['ece']:.3f}"
            cells.append(
                f"{r['auc']:.4f} ({r['baseline']} {r['baseline_auc']:.4f}) · "
                f"{r['linear_share']}, {r['linear_C']} · {ece} · {r['gate']}"
            )
        lines.append(f"| {world} · {task} | {train} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "What it shows. `tie-before` is main before the tie rule, `tie-after` with it (a blend",
        "must beat the logistic baseline's own fit by one standard error by customer, the",
        "baseline of a binary task is that fit itself, calibrators are held out by customer:",
        "docs/modeling.md). Every blend choice is unchanged except the attribution sample's",
        "conversion task (no signal, below the prior either way: both refused), so demo, B2B,",
        "CDNOW and the insurer tasks keep their AUC; the logistic baselines move in the fourth",
        "decimal (the same regression, fitted by the linear part's code). The outside",
        "insurer's tie is reproduced by `journeyml.sim.insurer` exported as a log: conversion",
        "0.9509 against 0.9519, refused before **and after**. There validation prefers the",
        "blend by more than two standard errors by customer, and the test window agrees in log",
        "loss (0.1068 against 0.1071); only the AUC's fourth decimal disagrees. A rule chosen on",
        "validation cannot see that; a gate tolerance for the noise of the test window's AUC",
        "could (not built). The generator `benchmarks/insurer_world.py` (seeds 1-3) did not",
        "tie: its trees win by 0.003-0.017. ECE: B2B churn 0.051 → 0.031 (the calibrator had",
        "chased the validation window's customers), but sim.insurer churn 0.021 → 0.031 and",
        "insurer 3 churn 0.002 → 0.005: held out by customer, no map was kept there.",
        "Insurer seed 2's churn task stays refused (0.552 against logistic 0.578): validation",
        "preferred the trees alone and the later test window reversed it (not investigated).",
        "The attribution churn task stays refused on log loss (the baseline's fit with an",
        "isotonic map from 33 validation rows of the rarer outcome: 0.0878 against 0.0849).",
        "",
    ]
    for lab in labels:
        run = runs[lab]
        lines.append(
            f"- {lab}: {run['when']}, load {run['load']}; {run['machine']}, shared with other "
            "work (load changes the seconds, not the figures: seeded)."
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--render-only", action="store_true", help="rewrite the doc from results/")
    args = ap.parse_args()
    if args.render_only:
        write_section("small-data-blend", render(saved_runs()))
        return
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows += measure("attribution", attribution_config(folder), folder)
        rows += measure("demo", ROOT / "pipelines" / "demo.yaml", folder)
        rows += measure("b2b", ROOT / "pipelines" / "b2b.yaml", folder)
        for seed in INSURER_SEEDS:
            rows += measure(f"insurer {seed}", insurer_config(folder, seed), folder)
        rows += measure("sim.insurer as a log", sim_insurer_config(folder), folder)
    rows += cdnow()
    run = {
        "rows": rows,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": f"{load} before, {' / '.join(f'{x:.1f}' for x in os.getloadavg())} after",
        "machine": machine(),
    }
    print(json.dumps(run, indent=1))
    if args.no_write:
        return
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"small-data-blend-{args.label}.json").write_text(json.dumps(run, indent=1))
    write_section("small-data-blend", render(saved_runs()))


def saved_runs() -> dict[str, dict[str, Any]]:
    return {
        p.stem.removeprefix("small-data-blend-"): json.loads(p.read_text())
        for p in sorted(RESULTS.glob("small-data-blend-*.json"))
    }


if __name__ == "__main__":
    main()
