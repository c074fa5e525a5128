"""Across a population, per task: global drivers, drivers per segment, pain points, moments
of truth.

Everything starts from a :class:`CauseMatrix` of one task: one row per customer (cutoff), one
column per root cause, holding the cause's contribution to that customer's prediction in
probability points — the same grouping as the per-prediction explanations
(:meth:`journeyml.explain.Explainer.explain`).

* **Global drivers**: mean absolute contribution per cause (how much it moves predictions) and
  mean signed contribution (which way).
* **Exposure**: a customer is exposed to a touchpoint when it is in their journey in the task's
  look-back window before ``as_of`` (:func:`exposure_window`: the task's horizon, capped by the
  history the data has; the whole journey so far for tasks without a horizon).
* **Effects** (:func:`touchpoint_effects`): per touchpoint, the mean contribution of its cause
  among the exposed customers, with a bootstrap 95 % interval (percentiles of 400 resamples,
  seeded). That interval says the *model uses* the touchpoint, not that the touchpoint carries
  evidence: a model can lean on a touchpoint that predicts nothing on new customers (a no-effect
  campaign whose timing stands in for tenure, or noise the trees fitted).
* **Evidence** (:func:`held_out_gain`), when observed outcomes the model was not fitted to
  are known — on the rows themselves (``CauseMatrix.outcome``), or on other rows read for
  evidence only (:class:`HeldOut`: the report's cutoffs at earlier dates, pooled): does the
  touchpoint's part of the predictions make them better? Per exposed row, the log loss of the
  prediction without the cause's part (p − ψ) minus that of the prediction (p), averaged, with
  a bootstrap 95 % interval that resamples customers. A touchpoint whose part does not
  measurably lower the loss on observed outcomes (the interval's low end is not above zero)
  carries no evidence, whatever the size of its contribution.
* **No measurable effect**: an effect whose interval covers zero, under :data:`MIN_EFFECT`
  points, or without evidence on observed outcomes. Such a touchpoint is never ranked as a pain
  point or a moment of truth; the ranking among the others is by the size of the effect.
* **Pain points** (:func:`pain_points`), per task and ranked within it: touchpoints whose
  measurable effect pushes the task's outcome the harmful way (:func:`harm_sign`: up for a
  lapse, down for an outcome the customer is to reach). The same touchpoint can hurt one task
  and help another.
* **Moments of truth** (:func:`moments_of_truth`), per task: touchpoints and stage transitions
  with the largest measurable effect either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from journeyml.events import CUSTOMER_ID, TIMESTAMP, TOUCHPOINT
from journeyml.explain.allocation import Composition
from journeyml.explain.explainer import Batch, Explainer, Target
from journeyml.explain.phrasing import humanize
from journeyml.features import slug, window_label
from journeyml.modeling import PROBABILITY_FLOOR, ModelBundle
from journeyml.tasks import TaskConfig

N_BOOT = 400
#: effects smaller than this (probability points) are below what the report can show (±0.0):
#: counted as no measurable effect, like an interval that covers zero
MIN_EFFECT = 0.05


@dataclass(frozen=True)
class CauseMatrix:
    """Contributions (probability points) of every root cause to every row's prediction."""

    task: str
    points: pd.DataFrame  # rows × causes ("touchpoint:support_call", ...), 0 where absent
    probability: np.ndarray
    base_rate: np.ndarray
    #: the rows' observed outcomes (0/1) when known, on rows the model did not train on: the
    #: held-out evidence behind every effect (:func:`held_out_gain`); None: intervals only
    outcome: np.ndarray | None = None
    #: the customer of each row when rows repeat customers (snapshots): intervals resample
    #: customers; None: every row is its own customer (the report)
    groups: np.ndarray | None = None


@dataclass(frozen=True)
class HeldOut:
    """Rows read for evidence only: observed outcomes the model was not fitted to, at other
    cutoffs than the rows whose effects are read (the report pools earlier dates, one customer
    possibly at several). ``matrix`` has ``outcome`` and ``groups`` (the customer of each row:
    intervals resample whole customers across the dates); ``exposed`` and ``transitions``
    (rows × touchpoints, rows × stage transitions) say what each row went through, read as for
    the effects' rows (:func:`exposure_from_events`, :func:`stage_transitions_present`)."""

    matrix: CauseMatrix
    exposed: pd.DataFrame
    transitions: pd.DataFrame = field(default_factory=pd.DataFrame)


