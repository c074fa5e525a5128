"""Protocol ``teinemaa2019``: outcome-oriented predictive process monitoring (Teinemaa,
Dumas, La Rosa and Maggi 2019, "Outcome-oriented predictive process monitoring: review and
benchmark", ACM TKDD), as in their ``split_data_strict`` and prefix generation:

- cases ordered by start (file order breaks ties); the first ``train_fraction`` train, the
  rest test;
- training events at or after the first test case's start are dropped (a training prefix
  whose last event is in the test period is left out);
- prefixes of length 1 … L with L = min(``max_prefix``, ⌈the 0.9 quantile of the positive
  cases' lengths⌉), lengths counted over the whole log as in the paper;
- ROC AUC per prefix length, their mean weighted by the number of prefixes (cases) at each
  length, and the AUC of all scored prefixes pooled.

The label is the ``case_outcome`` task's (:mod:`journeyml.tasks`): the case contains an
outcome event. With ``cut_before_outcome`` prefixes end before the first outcome event, and
a case's length is the number of its events before it (the honest variant: the label-setting
event is never inside a prefix). As in the paper, a training case cut at the test period keeps
the label of its whole case.

>>> import numpy as np
>>> k = np.array([1, 1, 1, 1, 2, 2, 2])
>>> y = np.array([0, 1, 0, 1, 0, 1, 1])
>>> p = np.array([.1, .9, .2, .8, .6, .4, .7])
>>> r = prefix_auc(k, y, p)
>>> r["by_length"]["1"]["roc_auc"], r["by_length"]["2"]["roc_auc"]
(1.0, 0.5)
>>> round(float(r["roc_auc_weighted"]), 4)  # (4·1.0 + 3·0.5) / 7
0.7857
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from journeyml.bench.ordered import OrderedLog
from journeyml.errors import EmptyDataError
from journeyml.events import CUSTOMER_ID, TIMESTAMP
from journeyml.features import AS_OF, N_EVENTS
from journeyml.tasks import TaskConfig, at_each_event, make_labels

LABEL = "label"


@dataclass(frozen=True)
class OutcomeSplit:
    """Labelled prefixes of training and test cases, with what the protocol decided."""

    train_cases: list[str]
    test_cases: list[str]
    #: training prefixes (training-case order): customer_id, as_of, n_events, label
    train: pd.DataFrame
    #: scored test prefixes: customer_id, as_of, n_events, label
    test: pd.DataFrame
    #: events the model may learn from (training cases, before the test period)
    train_events: pd.DataFrame
    #: L, the longest prefix scored
    max_length: int
    details: dict[str, Any]


def positive_length_limit(lengths: pd.Series, positive: pd.Series, quantile: float) -> int:
    """⌈``quantile`` of the lengths of positive cases⌉ (pandas' linear interpolation, as in
    the paper's code); 1 when there is no positive case.

    >>> positive_length_limit(pd.Series([1, 2, 3, 10]), pd.Series([True] * 4), 0.9)
    8
    """
    pos = lengths[positive.reindex(lengths.index, fill_value=False).to_numpy(bool)]
    if pos.empty:
        return 1
    return max(1, math.ceil(float(pos.quantile(quantile))))


def labelled_prefixes(log: OrderedLog, task: TaskConfig) -> pd.DataFrame:
    """Every prefix of every case with the task's label; prefixes outside the task's
    population (e.g. already holding the outcome, with ``cut_before_outcome``) left out."""
    cut = at_each_event(log.events)
    end = log.events[TIMESTAMP].max() + pd.Timedelta(1, "ns")
    lab = make_labels(log.events, cut, task, observation_end=end)
    keep = lab["eligible"].to_numpy(bool)
    out = cut[keep].reset_index(drop=True)
    out[LABEL] = lab["label"].to_numpy()[keep].astype(np.int64)
    out[CUSTOMER_ID] = out[CUSTOMER_ID].astype(str)
    return out


def teinemaa_split(
    log: OrderedLog,
    task: TaskConfig,
    *,
    train_fraction: float = 0.8,
    max_prefix: int = 40,
    quantile: float = 0.9,
) -> OutcomeSplit:
    """The protocol's split and scored prefixes (see the module's docstring)."""
    prefixes = labelled_prefixes(log, task)
    by_case = prefixes.groupby(CUSTOMER_ID, sort=False)
    lengths = by_case[N_EVENTS].max()
    positive = by_case[LABEL].max().astype(bool)
    limit = min(max_prefix, positive_length_limit(lengths, positive, quantile))
    pos = {c: i for i, c in enumerate(log.file_order)}
    cases = sorted(log.file_order, key=lambda c: (log.start[c], pos[c]))
    n_train = int(len(cases) * train_fraction)
    if n_train >= len(cases) or n_train < 2:
        raise EmptyDataError(
            f"expected enough cases for a {train_fraction:.0%} split, got {len(cases)}. "
            "Use a longer log or another train_fraction."
        )
    train_cases, test_cases = cases[:n_train], cases[n_train:]
    test_start = log.start[test_cases[0]]
    short = prefixes[N_EVENTS] <= limit
    in_train = prefixes[CUSTOMER_ID].isin(set(train_cases))
    # as_of is 1 ns after the prefix's last event: the prefix lies before the test period
    before = prefixes[AS_OF] <= test_start
    order = {c: i for i, c in enumerate(train_cases)}
    train = prefixes[short & in_train & before]
    train = train.assign(_o=train[CUSTOMER_ID].map(order)).sort_values(
        ["_o", N_EVENTS], kind="stable"
    )
    test = prefixes[short & ~in_train].reset_index(drop=True)
    ev = log.events
    ev_train = ev[CUSTOMER_ID].astype(str).isin(set(train_cases)).to_numpy()
    ev_before = (ev[TIMESTAMP] < test_start).to_numpy()
    if train[LABEL].nunique() < 2 or test.empty:
        raise EmptyDataError(
            f"expected both outcomes among training prefixes and some test prefixes, got "
            f"training labels {sorted(train[LABEL].unique().tolist())} and {len(test)} test "
            "prefixes. Check the outcome in case_outcome (is it in the log?)."
        )
    return OutcomeSplit(
        train_cases=train_cases,
        test_cases=test_cases,
        train=train.drop(columns="_o").reset_index(drop=True),
        test=test,
        train_events=ev[ev_train & ev_before],
        max_length=limit,
        details={
            "n_cases": len(cases),
            "n_train_cases": n_train,
            "n_test_cases": len(test_cases),
            "test_start": str(test_start),
            "train_events_dropped": int((ev_train & ~ev_before).sum()),
            "max_prefix_length": limit,
            "positive_case_share": float(positive.mean()) if len(positive) else float("nan"),
            "cases_with_prefixes": len(lengths),
        },
    )


def prefix_auc(n_events: np.ndarray, y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """ROC AUC per prefix length (lengths with both outcomes), their mean weighted by the
    prefixes at each length, and pooled over every prefix."""
    k = np.asarray(n_events)
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    by: dict[str, dict[str, float]] = {}
    num = den = 0.0
    for length in np.unique(k):
        m = k == length
        auc = float(roc_auc_score(y[m], p[m])) if len(np.unique(y[m])) == 2 else float("nan")
        by[str(int(length))] = {"n": int(m.sum()), "roc_auc": auc}
        if np.isfinite(auc):
            num += auc * m.sum()
            den += m.sum()
    pooled = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    return {
        "roc_auc_weighted": num / den if den else float("nan"),
        "roc_auc_pooled": pooled,
        "by_length": by,
    }
