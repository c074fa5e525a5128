"""Gather everything the report shows, per task: its outcome as the task defines it, drivers,
drivers per segment, pain points, moments of truth, reliability; then the journey map, journey
metrics and explained example customers.

The report's moment of prediction is ``as_of = end of the log − the longest horizon``: every
customer seen before it is scored from the events before it, and the outcomes after it are
observed, so the same population gives drivers and an honest reliability diagram. Each task is
read on its own eligible population (its labels), and its explanations come from the
Predictor's one entry point (:meth:`journeyml.explain.Explainer.explain`, the customers' own
events behind every row). The held-out evidence behind pain points and moments of truth is read
on the same customers at earlier dates, pooled, with outcomes observed before ``as_of``
(:mod:`journeyml.report.evidence`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from journeyml.events import CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, is_canonical, to_canonical
from journeyml.explain import humanize, insights
from journeyml.explain import journey_map as insights_map
from journeyml.features import AS_OF, Context, cutoff_arrays, encode_frame, features_from_context
from journeyml.progress import NO_PROGRESS, Progress
from journeyml.report.evidence import (
    MAX_ROWS,
    explain_rows,
    own_outcomes_sentence,
    pooled_evidence,
)
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.tasks import TaskConfig, make_labels, reasons_by_cutoff

#: touchpoint paths show the last this many touchpoints before as_of
TOUCHPOINT_STEPS = 2
#: segments: attributes with at most this many values (the most common are kept)
MAX_SEGMENTS = 8


@dataclass
class TaskSection:
    """What the report says about one binary task."""

    name: str
    task: TaskConfig
    eligible: int
    observed_rate: float
    mean_predicted: float
    window_days: float | None
    matrix: insights.CauseMatrix
    drivers: pd.DataFrame
    present: pd.DataFrame
    effects: pd.DataFrame
    pain_sign: int | None
    pain: pd.DataFrame
    helps: pd.DataFrame
    no_effect: pd.DataFrame
    moments: pd.DataFrame
    reliability: dict[str, list[float]]
    segments: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: why there are no effects to rank, when that is the case
    note: str = ""
    #: where the held-out evidence comes from: customers, dates, outcomes
    evidence: str = ""


@dataclass
class ReportData:
    as_of: pd.Timestamp
    n_customers: int
    n_events: int
    versions: dict[str, str]
    metrics: dict[str, float]
    metric_notes: dict[str, str] = field(default_factory=dict)
    tasks: list[TaskSection] = field(default_factory=list)
    #: tasks the report cannot read (multiclass, or nobody eligible), with the reason
    skipped: dict[str, str] = field(default_factory=dict)
    paths: pd.DataFrame = field(default_factory=pd.DataFrame)
    touchpoint_paths: pd.DataFrame = field(default_factory=pd.DataFrame)
    touchpoint_flow: pd.DataFrame = field(default_factory=pd.DataFrame)
    flow: pd.DataFrame = field(default_factory=pd.DataFrame)
    examples: list[dict[str, Any]] = field(default_factory=list)
    has_stages: bool = True
    #: every task's definition (the words of a next task's classes)
    definitions: dict[str, TaskConfig] = field(default_factory=dict)
    #: customers behind the touchpoint paths (the shares' denominator)
    touchpoint_customers: int = 0


def report_cutoffs(
    events: pd.DataFrame, horizon_days: float, *, cases: bool = False
) -> pd.DataFrame:
    """One cutoff per customer seen before ``as_of`` (end: one second after the last event).

    Journeys (``cases=False``): ``as_of = end − horizon``, every customer seen before it.
    Cases of a process (``cases=True``, tasks labelled on case prefixes): the cases in progress
    at ``as_of`` — started before it, with events at or after it — and ``as_of`` the day with
    the most cases in progress among those that leave ``horizon`` days of data after them (a
    closed ticket has nothing left to predict)."""
    end = events[TIMESTAMP].max() + pd.Timedelta(1, "s")
    last_day = (end - pd.Timedelta(days=horizon_days)).floor("D")
    first = events.groupby(CUSTOMER_ID, sort=True)[TIMESTAMP].min()
    if not cases:
        ids = first.index[first < last_day].astype(str)
        return pd.DataFrame({CUSTOMER_ID: pd.Series(ids, dtype=object), AS_OF: last_day})
    last = events.groupby(CUSTOMER_ID, sort=True)[TIMESTAMP].max().reindex(first.index)
    start = first.min().floor("D") + pd.Timedelta(days=1)
    days = pd.date_range(start, max(start, last_day), freq="D")
    f = np.sort(first.to_numpy("datetime64[ns]").view(np.int64))
    la = np.sort(last.to_numpy("datetime64[ns]").view(np.int64))
    t = days.to_numpy("datetime64[ns]").view(np.int64)
    open_ = np.searchsorted(f, t, side="left") - np.searchsorted(la, t, side="left")
    as_of = days[int(np.argmax(open_))] if len(days) else last_day
    keep = (first < as_of) & (last >= as_of)
    ids = first.index[keep].astype(str)
    return pd.DataFrame({CUSTOMER_ID: pd.Series(ids, dtype=object), AS_OF: as_of})


def report_horizon(predictor: Predictor, events: pd.DataFrame) -> float:
    """How far before the end of the log the report predicts: the longest horizon of the
    tasks; for tasks without one (case outcomes), a tenth of the log's span (at least a day),
    so that most cases open at ``as_of`` have ended by the end of the data."""
    hs = [b.task.horizon_days for b in predictor.bundles.values() if b.task.horizon_days]
    if hs:
        return float(max(hs))
    span = (events[TIMESTAMP].max() - events[TIMESTAMP].min()) / pd.Timedelta(days=1)
    return float(max(1.0, span / 10))


def _is_case_log(predictor: Predictor) -> bool:
    """Tasks labelled on case prefixes (a process log) rather than snapshots of journeys."""
    return any(
        b.task.kind == "case_outcome" or b.task.end_of_case for b in predictor.bundles.values()
    )


def project_outcomes(predictor: Predictor) -> list[str]:
    """The touchpoints any task of the project predicts: the served tasks' outcomes and those
    saved with their models at training (a task that stayed challenger still names them)."""
    found = {tp for t in predictor.tasks for tp in predictor.bundles[t].task.outcome_touchpoints}
    for t in predictor.tasks:
        found.update(str(tp) for tp in predictor.bundles[t].info.get("project_outcomes", ()))
    return sorted(found)


def gather(
    predictor: Predictor,
    events: pd.DataFrame,
    *,
    n_examples: int = 3,
    seed: int = 0,
    progress: Progress = NO_PROGRESS,
    evidence_rows: int = MAX_ROWS,
) -> ReportData:
    """Everything the report shows; ``progress`` hears the stages (``features``,
    ``explaining`` and ``evidence`` per task, ``journey map``, ``examples``).
    ``evidence_rows``: at most this many rows at earlier dates are explained for each task's
    held-out evidence (:mod:`journeyml.report.evidence`; 0: the customers' own outcomes after
    ``as_of``, as before the evidence was pooled)."""
    ev = events if is_canonical(events) else to_canonical(events)
    cut = report_cutoffs(ev, report_horizon(predictor, ev), cases=_is_case_log(predictor))
    as_of = pd.Timestamp(cut[AS_OF].iloc[0]) if len(cut) else ev[TIMESTAMP].max()
    end = ev[TIMESTAMP].max() + pd.Timedelta(1, "s")
    spec = predictor.spec
    arr = encode_frame(ev, spec)
    ids_all, as_of_ns, _ = cutoff_arrays(cut)
    with progress.stage("features", total=len(cut), unit="customers"):
        ctx = Context.build(arr, spec, arr.customer_codes(ids_all), as_of_ns)
        X = features_from_context(ctx)
    tasks = {t: predictor.bundles[t].task for t in predictor.tasks}
    metrics, notes = insights_map.task_metrics(ev, list(tasks.values()))
    data = ReportData(
        as_of=as_of,
        n_customers=int(ev[CUSTOMER_ID].nunique()),
        n_events=len(ev),
        versions=predictor.versions(),
        metrics=metrics,
        metric_notes=notes,
        has_stages=bool(ev["stage"].notna().any()) if "stage" in ev.columns else False,
        definitions=tasks,
    )
    history_days = float((as_of - ev[TIMESTAMP].min()) / pd.Timedelta(days=1))
    cust = cut[CUSTOMER_ID].to_numpy().astype(str)
    outcomes = pd.DataFrame(index=cust)
    attributes = _customer_attributes(ev, cust, as_of, spec.params.attributes)
    predicted = project_outcomes(predictor)
    for t, task in tasks.items():
        b = predictor.bundles[t]
        if b.kind != "binary":
            data.skipped[t] = "predicts a class, not a probability: see its example customers"
            continue
        lab = make_labels(ev, cut, task, observation_end=end)
        elig = lab["eligible"].to_numpy(bool)
        if elig.sum() == 0:
            data.skipped[t] = f"no customer is eligible at {as_of:%Y-%m-%d} ({task.population()})"
            continue
        rows = np.flatnonzero(elig)
        with progress.stage(f"explaining {t}", total=len(rows), unit="customers") as st:
            m = explain_rows(predictor, t, X, arr, ctx.start, ctx.end, rows, st)
        y = lab["label"].to_numpy()[elig].astype(int)
        # the held-out evidence behind every effect (insights.held_out_gain): the customers at
        # earlier dates, outcomes observed before as_of; without such dates, the outcomes
        # after as_of of the customers themselves, which the model never trained on
        with progress.stage(f"evidence {t}", unit="cutoffs") as st:
            pooled = pooled_evidence(
                predictor, t, ev, arr, as_of, seed=seed, max_rows=evidence_rows, stage=st
            )
        held = None if pooled is None else pooled.held_out
        if pooled is None:
            m = insights.CauseMatrix(m.task, m.points, m.probability, m.base_rate, outcome=y)
            why = (
                "evidence at earlier dates was not asked for"
                if evidence_rows <= 0
                else "no earlier date is both held out from the model's training and observed "
                "before the moment of prediction"
                if "held_out_from" in b.info
                else "no case started after the model's validation boundary"
                if "held_out_cases_from" in b.info
                else "the model records no held-out dates"
            )
            # a model split by case start that records no boundary may have trained on these
            # very cases: their outcomes are not held out, and the line says so
            unknown_cases = task.horizon_days is None and "held_out_cases_from" not in b.info
            evidence = own_outcomes_sentence(
                len(y),
                int(y.sum()),
                "the model records no held-out cases (train it again to read them)"
                if unknown_cases and evidence_rows > 0
                else why,
                held_out=not unknown_cases,
            )
        else:
            evidence = pooled.sentence()
        ids = cust[elig]
        outcomes.loc[ids, t] = y
        outcomes.loc[ids, f"p_{t}"] = m.probability
        window = insights.exposure_window(task, history_days)
        exposed = insights.exposure_from_events(ev, ids, as_of, window)
        effects = insights.touchpoint_effects(m, exposed, seed=seed, held_out=held)
        # an outcome the project predicts (a purchase, a cancellation) is not friction or a
        # decision on the way to another: a purchase "raises churn" only because a customer
        # must buy before cancelling (a marker of being a customer, not a cause to fix)
        outcome = effects["touchpoint"].isin(predicted)
        note = ""
        if len(effects) and outcome.all():
            note = (
                "the only touchpoints in these journeys are outcomes the tasks predict ("
                + ", ".join(humanize(x) for x in effects["touchpoint"])
                + "): there is no other touchpoint to measure"
            )
        elif ev[TOUCHPOINT].nunique() == 1:
            note = (
                f"the log has one touchpoint ({humanize(str(ev[TOUCHPOINT].iloc[0]))}): its "
                "effect is the customer's activity itself (recency, frequency, see the drivers), "
                "not a touchpoint to fix"
            )
            effects = effects.iloc[0:0]
        effects = effects[~outcome.reindex(effects.index, fill_value=False)]
        sign = insights.harm_sign(task)
        drivers = insights.global_drivers(m)
        top_causes = list(drivers["cause"].head(8))
        trans = insights.stage_transitions_present(b, X[rows])
        sec = TaskSection(
            name=t,
            task=task,
            eligible=int(elig.sum()),
            observed_rate=float(y.mean()),
            mean_predicted=float(m.probability.mean()),
            window_days=window,
            matrix=m,
            drivers=drivers,
            present=_presence(m.points[top_causes], exposed),
            effects=effects,
            pain_sign=sign,
            pain=insights.pain_points(effects, sign if sign is not None else 1),
            helps=insights.pain_points(effects, -sign if sign is not None else -1),
            no_effect=insights.no_measurable_effect(effects),
            moments=insights.moments_of_truth(m, effects, trans, seed=seed, held_out=held),
            reliability=reliability_bins(y, m.probability),
            note=note,
            evidence=evidence,
        )
        for a, values in attributes.items():
            seg = values.reindex(ids)
            if seg.notna().sum() >= 20:
                sec.segments[a] = insights.drivers_by_segment(m, seg.fillna("(none)"), top=3)
        data.tasks.append(sec)
    in_report = pd.Index(cust)
    with progress.stage("journey map", unit="steps"):
        paths = insights_map.stage_paths(ev, as_of)
        paths = paths[paths.index.astype(str).isin(in_report)].map(_humanize_path)
        data.paths = insights_map.main_paths(paths, outcomes)
        data.flow = insights_map.flow_links(paths, list(data.paths["path"]))
        tp_paths = insights_map.touchpoint_paths(ev, as_of, last=TOUCHPOINT_STEPS)
        tp_paths = tp_paths[tp_paths.index.astype(str).isin(in_report)].map(_humanize_path)
        data.touchpoint_customers = len(tp_paths)
        data.touchpoint_paths = insights_map.main_paths(tp_paths, outcomes, top=10)
        data.touchpoint_flow = insights_map.flow_links(
            tp_paths, list(data.touchpoint_paths["path"]), end=None
        )
    with progress.stage("examples", total=n_examples, unit="customers"):
        data.examples = _examples(predictor, ev, cut, outcomes, n_examples)
    return data


def reliability_bins(
    y: np.ndarray, p: np.ndarray, n_bins: int = 10, min_count: int = 20
) -> dict[str, list[float]]:
    """Mean predicted vs observed rate in groups of customers of equal size, by predicted
    probability: ``n_bins`` groups, fewer when a group would hold under ``min_count``
    customers (one at least). Equal-width bins put nearly everyone in the first bin when the
    outcome is rare (a 6 % conversion: 450 of 557 customers under 10 %); equal groups show how
    the predictions spread. Each group: ``predicted``, ``observed``, ``count``, and the range of
    its predictions (``low``, ``high``).

    >>> p = np.r_[np.full(90, 0.02), np.full(10, 0.6)]
    >>> y = np.r_[np.zeros(88), np.ones(2), np.ones(6), np.zeros(4)]
    >>> r = reliability_bins(y, p, n_bins=4, min_count=20)
    >>> r["count"], [round(v, 2) for v in r["observed"]]
    ([25.0, 25.0, 25.0, 25.0], [0.0, 0.0, 0.0, 0.32])
    >>> reliability_bins(y[:30], p[:30])["count"]
    [15.0, 15.0]
    """
    n = len(p)
    if n == 0:
        return {"predicted": [], "observed": [], "count": [], "low": [], "high": []}
    k = max(1, min(n_bins, n // min_count))
    if n < 2 * min_count:
        k = min(2, n)
    order = np.argsort(p, kind="stable")
    out: dict[str, list[float]] = {
        k_: [] for k_ in ("predicted", "observed", "count", "low", "high")
    }
    for g in np.array_split(order, k):
        out["predicted"].append(float(p[g].mean()))
        out["observed"].append(float(y[g].mean()))
        out["count"].append(float(len(g)))
        out["low"].append(float(p[g].min()))
        out["high"].append(float(p[g].max()))
    return out


def _humanize_path(path: str) -> str:
    """A path of raw touchpoint or stage names in the words the rest of the report uses.

    >>> _humanize_path("site_visit › cart_add")
    'site visit › cart add'
    """
    return " › ".join(humanize(step) for step in path.split(" › "))


def _recent(times: pd.Series, touchpoints: pd.Series, channels: pd.Series | None) -> list[str]:
    """An example customer's last touchpoints, one item each: the touchpoint, the channel when
    the log has more than one (a log whose every event reads "unknown" says nothing by it), and
    when (after the name, so that a numeric activity code is not read as part of the time).

    >>> t = pd.Series(pd.to_datetime(["2024-01-02 08:00", "2024-01-03 09:30"]))
    >>> _recent(t, pd.Series(["site_visit", "cart_add"]), pd.Series(["web", "app"]))
    ['site visit (web) at 2024-01-02 08:00', 'cart add (app) at 2024-01-03 09:30']
    >>> _recent(t, pd.Series(["8", "9"]), None)
    ['8 at 2024-01-02 08:00', '9 at 2024-01-03 09:30']
    """
    chans = [None] * len(times) if channels is None else list(channels)
    return [
        humanize(str(tp)) + (f" ({ch})" if isinstance(ch, str) else "") + f" at {t:%Y-%m-%d %H:%M}"
        for t, tp, ch in zip(times, touchpoints, chans, strict=True)
    ]


def _customer_attributes(
    ev: pd.DataFrame, customers: np.ndarray, as_of: pd.Timestamp, declared: tuple[str, ...]
) -> dict[str, pd.Series]:
    """Each declared customer attribute (the FeatureSpec's) as its latest value before
    ``as_of`` per customer, the rarer values folded into "other" (at most
    :data:`MAX_SEGMENTS` segments)."""
    out: dict[str, pd.Series] = {}
    before = ev[ev[TIMESTAMP] < as_of]
    for a in declared:
        if a not in before.columns:
            continue
        s = before[[CUSTOMER_ID, a]].dropna()
        if s.empty:
            continue
        last = s.groupby(CUSTOMER_ID)[a].last()
        last.index = last.index.astype(str)
        bands = _numeric_bands(last)
        last = bands if bands is not None else last.astype(str)
        common = last.value_counts().index[: MAX_SEGMENTS - 1]
        last = last.where(last.isin(common), "other")
        if last.nunique() >= 2:
            out[a] = last.reindex(pd.Index(customers))
    return out


def _numeric_bands(values: pd.Series) -> pd.Series | None:
    """A numeric attribute with more values than :data:`MAX_SEGMENTS` (an amount, an age) as
    its quartile bands over the customers, labelled by their edges; None for anything else
    (each exact amount would be a segment of one or two customers).

    >>> _numeric_bands(pd.Series([str(v) for v in range(100, 2100, 100)])).unique().tolist()
    ['100 to 575', '575 to 1,050', '1,050 to 1,525', '1,525 to 2,000']
    >>> _numeric_bands(pd.Series(["1", "2", "3"])) is None
    True
    """
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().mean() < 0.95 or numbers.nunique() <= MAX_SEGMENTS:
        return None
    edges = np.unique(np.quantile(numbers.dropna(), [0, 0.25, 0.5, 0.75, 1]))

    def show(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 100 or x == round(x) else f"{x:.3g}"

    labels = [f"{show(lo)} to {show(hi)}" for lo, hi in pairwise(edges)]
    banded = pd.cut(numbers, edges, labels=labels, include_lowest=True)
    return banded.astype(object).where(banded.notna(), None).astype(str).where(numbers.notna())


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
    """For each binary task in turn, its most likely customer; then a typical one."""
    picks: list[str] = []
    pcols = [c for c in outcomes.columns if c.startswith("p_")]
    for col in pcols:
        s = outcomes[col].dropna().sort_values(ascending=False)
        picks += [c for c in s.index[:3] if c not in picks][:1]
    if pcols:
        s = outcomes[pcols[-1]].dropna()
        med = (s - s.median()).abs().sort_values()
        picks += [c for c in med.index[:3] if c not in picks][:1]
    if not pcols and len(cut):
        picks = list(cut[CUSTOMER_ID].astype(str).head(n))
    picks = picks[:n]
    if not picks:
        return []
    sel = cut[cut[CUSTOMER_ID].astype(str).isin(picks)].reset_index(drop=True)
    rows = predictor.score_frame(ev, sel, ScoreRequest(predictor.tasks, top_k=3))
    # a task the customer is not eligible for (a churn risk before any contract) is said so,
    # not shown as a prediction: the same reasons the API flags not_eligible with
    configs = [predictor.bundles[t].task for t in predictor.tasks]
    reasons = reasons_by_cutoff(configs, ev, sel, humanize)
    several_channels = "channel" in ev.columns and ev["channel"].nunique() > 1
    for i, r in enumerate(rows):
        r["not_eligible"] = {
            t: why[i] for t, why in zip(predictor.tasks, reasons, strict=True) if why[i]
        }
        cid = r["customer_id"]
        j = ev[ev[CUSTOMER_ID].astype(str) == cid]
        j = j[j[TIMESTAMP] < pd.Timestamp(r["as_of"])].tail(6)
        channels = j["channel"] if several_channels else None
        r["recent"] = _recent(j[TIMESTAMP], j[TOUCHPOINT], channels)
        r["segment"] = ""
    return rows


def finite(v: float) -> bool:
    return bool(np.isfinite(v))
