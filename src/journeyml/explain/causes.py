"""Root causes: TreeSHAP contributions grouped by touchpoint, channel, stage and family, in
probability points, with a plain sentence each.

**Method (probability points).** LightGBM's ``pred_contrib`` gives exact TreeSHAP values φᵢ in
raw-score units (log-odds; per class for multiclass) that add up with the bias b to the raw
score f. The model's probability is p = g(f) (sigmoid or softmax, then calibration) and the base
rate p₀ = g(b). We spread Δ = p − p₀ over the features in proportion to their raw contributions,
ψᵢ = φᵢ · Δ / (f − b) (when f ≈ b, ψᵢ = φᵢ · p(1 − p)), so contributions are additive in
probability: Σψᵢ = p − p₀ exactly, signs are kept, and rankings equal the log-odds rankings.

**Grouping** into root causes (by touchpoint, channel, stage, transition, attribute and
journey-level family, aggregates credited to the touchpoints they are made of) is
:mod:`journeyml.explain.allocation`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from journeyml.explain.allocation import (
    Composition,
    Plan,
    _Index,
    _index,
    _label,
    allocate,
)
from journeyml.features import FeatureDef, FeatureSpec
from journeyml.modeling import ModelBundle
from journeyml.tasks import LEGACY_TASKS, TaskConfig, legacy_task


def humanize(name: str) -> str:
    """A vocabulary value in plain words.

    >>> humanize("support_call"), humanize("Queued|Awaiting Assignment"), humanize("call_center")
    ('support call', 'queued / awaiting assignment', 'call center')
    """
    text = str(name).replace("|", " / ").replace("_", " ").replace("-", " ")
    return re.sub(r"\s+", " ", text).strip().lower()


def plural(name: str, n: float = 2) -> str:
    """``n`` events of a touchpoint, in words (English plural of the last word).

    >>> plural("support_call"), plural("complaint", 1), plural("brand_survey"), plural("search")
    ('support calls', 'complaint', 'brand surveys', 'searches')
    """
    words = humanize(name)
    if n == 1 or not words:
        return words
    if re.search(r"(s|x|z|ch|sh)$", words):
        return words + "es"
    if re.search(r"[^aeiou]y$", words):
        return words[:-1] + "ies"
    return words + "s"


def span(days: float | None) -> str:
    """``7`` → ``'in the last 7 days'``; ``None`` → ``'so far'``.

    >>> span(1), span(30), span(None)
    ('in the last day', 'in the last 30 days', 'so far')
    """
    if days is None:
        return "so far"
    return "in the last day" if days == 1 else f"in the last {days:g} days"


def format_points(points: float) -> str:
    """Probability points (0–100 scale, unsigned) with sensible precision.

    >>> format_points(9.04), format_points(0.42), format_points(0.004)
    ('9 points', '0.4 points', 'less than 0.1 point')
    """
    a = abs(points)
    if a >= 1.5:
        return f"{a:.0f} points"
    if a >= 0.95:
        return "1 point"
    if a >= 0.05:
        return f"{a:.1f} points"
    return "less than 0.1 point"


@dataclass
class RootCause:
    """One root cause of one prediction."""

    cause: str  # e.g. "touchpoint:support_call"
    kind: str  # touchpoint | channel | stage | transition | attribute | journey
    name: str  # e.g. "support_call"
    points: float  # contribution in probability points (0-100 scale), signed
    sentence: str
    features: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "kind": self.kind,
            "name": self.name,
            "label": humanize(self.name),
            "points": round(self.points, 4),
            "direction": "raises" if self.points > 0 else "lowers",
            "sentence": self.sentence,
            "features": self.features,
            "events": self.events,
        }


def _describe(spec: FeatureSpec, f: FeatureDef, x: float) -> str:
    lab = _label(spec, f, x)
    if not np.isfinite(x) and f.kind == "numeric":
        if f.family == "recency":
            return f"no {plural(f.source, 1) if f.source else 'event'} so far"
        return f"{f.name}: none"
    try:
        text = f.template.format(value=x, label=humanize(lab) if lab is not None else "none")
    except (ValueError, KeyError):
        return f"{f.name} = {x:g}"
    return text.replace("3th-last", "third-last").replace("2th-last", "second-last")


def _touchpoint_phrase(spec: FeatureSpec, ix: _Index, x: np.ndarray, tp: str) -> str:
    """ "2 support calls in the last 7 days" / "last support call 45 days ago" / "no …"."""
    j = ix.touchpoints.index(tp) if tp in ix.touchpoints else -1
    if j < 0:
        return humanize(tp)
    for w in sorted(spec.params.windows_days):
        c = ix.tp_count(x, w)[j]
        if np.isfinite(c) and c > 0:
            return f"{c:g} {plural(tp, c)} {span(w)}"
    d = ix.tp_days_since(x)[j]
    if np.isfinite(d):
        ago = "today" if d < 1 else f"{d:.0f} day{'s' if round(d) != 1 else ''} ago"
        c_all = ix.tp_count(x, None)[j]
        n = f" ({c_all:g} in all)" if np.isfinite(c_all) and c_all > 1 else ""
        return f"last {humanize(tp)} {ago}{n}"
    c_all = ix.tp_count(x, None)[j]
    if np.isfinite(c_all) and c_all == 0:
        return f"no {humanize(tp)} so far"
    return f"{humanize(tp)} in the journey"


def task_phrase(task: TaskConfig | str, class_name: str | None = None) -> str:
    """The quantity a cause moves, in words: the task's ``description``, else a phrase from
    its kind and outcome (a name alone: the demo's three tasks).

    >>> from journeyml.tasks import EventMatch
    >>> demo = TaskConfig("books_demo", "occurs", horizon_days=14,
    ...                   outcome=EventMatch(("product_demo",)))
    >>> task_phrase(demo), task_phrase("churn")
    ('the chance of product demo within 14 days', 'churn risk')
    >>> task_phrase("next_stage", "retention")
    'the chance that the next stage is retention'
    """
    if isinstance(task, str):
        if task not in LEGACY_TASKS:
            return f"the {humanize(task)} prediction"
        task = legacy_task({"name": task})
    return task.phrase(class_name, humanize)


def probability_points(
    contrib: np.ndarray, raw: np.ndarray, p: np.ndarray, p0: np.ndarray
) -> np.ndarray:
    """Spread ``p - p0`` over features in proportion to raw contributions (rows × F).

    >>> phi = np.array([[1.0, -0.5]])
    >>> psi = probability_points(phi, phi.sum(axis=1), np.array([0.7]), np.array([0.5]))
    >>> psi.round(3).tolist(), round(float(psi.sum()), 9)
    ([[0.4, -0.2]], 0.2)
    """
    denom = raw[:, None]
    delta = (p - p0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = contrib * delta / denom
    small = np.abs(denom[:, 0]) < 1e-9
    if small.any():
        scaled[small] = contrib[small] * (p * (1 - p))[small, None]
    return np.asarray(scaled)


def task_contributions(
    bundle: ModelBundle,
    X: np.ndarray,
    class_index: np.ndarray | None = None,
    proba: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ψ in probability units rows × F, p rows, p0 rows) for binary tasks, or for the class
    ``class_index[row]`` of a multiclass task (``proba``: its rows × K probabilities, when
    already computed)."""
    if bundle.kind == "binary":
        c = bundle.contributions(X)
        phi, bias = c[:, :-1], c[:, -1]
        raw = phi.sum(axis=1)
        p = bundle.binary_proba(X, raw + bias)
        p0 = bundle.calibrator.apply(1.0 / (1.0 + np.exp(-bias)))
        return probability_points(phi, raw, p, p0), p, p0
    assert class_index is not None
    rows = np.arange(X.shape[0])
    bias_all = bundle.expected_raw
    e0 = np.exp(bias_all - bias_all.max())
    p0 = (e0 / e0.sum())[class_index]
    phi = bundle.class_contributions(X, class_index)[:, :-1]
    p = (bundle.predict_proba(X) if proba is None else proba)[rows, class_index]
    return probability_points(phi, phi.sum(axis=1), p, p0), p, p0


def cause_totals(
    spec: FeatureSpec,
    x: np.ndarray,
    psi: np.ndarray,
    composition: Composition | None = None,
) -> dict[tuple[str, str], float]:
    """Every root cause of one row with its total contribution (probability units)."""
    return allocate(spec, x, psi, composition).totals()


def root_causes(
    spec: FeatureSpec,
    x: np.ndarray,
    psi: np.ndarray,
    *,
    task: TaskConfig | str,
    top_k: int = 3,
    class_name: str | None = None,
    composition: Composition | None = None,
    plan: Plan | None = None,
) -> list[RootCause]:
    """Group one row's contributions (probability units) and keep the ``top_k`` largest.
    ``task``: its :class:`TaskConfig` words the sentences (see :func:`task_phrase`).
    ``plan``: the row's :class:`Plan` when several tasks explain the same row (else built
    from ``x`` and ``composition``)."""
    groups = (plan or Plan.for_row(spec, x, composition)).apply(psi)
    ix = _index(spec)
    phrase = task_phrase(task, class_name)
    out: list[RootCause] = []
    for (kind, name), total, parts in groups.top(top_k):
        if kind == "touchpoint":
            what = _touchpoint_phrase(spec, ix, x, name)
        else:
            lead = max(parts, key=lambda i: abs(parts[i]))
            what = _describe(spec, spec.features[lead], float(x[lead]))
        verb = "raised" if total > 0 else "lowered"
        sentence = f"{what} {verb} {phrase} by {format_points(total * 100)}"
        out.append(
            RootCause(
                f"{kind}:{name}",
                kind,
                name,
                total * 100,
                sentence[0].upper() + sentence[1:],
                [spec.features[i].name for i in sorted(parts, key=lambda i: -abs(parts[i]))],
            )
        )
    return out


def explain_rows(
    bundle: ModelBundle,
    X: np.ndarray,
    *,
    top_k: int = 3,
    class_index: np.ndarray | None = None,
    composition: Composition | None = None,
) -> list[list[RootCause]]:
    """Root causes of many rows of one task (the predicted class for multiclass tasks)."""
    if bundle.kind == "multiclass" and class_index is None:
        class_index = np.argmax(bundle.predict_proba(X), axis=1)
    psi, _, _ = task_contributions(bundle, X, class_index)
    return [
        root_causes(
            bundle.spec,
            X[r],
            psi[r],
            task=bundle.task,
            top_k=top_k,
            class_name=None if class_index is None else bundle.classes[int(class_index[r])],
            composition=composition,
        )
        for r in range(X.shape[0])
    ]


def composition_of(spec: FeatureSpec, codes: Mapping[str, np.ndarray]) -> Composition:
    """:class:`Composition` from arrays ``touchpoint``, ``channel``, ``stage`` (spec codes)."""
    return Composition.from_codes(spec, codes["touchpoint"], codes["channel"], codes["stage"])
