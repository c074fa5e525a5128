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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from journeyml.bundle import ModelBundle
from journeyml.features.spec import FeatureDef, FeatureSpec

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
            "points": round(self.points, 4),
            "direction": "raises" if self.points > 0 else "lowers",
            "sentence": self.sentence,
            "features": self.features,
            "events": self.events,
        }


def probability_points(
    contrib: np.ndarray, raw: np.ndarray, p: np.ndarray, p0: np.ndarray
) -> np.ndarray:
    """Spread ``p - p0`` over features in proportion to raw contributions (rows × F)."""
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


def _label(spec: FeatureSpec, f: FeatureDef, x: float) -> str | None:
    if f.vocabulary is None or not np.isfinite(x):
        return None
    vocab = spec.vocabulary(f.vocabulary)
    i = int(x)
    return vocab[i] if 0 <= i < len(vocab) else None


def group_key(spec: FeatureSpec, f: FeatureDef, x: float) -> tuple[str, str]:
    """(kind, name) of the root cause a feature value belongs to."""
    if f.kind == "categorical" and f.source_type in ("touchpoint", "channel", "stage"):
        lab = _label(spec, f, x)
        return (f.source_type, lab) if lab is not None else ("journey", "history")
    if f.source_type == "attribute":
        lab = _label(spec, f, x) if f.kind == "categorical" else None
        return ("attribute", f"{f.source} = {lab}" if lab is not None else str(f.source))
    if f.source is not None:
        return (f.source_type, f.source)
    return ("journey", _JOURNEY_NAMED.get(f.name, _JOURNEY_GROUP.get(f.family, f.family)))


def _describe(spec: FeatureSpec, f: FeatureDef, x: float) -> str:
    lab = _label(spec, f, x)
    if not np.isfinite(x) and f.kind == "numeric":
        return f"no {f.source or 'event'} so far" if f.family == "recency" else f"{f.name}: none"
    try:
        return f.template.format(value=x, label=lab if lab is not None else "none")
    except (ValueError, KeyError):
        return f"{f.name} = {x:g}"


def root_causes(
    spec: FeatureSpec,
    x: np.ndarray,
    psi: np.ndarray,
    *,
    task: str,
    top_k: int = 3,
    class_name: str | None = None,
) -> list[RootCause]:
    """Group one row's contributions (probability units) and keep the ``top_k`` largest."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, f in enumerate(spec.features):
        if psi[i] == 0.0:
            continue
        groups.setdefault(group_key(spec, f, float(x[i])), []).append(i)
    phrase = _TASK_PHRASE.get(task) or f"the chance that the next stage is {class_name}"
    ranked = sorted(groups.items(), key=lambda kv: -abs(float(psi[kv[1]].sum())))[:top_k]
    out: list[RootCause] = []
    for (kind, name), idx in ranked:
        total = float(psi[idx].sum())
        lead = max(idx, key=lambda i: abs(float(psi[i])))
        what = _describe(spec, spec.features[lead], float(x[lead]))
        more = (
            f" (with {len(idx) - 1} related signal{'s' if len(idx) > 2 else ''})"
            if len(idx) > 1
            else ""
        )
        verb = "raised" if total > 0 else "lowered"
        sentence = f"{what}{more} {verb} {phrase} by {abs(total) * 100:.1f} points"
        out.append(
            RootCause(
                f"{kind}:{name}",
                kind,
                name,
                total * 100,
                sentence[0].upper() + sentence[1:],
                [spec.features[i].name for i in idx],
            )
        )
    return out
