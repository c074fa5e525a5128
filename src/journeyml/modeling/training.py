"""Fit one task: LightGBM with early stopping on the temporal validation window, calibration
kept only where it improves log loss, baselines on the same split, metrics on the test window.

Class imbalance is left to the data (no re-weighting), so the booster's probabilities stay
probabilities; calibration then corrects what is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from journeyml import memory
from journeyml.errors import TrainingError
from journeyml.features import FeatureRows, FeatureSpec, as_rows
from journeyml.modeling import baselines, boosting
from journeyml.modeling.bounds import bounded, floor_distribution
from journeyml.modeling.bundle import ModelBundle
from journeyml.modeling.evaluation import (
    binary_metrics,
    ece_noise,
    multiclass_metrics,
    reliability_curve,
)
from journeyml.modeling.linear import (
    BASELINE_C,
    BLOCK_ROWS,
    REGULARISATION,
    LinearPart,
    choose_blend,
    choose_linear,
    sigmoid,
)
from journeyml.modeling.rare import ClassGrouping, leaf_minimum
from journeyml.modeling.softmax import SoftmaxPart, choose_softmax, softmax
from journeyml.tasks import MIN_CUTOFFS, TaskConfig, TemporalSplit


@dataclass
class TaskResult:
    bundle: ModelBundle
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    reliability: dict[str, list[float]] = field(default_factory=dict)
    calibration_scores: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    test_predictions: np.ndarray | None = None
    #: multiclass: the classes of ``test_predictions``' columns (every training class, the
    #: rare ones included: :meth:`ClassGrouping.expand`)
    classes: tuple[str, ...] = ()
    #: the test metrics per segment / persona (filled by the pipeline when segments exist)
    segment_metrics: dict[str, dict[str, float]] = field(default_factory=dict)


#: rows the linear models (the blended linear part, the logistic baseline) are fitted on
LINEAR_MAX_ROWS = 50_000


def sample64(
    X: np.ndarray | FeatureRows,
    y: np.ndarray,
    rows: np.ndarray,
    *,
    max_rows: int = LINEAR_MAX_ROWS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_rows`` of the ``rows`` (a mask) of ``X`` and ``y``, drawn as
    :class:`LinearPart` and :func:`baselines.logistic` draw them from ``X[rows]``, ``X`` in
    float64 (training matrices may be float32): the linear models see the rows they would have
    drawn themselves, without a copy of every training row.

    >>> X, y = np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6)
    >>> Xs, ys = sample64(X, y, y % 2 == 0, max_rows=2, seed=0)
    >>> (Xs.dtype.name, Xs.shape, (Xs[:, 0] == 2 * ys).all(), (ys % 2 == 0).all())
    ('float64', (2, 2), np.True_, np.True_)
    """
    idx = np.flatnonzero(rows)
    if len(idx) > max_rows:
        idx = idx[np.random.default_rng(seed).choice(len(idx), max_rows, replace=False)]
    return as_rows(X).take(idx).astype(np.float64), y[idx]


def by_rows_many(
    fns: Sequence[Callable[[np.ndarray], np.ndarray]],
    X: np.ndarray | FeatureRows,
    rows: np.ndarray,
    *,
    block: int = BLOCK_ROWS,
) -> list[np.ndarray]:
    """``[fn(X[rows]) for fn in fns]`` (``rows`` a mask) for functions that work row by row
    (a model's predictions), computed a block of rows at a time and in one read of the rows:
    the same values without a copy of every selected row (a test window of millions of
    cutoffs would need gigabytes), and rows computed as they are read
    (:class:`journeyml.features.ChunkedRows`) computed once for every function.

    >>> X = np.arange(10.0).reshape(5, 2)
    >>> fns = [lambda b: b.sum(axis=1), lambda b: b[:, 0]]
    >>> [v.tolist() for v in by_rows_many(fns, X, np.array([1, 0, 1, 1, 1], bool), block=2)]
    [[1.0, 9.0, 13.0, 17.0], [0.0, 4.0, 6.0, 8.0]]
    """
    src, idx = as_rows(X), np.flatnonzero(rows)
    parts: list[list[np.ndarray]] = [[] for _ in fns]
    for b in src.blocks(idx, block):
        for out, fn in zip(parts, fns, strict=True):
            out.append(fn(b))
    if not idx.size:
        empty = src.take(idx)
        return [fn(empty) for fn in fns]
    return [np.concatenate(p) for p in parts]


