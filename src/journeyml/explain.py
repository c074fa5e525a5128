"""Root causes: TreeSHAP contributions grouped by touchpoint, channel, stage and family, in
probability points, with a plain sentence each.

**Method (probability points).** LightGBM's ``pred_contrib`` gives exact TreeSHAP values φᵢ in
raw-score units (log-odds; per class for multiclass) that add up with the bias b to the raw
score f. The model's probability is p = g(f) (sigmoid or softmax, then calibration) and the base
rate p₀ = g(b). We spread Δ = p − p₀ over the features in proportion to their raw contributions,
ψᵢ = φᵢ · Δ / (f − b) (when f ≈ b, ψᵢ = φᵢ · p(1 − p)), so contributions are additive in
probability: Σψᵢ = p − p₀ exactly, signs are kept, and rankings equal the log-odds rankings.

**Grouping.** Every feature names what it is about in its FeatureSpec (``source_type`` /
``source``): all features about support calls (their counts in every window, time since the
last one, support_call as the last touchpoint…) form the root cause ``touchpoint:support_call``.
Categorical sequence features are grouped by the value they hold in the row.

Aggregates are credited to the touchpoints they are made of, so that one touchpoint's signal is
not scattered over the stage and channel it belongs to:

* a stage or channel **count** (``count_stage_retention_30d``) is split over the touchpoints
  counted in it, in proportion to the row's own touchpoint counts in the same window times the
  share of each touchpoint's events in that stage/channel (a :class:`Composition`, from the
  customer's events or a population); nothing is split when the count is zero (an absence is
  about the stage itself);
* "time since the last <stage> event" goes to the touchpoint of that last event;
* the last stage / last channel / current stage go to the touchpoint of the same event
  (``last_stage_2`` ↔ ``last_touchpoint_2``);
* a touchpoint transition ``a → b`` is shared half and half by ``a`` and ``b``.

Stage transitions stay causes of their own (they are moments of truth), as do journey-level
features ("activity", "tenure", "spend", "funnel progress").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from journeyml.bundle import ModelBundle
from journeyml.features.spec import FeatureDef, FeatureSpec, spec_cache, window_label

_TASK_PHRASE = {
    "conversion": "the chance of converting",
    "churn": "churn risk",
}

# journey-level features (no touchpoint/channel/stage of their own) grouped by what they say
_JOURNEY_GROUP = {
    "count": "activity",
    "session": "activity",
    "recency": "activity",
    "value": "spend",
}
_JOURNEY_NAMED = {
    "tenure_days": "tenure",
    "furthest_stage_rank": "funnel progress",
    "days_in_current_stage": "funnel progress",
    "stage_regressions_all": "funnel progress",
    "channel_switches_all": "channel switching",
}
#: share of co-occurrence above which two touchpoints count as one moment of a journey
_EVENT_OF = {"current_stage": 1, "last_channel_1": 1}
_LAST_J = re.compile(r"^last_(?:stage|channel)_(\d+)$")


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


@dataclass(frozen=True)
class Composition:
    """What stage and channel aggregates are made of: for each touchpoint code (rows, the
    spec's touchpoint vocabulary with "other"), the share of its events in each stage and on
    each channel (columns: the spec's stage / channel vocabularies with "other").

    >>> from journeyml.features.spec import FeatureParams
    >>> spec = FeatureSpec(params=FeatureParams(windows_days=(7,)), touchpoints=("visit", "call"),
    ...                    channels=("web", "phone"), stages=("awareness",), features=())
    >>> c = Composition.from_codes(spec, np.array([0, 1, 1]), np.array([0, 1, 0]),
    ...                            np.array([0, 0, 0]))
    >>> c.channel_share[1].tolist()
    [0.5, 0.5, 0.0]
    """

    stage_share: np.ndarray
    channel_share: np.ndarray

    @classmethod
    def from_codes(
        cls,
        spec: FeatureSpec,
        touchpoint: np.ndarray,
        channel: np.ndarray,
        stage: np.ndarray,
    ) -> Composition:
        n_tp = len(spec.vocabulary("touchpoint"))
        shares = []
        for codes, n_cat in (
            (stage, len(spec.vocabulary("stage"))),
            (channel, len(spec.vocabulary("channel"))),
        ):
            ok = (codes >= 0) & (touchpoint >= 0)
            m = np.zeros((n_tp, n_cat))
            np.add.at(m, (touchpoint[ok].astype(np.int64), codes[ok].astype(np.int64)), 1.0)
            tot = m.sum(axis=1, keepdims=True)
            shares.append(np.divide(m, tot, out=np.zeros_like(m), where=tot > 0))
        return cls(stage_share=shares[0], channel_share=shares[1])


class _Index:
    """Name lookups of one spec, built once per spec (see :func:`_index`) and reused by every
    explanation: the serving path explains three tasks per request."""

    def __init__(self, spec: FeatureSpec) -> None:
        from journeyml.features.spec import slug

        self.pos = {f.name: i for i, f in enumerate(spec.features)}
        self.touchpoints = spec.vocabulary("touchpoint")
        self.vocab_pos = {
            d: {v: j for j, v in enumerate(spec.vocabulary(d))} for d in ("stage", "channel")
        }
        self.slugs = [slug(t) for t in self.touchpoints]
        self._count_idx: dict[str, np.ndarray] = {}
        self._days_idx = self._positions("days_since_touchpoint_{}")
        tp_pos = {t: j for j, t in enumerate(self.touchpoints)}
        self.coupled = [
            (tp_pos[a], tp_pos[b]) for a, b in spec.coupled if a in tp_pos and b in tp_pos
        ]
        # features whose root cause never depends on the row: their key, computed once
        self.static: list[tuple[str, str] | None] = [
            group_key(spec, f, 0.0)
            if f.kind == "numeric"
            and (
                f.source_type in ("touchpoint", "journey")
                or (
                    f.source_type == "transition"
                    and not f.name.startswith("transition_touchpoint_")
                )
            )
            else None
            for f in spec.features
        ]

    def _positions(self, pattern: str) -> np.ndarray:
        return np.array([self.pos.get(pattern.format(s), -1) for s in self.slugs], dtype=np.int64)

    @staticmethod
    def _gather(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.where(idx >= 0, x[np.maximum(idx, 0)], np.nan) if len(x) else idx * np.nan

    def tp_count(self, x: np.ndarray, w: float | None) -> np.ndarray:
        """The row's touchpoint counts in window ``w`` (NaN where the feature is absent)."""
        wl = window_label(w)
        idx = self._count_idx.get(wl)
        if idx is None:
            idx = self._count_idx[wl] = self._positions("count_touchpoint_{}_" + wl)
        return self._gather(x, idx)

    def tp_days_since(self, x: np.ndarray) -> np.ndarray:
        return self._gather(x, self._days_idx)


def _index(spec: FeatureSpec) -> _Index:
    return spec_cache(spec, "explain_index", lambda: _Index(spec))


def _label(spec: FeatureSpec, f: FeatureDef, x: float) -> str | None:
    if f.vocabulary is None or not np.isfinite(x):
        return None
    vocab = spec.vocabulary(f.vocabulary)
    i = int(x)
    return vocab[i] if 0 <= i < len(vocab) else None


def group_key(spec: FeatureSpec, f: FeatureDef, x: float) -> tuple[str, str]:
    """(kind, name) of the root cause a feature value belongs to (before aggregates are split
    over touchpoints, see :func:`allocate`)."""
    if f.kind == "categorical" and f.source_type in ("touchpoint", "channel", "stage"):
        lab = _label(spec, f, x)
        return (f.source_type, lab) if lab is not None else ("journey", "history")
    if f.source_type == "attribute":
        lab = _label(spec, f, x) if f.kind == "categorical" else None
        return ("attribute", f"{f.source} = {lab}" if lab is not None else str(f.source))
    if f.source is not None:
        return (f.source_type, f.source)
    return ("journey", _JOURNEY_NAMED.get(f.name, _JOURNEY_GROUP.get(f.family, f.family)))


def _same_event_touchpoint(spec: FeatureSpec, ix: _Index, f: FeatureDef, x: np.ndarray) -> str:
    """The touchpoint of the event a last-stage / last-channel / current-stage feature reads."""
    m = _LAST_J.match(f.name)
    j = int(m.group(1)) if m else _EVENT_OF.get(f.name)
    if j is None:
        return ""
    i = ix.pos.get(f"last_touchpoint_{j}")
    if i is None:
        return ""
    return _label(spec, spec.features[i], float(x[i])) or ""


def allocate(
    spec: FeatureSpec,
    x: np.ndarray,
    psi: np.ndarray,
    composition: Composition | None = None,
) -> dict[tuple[str, str], dict[int, float]]:
    """Each root cause → {feature index: the part of that feature's contribution it gets}.

    The parts of one feature add up to its contribution (nothing is lost or double-counted).
    """
    ix = _index(spec)
    out: dict[tuple[str, str], dict[int, float]] = {}

    def add(key: tuple[str, str], i: int, amount: float) -> None:
        g = out.setdefault(key, {})
        g[i] = g.get(i, 0.0) + amount

    days_since: np.ndarray | None = None
    counts_in: dict[float | None, tuple[np.ndarray, np.ndarray]] = {}

    def tp_counts(w: float | None) -> tuple[np.ndarray, np.ndarray]:
        """(counts with NaN as 0, indices of the touchpoints present) in window ``w``."""
        if w not in counts_in:
            c = ix.tp_count(x, w)
            c = np.where(np.isnan(c), 0.0, c)
            counts_in[w] = (c, np.flatnonzero(c))
        return counts_in[w]

    static = ix.static
    for i, f in enumerate(spec.features):
        v = float(psi[i])
        if v == 0.0:
            continue
        key = static[i]
        if key is not None:
            add(key, i, v)
            continue
        xi = float(x[i])
        if f.kind == "categorical" and f.source_type in ("stage", "channel"):
            tp = _same_event_touchpoint(spec, ix, f, x)
            if tp:
                add(("touchpoint", tp), i, v)
                continue
        if f.source_type == "transition" and f.name.startswith("transition_touchpoint_"):
            a, _, b = str(f.source).partition(" → ")
            add(("touchpoint", a), i, v / 2)
            add(("touchpoint", b), i, v / 2)
            continue
        if composition is not None and f.source_type in ("stage", "channel") and f.source:
            share = (
                composition.stage_share if f.source_type == "stage" else composition.channel_share
            )
            col = ix.vocab_pos[f.source_type].get(f.source)
            if col is not None and f.family == "count" and xi > 0:
                c, present = tp_counts(f.window_days)
                w = c[present] * share[present, col]
                total = float(w.sum())
                if total > 0:
                    for j, wj in zip(present.tolist(), w.tolist(), strict=True):
                        if wj > 0:
                            add(("touchpoint", ix.touchpoints[j]), i, v * wj / total)
                    continue
            if col is not None and f.family == "recency" and np.isfinite(xi):
                if days_since is None:
                    days_since = ix.tp_days_since(x)
                d = np.where(share[:, col] > 0, days_since, np.nan)
                if np.isfinite(d).any():
                    add(("touchpoint", ix.touchpoints[int(np.nanargmin(d))]), i, v)
                    continue
        add(group_key(spec, f, xi), i, v)
    for a, b in coupled_touchpoints(ix, x):
        ga = out.pop(("touchpoint", a), None)
        if ga:
            g = out.setdefault(("touchpoint", b), {})
            for i, amount in ga.items():
                g[i] = g.get(i, 0.0) + amount
    return out


def coupled_touchpoints(ix: _Index, x: np.ndarray) -> list[tuple[str, str]]:
    """Touchpoint pairs ``(a, b)`` that are one moment of this journey: the pair is coupled in
    the training population (``FeatureSpec.coupled``: at least 75 % of the ``b`` events come
    right after an ``a``, like a payment error right after a checkout), and the row has no
    more ``a`` than ``b`` events (every checkout of this journey ended in a payment error). The
    features cannot tell such a pair apart, so ``a``'s contributions are credited to ``b``,
    what the customer ended with. Never learned from the journey being explained."""
    if not ix.coupled:
        return []
    counts = ix.tp_count(x, None)
    counts = np.where(np.isnan(counts), 0.0, counts)
    best: dict[int, int] = {}
    for a, b in ix.coupled:
        if (
            counts[a] > 0
            and counts[b] >= counts[a]
            and (a not in best or counts[b] > counts[best[a]])
        ):
            best[a] = b
    return [(ix.touchpoints[a], ix.touchpoints[b]) for a, b in best.items()]


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


def task_phrase(task: str, class_name: str | None = None) -> str:
    """The quantity a cause moves, in words.

    >>> task_phrase("churn"), task_phrase("next_stage", "retention")
    ('churn risk', 'the chance that the next stage is retention')
    """
    return (
        _TASK_PHRASE.get(task) or f"the chance that the next stage is {humanize(class_name or '')}"
    )


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
    bundle: ModelBundle, X: np.ndarray, class_index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ψ in probability units rows × F, p rows, p0 rows) for binary tasks, or for the class
    ``class_index[row]`` of a multiclass task."""
    c = bundle.contributions(X)
    if bundle.kind == "binary":
        phi, bias = c[:, :-1], c[:, -1]
        raw = phi.sum(axis=1)
        p = bundle.predict_proba(X)
        p0 = bundle.calibrator.apply(1.0 / (1.0 + np.exp(-bias)))
        return probability_points(phi, raw, p, p0), p, p0
    assert class_index is not None
    rows = np.arange(X.shape[0])
    bias_all = c[:, :, -1]
    e0 = np.exp(bias_all - bias_all.max(axis=1, keepdims=True))
    p0_all = e0 / e0.sum(axis=1, keepdims=True)
    phi = c[rows, class_index, :-1]
    p = bundle.predict_proba(X)[rows, class_index]
    p0 = p0_all[rows, class_index]
    return probability_points(phi, phi.sum(axis=1), p, p0), p, p0


def cause_totals(
    spec: FeatureSpec,
    x: np.ndarray,
    psi: np.ndarray,
    composition: Composition | None = None,
) -> dict[tuple[str, str], float]:
    """Every root cause of one row with its total contribution (probability units)."""
    return {k: float(sum(v.values())) for k, v in allocate(spec, x, psi, composition).items()}


def root_causes(
    spec: FeatureSpec,
    x: np.ndarray,
    psi: np.ndarray,
    *,
    task: str,
    top_k: int = 3,
    class_name: str | None = None,
    composition: Composition | None = None,
) -> list[RootCause]:
    """Group one row's contributions (probability units) and keep the ``top_k`` largest."""
    groups = allocate(spec, x, psi, composition)
    ix = _index(spec)
    phrase = task_phrase(task, class_name)
    totals = {k: float(sum(v.values())) for k, v in groups.items()}
    ranked = sorted(groups.items(), key=lambda kv: -abs(totals[kv[0]]))[:top_k]
    out: list[RootCause] = []
    for (kind, name), parts in ranked:
        total = totals[(kind, name)]
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
            task=bundle.task.name,
            top_k=top_k,
            class_name=None if class_index is None else bundle.classes[int(class_index[r])],
            composition=composition,
        )
        for r in range(X.shape[0])
    ]


def composition_of(spec: FeatureSpec, codes: Mapping[str, np.ndarray]) -> Composition:
    """:class:`Composition` from arrays ``touchpoint``, ``channel``, ``stage`` (spec codes)."""
    return Composition.from_codes(spec, codes["touchpoint"], codes["channel"], codes["stage"])
