"""A next task with hundreds of classes (Tax's environmental permit log, 381 activity codes):
where boosting time goes, and the whole ``journeyml train`` and ``journeyml benchmark`` runs.

- ``profile``: seconds for 10 boosting rounds on the tax2017 training prefixes, with every
  training class and with the rare ones grouped (``journeyml.modeling.rare``), on the features
  of this version (stages capped like touchpoints).
- ``train``: ``journeyml train pipelines/tax2017-env-permit.yaml`` in a child process (a fresh
  MLflow store): wall time, peak RSS, the test accuracy against the Markov baseline, the gate.
- ``benchmark``: ``journeyml benchmark pipelines/benchmarks/tax2017-env-permit.yaml``
  (the published protocol): wall time, peak RSS, accuracy and baselines.

Writes ``results/many-classes-<step>.json`` and the section ``many-classes`` of docs/benchmarks.md.
Run from the repository root (needs ``../shared/data``)::

    .venv/bin/python benchmarks/many_classes.py                # all three (~30 min under load)
    .venv/bin/python benchmarks/many_classes.py --only train
    .venv/bin/python benchmarks/many_classes.py --render
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"  # many-classes-<step>.json, one file per step
PIPELINE = ROOT / "pipelines" / "tax2017-env-permit.yaml"
BENCH = ROOT / "pipelines" / "benchmarks" / "tax2017-env-permit.yaml"
CLI = [sys.executable, "-m", "journeyml.cli"]


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _child(args: list[str]) -> dict[str, Any]:
    """Run ``args``; wall time, this child's peak RSS (``os.wait4``: its own rusage, not the
    largest of every child so far), the load before and after, and its output."""
    load0, t0 = _load(), time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        # wide lines: the CLI's console would wrap the gate's reason at 80 columns
        env = {**os.environ, "COLUMNS": "400"}
        proc = subprocess.Popen(
            args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        secs = time.perf_counter() - t0
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{text[-3000:]}")
    return {
        "seconds": round(secs, 1),
        # CPU time says what the run costs whatever the load (wall time grows with it)
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        "load_start": load0,
        "load_end": _load(),
        "output": text,
    }


def profile() -> dict[str, Any]:
    import lightgbm as lgb
    import numpy as np

    from journeyml.bench import load_benchmark_config
    from journeyml.bench.ordered import load_ordered
    from journeyml.bench.prefixes import LABEL, tax2017_split
    from journeyml.features import FeatureBuilder, build_features
    from journeyml.modeling import ClassGrouping, lgb_params

    cfg = load_benchmark_config(BENCH)
    log = load_ordered(cfg.resolved_path(), cfg.resolved_mapping())
    split = tax2017_split(log, cfg.target)
    t0 = time.perf_counter()
    spec = FeatureBuilder(**cfg.feature_config().model_dump()).fit(split.train_events).spec_
    X = build_features(split.train_events, split.train, spec).to_numpy()
    feature_secs = time.perf_counter() - t0
    y = split.train[LABEL].astype(str).to_numpy()
    out: dict[str, Any] = {
        "train_prefixes": len(y),
        "features": X.shape[1],
        "feature_seconds": round(feature_secs, 1),
        "load_start": _load(),
    }
    for name, grouping in (
        ("every class", ClassGrouping.decide(y, min_examples=0, always=())),
        ("rare grouped (default)", ClassGrouping.decide(y, always=())),
    ):
        codes = grouping.codes(y)
        params = lgb_params("multiclass", len(grouping.classes), None, 0)
        t, cpu = time.perf_counter(), time.process_time()
        data = lgb.Dataset(X, codes, categorical_feature=spec.categorical_indices)
        lgb.train(params, data, num_boost_round=10)
        out[name] = {
            "classes": len(grouping.classes),
            "seconds_10_rounds": round(time.perf_counter() - t, 1),
            # CPU time (one thread) says what it costs whatever else the machine runs
            "cpu_seconds_10_rounds": round(time.process_time() - cpu, 1),
            "share_of_rows_grouped": round(
                float(np.mean(codes == len(grouping.classes) - 1)) if grouping.grouped else 0.0, 4
            ),
        }
        print(name, out[name], flush=True)
    out["load_end"] = _load()
    return out


def train() -> dict[str, Any]:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        run = _child([*CLI, "train", str(PIPELINE), "--tracking-uri", uri])
        mlflow.set_tracking_uri(uri)
        found = mlflow.search_runs(
            search_all_experiments=True, filter_string="tags.task = 'next_activity'"
        )
        row = found.iloc[0]
    keys = (
        "test_accuracy",
        "test_log_loss",
        "baseline_markov_accuracy",
        "baseline_logistic_accuracy",
        "baseline_prior_accuracy",
        "baseline_prior_log_loss",
    )
    metrics = {k: float(row[f"metrics.{k}"]) for k in keys if f"metrics.{k}" in row}
    params = {
        k: row.get(f"params.{k}")
        for k in ("n_classes", "rare_min_examples", "rare_classes_grouped", "best_iteration")
    }
    gate = [line.strip() for line in run["output"].splitlines() if "next_activity: v" in line]
    done = re.search(r"done in (\d+)s", run["output"])
    return {
        **{k: v for k, v in run.items() if k != "output"},
        "cli_seconds": int(done.group(1)) if done else None,
        "metrics": metrics,
        "params": params,
        "gate": " ".join(gate),
    }


def benchmark() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        run = _child([*CLI, "benchmark", str(BENCH), "--out", str(out)])
        res = json.loads(out.read_text())
    d = res["details"]
    return {
        **{k: v for k, v in run.items() if k != "output"},
        "metrics": res["metrics"],
        "baselines": {k: v.get("accuracy") for k, v in res["baselines"].items()},
        "classes": len(d["classes"]),
        "booster_classes": d.get("booster_classes"),
        "best_iteration": d.get("best_iteration"),
        "refit_rounds": d.get("refit_rounds"),
    }


def _decision(gate: str) -> str:
    """The gate's line as the CLI printed it ("v1 champion — reason"); runs before wide
    output kept only its first 80 columns, so the decision is given on its own when cut."""
    m = re.search(r"v\d+ (champion|challenger only)", gate)
    if m is None:
        return gate
    return gate if gate.rstrip().endswith(")") else f"{m.group(0)} (the reason was cut)"


def render(r: dict[str, Any]) -> str:
    import lightgbm

    lines = [
        "## A next task with hundreds of classes (`benchmarks/many_classes.py`)",
        "",
        "Tax et al.'s environmental permit log (937 cases, 381 activity codes; 300 are labels of "
        "the tax2017 training prefixes, 195 of them with fewer than 40 examples). Before the "
        "rare-class grouping (docs/modeling.md) and the stage cap, a copy of the Tax Helpdesk "
        "benchmark config on it was still boosting after 40 minutes. No published figure for "
        "this log in `shared/data/tax2017/SOURCE.md`.",
        "",
        f"Machine: {machine(f'lightgbm {lightgbm.__version__}')}, shared with other work: the "
        "load average (1 min) is given with each figure; seconds under load are longer, never "
        "different in results (seeded, single-threaded).",
        "",
    ]
    p = r.get("profile")
    if p:
        lines += [
            f"**Where the time goes** (10 boosting rounds on {p['train_prefixes']:,} training "
            f"prefixes × {p['features']} features, built in {p['feature_seconds']} s; load "
            f"{p['load_start']} → {p['load_end']}):",
            "",
            "| booster classes | 10 rounds: CPU | wall | training rows in `other` |",
            "|---|---|---|---|",
        ]
        for k in ("every class", "rare grouped (default)"):
            v = p[k]
            lines.append(
                f"| {k}: {v['classes']} | {v.get('cpu_seconds_10_rounds', '?')} s | "
                f"{v['seconds_10_rounds']} s | {100 * v['share_of_rows_grouped']:.1f} % |"
            )
        lines.append("")
    t = r.get("train")
    if t:
        m, pr = t["metrics"], t["params"]
        lines += [
            f"**`journeyml train pipelines/tax2017-env-permit.yaml`** (prefix cutoffs, split by "
            f"case start): {t['seconds']:.0f} s wall ({t.get('cpu_seconds', float('nan')):.0f} s "
            f"CPU), peak RSS {t['peak_rss_mb']:.0f} MB, load "
            f"{t['load_start']} → {t['load_end']}. {pr['n_classes']} booster classes "
            f"({pr['rare_classes_grouped']} grouped below {pr['rare_min_examples']} examples), "
            f"best iteration {pr['best_iteration']}. Test accuracy "
            f"**{m.get('test_accuracy', float('nan')):.4f}** against Markov "
            f"{m.get('baseline_markov_accuracy', float('nan')):.4f}, logistic "
            f"{m.get('baseline_logistic_accuracy', float('nan')):.4f}, prior "
            f"{m.get('baseline_prior_accuracy', float('nan')):.4f}; log loss "
            f"{m.get('test_log_loss', float('nan')):.4f} (prior "
            f"{m.get('baseline_prior_log_loss', float('nan')):.4f}). Gate: {_decision(t['gate'])}",
            "",
        ]
    b = r.get("benchmark")
    if b:
        base = ", ".join(f"{k} {v:.4f}" for k, v in b["baselines"].items() if v is not None)
        lines += [
            f"**`journeyml benchmark pipelines/benchmarks/tax2017-env-permit.yaml`** (the "
            f"published tax2017 protocol): {b['seconds']:.0f} s wall "
            f"({b.get('cpu_seconds', float('nan')):.0f} s CPU), peak RSS "
            f"{b['peak_rss_mb']:.0f} MB, load {b['load_start']} → {b['load_end']}. "
            f"{b['booster_classes']} booster classes of {b['classes']}, probe best iteration "
            f"{b['best_iteration']}, refit {b['refit_rounds']} rounds. Accuracy "
            f"**{b['metrics']['accuracy']:.4f}** against {base}.",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=["profile", "train", "benchmark"])
    ap.add_argument("--render", action="store_true", help="only write the doc from the results")
    args = ap.parse_args()
    if not args.render:
        steps = {"profile": profile, "train": train, "benchmark": benchmark}
        for name in args.only:
            print(f"{name} …", flush=True)
            RESULTS.mkdir(parents=True, exist_ok=True)
            out = RESULTS / f"many-classes-{name}.json"
            out.write_text(json.dumps({name: steps[name]()}, indent=1))
    result: dict[str, Any] = {}
    for f in sorted(RESULTS.glob("many-classes-*.json")):
        result.update(json.loads(f.read_text()))
    text = render(result)
    print(text)
    write_section("many-classes", text)


if __name__ == "__main__":
    main()
