"""Labels per task, from events at or after ``as_of`` only, with eligibility and censoring.

- **conversion**: a conversion touchpoint in ``[as_of, as_of + H)``. Eligible: some history
  before ``as_of``, the window fully observed, and (``eligibility="not_converted"``) no
  conversion before ``as_of``.
- **churn**: an explicit churn touchpoint in the window, or (``inactivity=True``) no event at
  all in it. Eligible (``eligibility="active"``, the default for churn): active customers (an
  event in the ``H`` before ``as_of``) with no explicit churn before it, window fully observed;
  ``eligibility="any"`` drops the activity condition.
- **next_stage**: the stage (``target="touchpoint"``: the touchpoint) of the first event in the
  window, ``"none"`` if there is none. With ``end_of_case=True`` (process logs, whose cases are
  complete) a cutoff after which the case has no event at all is labelled ``"end"``, known
  without waiting for the window to be observed. Eligible: some history, window fully observed
  (or the case ended). With an ``n_events`` column (prefix mode) the label is the event right
  after the prefix, or ``"end"`` (end of case) when the prefix is the whole case.

Censoring: a window reaching past ``observation_end`` makes the cutoff ineligible, whatever
the answer seen so far (keeping only the censored windows that already show the outcome would
bias the rates upwards).

Only the features look before ``as_of``; labels only after: the only use of earlier events
here is eligibility (who can be asked the question), never the label value.

>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a"] * 3,
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-20"], utc=True),
...     "touchpoint": ["visit", "purchase", "visit"]})
>>> cut = pd.DataFrame({"customer_id": ["a", "a"],
...                     "as_of": pd.to_datetime(["2024-01-02", "2024-01-10"], utc=True)})
>>> task = TaskConfig(name="conversion", horizon_days=7, conversion_touchpoints=("purchase",))
>>> make_labels(ev, cut, task, observation_end=pd.Timestamp("2024-02-01", tz="UTC"))
   label  eligible
0      1      True
1      0     False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError
from journeyml.events import CUSTOMER_ID, STAGE, TIMESTAMP, TOUCHPOINT, is_canonical, to_canonical
from journeyml.features import AS_OF, N_EVENTS, NS_PER_DAY, TimeIndex, prefix_sum

TaskName = Literal["conversion", "churn", "next_stage"]
TASKS: tuple[TaskName, ...] = ("conversion", "churn", "next_stage")
NONE_CLASS = "none"
END_CLASS = "end"


@dataclass(frozen=True)
class TaskConfig:
    """What a task predicts: horizon, outcome touchpoints, eligibility."""

    name: TaskName
    horizon_days: float = 30.0
    conversion_touchpoints: tuple[str, ...] = ("purchase",)
    churn_touchpoints: tuple[str, ...] = ("cancellation",)
    inactivity: bool = True
    #: conversion: "not_converted" (default) or "any"; churn: "active" (default; the
    #: conversion default "not_converted" means the same for churn) or "any"
    eligibility: Literal["not_converted", "active", "any"] = "not_converted"
    target: Literal["stage", "touchpoint"] = "stage"
    #: next_stage: label cutoffs after the last event of a case "end" (process logs)
    end_of_case: bool = False

    def __post_init__(self) -> None:
        if self.name not in TASKS:
            raise ConfigError(f"expected a task in {TASKS}, got {self.name!r}", field="name")
        if self.horizon_days <= 0:
            raise ConfigError(
                f"expected a positive horizon_days, got {self.horizon_days}", field="horizon_days"
            )

    @property
    def kind(self) -> Literal["binary", "multiclass"]:
        return "multiclass" if self.name == "next_stage" else "binary"


def make_labels(
    events: pd.DataFrame,
    cutoffs: pd.DataFrame,
    task: TaskConfig,
    *,
    observation_end: pd.Timestamp,
) -> pd.DataFrame:
    """One row per cutoff (same index): ``label`` (int for binary, str for next_stage) and
    ``eligible``. ``observation_end`` is the exclusive end of the data: windows reaching past
    it are censored (ineligible) unless the answer is already known."""
    ev = events if is_canonical(events) else to_canonical(events)
    cust_codes, uniques = pd.factorize(ev[CUSTOMER_ID].astype(str), sort=True)
    order = np.lexsort((ev[TIMESTAMP].to_numpy("datetime64[ns]").view(np.int64), cust_codes))
    ev = ev.iloc[order]
    cust = cust_codes[order].astype(np.int64)
    ts = ev[TIMESTAMP].to_numpy("datetime64[ns]").view(np.int64)
    tps = ev[TOUCHPOINT].to_numpy(dtype=object)
    offsets = np.searchsorted(cust, np.arange(len(uniques) + 1))
    index = TimeIndex(cust, ts)

    q = pd.Index(uniques).get_indexer(cutoffs[CUSTOMER_ID].astype(str))
    known = q >= 0
    qc = np.where(known, q, 0)
    as_of = pd.to_datetime(cutoffs[AS_OF], utc=True).to_numpy("datetime64[ns]").view(np.int64)
    h = np.int64(round(task.horizon_days * NS_PER_DAY))
    end_ns = pd.Timestamp(observation_end).tz_convert("UTC").value
    start = np.where(known, offsets[qc], 0)
    pos0 = np.where(known, index.first_at_or_after(qc, as_of), 0)
    posh = np.where(known, index.first_at_or_after(qc, as_of + h), 0)
    has_history = pos0 > start
    observed = as_of + h <= end_ns
    n = len(ts)

    if N_EVENTS in cutoffs.columns:
        return _prefix_labels(cutoffs, task, ev, tps, offsets, qc, known)

    if task.name == "conversion":
        c = prefix_sum(np.isin(tps, task.conversion_touchpoints).astype(np.int64))
        label = (c[posh] - c[pos0] > 0).astype(np.int64)
        eligible = known & has_history & observed
        if task.eligibility == "not_converted":
            eligible &= c[pos0] - c[start] == 0
        return pd.DataFrame({"label": label, "eligible": eligible}, index=cutoffs.index)

    if task.name == "churn":
        c = prefix_sum(np.isin(tps, task.churn_touchpoints).astype(np.int64))
        explicit = c[posh] - c[pos0] > 0
        label = explicit | (task.inactivity & (posh == pos0))
        last_ts = ts[np.clip(pos0 - 1, 0, max(n - 1, 0))] if n else np.zeros_like(as_of)
        active = has_history & (as_of - last_ts <= h)
        if task.eligibility == "any":
            active = has_history
        eligible = known & active & observed & (c[pos0] - c[start] == 0)
        return pd.DataFrame(
            {"label": label.astype(np.int64), "eligible": eligible}, index=cutoffs.index
        )

    # next_stage
    col = ev[STAGE] if task.target == "stage" else ev[TOUCHPOINT]
    values = col.to_numpy(dtype=object)
    has_next = posh > pos0
    nxt = values[np.clip(pos0, 0, max(n - 1, 0))] if n else np.full(len(as_of), None)
    label_arr = np.where(has_next, nxt, NONE_CLASS).astype(object)
    missing_target = has_next & pd.isna(pd.Series(label_arr)).to_numpy()
    ended = np.zeros(len(as_of), dtype=bool)
    if task.end_of_case:
        ended = known & (pos0 == np.where(known, offsets[qc + 1], 0))
        label_arr = np.where(ended, END_CLASS, label_arr).astype(object)
    eligible = known & has_history & (observed | ended) & ~missing_target
    labels = pd.Series(label_arr, index=cutoffs.index).where(eligible, None)
    return pd.DataFrame({"label": labels.astype(object), "eligible": eligible}, index=cutoffs.index)


def _prefix_labels(
    cutoffs: pd.DataFrame,
    task: TaskConfig,
    ev: pd.DataFrame,
    tps: np.ndarray,
    offsets: np.ndarray,
    qc: np.ndarray,
    known: np.ndarray,
) -> pd.DataFrame:
    if task.name != "next_stage":
        raise ConfigError(
            f"expected prefix cutoffs (n_events) only for next_stage, got task {task.name!r}",
            field="snapshots",
        )
    values = (ev[STAGE] if task.target == "stage" else ev[TOUCHPOINT]).to_numpy(dtype=object)
    k = cutoffs[N_EVENTS].to_numpy(np.int64)
    start = offsets[qc]
    length = offsets[qc + 1] - start
    nxt_idx = start + k
    has_next = k < length
    label = np.where(has_next, values[np.clip(nxt_idx, 0, max(len(values) - 1, 0))], END_CLASS)
    eligible = known & (k >= 1) & (k <= length)
    return pd.DataFrame(
        {"label": pd.Series(label, index=cutoffs.index, dtype=object), "eligible": eligible},
        index=cutoffs.index,
    )
