"""The report's held-out evidence, pooled over earlier dates.

A touchpoint is ranked only when the model's use of it makes predictions better on outcomes the
model was not fitted to (:func:`journeyml.explain.insights.held_out_gain`). At one moment of
prediction there are few outcomes (the small test report: 42 lapses), too few to tell a real
effect from noise. The evidence is therefore read on the report's customers at **earlier
dates**, pooled:

* **Which dates.** For a report at ``as_of`` T and a task with horizon H: cutoffs at
  ``T − H``, ``T − H − s``, ``T − H − 2s``, … — every label window has fully elapsed before T
  (:func:`evidence_dates`). ``s`` is the step between the cutoffs the model learnt from (its
  snapshots), so the evidence reads the model the way it was validated.
* **How far back.** To the model's held-out boundary (``held_out_from``, the start of its
  validation window: every training label window ends by then, so no tree or linear weight was
  fitted to an outcome after it; :func:`journeyml.tasks.held_out`), and no further than the
  log's first event. Earlier dates would be the model's own training rows: in-sample evidence.
* **Point in time.** Features at each cutoff from the events before it (the one feature path);
  labels and eligibility from the events before T only, the end of observation being T: an
  event at or after T changes nothing of the evidence.
* **Cost.** At most :data:`MAX_ROWS` rows are explained per task: the most recent dates first,
  every eligible customer, the date that reaches the bound a random sample (seeded) of its
  customers. A population that fills the bound at one date needs no other: it already has
  that many rows of outcomes.
* **Dependence.** One customer at several dates is one customer: the intervals resample whole
  customers (:class:`journeyml.explain.insights.HeldOut`).

**Cases of a process** (tasks split by case start: a case outcome, a next activity with an end
of case) have no dates to pool: a case's outcome can lie anywhere after its start, and the
cases in progress at the report's ``as_of`` may be cases the model trained on. Their evidence is
read on the cases the model was not trained on (:func:`pooled_case_evidence`): every case that
started after the model's validation boundary (``held_out_cases_from``), at each prefix the
task labels, outcomes to the end of the log, the intervals resampling whole cases.

Models that record no held-out boundary (trained before it was recorded) and reports with no
such date (a log that ends less than two horizons after the model's validation start) read the
evidence as before: on the report's own customers, whose outcomes came after ``as_of``
(:func:`own_outcomes_sentence`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from journeyml.events import CUSTOMER_ID, TIMESTAMP, TOUCHPOINT
from journeyml.explain import Batch, Target, insights
from journeyml.features import AS_OF, Context, features_from_context
from journeyml.modeling import ModelBundle
from journeyml.progress import Stage
from journeyml.scoring import Predictor
from journeyml.tasks import at_each_event, make_labels

#: rows explained for the evidence of one task, at most (a bound on cost: explaining a row
#: costs about what scoring it with root causes does)
MAX_ROWS = 20_000
#: why no earlier date was read
BOUNDS = {
    "model": "earlier dates were in the model's training",
    "log": "the log starts before the next earlier date",
    "cost": "earlier dates left out to bound the cost",
}


@dataclass(frozen=True)
class PooledEvidence:
    """The held-out rows of one task, and what the report says about them."""

    held_out: insights.HeldOut
    dates: tuple[pd.Timestamp, ...]
    step_days: float
    customers: int
    #: rows with the outcome (a customer can have it at more than one date)
    outcomes: int
    #: customers with the outcome at one date or more
    outcome_customers: int
    #: why no earlier date was read: a key of :data:`BOUNDS`
    bound: str
    #: cases of a process: the held-out cases started after this (``dates`` then are empty)
    cases_after: pd.Timestamp | None = None
    #: rows read (prefixes of the held-out cases; cutoffs at the dates)
    rows: int = 0

    def sentence(self) -> str:
        """One line for the report: evidence from N customers over K dates, M outcomes.

        >>> from journeyml.explain.insights import CauseMatrix, HeldOut
        >>> m = CauseMatrix("churn", pd.DataFrame(), np.zeros(0), np.zeros(0))
        >>> d = pd.Timestamp("2024-04-09", tz="UTC")
        >>> e = PooledEvidence(HeldOut(m, pd.DataFrame()), (d, d - pd.Timedelta(days=14)), 7.0,
        ...                    1905, 131, 97, "model")  # dates: the most recent first
        >>> print(e.sentence())
        Held-out evidence from 1,905 customers over 2 dates (2024-03-26 to 2024-04-09, every 7 \
days; 131 outcomes, of 97 customers), all observed before the moment of prediction; earlier \
dates were in the model's training.
        >>> e = PooledEvidence(HeldOut(m, pd.DataFrame()), (d, d - pd.Timedelta(days=1)), 1.0,
        ...                    6598, 369, 202, "cost")  # daily snapshots (attribution sample)
        >>> "(2024-04-08 to 2024-04-09, every day;" in e.sentence()
        True
        """
        if self.cases_after is not None:
            return (
                f"Held-out evidence from {self.customers:,} case"
                f"{'s' if self.customers != 1 else ''} the model was not trained on (started "
                f"after {self.cases_after:%Y-%m-%d}; {self.rows:,} prefixes, {self.outcomes:,} "
                f"with the outcome, of {self.outcome_customers:,} case"
                f"{'s' if self.outcome_customers != 1 else ''}), outcomes observed to the end of "
                f"the log{'; ' + BOUNDS[self.bound] if self.bound == 'cost' else ''}."
            )
        k = len(self.dates)
        every = "every day" if self.step_days == 1 else f"every {self.step_days:g} days"
        span = (
            f"{self.dates[-1]:%Y-%m-%d} to {self.dates[0]:%Y-%m-%d}, {every}"
            if k > 1
            else f"{self.dates[0]:%Y-%m-%d}"
        )
        return (
            f"Held-out evidence from {self.customers:,} customers over {k} date"
            f"{'s' if k != 1 else ''} ({span}; {self.outcomes:,} outcome"
            f"{'s' if self.outcomes != 1 else ''}, of {self.outcome_customers:,} customer"
            f"{'s' if self.outcome_customers != 1 else ''}), all observed before the moment of "
            f"prediction; {BOUNDS[self.bound]}."
        )


def own_outcomes_sentence(customers: int, outcomes: int, why: str, *, held_out: bool = True) -> str:
    """The report's line when the evidence is its own customers' outcomes after ``as_of``;
    ``held_out=False`` when the model may have trained on them (cases of a model that records
    no held-out cases).

    >>> own_outcomes_sentence(641, 42, "the model records no held-out date")
    'Held-out evidence from the outcomes of these 641 customers after the moment of prediction \
(42 outcomes): the model records no held-out date.'
    >>> own_outcomes_sentence(59, 1, "it records no held-out cases", held_out=False)
    'Evidence from the outcomes of these 59 customers after the moment of prediction (1 \
outcome), which the model may have trained on: it records no held-out cases.'
    """
    if not held_out:
        return (
            f"Evidence from the outcomes of these {customers:,} customers after the moment of "
            f"prediction ({outcomes:,} outcome{'s' if outcomes != 1 else ''}), which the model "
            f"may have trained on: {why}."
        )
    return (
        f"Held-out evidence from the outcomes of these {customers:,} customers after the moment "
        f"of prediction ({outcomes:,} outcome{'s' if outcomes != 1 else ''}): {why}."
    )


def evidence_dates(
    as_of: pd.Timestamp,
    horizon_days: float,
    held_out_from: pd.Timestamp,
    step_days: float,
    first_event: pd.Timestamp,
) -> tuple[list[pd.Timestamp], str]:
    """The earlier cutoffs whose label windows have fully elapsed before ``as_of``, most recent
    first: ``as_of − horizon − k·step`` for k = 0, 1, … while at or after ``held_out_from``
    and after ``first_event``; and why there is no earlier one (``"model"`` or ``"log"``).

    >>> t = pd.Timestamp("2024-06-01", tz="UTC")
    >>> dates, why = evidence_dates(t, 30, pd.Timestamp("2024-04-01", tz="UTC"), 7,
    ...                             pd.Timestamp("2024-01-01", tz="UTC"))
    >>> [f"{d:%m-%d}" for d in dates], why
    (['05-02', '04-25', '04-18', '04-11', '04-04'], 'model')
    >>> evidence_dates(t, 30, pd.Timestamp("2024-05-10", tz="UTC"), 7, t)
    ([], 'model')
    """
    step = pd.Timedelta(days=max(float(step_days), 1e-6))
    c = as_of - pd.Timedelta(days=float(horizon_days))
    out: list[pd.Timestamp] = []
    while c >= held_out_from and c > first_event:
        out.append(c)
        c = c - step
    return out, "model" if c < held_out_from else "log"


def pooled_evidence(
    predictor: Predictor,
    task_name: str,
    events: pd.DataFrame,
    arr: Any,
    as_of: pd.Timestamp,
    *,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
    stage: Stage | None = None,
) -> PooledEvidence | None:
    """The held-out evidence of one binary task at earlier dates (see the module), or None when
    the model records no held-out boundary or no date is both held out and observed before
    ``as_of``. ``events``: canonical; ``arr``: their encoding for the predictor's spec (the
    report's, shared)."""
    bundle = predictor.bundles[task_name]
    task = bundle.task
    if "held_out_cases_from" in bundle.info:
        return pooled_case_evidence(
            predictor, task_name, events, arr, seed=seed, max_rows=max_rows, stage=stage
        )
    start, step = bundle.info.get("held_out_from"), bundle.info.get("snapshot_days")
    if task.horizon_days is None or start is None or not step:
        return None
    before = events[events[TIMESTAMP] < as_of]
    if before.empty:
        return None
    first_seen = before.groupby(CUSTOMER_ID, sort=True)[TIMESTAMP].min()
    dates, bound = evidence_dates(
        as_of, task.horizon_days, pd.Timestamp(start), float(step), first_seen.min()
    )
    rng = np.random.default_rng(seed)
    cuts: list[pd.DataFrame] = []
    labels: list[np.ndarray] = []
    n = 0
    for c in dates:
        ids = first_seen.index[first_seen < c].astype(str)
        cut = pd.DataFrame({CUSTOMER_ID: pd.Series(ids, dtype=object), AS_OF: c})
        # labels and eligibility from the events before as_of only
        lab = make_labels(before, cut, task, observation_end=as_of)
        keep = np.flatnonzero(lab["eligible"].to_numpy(bool))
        if len(keep) > max_rows - n:
            keep = np.sort(rng.choice(keep, max_rows - n, replace=False))
            bound = "cost"
        cuts.append(cut.iloc[keep])
        labels.append(lab["label"].to_numpy()[keep].astype(np.int64))
        n += len(keep)
        if n >= max_rows:
            if c != dates[-1]:
                bound = "cost"
            break
    if n == 0:
        return None
    cut = pd.concat(cuts, ignore_index=True)
    y = np.concatenate(labels)
    ids = cut[CUSTOMER_ID].to_numpy().astype(str)
    as_of_ns = pd.to_datetime(cut[AS_OF], utc=True).to_numpy("datetime64[ns]").view(np.int64)
    if stage is not None:  # the total is known once the dates are read: progress has an ETA
        stage.update(0, total=n)
    ctx = Context.build(arr, predictor.spec, arr.customer_codes(ids), as_of_ns)
    X = features_from_context(ctx)
    m = explain_rows(predictor, task_name, X, arr, ctx.start, ctx.end, np.arange(n), stage)
    m = insights.CauseMatrix(m.task, m.points, m.probability, m.base_rate, y, ids)
    held = insights.HeldOut(
        m, _exposure(bundle, before, cut), insights.stage_transitions_present(bundle, X)
    )
    used = tuple(pd.Timestamp(c) for c in pd.unique(cut[AS_OF]))
    return PooledEvidence(
        held,
        used,
        float(step),
        customers=len(np.unique(ids)),
        outcomes=int(y.sum()),
        outcome_customers=len(np.unique(ids[y == 1])),
        bound=bound,
    )


