"""Gather everything the report shows: drivers, pain points, moments of truth, the journey map,
journey metrics, reliability and explained example customers.

The report's moment of prediction is ``as_of = end of the log − the longest horizon``: every
customer seen before it is scored from the events before it, and the outcomes after it are
observed, so the same population gives drivers and an honest reliability diagram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from journeyml.events import CUSTOMER_ID, TIMESTAMP, is_canonical, to_canonical
from journeyml.explain import Composition, insights
from journeyml.explain import journey_map as insights_map
from journeyml.features import AS_OF, build_features, encode_frame
from journeyml.modeling import reliability_curve
from journeyml.progress import NO_PROGRESS, Progress
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.tasks import make_labels

BINARY = ("conversion", "churn")


#: touchpoint paths show the last this many touchpoints before as_of
TOUCHPOINT_STEPS = 2


@dataclass
class ReportData:
    as_of: pd.Timestamp
    n_customers: int
    n_events: int
    versions: dict[str, str]
    metrics: dict[str, float]
    drivers: dict[str, pd.DataFrame] = field(default_factory=dict)
    matrices: dict[str, insights.CauseMatrix] = field(default_factory=dict)
    present: dict[str, pd.DataFrame] = field(default_factory=dict)
    segments: dict[str, pd.DataFrame] = field(default_factory=dict)
    pain_points: pd.DataFrame = field(default_factory=pd.DataFrame)
    moments: pd.DataFrame = field(default_factory=pd.DataFrame)
    paths: pd.DataFrame = field(default_factory=pd.DataFrame)
    touchpoint_paths: pd.DataFrame = field(default_factory=pd.DataFrame)
    touchpoint_flow: pd.DataFrame = field(default_factory=pd.DataFrame)
    flow: pd.DataFrame = field(default_factory=pd.DataFrame)
    reliability: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)
    window_days: float = 30.0


def report_cutoffs(events: pd.DataFrame, horizon_days: float) -> pd.DataFrame:
    """One cutoff per customer seen before ``end − horizon`` (end: one second after the last
    event)."""
    end = events[TIMESTAMP].max() + pd.Timedelta(1, "s")
    as_of = (end - pd.Timedelta(days=horizon_days)).floor("D")
    first = events.groupby(CUSTOMER_ID, sort=True)[TIMESTAMP].min()
    ids = first.index[first < as_of].astype(str)
    return pd.DataFrame({CUSTOMER_ID: pd.Series(ids, dtype=object), AS_OF: as_of})


def gather(
    predictor: Predictor,
    events: pd.DataFrame,
    *,
    n_examples: int = 3,
    seed: int = 0,
    progress: Progress = NO_PROGRESS,
) -> ReportData:
    """Everything the report shows; ``progress`` hears the stages (``features``,
    ``explaining`` per task, ``journey map``, ``examples``)."""
    ev = events if is_canonical(events) else to_canonical(events)
    tasks = [t for t in BINARY if t in predictor.bundles]
    horizon = max(predictor.bundles[t].task.horizon_days or 0.0 for t in predictor.tasks)
    cut = report_cutoffs(ev, horizon)
    as_of = pd.Timestamp(cut[AS_OF].iloc[0]) if len(cut) else ev[TIMESTAMP].max()
    end = ev[TIMESTAMP].max() + pd.Timedelta(1, "s")
    spec = predictor.spec
    with progress.stage("features", total=len(cut), unit="customers"):
        X = build_features(ev, cut, spec).to_numpy()
    arr = encode_frame(ev, spec)
    comp = Composition.from_codes(spec, arr.touchpoint, arr.channel, arr.stage)
    conv_tps: tuple[str, ...] = ("purchase",)
    if "conversion" in predictor.bundles:
        conv_tps = predictor.bundles["conversion"].task.outcome.touchpoints
    data = ReportData(
        as_of=as_of,
        n_customers=int(ev[CUSTOMER_ID].nunique()),
        n_events=len(ev),
        versions=predictor.versions(),
        metrics=insights_map.journey_metrics(ev, conversion_touchpoints=conv_tps),
    )
    windows = spec.params.windows_days
    data.window_days = float(max(windows))
    exposed = insights.exposure(predictor.bundles[tasks[0]], X, max(windows)) if tasks else None
    effects: dict[str, pd.DataFrame] = {}
    outcomes = pd.DataFrame(index=cut[CUSTOMER_ID].to_numpy())
    with progress.stage("explaining", total=len(tasks), unit="tasks") as stage:
        for t in tasks:
            b = predictor.bundles[t]
            lab = make_labels(ev, cut, b.task, observation_end=end)
            elig = lab["eligible"].to_numpy(bool)
            if elig.sum() == 0:
                stage.advance()
                continue
            Xe = X[elig]
            m = insights.cause_matrix(b, Xe, comp)
            data.matrices[t] = m
            data.drivers[t] = insights.global_drivers(m)
            y = lab["label"].to_numpy()[elig].astype(int)
            data.reliability[t] = reliability_curve(y, m.probability)
            ids = cut[CUSTOMER_ID].to_numpy()[elig]
            outcomes.loc[ids, "converted" if t == "conversion" else "churned"] = y
            outcomes.loc[ids, f"p_{t}"] = m.probability
            if "segment" in ev.columns:
                seg = ev.groupby(CUSTOMER_ID)["segment"].first().reindex(ids)
                data.segments[t] = insights.drivers_by_segment(m, seg, top=4)
            assert exposed is not None
            ex = exposed[elig].reset_index(drop=True)
            effects[t] = insights.touchpoint_effects(m, ex, seed=seed)
            top_causes = list(data.drivers[t]["cause"].head(8))
            data.present[t] = _presence(m.points[top_causes], ex)
            stage.advance()
    # the outcomes themselves (a purchase, a cancellation) are what is predicted, not friction
    # or a decision on the way to it: they are left out of pain points and moments of truth
    outcome_tps = {tp for b in predictor.bundles.values() for tp in b.task.outcome_touchpoints}
    effects = {
        t: e[~e["touchpoint"].isin(outcome_tps)] if "touchpoint" in e.columns else e
        for t, e in effects.items()
    }
    data.pain_points = insights.pain_points(effects.get("churn"), effects.get("conversion"))
    if "conversion" in data.matrices:
        b = predictor.bundles["conversion"]
        lab = make_labels(ev, cut, b.task, observation_end=end)
        elig = lab["eligible"].to_numpy(bool)
        trans = insights.stage_transitions_present(b, X[elig])
        data.moments = insights.moments_of_truth(
            data.matrices["conversion"], effects["conversion"], trans, seed=seed
        )
    with progress.stage("journey map", unit="steps"):
        paths = insights_map.stage_paths(ev, as_of)
        data.paths = insights_map.main_paths(paths, outcomes)
        data.flow = insights_map.flow_links(paths, list(data.paths["path"]))
        tp_paths = insights_map.touchpoint_paths(ev, as_of, last=TOUCHPOINT_STEPS)
        data.touchpoint_paths = insights_map.main_paths(tp_paths, outcomes, top=10)
        data.touchpoint_flow = insights_map.flow_links(
            tp_paths, list(data.touchpoint_paths["path"]), end=None
        )
    with progress.stage("examples", total=n_examples, unit="customers"):
        data.examples = _examples(predictor, ev, cut, outcomes, n_examples)
    return data


def _presence(points: pd.DataFrame, exposed: pd.DataFrame) -> pd.DataFrame:
    """For the beeswarm: was the cause part of the customer's recent journey?"""
    out = {}
    for c in points.columns:
        kind, _, name = c.partition(":")
        if kind == "touchpoint" and name in exposed.columns:
            out[c] = exposed[name].to_numpy(bool)
        else:
            out[c] = points[c].to_numpy() != 0
    return pd.DataFrame(out, index=points.index)