def cause_matrix(
    bundle: ModelBundle,
    X: np.ndarray,
    composition: Composition | None = None,
    class_index: np.ndarray | None = None,
) -> CauseMatrix:
    """Root-cause contributions of every row (binary tasks, or one class per row), with one
    ``composition`` for every row."""
    explainer = Explainer({bundle.task.name: bundle})
    return matrix_of(
        explainer, Batch(X, composition=composition), Target(bundle.task.name, class_index)
    )


def matrix_of(explainer: Explainer, batch: Batch, target: Target) -> CauseMatrix:
    """The :class:`CauseMatrix` of one target over a batch, through the explanation's entry
    point (:meth:`Explainer.explain`, every cause's total)."""
    (e,) = explainer.explain(batch, [target], top_k=None)
    rows = [{f"{k}:{n}": 100 * t for (k, n), t in tot.items()} for tot in e.totals()]
    pts = pd.DataFrame(rows, index=range(len(rows))).fillna(0.0)
    return CauseMatrix(target.task, pts, e.probability, e.base_rate)


def global_drivers(m: CauseMatrix, top: int = 12) -> pd.DataFrame:
    """The causes that move predictions most: ``cause, label, mean_abs, mean, share_raising``."""
    pts = m.points
    out = pd.DataFrame(
        {
            "cause": pts.columns,
            "label": [_label(c) for c in pts.columns],
            "mean_abs": pts.abs().mean().to_numpy(),
            "mean": pts.mean().to_numpy(),
            "share_raising": (pts > 0).mean().to_numpy(),
        }
    )
    return out.sort_values("mean_abs", ascending=False).head(top).reset_index(drop=True)


def natural_key(label: str) -> list[tuple[int, float | str]]:
    """Sort key reading the numbers in a label as numbers (segments "8,000 to 13,200" before
    "13,200 to 22,600"; "age 9" before "age 10").

    >>> sorted(["13,200 to 22,600", "other", "8,000 to 13,200", "1,200 to 8,000"], key=natural_key)
    ['1,200 to 8,000', '8,000 to 13,200', '13,200 to 22,600', 'other']
    """
    parts = re.findall(r"\d[\d,]*(?:\.\d+)?|\D+", label)
    return [(0, float(p.replace(",", ""))) if p[0].isdigit() else (1, p) for p in parts]


def drivers_by_segment(m: CauseMatrix, segments: pd.Series, top: int = 5) -> pd.DataFrame:
    """Top causes per segment/persona: ``segment, n, rank, cause, label, mean_abs, mean``."""
    seg = pd.Series(np.asarray(segments), index=m.points.index).astype(str)
    parts = []
    groups = seg.groupby(seg).groups
    for s in sorted(groups, key=natural_key):
        idx = groups[s]
        sub = CauseMatrix(m.task, m.points.loc[idx], m.probability, m.base_rate)
        d = global_drivers(sub, top)
        d.insert(0, "rank", np.arange(1, len(d) + 1))
        d.insert(0, "n", len(idx))
        d.insert(0, "segment", s)
        parts.append(d)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def exposure(bundle: ModelBundle, X: np.ndarray, window_days: float | None) -> pd.DataFrame:
    """Rows × touchpoints: at least one event of the touchpoint in a feature window (bool)."""
    spec = bundle.spec
    pos = {n: i for i, n in enumerate(spec.names)}
    cols = {}
    for tp in spec.touchpoints:
        i = pos.get(f"count_touchpoint_{slug(tp)}_{window_label(window_days)}")
        if i is not None:
            cols[tp] = X[:, i] > 0
    return pd.DataFrame(cols)


def exposure_window(task: TaskConfig, history_days: float) -> float | None:
    """The look-back window (days) in which a touchpoint counts as part of a customer's recent
    journey for ``task``: its horizon (the last H days, for a prediction about the next H),
    capped by the ``history_days`` the data has before ``as_of``; None (the whole journey so
    far) for a task without a horizon (a case outcome).

    >>> from journeyml.tasks import EventMatch
    >>> t = TaskConfig("c", "occurs", horizon_days=14, outcome=EventMatch(("buy",)))
    >>> exposure_window(t, 300.0), exposure_window(t, 10.0)
    (14.0, 10.0)
    """
    if task.horizon_days is None:
        return None
    return float(min(task.horizon_days, max(history_days, 1.0)))


