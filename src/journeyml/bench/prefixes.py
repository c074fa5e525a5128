"""Next-activity protocols over case prefixes: ``tax2017`` and ``chronological``.

A prefix is the first k events of a case, a cutoff ``(customer_id, as_of, n_events=k)`` whose
``as_of`` is just after the k-th event, so features see exactly those k events. Its label is
the activity at position k+1, or ``"end"`` after the last event.

>>> tax2017_train_cases(3804)  # Helpdesk in Tax et al. 2017
2536
>>> tax2017_train_cases(5)  # Python 2 rounding (half away from zero), as in their code
4
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from journeyml.bench.ordered import OrderedLog
from journeyml.errors import EmptyDataError
from journeyml.events import CUSTOMER_ID, STAGE, TIMESTAMP, TOUCHPOINT
from journeyml.features import AS_OF, N_EVENTS
from journeyml.tasks import END_CLASS

LABEL = "label"


@dataclass(frozen=True)
class PrefixSplit:
    """Training prefixes (all labelled, ``"end"`` included) and scored test prefixes."""

    protocol: str
    train_cases: list[str]
    test_cases: list[str]
    #: training prefixes in training-case order: customer_id, as_of, n_events, label
    train: pd.DataFrame
    #: scored test prefixes: customer_id, as_of, n_events, label
    test: pd.DataFrame
    #: every test prefix k = 1 … n with end of case as a truth (a looser, common variant)
    test_all: pd.DataFrame
    #: events the model may learn from (training cases, cut at the test period if needed)
    train_events: pd.DataFrame
    details: dict[str, object]


def tax2017_train_cases(n_cases: int) -> int:
    """2·round((N+1)/3) with Python 2's rounding (half away from zero)."""
    return 2 * math.floor((n_cases + 1) / 3 + 0.5)


def _prefixes(
    events: pd.DataFrame, cases: list[str], target: str, *, keep: np.ndarray | None = None
) -> pd.DataFrame:
    """All prefixes k = 1 … n of ``cases`` (in that order), labelled with the next value of
    ``target`` or ``"end"``. ``keep`` (aligned with ``events``) marks usable events: a case cut
    short by it gets no label after its last kept event (the true next event is unusable)."""
    col = TOUCHPOINT if target == "touchpoint" else STAGE
    ev = events if keep is None else events[keep]
    full_len = events.groupby(CUSTOMER_ID, sort=False)[TOUCHPOINT].size()
    sel = ev[ev[CUSTOMER_ID].isin(set(cases))]
    order = {c: i for i, c in enumerate(cases)}
    sel = sel.assign(_o=sel[CUSTOMER_ID].map(order)).sort_values(["_o", TIMESTAMP], kind="stable")
    k = sel.groupby(CUSTOMER_ID, sort=False).cumcount().to_numpy() + 1
    ids = sel[CUSTOMER_ID].to_numpy(dtype=object)
    values = sel[col].to_numpy(dtype=object)
    kept_n = sel.groupby(CUSTOMER_ID, sort=False)[TOUCHPOINT].transform("size").to_numpy()
    n = full_len.reindex(ids).to_numpy()
    last = k == kept_n
    nxt = np.empty(len(sel), dtype=object)
    nxt[:-1] = values[1:]
    label = np.where(last, END_CLASS, nxt)
    usable = ~last | (kept_n == n)
    out = pd.DataFrame(
        {
            CUSTOMER_ID: ids,
            AS_OF: sel[TIMESTAMP].to_numpy() + pd.Timedelta(1, "ns"),
            N_EVENTS: k,
            LABEL: label,
            "_len": n,
        }
    )
    out[AS_OF] = pd.to_datetime(out[AS_OF], utc=True)
    return out[usable].reset_index(drop=True)


def _scored(all_prefixes: pd.DataFrame, min_prefix: int, score_end: bool) -> pd.DataFrame:
    k = all_prefixes[N_EVENTS]
    keep = k >= min_prefix
    if not score_end:
        keep &= all_prefixes[LABEL] != END_CLASS
    return all_prefixes[keep].reset_index(drop=True)


def tax2017_split(log: OrderedLog, target: str = "touchpoint") -> PrefixSplit:
    """Tax et al. 2017: cases in file order, the first 2·round((N+1)/3) train; test prefixes
    k = 2 … n−1 scored against the activity at k+1 (end of case never the truth)."""
    cases = log.file_order
    n_train = tax2017_train_cases(len(cases))
    if n_train >= len(cases) or n_train < 2:
        raise EmptyDataError(f"expected enough cases for a 2/3 split, got {len(cases)}.")
    train_cases, test_cases = cases[:n_train], cases[n_train:]
    test_all = _prefixes(log.events, test_cases, target)
    train_events = log.events[log.events[CUSTOMER_ID].isin(set(train_cases))]
    return PrefixSplit(
        "tax2017",
        train_cases,
        test_cases,
        _prefixes(log.events, train_cases, target).drop(columns="_len"),
        _scored(test_all, 2, False).drop(columns="_len"),
        test_all.drop(columns="_len"),
        train_events,
        {"n_cases": len(cases), "n_train_cases": n_train, "n_test_cases": len(test_cases)},
    )


def chronological_split(
    log: OrderedLog,
    target: str = "touchpoint",
    *,
    train_fraction: float = 0.8,
    min_prefix: int = 1,
    score_end: bool = False,
) -> PrefixSplit:
    """Cases ordered by start (file order breaks ties); the first ``train_fraction`` train.
    Training events at or after the first test case's start are dropped (Teinemaa et al.
    2019), so nothing the model learns from overlaps the test period."""
    pos = {c: i for i, c in enumerate(log.file_order)}
    cases = sorted(log.file_order, key=lambda c: (log.start[c], pos[c]))
    n_train = math.floor(len(cases) * train_fraction)
    if n_train >= len(cases) or n_train < 2:
        raise EmptyDataError(
            f"expected enough cases for a {train_fraction:.0%} split, got {len(cases)}."
        )
    train_cases, test_cases = cases[:n_train], cases[n_train:]
    test_start = log.start[test_cases[0]]
    ev = log.events
    keep = (ev[TIMESTAMP] < test_start).to_numpy()
    train = _prefixes(ev, train_cases, target, keep=keep).drop(columns="_len")
    test_all = _prefixes(ev, test_cases, target)
    in_train = ev[CUSTOMER_ID].isin(set(train_cases)).to_numpy()
    dropped = int((in_train & ~keep).sum())
    return PrefixSplit(
        "chronological",
        train_cases,
        test_cases,
        train,
        _scored(test_all, min_prefix, score_end).drop(columns="_len"),
        test_all.drop(columns="_len"),
        ev[in_train & keep],
        {
            "n_cases": len(cases),
            "n_train_cases": n_train,
            "n_test_cases": len(test_cases),
            "test_start": str(test_start),
            "train_events_dropped": dropped,
        },
    )
