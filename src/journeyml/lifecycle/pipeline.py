"""The training pipeline: config → events → cutoffs → features → labels → models → MLflow →
registry (challenger, and champion through the gate).

Nothing moves ``champion`` until every task has trained, been logged and been judged: an
interrupted run leaves the registry's champions as they were.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from journeyml import memory
from journeyml.events import CUSTOMER_ID, TIMESTAMP
from journeyml.features import (
    ChunkedRows,
    FeatureBuilder,
    FeatureRows,
    FeatureSpec,
    MatrixRows,
    as_rows,
    encode_events,
    slug,
)
from journeyml.lifecycle import gate, partitioned, registry, tracking
from journeyml.lifecycle.config import PipelineConfig
from journeyml.lifecycle.cutoffs import (
    TaskData,
    resolve_tasks,
    split_tasks,
    task_labels,
)
from journeyml.modeling import (
    BoosterFit,
    ClassGrouping,
    ModelBundle,
    TaskResult,
    binary_metrics,
    by_rows,
    fit_rows,
    metrics_by_segment,
    multiclass_metrics,
    train_task,
)
from journeyml.progress import NO_PROGRESS
from journeyml.progress import Progress as Stages
from journeyml.tasks import CutoffMode, DataDefaults, TaskConfig, held_out

Progress = Callable[[str], None]
#: (events, cutoffs, spec) -> the feature frame, one row per cutoff in cutoff order
FeatureEngine = Callable[[pd.DataFrame, pd.DataFrame, FeatureSpec], pd.DataFrame]


@dataclass
class LoadedData:
    events: pd.DataFrame
    observation_end: pd.Timestamp
    source: str
    truth: pd.DataFrame | None = None
    #: the source's own outcome touchpoints and company-sent touchpoints (task defaults)
    defaults: DataDefaults = field(default_factory=DataDefaults)


@dataclass
class PipelineResult:
    results: dict[str, TaskResult]
    decisions: list[registry.GateDecision]
    versions: dict[str, str]
    run_ids: dict[str, str]
    spec: FeatureSpec
    timings: dict[str, float] = field(default_factory=dict)


def load_data(
    config: PipelineConfig, *, now: pd.Timestamp | None = None, stages: Stages = NO_PROGRESS
) -> LoadedData:
    """Events from the simulator or from a file through its mapping (relative paths resolve
    against the config file's folder; see :func:`journeyml.events.resolve_named_path`)."""
    d = config.data
    if d.simulate is not None:
        from journeyml.sim import simulate_world

        s = d.simulate
        sim = simulate_world(s.world, s.customers, seed=s.seed, start=s.start, days=s.days)
        world = "" if s.world == "retail" else f"world={s.world}, "
        return LoadedData(
            sim.events,
            sim.end,
            f"journeyml.sim.simulate({world}customers={s.customers}, seed={s.seed}, "
            f"days={s.days}, start={s.start})",
            sim.customers,
            DataDefaults(
                sim.conversion_touchpoints,
                sim.churn_touchpoints,
                sim.company_sent,
                "the simulator",
            ),
        )
    from journeyml.events import load_events, resolve_mapping_ref, resolve_named_path

    assert d.path is not None
    path = resolve_named_path(d.path, base=config.base_dir, key="data.path")
    mapping = resolve_mapping_ref(d.mapping, base=config.base_dir, key="data.mapping")
    loaded = load_events(path, mapping, policy=d.policy, now=now, progress=stages)
    ev = loaded.events
    end = ev[TIMESTAMP].max() + pd.Timedelta(1, "ns")
    m = loaded.mapping
    defaults = DataDefaults.from_outcomes(
        m.outcomes, m.company_sent, source=f"the mapping ({m.source})"
    )
    return LoadedData(ev, end, str(path), defaults=defaults)


def prepare_tasks(
    config: PipelineConfig, data: LoadedData, progress: Progress | None = None
) -> tuple[dict[str, TaskConfig], dict[CutoffMode, pd.DataFrame], dict[str, TaskData]]:
    """Every task resolved against the data, checked (names in the vocabulary, filters that
    leave labels, a usable split) before any feature is built: a bad definition fails in
    seconds with what to change."""
    say = progress or (lambda _msg: None)
    ev = data.events
    tasks, modes = resolve_tasks(config, data.defaults, ev)
    cutoff_sets, labelled = task_labels(config, tasks, modes, ev, data.observation_end)
    prepared = split_tasks(config, tasks, modes, cutoff_sets, labelled, events=ev, say=say)
    return tasks, cutoff_sets, prepared


def builder_from(config: PipelineConfig, company_sent: tuple[str, ...] = ()) -> FeatureBuilder:
    """FeatureConfig's fields are FeatureBuilder's parameters, by name; ``company_sent`` is the
    data's own (the mapping's or simulator's): generic activity reads the customer's events."""
    return FeatureBuilder(**config.features.model_dump(), company_sent=company_sent)


def segment_labels(
    X: np.ndarray | FeatureRows, spec: FeatureSpec, attribute: str | None
) -> np.ndarray | None:
    """Each cutoff's segment: the attribute's latest value before as_of (decoded from its
    feature column), "unknown" where there is none."""
    if attribute is None:
        return None
    name = f"attr_{slug(attribute)}"
    if name not in spec.names:
        return None
    f = spec.features[spec.names.index(name)]
    col = as_rows(X).column(spec.names.index(name))
    if f.vocabulary is None:
        return np.where(np.isfinite(col), col.astype(str), "unknown").astype(object)
    vocab = np.array([*spec.vocabulary(f.vocabulary), "unknown"], dtype=object)
    codes = np.where(np.isfinite(col), col, len(vocab) - 1).astype(int)
    return vocab[codes]


def score_bundle(
    bundle: ModelBundle,
    events: pd.DataFrame,
    cutoffs: pd.DataFrame,
    labels: pd.DataFrame,
    metric: str,
) -> float:
    """``bundle``'s ``metric`` on the given cutoffs (features rebuilt with its own spec, in
    chunks of customers as the predictions read them: the test window's matrix is not held)."""
    return _score_rows(
        bundle,
        functools.partial(ChunkedRows.of, events, cutoffs, dtype=np.float64),
        labels,
        metric,
    )


def _score_rows(
    bundle: ModelBundle,
    rows: Callable[[FeatureSpec], FeatureRows],
    labels: pd.DataFrame,
    metric: str,
) -> float:
    """``bundle``'s ``metric`` on the rows ``rows(bundle.spec)`` gives (float64), labelled
    ``labels``."""
    X = rows(bundle.spec)
    p = by_rows(bundle.predict_proba, X, np.ones(len(labels), dtype=bool))
    if bundle.kind == "binary":
        m = binary_metrics(labels["label"].to_numpy(int), p)
    else:  # scored as in training: rare classes spread over their members
        g = ClassGrouping.from_info(bundle.classes, bundle.info)
        m = multiclass_metrics([str(v) for v in labels["label"]], g.expand(p), g.all_classes)
    return float(m[metric])


def run_training(
    config: PipelineConfig,
    *,
    tracking_uri: str,
    progress: Progress | None = None,
    now: pd.Timestamp | None = None,
    after_task: Callable[[str], None] | None = None,
    stages: Stages = NO_PROGRESS,
    features: FeatureEngine | None = None,
    fit: BoosterFit | None = None,
) -> PipelineResult:
    """Train every task of ``config``, log to MLflow, register and gate.

    ``progress`` receives one line per finished step (what was found); ``stages`` the stages
    with counts and an ETA (``reading``/``validating`` the log, ``labels``, ``features``,
    ``training``, ``promotion``: see :mod:`journeyml.progress`). ``after_task`` is called after
    each task is logged (tests use it to interrupt a run). ``features`` computes the feature
    frame (default: none is kept, each task's rows are computed in chunks as it reads them,
    :class:`journeyml.features.ChunkedRows`; ``engine: dask`` passes
    :class:`journeyml.engine.DaskFeatures`, which runs it per partition on a cluster);
    ``fit`` fits each task's booster (default this machine; ``engine: dask`` passes
    :class:`journeyml.engine.DaskBoosterFit`, ``lightgbm.dask`` on the same partitions).

    >>> import pathlib, tempfile
    >>> from journeyml import PipelineConfig, run_training
    >>> config = PipelineConfig.model_validate({
    ...     "name": "doc",
    ...     "data": {"simulate": {"customers": 300, "seed": 1, "days": 240}},
    ...     "features": {"windows_days": [7, 30]},
    ...     "snapshots": {"mode": "every_n_days", "every_days": 7},
    ...     "tasks": {"churn": {"kind": "lapses", "horizon_days": 14, "churn": ["cancellation"]}},
    ...     "num_boost_round": 20, "lightgbm": {"num_threads": 1}})
    >>> store = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'mlflow.db'}"
    >>> result = run_training(config, tracking_uri=store)
    >>> result.versions
    {'churn': '1'}
    """
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    folder = partitioned.partitioned_path(config)
    if folder is not None:
        if features is not None or fit is not None:
            partitioned.refuse_engine("dask")
        prepared_data = _from_partitions(config, folder, say, stages, timings)
        return _train(
            config, prepared_data, tracking_uri, say, stages, after_task, None, None, timings, t0
        )
    if config.data.simulate is not None:
        with stages.stage("simulating", unit="customers") as stage:
            data = load_data(config, now=now, stages=stages)
            stage.update(config.data.simulate.customers, total=config.data.simulate.customers)
    else:
        data = load_data(config, now=now, stages=stages)
    # the loader's or simulator's freed working memory goes back now: the feature matrix is
    # allocated next, and peak memory is the sum of what lives at once
    memory.release()
    ev = data.events
    say(
        f"loaded {len(ev):,} events of {ev['customer_id'].nunique():,} customers from {data.source}"
    )
    with stages.stage("labels", unit="tasks"):
        tasks, cutoff_sets, prepared = prepare_tasks(config, data, say)
    # what MLflow records of the events (fingerprint, digest and schema, each of which reads
    # every value) is computed before the feature matrix exists: at 10 M events their working
    # memory is over a gigabyte, which on top of the matrix made the run's peak
    provenance = tracking.provenance_tags(ev, config.base_dir)
    lineage = tracking.EventsLineage(ev).compute()  # once for every task's run
    memory.release()
    timings["load"] = time.perf_counter() - t0
    # vocabularies from the earliest training period only: nothing of the test period leaks
    fit_until = min(p.split.valid_start for p in prepared.values())
    t1 = time.perf_counter()
    builder = builder_from(config, data.defaults.company_sent).fit(ev[ev[TIMESTAMP] < fit_until])
    spec = builder.spec_
    # features once per distinct cutoff set (snapshots and/or prefixes), with one spec.
    # On this machine they are not kept: each task reads its rows as they are computed, in
    # chunks of whole customers (ChunkedRows; LightGBM's bins from its sample first, then
    # every training and validation row pushed as it comes, the validation and test rows
    # computed again for predictions), so memory follows a chunk, not cutoffs × features.
    # The Dask engine computes the matrix on the cluster (same feature code); it is kept in
    # float32, half the memory (build_features says why the models are unchanged by it)
    n_cut = sum(len(c) for c in cutoff_sets.values())
    X_sets: dict[CutoffMode, FeatureRows] = {}
    with stages.stage("features", total=n_cut, unit="cutoffs") as stage:
        arr = encode_events(ev, spec) if features is None else None
        for m, c in cutoff_sets.items():
            if arr is not None:
                rows = ChunkedRows.of(arr, c, spec, dtype=np.float32)
                # cutoffs not grouped by customer would be computed block by block, each
                # block reading all of its customers' events: computed once and kept instead
                X_sets[m] = rows if rows.ordered else MatrixRows(rows.matrix())
            else:
                assert features is not None
                X_sets[m] = MatrixRows(features(ev, c, spec).to_numpy(np.float32))
            stage.advance(len(c))
            memory.release()
    timings["features"] = time.perf_counter() - t1

    def rows_of(mode: CutoffMode, keep: np.ndarray, spec: FeatureSpec) -> FeatureRows:
        return ChunkedRows.of(ev, cutoff_sets[mode][keep], spec, dtype=np.float64)

    trained = _Prepared(
        tasks,
        cutoff_sets,
        prepared,
        X_sets,
        spec,
        provenance,
        lineage,
        len(ev),
        data.source,
        rows_of,
    )
    return _train(
        config, trained, tracking_uri, say, stages, after_task, features, fit, timings, t0
    )


@dataclass
class _Prepared:
    """What training needs of the data, however it was read: the tasks, their cutoffs,
    labels and splits, each cutoff set's feature rows, the spec, what MLflow records of the
    events, and the rows of some cutoffs with another spec (a champion's, for the gate)."""

    tasks: dict[str, TaskConfig]
    cutoff_sets: dict[CutoffMode, pd.DataFrame]
    prepared: dict[str, TaskData]
    X_sets: dict[CutoffMode, FeatureRows]
    spec: FeatureSpec
    provenance: dict[str, str]
    lineage: tracking.EventsLineage
    n_events: int
    source: str
    rows_of: Callable[[CutoffMode, np.ndarray, FeatureSpec], FeatureRows]


def _from_partitions(
    config: PipelineConfig,
    folder: Path,
    say: Progress,
    stages: Stages,
    timings: dict[str, float],
) -> _Prepared:
    """Cutoffs, labels, vocabularies and feature rows from a partitioned dataset, one
    partition in memory at a time (:mod:`journeyml.lifecycle.partitioned`)."""
    t0 = time.perf_counter()
    data = partitioned.open_training_data(config, folder)
    say(
        f"loaded {data.n_events:,} events of {data.n_customers:,} customers from {data.source} "
        f"({data.dataset.n_partitions} partitions, read one at a time)"
    )
    with stages.stage("labels", unit="tasks"):
        pt = partitioned.prepare_partitioned(config, data, say)
    provenance = tracking.provenance_tags(pt.sample, config.base_dir, fingerprint=pt.fingerprint)
    lineage = tracking.EventsLineage(pt.sample, digest=pt.fingerprint).compute()
    memory.release()
    t1 = time.perf_counter()
    fit_until = min(p.split.valid_start for p in pt.prepared.values())
    builder = partitioned.fit_builder(
        builder_from(config, data.defaults.company_sent), data, fit_until
    )
    spec = builder.spec_
    memory.release()
    X_sets: dict[CutoffMode, FeatureRows] = {
        m: partitioned.partition_rows(data, c, pt.partitions[m], spec)
        for m, c in pt.cutoff_sets.items()
    }

    def rows_of(mode: CutoffMode, keep: np.ndarray, spec: FeatureSpec) -> FeatureRows:
        c, p = pt.cutoff_sets[mode], pt.partitions[mode]
        return partitioned.partition_rows(data, c[keep], p[keep], spec, np.float64)

    timings["load"] = t1 - t0
    timings["features"] = time.perf_counter() - t1
    return _Prepared(
        pt.tasks,
        pt.cutoff_sets,
        pt.prepared,
        X_sets,
        spec,
        provenance,
        lineage,
        data.n_events,
        data.source,
        rows_of,
    )


def _train(
    config: PipelineConfig,
    d: _Prepared,
    tracking_uri: str,
    say: Progress,
    stages: Stages,
    after_task: Callable[[str], None] | None,
    features: FeatureEngine | None,
    fit: BoosterFit | None,
    timings: dict[str, float],
    t0: float,
) -> PipelineResult:
    """Every task trained, logged, registered and gated, from the prepared data."""
    tasks, cutoff_sets, prepared, X_sets, spec = (
        d.tasks,
        d.cutoff_sets,
        d.prepared,
        d.X_sets,
        d.spec,
    )
    provenance, lineage = d.provenance, d.lineage
    n_rows = sum(x.shape[0] for x in X_sets.values())
    n_features = len(spec.features)
    streamed = [m for m, x in X_sets.items() if not isinstance(x, MatrixRows)]
    say(
        f"built {n_features} features for {n_rows:,} cutoffs "
        f"in {timings['features']:.1f}s (fingerprint {spec.fingerprint})"
        if not streamed
        else f"features: {n_features} for {n_rows:,} cutoffs (fingerprint "
        f"{spec.fingerprint}), computed in chunks of whole customers as each task reads them"
    )

    segment_sets = {m: segment_labels(x, spec, config.segment_column) for m, x in X_sets.items()}
    tracking.configure(tracking_uri, config.experiment_name)
    project = config.project_name
    if not registry.project_models(project) and registry.legacy_models():
        say(
            "this store holds models from before projects (journeyml-conversion...): they stay "
            f"as they are; `journeyml models adopt-legacy --project {project}` makes their "
            "champions this project's, to be compared with"
        )
    results: dict[str, TaskResult] = {}
    versions: dict[str, str] = {}
    run_ids: dict[str, str] = {}
    decisions: list[registry.GateDecision] = []
    training = stages.stage("training", total=len(tasks), unit="tasks")
    resolved = config.model_dump(mode="json")
    started: list[str] = []  # runs of this call: marked FAILED on any failure (full disk too)
    with (
        tracking.failed_runs_closed(started),
        mlflow.start_run(run_name=f"{config.name}-pipeline") as pipeline_run,
        training as train_stage,
        # one BLAS thread for the linear models (baselines, blended linear part): their
        # products have a few columns and gain little from a second thread, and a BLAS thread
        # that waits for a busy core spins. The multiclass logistic baseline of the 1 M-event
        # demo took 5x the CPU time with two threads on the shared machine (docs/scale.md).
        threadpool_limits(limits=1, user_api="blas"),
    ):
        started.append(pipeline_run.info.run_id)
        mlflow.set_tags(provenance)
        tracking.log_config(resolved, config._source_file)
        mlflow.log_params(
            {
                "pipeline": config.name,
                "project": project,
                "n_events": d.n_events,
                "n_cutoffs": n_rows,
                "feature_fingerprint": spec.fingerprint,
                "n_features": n_features,
                "source": d.source[:250],
            }
        )
        outcomes = sorted({tp for t in tasks.values() for tp in t.outcome_touchpoints})
        for name, task in tasks.items():
            t2 = time.perf_counter()
            mode = prepared[name].mode
            cutoffs, X, segments = cutoff_sets[mode], X_sets[mode], segment_sets[mode]
            labels, split = prepared[name].labels, prepared[name].split
            res = train_task(
                task,
                spec,
                X,
                labels,
                split,
                lgb_params=config.lightgbm,
                num_boost_round=config.num_boost_round,
                early_stopping_rounds=config.early_stopping_rounds,
                seed=config.seed,
                fit=fit or fit_rows,
                groups=cutoffs[CUSTOMER_ID].to_numpy(),
            )
            results[name] = res
            # every outcome the project predicts, saved with each task's model: an analyst's
            # report leaves them out of pain points even when a task has no champion
            res.bundle.info["project_outcomes"] = outcomes
            # the time the model was not fitted to: the report reads its evidence there
            res.bundle.info.update(held_out(split, cutoffs))
            if segments is not None and res.test_predictions is not None:
                te = split.test & labels["eligible"].to_numpy(bool)
                res.segment_metrics = metrics_by_segment(
                    labels["label"].to_numpy()[te],
                    res.test_predictions,
                    segments[te],
                    classes=None if task.output == "binary" else res.classes,
                )
            timings[f"train_{name}"] = time.perf_counter() - t2
            say(
                f"{name}: {_summary(res)} (train {res.counts['train']:,}, "
                f"test {res.counts['test']:,}; {timings[f'train_{name}']:.1f}s)"
            )
            if res.segment_metrics:
                key = "roc_auc" if task.output == "binary" else "accuracy"
                say(
                    f"{name} by {config.segment_column}: "
                    + ", ".join(f"{s} {m[key]:.3f}" for s, m in res.segment_metrics.items())
                )
            with mlflow.start_run(run_name=f"{config.name}-{name}", nested=True) as run:
                started.append(run.info.run_id)
                params: dict[str, Any] = {
                    **{f"task_{k}": _param(v) for k, v in task.to_dict().items()},
                    "cutoffs": mode,
                    "split_by": split.by,
                    **{f"lgb_{k}": v for k, v in config.lightgbm.items()},
                    "seed": config.seed,
                    "snapshots": config.snapshots.model_dump_json(),
                    "split": config.split.model_dump_json(),
                    "best_iteration": res.bundle.info.get("best_iteration"),
                    **_class_params(res),
                    "test_start": str(split.test_start),
                    "valid_start": str(split.valid_start),
                    "num_boost_round": config.num_boost_round,
                    "early_stopping_rounds": config.early_stopping_rounds,
                    **tracking.booster_parameters(res.bundle.booster),
                }
                mlflow.set_tags(provenance)
                tracking.log_config(resolved, config._source_file)
                uri = tracking.log_task(
                    res,
                    params=params,
                    dataset=lineage,
                    dataset_source=d.source,
                )
                run_ids[name] = run.info.run_id
                versions[name] = registry.register(uri, project, name, run.info.run_id)
                elig = labels["eligible"].to_numpy(bool) & split.test
                promo = config.promotion
                metric = _gate_metric(promo.metric, task)
                floor = (
                    gate.compare_baselines(
                        res.metrics,
                        res.baselines,
                        metrics=gate.gate_metrics(task.output, metric, promo.baseline_metrics),
                        margin=promo.baseline_margin,
                    )
                    if promo.beat_baselines
                    else []
                )
                decision = registry.decide(
                    project,
                    name,
                    versions[name],
                    float(res.metrics[metric]),
                    metric=metric,
                    margin=promo.margin,
                    floor=floor,
                    score_champion=functools.partial(
                        _score_rows,
                        rows=functools.partial(d.rows_of, mode, elig),
                        labels=labels[elig],
                        metric=metric,
                    ),
                )
                mlflow.log_dict(decision.to_dict(), "promotion.json")
                mlflow.log_metric("promoted", float(decision.promote))
                mlflow.set_tags(_gate_tags(decision))
                if not decision.promote:
                    registry.note_refusal(project, name, versions[name], decision.reason)
                if decision.champion_score is not None:
                    mlflow.log_metric(f"champion_{metric}", decision.champion_score)
                decisions.append(decision)
                say(
                    f"{name}: registered {registry.model_name(project, name)} v{versions[name]} "
                    f"(challenger); {'promote' if decision.promote else 'stays challenger'}: "
                    f"{decision.reason}"
                )
            train_stage.advance()
            memory.release()  # the task's binned data and working copies
            if after_task is not None:
                after_task(name)
        registry.apply(decisions)
        mlflow.log_dict({"decisions": [d.to_dict() for d in decisions]}, "promotions.json")
    timings["total"] = time.perf_counter() - t0
    return PipelineResult(results, decisions, versions, run_ids, spec, timings)


def _param(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, dict | list) else v


def _gate_tags(d: registry.GateDecision) -> dict[str, str]:
    """The gate's verdict as run tags: promoted, which comparisons failed, with both figures."""
    tags = {
        "journeyml.gate.promoted": str(d.promote).lower(),
        "journeyml.gate.failed": ",".join(d.failed) or "none",
        "journeyml.gate.reason": d.reason[:4900],
    }
    for c in d.baselines:
        tags[f"journeyml.gate.baseline.{c.metric}"] = c.text()
    return tags


def _class_params(res: TaskResult) -> dict[str, Any]:
    """Multiclass: the booster's classes and the rare-class grouping applied
    (:mod:`journeyml.modeling.rare`)."""
    b = res.bundle
    if b.kind != "multiclass":
        return {}
    rare = b.info.get("rare_classes") or {}
    return {
        "n_classes": len(b.classes),
        "rare_min_examples": rare.get("min_examples", 0),
        "rare_classes_grouped": len(rare.get("members", ())),
    }


def _gate_metric(metric: str, task: TaskConfig) -> str:
    if task.output == "multiclass" and metric in ("roc_auc", "brier"):
        return "log_loss"
    if task.output == "binary" and metric == "accuracy":
        return "log_loss"
    return metric


def _ece_noise(m: dict[str, float]) -> str:
    """What sampling noise alone gives a calibrated model on the test window, beside its ECE."""
    noise = m.get("ece_noise90")
    if noise is None or noise != noise:
        return ""
    rows = int(m["n"])
    return f" (a calibrated model exceeds {noise:.3f} in 1 of 10 draws of these {rows:,} rows)"


def _summary(res: TaskResult) -> str:
    m = res.metrics
    if res.bundle.kind == "binary":
        base = res.baselines.get("logistic", {})
        return (
            f"AUC {m['roc_auc']:.3f} (logistic {base.get('roc_auc', float('nan')):.3f}), "
            f"log loss {m['log_loss']:.3f}, ECE {m['ece']:.3f}{_ece_noise(m)}, "
            f"calibration {res.bundle.calibrator.method}"
        )
    mk = res.baselines.get("markov", {})
    return (
        f"accuracy {m['accuracy']:.3f} (markov {mk.get('accuracy', float('nan')):.3f}), "
        f"macro-F1 {m['macro_f1']:.3f}, log loss {m['log_loss']:.3f}"
    )