def exposure_from_events(
    events: pd.DataFrame,
    customers: np.ndarray,
    as_of: pd.Timestamp,
    window_days: float | None,
) -> pd.DataFrame:
    """Rows (``customers``, in order) × touchpoints: at least one event of the touchpoint in
    ``[as_of − window, as_of)`` (the whole journey before ``as_of`` when ``window_days`` is
    None). Read from the events, so any vocabulary and any window work."""
    ts = events[TIMESTAMP]
    keep = ts < as_of
    if window_days is not None:
        keep &= ts >= as_of - pd.Timedelta(days=window_days)
    ev = events.loc[keep, [CUSTOMER_ID, TOUCHPOINT]]
    ids = pd.Index(np.asarray(customers).astype(str))
    ev = ev[ev[CUSTOMER_ID].astype(str).isin(ids)]
    table = pd.crosstab(ev[CUSTOMER_ID].astype(str), ev[TOUCHPOINT].astype(str)) > 0
    return table.reindex(ids, fill_value=False).reset_index(drop=True).astype(bool)


def _bootstrap(
    values: np.ndarray, rng: np.random.Generator, groups: np.ndarray | None = None
) -> tuple[float, float]:
    """95 % bootstrap interval of the mean of ``values``; with ``groups`` (the customer of each
    row), customers are resampled with all their rows: rows of one customer are not
    independent evidence."""
    if len(values) < 2:
        v = float(values.mean()) if len(values) else float("nan")
        return v, v
    if groups is None:
        idx = rng.integers(0, len(values), size=(N_BOOT, len(values)))
        means = values[idx].mean(axis=1)
    else:
        _, inv = np.unique(np.asarray(groups), return_inverse=True)
        k = int(inv.max()) + 1
        sums = np.bincount(inv, weights=values, minlength=k)
        counts = np.bincount(inv, minlength=k).astype(np.float64)
        idx = rng.integers(0, k, size=(N_BOOT, k))
        means = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def measurable(
    ci_low: float,
    ci_high: float,
    effect: float | None = None,
    evidence_low: float | None = None,
) -> bool:
    """An effect is measurable when its interval does not cover zero, the effect (when given)
    is at least :data:`MIN_EFFECT` points, and the held-out evidence (when known: the low end
    of the interval of :func:`held_out_gain`) is above zero.

    >>> measurable(0.2, 1.5), measurable(-0.3, 0.4), measurable(-2.0, -0.1)
    (True, False, True)
    >>> measurable(0.01, 0.03, 0.02)
    False
    >>> measurable(0.2, 0.3, 0.25, evidence_low=-0.002), measurable(0.2, 0.3, 0.25, 0.001)
    (False, True)
    """
    if effect is not None and abs(effect) < MIN_EFFECT:
        return False
    if evidence_low is not None and not evidence_low > 0:
        return False
    return bool(ci_low > 0 or ci_high < 0)