def _examples(
    predictor: Predictor,
    ev: pd.DataFrame,
    cut: pd.DataFrame,
    outcomes: pd.DataFrame,
    n: int,
) -> list[dict[str, Any]]:
    """The riskiest churn customer, the likeliest converter, and a typical one."""
    picks: list[str] = []
    for col, asc in (("p_churn", False), ("p_conversion", False)):
        if col in outcomes.columns:
            s = outcomes[col].dropna().sort_values(ascending=asc)
            picks += [c for c in s.index[:3] if c not in picks][:1]
    if "p_churn" in outcomes.columns:
        s = outcomes["p_churn"].dropna()
        med = (s - s.median()).abs().sort_values()
        picks += [c for c in med.index[:3] if c not in picks][:1]
    picks = picks[:n]
    if not picks:
        return []
    sel = cut[cut[CUSTOMER_ID].isin(picks)]
    rows = predictor.score_frame(ev, sel, ScoreRequest(predictor.tasks, top_k=3))
    for r in rows:
        cid = r["customer_id"]
        j = ev[ev[CUSTOMER_ID].astype(str) == cid]
        j = j[j[TIMESTAMP] < pd.Timestamp(r["as_of"])]
        r["recent"] = [
            f"{t:%Y-%m-%d %H:%M} · {tp} ({ch})"
            for t, tp, ch in zip(
                j[TIMESTAMP].tail(6), j["touchpoint"].tail(6), j["channel"].tail(6), strict=True
            )
        ]
        r["segment"] = str(j["segment"].iloc[0]) if "segment" in j.columns and len(j) else ""
    return rows


def finite(v: float) -> bool:
    return bool(np.isfinite(v))