def pooled_case_evidence(
    predictor: Predictor,
    task_name: str,
    events: pd.DataFrame,
    arr: Any,
    *,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
    stage: Stage | None = None,
) -> PooledEvidence | None:
    """The held-out evidence of a task split by case start: the cases that started after the
    model's ``held_out_cases_from`` (validation and test cases, never trained on), one row per
    prefix (a cutoff after each of their events) the task labels as eligible, outcomes observed
    to the end of the log; at most ``max_rows`` rows (a seeded sample of them beyond). None
    without such cases or rows."""
    bundle = predictor.bundles[task_name]
    boundary = pd.Timestamp(bundle.info["held_out_cases_from"])
    first = events.groupby(CUSTOMER_ID, sort=True)[TIMESTAMP].min()
    held_ids = first.index[first > boundary]
    if len(held_ids) == 0:
        return None
    held_ev = events[events[CUSTOMER_ID].isin(held_ids)]
    cut = at_each_event(held_ev)[[CUSTOMER_ID, AS_OF]]
    end = events[TIMESTAMP].max() + pd.Timedelta(1, "s")
    lab = make_labels(held_ev, cut, bundle.task, observation_end=end)
    keep = np.flatnonzero(lab["eligible"].to_numpy(bool))
    bound = "model"
    if len(keep) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(keep, max_rows, replace=False))
        bound = "cost"
    if len(keep) == 0:
        return None
    cut = cut.iloc[keep].reset_index(drop=True)
    cut[CUSTOMER_ID] = cut[CUSTOMER_ID].astype(str)
    y = lab["label"].to_numpy()[keep].astype(np.int64)
    ids = cut[CUSTOMER_ID].to_numpy()
    as_of_ns = pd.to_datetime(cut[AS_OF], utc=True).to_numpy("datetime64[ns]").view(np.int64)
    if stage is not None:
        stage.update(0, total=len(y))
    ctx = Context.build(arr, predictor.spec, arr.customer_codes(ids), as_of_ns)
    X = features_from_context(ctx)
    m = explain_rows(predictor, task_name, X, arr, ctx.start, ctx.end, np.arange(len(y)), stage)
    m = insights.CauseMatrix(m.task, m.points, m.probability, m.base_rate, y, ids)
    held = insights.HeldOut(
        m, prefix_exposure(held_ev, cut), insights.stage_transitions_present(bundle, X)
    )
    return PooledEvidence(
        held,
        (),
        0.0,
        customers=len(np.unique(ids)),
        outcomes=int(y.sum()),
        outcome_customers=len(np.unique(ids[y == 1])),
        bound=bound,
        cases_after=boundary,
        rows=len(y),
    )