def log_loss(outcome: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row log loss (nats) of probabilities ``p`` for 0/1 outcomes, ``p`` held within
    :data:`~journeyml.modeling.PROBABILITY_FLOOR` of 0 and 1."""
    q = np.clip(p, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    return np.asarray(-(outcome * np.log(q) + (1 - outcome) * np.log1p(-q)))


def held_out_gain(
    points: np.ndarray,
    probability: np.ndarray,
    outcome: np.ndarray,
    rng: np.random.Generator,
    groups: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """How much a cause's part of the predictions improves them on observed outcomes: the mean
    over rows of ``log loss(p − ψ) − log loss(p)`` (nats; ``points``: ψ in probability points),
    and a bootstrap 95 % interval. Above zero: predictions are better with the cause's part
    than without it; around zero or below: the model's use of the cause does not hold on these
    rows. ``groups``: the customer of each row (customers resampled, see :func:`_bootstrap`).

    A part that moves predictions towards what happened is evidence; the same part on rows
    where it did not happen is not:

    >>> y = np.array([1.0, 1.0, 0.0, 0.0] * 25)
    >>> p = np.where(y == 1, 0.6, 0.2)
    >>> gain, lo, hi = held_out_gain(np.where(y == 1, 20.0, -10.0), p, y, np.random.default_rng(0))
    >>> bool(lo > 0)
    True
    >>> shuffled = np.where(np.arange(100) % 2 == 0, 20.0, -10.0)  # unrelated to y
    >>> bool(held_out_gain(shuffled, p, y, np.random.default_rng(0))[1] > 0)
    False
    """
    d = log_loss(outcome, probability - points / 100) - log_loss(outcome, probability)
    lo, hi = _bootstrap(d, rng, groups)
    return float(d.mean()) if len(d) else float("nan"), lo, hi


def touchpoint_effects(
    m: CauseMatrix,
    exposed: pd.DataFrame,
    *,
    min_exposed: int = 20,
    seed: int = 0,
    held_out: HeldOut | None = None,
) -> pd.DataFrame:
    """Per touchpoint: customers exposed, mean contribution of its cause among them (points),
    a bootstrap 95 % interval, the held-out evidence (``evidence``, ``evidence_low``,
    ``evidence_high``: :func:`held_out_gain`) among the exposed rows of ``held_out`` when given,
    else among the exposed rows of ``m`` when ``m.outcome`` is known (NaN otherwise), and
    whether the effect is ``measurable`` (:func:`measurable`). Touchpoints with fewer than
    ``min_exposed`` exposed customers are left out."""
    rng = np.random.default_rng(seed)
    judged = held_out is not None or m.outcome is not None
    rows = []
    for tp in exposed.columns:
        mask = exposed[tp].to_numpy(bool)
        col = f"touchpoint:{tp}"
        if mask.sum() < min_exposed or col not in m.points.columns:
            continue
        v = m.points[col].to_numpy()[mask]
        lo, hi = _bootstrap(v, rng, _rows(m.groups, mask))
        ev = _evidence(m, col, mask, rng, held_out)
        rows.append(
            {
                "touchpoint": tp,
                "label": humanize(tp),
                "exposed": int(mask.sum()),
                "share_exposed": float(mask.mean()),
                "effect": float(v.mean()),
                "ci_low": lo,
                "ci_high": hi,
                "evidence": ev[0],
                "evidence_low": ev[1],
                "evidence_high": ev[2],
                "measurable": measurable(lo, hi, float(v.mean()), ev[1] if judged else None),
            }
        )
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


#: the columns of :func:`touchpoint_effects`
EFFECT_COLUMNS = [
    "touchpoint",
    "label",
    "exposed",
    "share_exposed",
    "effect",
    "ci_low",
    "ci_high",
    "evidence",
    "evidence_low",
    "evidence_high",
    "measurable",
]


def _evidence(
    m: CauseMatrix,
    col: str,
    mask: np.ndarray,
    rng: np.random.Generator,
    held_out: HeldOut | None = None,
) -> tuple[float, float, float]:
    """The held-out gain of cause ``col`` (``touchpoint:…`` or ``transition:…``): on the rows
    of ``held_out`` that went through it when given, else on ``m``'s rows ``mask`` when their
    outcomes are known; NaN without outcomes or without such rows. A cause the held-out rows'
    predictions never use gains exactly nothing (no evidence)."""
    if held_out is not None:
        m = held_out.matrix
        kind, _, name = col.partition(":")
        present = held_out.exposed if kind == "touchpoint" else held_out.transitions
        if name in present.columns:
            mask = present[name].to_numpy(bool)
        else:
            mask = np.zeros(len(m.probability), bool)
    if m.outcome is None:
        return float("nan"), float("nan"), float("nan")
    y = np.asarray(m.outcome, dtype=np.float64)[mask]
    pts = m.points[col].to_numpy()[mask] if col in m.points.columns else np.zeros(len(y))
    return held_out_gain(pts, m.probability[mask], y, rng, _rows(m.groups, mask))


def _rows(groups: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    return None if groups is None else np.asarray(groups)[mask]


def harm_sign(task: TaskConfig) -> int | None:
    """Which way of moving the task's outcome is harmful: +1 (raising: a lapse), -1 (lowering:
    an outcome the customer is to reach, ``occurs``), None when the task does not say (a case
    outcome can be wanted, like an approval, or not, like a wait)."""
    if task.kind == "lapses":
        return 1
    if task.kind == "occurs":
        return -1
    return None


def pain_points(effects: pd.DataFrame, sign: int, top: int = 8) -> pd.DataFrame:
    """Touchpoints whose measurable effect moves the outcome the harmful way (``sign``: +1
    raising, -1 lowering), worst first: ``touchpoint, label, exposed, harm, ci_low, ci_high``
    (``harm`` and the interval in points, turned to harm). A touchpoint with no measurable
    effect (:func:`measurable`: an interval that covers zero, or no held-out evidence) is never
    listed."""
    cols = ["touchpoint", "label", "exposed", "harm", "ci_low", "ci_high"]
    if effects.empty:
        return pd.DataFrame(columns=cols)
    df = effects[effects["measurable"].astype(bool)].copy()
    df["harm"] = sign * df["effect"]
    lo, hi = sign * df["ci_low"], sign * df["ci_high"]
    df["ci_low"], df["ci_high"] = np.minimum(lo, hi), np.maximum(lo, hi)
    df = df[df["harm"] > 0].sort_values("harm", ascending=False)
    return df[cols].head(top).reset_index(drop=True)


def no_measurable_effect(effects: pd.DataFrame) -> pd.DataFrame:
    """The touchpoints with no measurable effect (:func:`measurable`), most common first."""
    if effects.empty:
        return effects
    df = effects[~effects["measurable"].astype(bool)]
    return df.sort_values("exposed", ascending=False).reset_index(drop=True)


def moments_of_truth(
    m: CauseMatrix,
    tp_effects: pd.DataFrame,
    transitions_present: pd.DataFrame,
    top: int = 8,
    *,
    seed: int = 0,
    min_customers: int = 20,
    held_out: HeldOut | None = None,
) -> pd.DataFrame:
    """Touchpoints and stage transitions with the largest measurable effect (either way) on
    the task's outcome among the customers who went through them (:func:`measurable`, with
    the held-out evidence of ``held_out``'s rows when given, else of ``m``'s rows when
    ``m.outcome`` is known): ``moment, kind, customers, effect, ci_low, ci_high``."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "moment": r.label,
            "kind": "touchpoint",
            "customers": r.exposed,
            "effect": r.effect,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
        }
        for r in tp_effects.itertuples()
        if r.measurable
    ]
    for tr in transitions_present.columns:
        col = f"transition:{tr}"
        mask = transitions_present[tr].to_numpy(bool)
        if col not in m.points.columns or mask.sum() < min_customers:
            continue
        v = m.points[col].to_numpy()[mask]
        lo, hi = _bootstrap(v, rng, _rows(m.groups, mask))
        evidence_low = (
            None
            if held_out is None and m.outcome is None
            else _evidence(m, col, mask, rng, held_out)[1]
        )
        if not measurable(lo, hi, float(v.mean()), evidence_low):
            continue
        rows.append(
            {
                "moment": humanize(tr),
                "kind": "stage transition",
                "customers": int(mask.sum()),
                "effect": float(v.mean()),
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    cols = ["moment", "kind", "customers", "effect", "ci_low", "ci_high"]
    df = pd.DataFrame(rows, columns=cols)
    if df.empty:
        return df
    df = df.reindex(df["effect"].abs().sort_values(ascending=False).index)
    return df.head(top).reset_index(drop=True)


def stage_transitions_present(bundle: ModelBundle, X: np.ndarray) -> pd.DataFrame:
    """Rows × stage transitions ("consideration → conversion"): went through it at least once."""
    cols = {}
    for i, f in enumerate(bundle.spec.features):
        if f.source_type == "transition" and f.name.startswith("transition_stage_"):
            cols[str(f.source)] = X[:, i] > 0
    return pd.DataFrame(cols)


def _label(cause: str) -> str:
    kind, _, name = cause.partition(":")
    if kind == "touchpoint":
        return humanize(name)
    if kind in ("channel", "stage"):
        return f"{humanize(name)} ({kind})"
    return humanize(name)