def by_rows(
    fn: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray | FeatureRows,
    rows: np.ndarray,
    *,
    block: int = BLOCK_ROWS,
) -> np.ndarray:
    """:func:`by_rows_many` of one function.

    >>> X = np.arange(10.0).reshape(5, 2)
    >>> by_rows(lambda b: b.sum(axis=1), X, np.array([1, 0, 1, 1, 1], bool), block=2).tolist()
    [1.0, 9.0, 13.0, 17.0]
    """
    return by_rows_many([fn], X, rows, block=block)[0]


def _codes(groups: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    """Each selected row's group (customer) as a code, in the ids' sorted order: the same
    groups and draws as the ids themselves, without comparing strings (``np.isin`` of string
    ids compares every row with every drawn id: hours on a 10 M-event validation window)."""
    return None if groups is None else np.unique(np.asarray(groups)[rows], return_inverse=True)[1]


def train_task(
    task: TaskConfig,
    spec: FeatureSpec,
    X: np.ndarray | FeatureRows,
    labels: pd.DataFrame,
    split: TemporalSplit,
    *,
    lgb_params: dict[str, Any] | None = None,
    num_boost_round: int = 1000,
    early_stopping_rounds: int = 50,
    seed: int = 0,
    fit: boosting.BoosterFit = boosting.fit_rows,
    groups: np.ndarray | None = None,
) -> TaskResult:
    """Train ``task`` on the eligible training cutoffs, stop early on validation, evaluate on
    test. ``X`` (a matrix, or rows computed as they are read: :class:`journeyml.features.
    ChunkedRows`, each read of rows below one pass over the events) rows align with
    ``labels``, the split masks and ``groups`` (each cutoff's
    customer or case: the validation window's standard errors and held-out halves are then by
    customer, :mod:`journeyml.modeling.noise`; None: rows are taken as independent).
    ``fit`` fits the booster (default this machine; ``engine: dask`` passes
    :class:`journeyml.engine.DaskBoosterFit`); the linear part, calibration, baselines and
    metrics are fitted here."""
    X = as_rows(X)
    elig = labels["eligible"].to_numpy(bool)
    tr, va, te = split.train & elig, split.valid & elig, split.test & elig
    counts = {"train": int(tr.sum()), "valid": int(va.sum()), "test": int(te.sum())}
    if any(counts[k] < n for k, n in MIN_CUTOFFS.items()):
        raise TrainingError(
            f"expected at least {MIN_CUTOFFS['train']} training, {MIN_CUTOFFS['valid']} "
            f"validation and {MIN_CUTOFFS['test']} test cutoffs for {task.name}, got {counts}. "
            "journeyml.tasks.check_labels and check_split say which filter or split part "
            "removed them."
        )
    y_all = labels["label"].to_numpy()
    cat = spec.categorical_indices
    if task.output == "binary":
        classes: tuple[str, ...] = ("0", "1")
        y = y_all.astype(np.int64)
        if len(np.unique(y[tr])) < 2:
            raise TrainingError(
                f"expected both outcomes among training cutoffs for {task.name}, got only "
                f"{np.unique(y[tr]).tolist()}. Check the outcome touchpoints in the config."
            )
        grouping = ClassGrouping((*classes,))
    else:
        # rare classes grouped into one ("other") from the training rows only
        grouping = ClassGrouping.decide(
            y_all[tr],
            min_examples=task.min_class_examples,
            default_min=leaf_minimum(boosting.lgb_params("multiclass", 2, lgb_params, seed)),
        )
        classes = grouping.classes
        y = grouping.codes(y_all)
        va = va & (y >= 0)
    params = boosting.lgb_params(task.output, len(classes), lgb_params, seed)
    booster = fit(
        params,
        X,
        y,
        tr,
        va,
        cat,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
    )
    booster.free_dataset()
    # the binned datasets' memory goes back before the linear models' copies are made
    memory.release()
    bundle = ModelBundle(
        task=task,
        booster=booster,
        spec=spec,
        classes=classes,
        info={"best_iteration": booster.best_iteration, "counts": counts},
    )
    if grouping.grouped:
        bundle.info["rare_classes"] = grouping.to_dict()
    result = TaskResult(bundle=bundle, metrics={}, baselines={}, counts=counts)

    if task.output == "binary":
        # a linear model blended in log-odds where the validation window prefers it (it
        # extrapolates where trees are flat), then calibration; both chosen by log loss; its
        # L2 strength by the one-standard-error rule (weakly regularised, correlated features
        # get cancelling weights that muddle the explanations)
        fits = LinearPart.fit_path(*sample64(X, y, tr, seed=seed), seed=seed)
        f_va, *raw_va = by_rows_many([bundle.margin, *(lin.raw for lin in fits)], X, va)
        g_va = _codes(groups, va)
        k, w, _ = choose_linear(
            f_va, raw_va, y[va], reference=REGULARISATION.index(BASELINE_C), groups=g_va
        )
        linear = fits[k]
        weight, calibrator, scores = choose_blend(
            f_va, raw_va[k], y[va], seed=seed, weight=w, groups=g_va
        )
        bundle.info["linear_C"] = REGULARISATION[k]
        bundle.linear = linear if weight > 0 else None
        bundle.linear_weight = weight
        bundle.calibrator = calibrator
        bundle.info["linear_weight"] = weight
        result.calibration_scores = scores["calibration"]
        # the logistic baseline is the linear fit at the baseline's C alone (share 1): the very
        # fit the blend serves when validation cannot tell the trees from it, so that a model
        # that falls back to it scores what its baseline scores (a second fit by another
        # code path, with other near-constant columns and another solver stop, differed by
        # 1e-5 AUC on a tie and was refused by the gate for it)
        reference = fits[REGULARISATION.index(BASELINE_C)]
        p, raw_te = by_rows_many([bundle.predict_proba, reference.raw], X, te)
        result.metrics = binary_metrics(y[te], p)
        # what sampling noise alone gives a calibrated model on this window (docs/modeling.md)
        result.metrics["ece_noise90"] = ece_noise(p)
        result.reliability = reliability_curve(y[te], p)
        result.test_predictions = p
        result.baselines["prior"] = binary_metrics(
            y[te], baselines.prior_binary(y[tr], int(te.sum()))
        )
        result.baselines["logistic"] = binary_metrics(y[te], bounded(sigmoid(raw_te)))
    else:
        # a multinomial linear model blended in per-class raw scores where the validation
        # window prefers it, chosen as the binary blend is (one-SE rule, then the tie rule
        # against the logistic baseline's own fit, by customer)
        lr_tr = tr & (y >= 0)
        t0 = time.process_time()
        parts = SoftmaxPart.fit_path(
            *sample64(X, y, lr_tr, seed=seed), n_classes=len(classes), seed=seed
        )
        # the three multinomial fits are the costly part of a next task's linear models
        bundle.info["linear_fit_cpu_seconds"] = round(time.process_time() - t0, 2)
        g_va = _codes(groups, va)
        f_va, *raw_va = by_rows_many([bundle.margin, *(lin.raw for lin in parts)], X, va)
        k, w, blend_scores = choose_softmax(
            f_va,
            raw_va,
            y[va],
            reference=REGULARISATION.index(BASELINE_C),
            groups=g_va,
        )
        bundle.linear = parts[k] if w > 0 else None
        bundle.linear_weight = w
        bundle.info.update(
            linear_C=REGULARISATION[k],
            linear_weight=w,
            blend_valid_log_loss={c.replace("=", ""): v for c, v in blend_scores.items()},
        )
        # scored over every training class: the group's probability spread over its members
        full = grouping.all_classes
        # the multinomial logistic baseline is the linear fit at the baseline's C alone (share
        # 1), served as the model serves it: the fit a blend falls back to on a tie, so that
        # a model that falls back scores exactly its baseline (as for binary tasks)
        baseline = parts[REGULARISATION.index(BASELINE_C)]
        p_te, p_lr = by_rows_many(
            [bundle.predict_proba, lambda b: floor_distribution(softmax(baseline.raw(b)))], X, te
        )
        p = grouping.expand(p_te)
        y_te = [str(v) for v in y_all[te]]
        y_tr = [str(v) for v in y_all[tr]]
        result.metrics = multiclass_metrics(y_te, p, full)
        result.test_predictions = p
        result.classes = full
        result.baselines["prior"] = multiclass_metrics(
            y_te, baselines.prior_multiclass(y_tr, full, len(y_te)), full
        )
        result.baselines["logistic"] = multiclass_metrics(y_te, grouping.expand(p_lr), full)
        state = "last_stage_1" if task.target == "stage" else "last_touchpoint_1"
        if state in spec.names:
            last = X.column(spec.names.index(state))
            result.baselines["markov"] = multiclass_metrics(
                y_te,
                baselines.markov_successor(
                    np.nan_to_num(last[tr], nan=-1).tolist(),
                    y_tr,
                    np.nan_to_num(last[te], nan=-1).tolist(),
                    full,
                ),
                full,
            )
    bundle.metrics = result.metrics
    return result