def prefix_exposure(events: pd.DataFrame, cut: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``cut`` (a customer and an ``as_of`` each) × touchpoints: at least one event of
    the touchpoint before the row's ``as_of`` (the whole case so far, as the report reads a task
    without a horizon).

    >>> t = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True)
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "timestamp": t,
    ...                    "touchpoint": ["open", "wait", "open"]})
    >>> cut = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                     "as_of": t[[0, 1, 2]] + pd.Timedelta(1, "s")})
    >>> prefix_exposure(ev, cut)
       open   wait
    0  True  False
    1  True   True
    2  True  False
    """
    rows = cut[[CUSTOMER_ID, AS_OF]].assign(_row=np.arange(len(cut)))
    rows[CUSTOMER_ID] = rows[CUSTOMER_ID].astype(str)
    ev = events[[CUSTOMER_ID, TIMESTAMP, TOUCHPOINT]].assign(
        **{CUSTOMER_ID: events[CUSTOMER_ID].astype(str), TOUCHPOINT: events[TOUCHPOINT].astype(str)}
    )
    j = rows.merge(ev, on=CUSTOMER_ID)
    j = j[j[TIMESTAMP] < j[AS_OF]]
    table = pd.crosstab(j["_row"], j[TOUCHPOINT]) > 0
    table.columns.name = None
    return table.reindex(np.arange(len(cut)), fill_value=False).reset_index(drop=True).astype(bool)


def _exposure(bundle: ModelBundle, events: pd.DataFrame, cut: pd.DataFrame) -> pd.DataFrame:
    """Rows × touchpoints, each date read as the report reads its own (its exposure window)."""
    first = events[TIMESTAMP].min()
    parts = []
    for c, rows in cut.groupby(AS_OF, sort=False):
        history = float((pd.Timestamp(c) - first) / pd.Timedelta(days=1))
        window = insights.exposure_window(bundle.task, history)
        ids = rows[CUSTOMER_ID].to_numpy()
        parts.append(insights.exposure_from_events(events, ids, pd.Timestamp(c), window))
    return pd.concat(parts, ignore_index=True).fillna(False).astype(bool)


def explain_rows(
    predictor: Predictor,
    task: str,
    X: np.ndarray,
    arr: Any,
    start: np.ndarray,
    end: np.ndarray,
    rows: np.ndarray,
    stage: Stage | None = None,
    chunk: int = 500,
) -> insights.CauseMatrix:
    """The task's cause matrix over ``rows``, explained in chunks (``stage`` advanced after
    each)."""
    parts = []
    for lo in range(0, len(rows), chunk):
        r = rows[lo : lo + chunk]
        batch = Batch(X[r], arr, start[r], end[r])
        parts.append(insights.matrix_of(predictor.explainer, batch, Target(task)))
        if stage is not None:
            stage.advance(len(r))
    pts = pd.concat([p.points for p in parts], ignore_index=True).fillna(0.0)
    return insights.CauseMatrix(
        task,
        pts,
        np.concatenate([p.probability for p in parts]),
        np.concatenate([p.base_rate for p in parts]),
    )


__all__ = [
    "BOUNDS",
    "MAX_ROWS",
    "PooledEvidence",
    "evidence_dates",
    "explain_rows",
    "own_outcomes_sentence",
    "pooled_case_evidence",
    "pooled_evidence",
    "prefix_exposure",
]
