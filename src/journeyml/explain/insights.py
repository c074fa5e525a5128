"""Across a population: global drivers, drivers per segment, pain points, moments of truth.

Everything starts from a :class:`CauseMatrix`: one row per customer (cutoff), one column per
root cause, holding the cause's contribution to that customer's prediction in probability
points — the same grouping as the per-prediction explanations
(:meth:`journeyml.explain.Explainer.explain`).

* **Global drivers**: mean absolute contribution per cause (how much it moves predictions) and
  mean signed contribution (which way).
* **Pain points**: touchpoints whose presence (at least one event in the last ``window_days``)
  raises churn risk or lowers the chance of converting the most. The effect is the mean
  contribution of the touchpoint's cause among exposed customers, with a bootstrap 95 % interval
  (percentiles of 400 resamples of the exposed customers, seeded).
* **Moments of truth**: touchpoints and stage transitions with the largest mean effect, either
  way, on conversion among the customers who went through them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from journeyml.explain.allocation import Composition
from journeyml.explain.explainer import Batch, Explainer, Target
from journeyml.explain.phrasing import humanize
from journeyml.features import slug, window_label
from journeyml.modeling import ModelBundle

N_BOOT = 400


@dataclass(frozen=True)
class CauseMatrix:
    """Contributions (probability points) of every root cause to every row's prediction."""

    task: str
    points: pd.DataFrame  # rows × causes ("touchpoint:support_call", ...), 0 where absent
    probability: np.ndarray
    base_rate: np.ndarray


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


def drivers_by_segment(m: CauseMatrix, segments: pd.Series, top: int = 5) -> pd.DataFrame:
    """Top causes per segment/persona: ``segment, n, rank, cause, label, mean_abs, mean``."""
    seg = pd.Series(np.asarray(segments), index=m.points.index).astype(str)
    parts = []
    for s, idx in seg.groupby(seg).groups.items():
        sub = CauseMatrix(m.task, m.points.loc[idx], m.probability, m.base_rate)
        d = global_drivers(sub, top)
        d.insert(0, "rank", np.arange(1, len(d) + 1))
        d.insert(0, "n", len(idx))
        d.insert(0, "segment", s)
        parts.append(d)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def exposure(bundle: ModelBundle, X: np.ndarray, window_days: float | None) -> pd.DataFrame:
    """Rows × touchpoints: at least one event of the touchpoint in the window (bool)."""
    spec = bundle.spec
    pos = {n: i for i, n in enumerate(spec.names)}
    cols = {}
    for tp in spec.touchpoints:
        i = pos.get(f"count_touchpoint_{slug(tp)}_{window_label(window_days)}")
        if i is not None:
            cols[tp] = X[:, i] > 0
    return pd.DataFrame(cols)


def _bootstrap(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    if len(values) < 2:
        v = float(values.mean()) if len(values) else float("nan")
        return v, v
    idx = rng.integers(0, len(values), size=(N_BOOT, len(values)))
    means = values[idx].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def touchpoint_effects(
    m: CauseMatrix, exposed: pd.DataFrame, *, min_exposed: int = 20, seed: int = 0
) -> pd.DataFrame:
    """Per touchpoint: customers exposed, mean contribution of its cause among them (points)
    and a bootstrap 95 % interval."""
    rng = np.random.default_rng(seed)
    rows = []
    for tp in exposed.columns:
        mask = exposed[tp].to_numpy(bool)
        col = f"touchpoint:{tp}"
        if mask.sum() < min_exposed or col not in m.points.columns:
            continue
        v = m.points[col].to_numpy()[mask]
        lo, hi = _bootstrap(v, rng)
        rows.append(
            {
                "touchpoint": tp,
                "label": humanize(tp),
                "exposed": int(mask.sum()),
                "share_exposed": float(mask.mean()),
                "effect": float(v.mean()),
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return pd.DataFrame(rows)


def pain_points(
    churn: pd.DataFrame | None, conversion: pd.DataFrame | None, top: int = 8
) -> pd.DataFrame:
    """Touchpoints that raise churn risk or lower the chance of converting, worst first.

    ``harm`` (points) is the larger of the churn effect and minus the conversion effect; the
    interval is the one of that effect, turned to harm. Only touchpoints whose interval lies
    entirely on the harmful side are listed.
    """
    rows = []
    for frame, sign, outcome in ((churn, 1.0, "churn"), (conversion, -1.0, "conversion")):
        if frame is None or frame.empty:
            continue
        for r in frame.itertuples():
            lo, hi = sorted((sign * r.ci_low, sign * r.ci_high))
            rows.append(
                {
                    "touchpoint": r.touchpoint,
                    "label": r.label,
                    "outcome": outcome,
                    "exposed": r.exposed,
                    "harm": sign * r.effect,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    if not rows:
        return pd.DataFrame(columns=["touchpoint", "label", "outcome", "exposed", "harm"])
    df = pd.DataFrame(rows)
    df = df[df["ci_low"] > 0].sort_values("harm", ascending=False)
    df = df.drop_duplicates("touchpoint", keep="first")
    return df.head(top).reset_index(drop=True)


def moments_of_truth(
    conversion: CauseMatrix,
    tp_effects: pd.DataFrame,
    transitions_present: pd.DataFrame,
    top: int = 8,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Touchpoints and stage transitions with the largest effect (either way) on conversion
    among the customers who went through them."""
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
    ]
    for tr in transitions_present.columns:
        col = f"transition:{tr}"
        mask = transitions_present[tr].to_numpy(bool)
        if col not in conversion.points.columns or mask.sum() < 20:
            continue
        v = conversion.points[col].to_numpy()[mask]
        lo, hi = _bootstrap(v, rng)
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
    df = pd.DataFrame(rows)
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
