"""Run one benchmark config and produce the JSON result: ``dataset``, ``task``, ``protocol``,
``metrics`` (name → value), ``baselines`` (name → metrics), plus details and the published
figures from the config."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from journeyml.bench.config import BenchmarkConfig
from journeyml.errors import ConfigError
from journeyml.progress import NO_PROGRESS
from journeyml.progress import Progress as Stages

Progress = Callable[[str], None]


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def run_benchmark(
    config: BenchmarkConfig, *, progress: Progress | None = None, stages: Stages = NO_PROGRESS
) -> dict[str, Any]:
    """Run ``config``; returns the JSON-ready result. ``progress`` gets a line per finished
    step, ``stages`` the stages (``reading`` the log, ``training and scoring`` the models)."""
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    path = config.resolved_path()
    proto = config.protocol
    common: dict[str, Any] = {
        "features": config.feature_config().model_dump(),
        "lgb_overrides": config.lightgbm,
        "num_boost_round": config.num_boost_round,
        "early_stopping_rounds": config.early_stopping_rounds,
        "valid_fraction": config.valid_fraction,
        "seed": config.seed,
    }
    if proto.name == "calibration_holdout":
        from journeyml.bench.holdout import run_calibration_holdout
        from journeyml.events import load_events

        events = load_events(
            path, config.resolved_mapping(), policy="lenient", progress=stages
        ).events
        say(f"loaded {len(events):,} events of {events['customer_id'].nunique():,} customers")
        assert proto.calibration_end is not None and proto.holdout_end is not None
        with stages.stage("training and scoring", unit="steps"):
            res = run_calibration_holdout(
                events,
                blend_linear=config.blend_linear,
                calibration_end=proto.calibration_end,
                holdout_end=proto.holdout_end,
                snapshot_every_days=proto.snapshot_every_days,
                **common,
            )
        metrics, base, info = res.metrics, res.baselines, res.info
        details: dict[str, Any] = {"variants": res.variants}
    elif proto.name == "teinemaa2019":
        from journeyml.bench.case_outcome import run_case_outcome
        from journeyml.bench.ordered import load_ordered
        from journeyml.bench.teinemaa import teinemaa_split

        with stages.stage("reading"):
            log = load_ordered(path, config.resolved_mapping())
        say(f"loaded {len(log.events):,} events of {len(log.file_order):,} cases")
        osplit = teinemaa_split(
            log,
            config.outcome_task(),
            train_fraction=proto.train_fraction,
            max_prefix=proto.max_prefix,
            quantile=proto.positive_length_quantile,
        )
        say(
            f"teinemaa2019: {len(osplit.train_cases):,} training cases "
            f"({len(osplit.train):,} prefixes), {len(osplit.test_cases):,} test cases "
            f"({len(osplit.test):,} scored prefixes of length 1 … {osplit.max_length})"
        )
        with stages.stage("training and scoring", unit="steps"):
            co = run_case_outcome(osplit, log.events, blend_linear=config.blend_linear, **common)
        metrics, base, info = co.metrics, co.baselines, co.info
        details = {**osplit.details, "variants": co.variants}
    else:
        from journeyml.bench.next_activity import run_next_activity
        from journeyml.bench.ordered import load_ordered
        from journeyml.bench.prefixes import chronological_split, tax2017_split

        with stages.stage("reading", unit="events") as stage:
            log = load_ordered(path, config.resolved_mapping())
            stage.update(len(log.events), total=len(log.events))
        say(f"loaded {len(log.events):,} events of {len(log.file_order):,} cases")
        if proto.name == "tax2017":
            if proto.min_prefix != 1 or proto.score_end:
                raise ConfigError(
                    "tax2017 fixes its scoring rules (k = 2 … n−1, end never the truth): remove "
                    "min_prefix and score_end, or use the chronological protocol.",
                    field="protocol",
                )
            split = tax2017_split(log, config.target)
        else:
            split = chronological_split(
                log,
                config.target,
                train_fraction=proto.train_fraction,
                min_prefix=proto.min_prefix,
                score_end=proto.score_end,
            )
        say(
            f"{proto.name}: {len(split.train_cases):,} training cases "
            f"({len(split.train):,} prefixes), {len(split.test_cases):,} test cases "
            f"({len(split.test):,} scored prefixes)"
        )
        with stages.stage("training and scoring", unit="steps"):
            na = run_next_activity(
                split,
                log.events,
                target=config.target,
                min_class_examples=config.min_class_examples,
                blend_linear=config.blend_linear,
                **common,
            )
        metrics, base, info = na.metrics, na.baselines, na.info
        details = {**split.details, "variants": na.variants}
    elapsed = time.perf_counter() - t0
    say(f"done in {elapsed:.0f}s")
    return _clean(
        {
            "dataset": config.dataset,
            "description": config.description,
            "task": config.task,
            "target": config.target,
            "protocol": proto.model_dump(exclude_defaults=True) | {"name": proto.name},
            "data": {"path": str(path), "mapping": str(config.data.mapping)},
            "metrics": metrics,
            "baselines": base,
            "margin": best_baseline_margin(metrics, base),
            "details": {**details, **info},
            "published": [p.model_dump() for p in config.published],
            "seconds": round(elapsed, 1),
            "machine": {"python": platform.python_version(), "machine": platform.machine()},
        }
    )


#: the headline metric of each kind of result (higher is better)
HEADLINES = ("roc_auc_weighted", "accuracy", "roc_auc")


def best_baseline_margin(
    metrics: dict[str, Any], baselines: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The headline metric, the best baseline on it, and journeyml's margin over it."""
    for key in HEADLINES:
        if key in metrics:
            scores = {
                n: float(b[key])
                for n, b in baselines.items()
                if key in b and b[key] is not None and np.isfinite(b[key])
            }
            if not scores:
                break
            best = max(scores, key=lambda n: scores[n])
            ours = float(metrics[key])
            return {
                "metric": key,
                "journeyml": ours,
                "best_baseline": best,
                "baseline": scores[best],
                "margin": ours - scores[best],
            }
    return {}


def write_result(result: dict[str, Any], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out
