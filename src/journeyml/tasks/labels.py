"""Labels for every task kind, from events at or after ``as_of``, with eligibility and
censoring (vectorised over all cutoffs).

- **occurs**: an ``outcome`` event in ``[as_of, as_of + H)``.
- **lapses**: a ``churn`` event in the window, or (``inactivity``) no *activity* event in it
  (company-sent touchpoints are not activity).
- **case_outcome**: the case contains an ``outcome`` event. The label is the case's: with
  ``cut_before_outcome`` the prefixes end before the first outcome event, so only events
  after ``as_of`` decide it (the honest variant); without it a prefix that already holds the
  outcome is labelled 1, as in the usual outcome-prediction benchmarks. Cases are taken to be
  complete (process logs), unless ``complete_after_days`` says when an open-ended journey
  counts as over: the cutoffs of cases still open at the end of the data are censored.
- **next**: the stage (``target: touchpoint``: the touchpoint) of the first event after the
  history — with prefix cutoffs the event right after the prefix, or ``"end"``; with snapshot
  cutoffs the first event in the window or ``"none"`` (``end_of_case``: ``"end"`` when the
  case has no later event at all, known without waiting for the window). Company-sent
  touchpoints are not a step the customer takes: the next event is the first of the customer's
  own (a newsletter follows the company's calendar; as a class it would teach the model the
  send dates, not the journey).

A cutoff is *in the population* when the task's eligibility rules hold (events before
``as_of`` only, :mod:`journeyml.tasks.eligibility`), and *eligible* when also its label is
known: a window reaching past ``observation_end`` is censored whatever it shows so far
(keeping only the censored windows that already show the outcome would bias the rates up).

>>> import pandas as pd
>>> from journeyml.tasks.definition import EventMatch, TaskConfig
>>> ev = pd.DataFrame({"customer_id": ["a"] * 3,
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-20"], utc=True),
...     "touchpoint": ["visit", "purchase", "visit"]})
>>> cut = pd.DataFrame({"customer_id": ["a", "a"],
...                     "as_of": pd.to_datetime(["2024-01-02", "2024-01-10"], utc=True)})
>>> task = TaskConfig("buys", "occurs", horizon_days=7, outcome=EventMatch(("purchase",)))
>>> make_labels(ev, cut, task, observation_end=pd.Timestamp("2024-02-01", tz="UTC"))
   label  eligible  in_population
0      1      True           True
1      0      True           True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError
from journeyml.features import NS_PER_DAY
from journeyml.tasks.definition import END_CLASS, NONE_CLASS, TaskConfig, isin
from journeyml.tasks.eligibility import Step, population_steps, task_attributes
from journeyml.tasks.funnel import Funnel
from journeyml.tasks.located import Located


def make_labels(
    events: pd.DataFrame,
    cutoffs: pd.DataFrame,
    task: TaskConfig,
    *,
    observation_end: pd.Timestamp,
) -> pd.DataFrame:
    """One row per cutoff (same index): ``label`` (0/1 for binary tasks, the class for
    ``next``; None where ineligible), ``eligible`` and ``in_population``.
    ``observation_end`` is the exclusive end of the data.

    >>> import pandas as pd
    >>> from journeyml import every_n_days, make_labels, task_from_block, toy
    >>> events = toy.journeys()
    >>> cutoffs = every_n_days(events, every_days=7)
    >>> churn = task_from_block("churn", {"kind": "lapses", "horizon_days": 14,
    ...                                   "churn": ["cancellation"]})
    >>> labels = make_labels(events, cutoffs, churn,
    ...                      observation_end=pd.Timestamp("2024-02-01", tz="UTC"))
    >>> pd.concat([cutoffs, labels[["label", "eligible"]]], axis=1)
      customer_id                     as_of  label  eligible
    0         ann 2024-01-08 00:00:00+00:00      0      True
    1         ann 2024-01-15 00:00:00+00:00      1      True
    2         bob 2024-01-08 00:00:00+00:00      1      True
    3         bob 2024-01-15 00:00:00+00:00      1      True
    4         cat 2024-01-08 00:00:00+00:00      1      True
    5         cat 2024-01-15 00:00:00+00:00      1      True

    (ann buys on the 10th, then nothing for 14 days; bob cancels on the 20th; cat goes quiet.)
    """
    return labels_and_funnel(events, cutoffs, task, observation_end=observation_end)[0]


def labels_and_funnel(
    events: pd.DataFrame,
    cutoffs: pd.DataFrame,
    task: TaskConfig,
    *,
    observation_end: pd.Timestamp,
) -> tuple[pd.DataFrame, Funnel]:
    """:func:`make_labels` and how many cutoffs each filter kept (for diagnostics).

    >>> import pandas as pd
    >>> from journeyml import every_n_days, labels_and_funnel, task_from_block, toy
    >>> events = toy.journeys()
    >>> churn = task_from_block("churn", {"kind": "lapses", "horizon_days": 14,
    ...                                   "churn": ["cancellation"]})
    >>> labels, funnel = labels_and_funnel(events, every_n_days(events, every_days=7), churn,
    ...                                    observation_end=pd.Timestamp("2024-02-01", tz="UTC"))
    >>> funnel.total, funnel.classes
    (6, {'0': 1, '1': 5})
    """
    loc = Located.from_frame(events, cutoffs, task_attributes(task))
    end_ns = pd.Timestamp(observation_end).tz_convert("UTC").value
    population = population_steps(task, loc)
    label, known = _label(task, loc, end_ns)
    in_pop = np.logical_and.reduce([s.mask for s in population])
    eligible = in_pop & np.logical_and.reduce([s.mask for s in known]) if known else in_pop
    if task.output == "binary":
        col = pd.Series(label.astype(np.int64), index=cutoffs.index)
    else:
        col = pd.Series(label, index=cutoffs.index, dtype=object).where(eligible, None)
    frame = pd.DataFrame(
        {"label": col, "eligible": eligible, "in_population": in_pop}, index=cutoffs.index
    )
    funnel = Funnel.from_steps(task.name, [*population, *known], col[eligible].astype(str))
    return frame, funnel


def _horizon_ns(task: TaskConfig) -> int:
    if task.horizon_days is None:
        raise ConfigError(
            f"expected horizon_days for task {task.name!r} with snapshot cutoffs (the next event "
            "within how long?), got none. Give horizon_days, or use prefix cutoffs.",
            field="horizon_days",
        )
    return round(task.horizon_days * NS_PER_DAY)


def _observed(task: TaskConfig, loc: Located, h: int, end_ns: int) -> Step:
    return Step(
        "horizon_days",
        f"the {task.horizon_days:g} days after as_of inside the data (not censored)",
        loc.as_of + np.int64(h) <= end_ns,
    )


def _label(task: TaskConfig, loc: Located, end_ns: int) -> tuple[np.ndarray, list[Step]]:
    """Label values, and the steps that make a label known (censoring, a missing target)."""
    if task.kind == "case_outcome":
        m = loc.match(task.outcome)
        label = (loc.count(m, loc.pos0, loc.end) > 0) | (loc.count(m, loc.start, loc.pos0) > 0)
        if task.complete_after_days is None:
            return label, []
        quiet = np.int64(round(task.complete_after_days * NS_PER_DAY))
        last = loc.ts[np.clip(loc.end - 1, 0, max(len(loc.ts) - 1, 0))] if len(loc.ts) else 0
        over = loc.known & (last + quiet <= end_ns)
        rule = f"the case over (no event in the last {task.complete_after_days:g} days of the data)"
        return label, [Step("complete_after_days", rule, over)]
    if task.kind == "next":
        return _next(task, loc, end_ns)
    h = _horizon_ns(task)
    posh = loc.window_end(h)
    if task.kind == "occurs":
        label = loc.count(loc.match(task.outcome), loc.pos0, posh) > 0
    else:
        label = loc.count(loc.match(task.churn), loc.pos0, posh) > 0
        if task.inactivity:
            act = task.activity_mask(loc.touchpoint, loc.stage, loc.attributes)
            label |= loc.count(act, loc.pos0, posh) == 0
    return label, [_observed(task, loc, h, end_ns)]


def next_own(task: TaskConfig, loc: Located) -> np.ndarray:
    """Per cutoff, the position of the customer's first event at or after the history that is
    not company-sent (``loc.end`` when there is none).

    >>> import pandas as pd
    >>> from journeyml.tasks.definition import TaskConfig
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
    ...                                  "2024-01-02"], utc=True),
    ...     "touchpoint": ["visit", "newsletter", "buy", "newsletter"]})
    >>> cut = pd.DataFrame({"customer_id": ["a", "b"],
    ...                     "as_of": pd.to_datetime(["2024-01-01 12:00"] * 2, utc=True)})
    >>> task = TaskConfig("next", "next", horizon_days=7, target="touchpoint",
    ...                   company_sent=("newsletter",))
    >>> loc = Located.from_frame(ev, cut)
    >>> loc.pos0.tolist(), next_own(task, loc).tolist(), loc.end.tolist()
    ([1, 3], [2, 4], [3, 4])
    """
    sent = task.company_sent or ()
    if not sent:
        return loc.pos0
    own = ~isin(loc.touchpoint, sent)
    n = own.shape[0]
    ahead = np.minimum.accumulate(np.where(own, np.arange(n), n)[::-1])[::-1]
    ahead = np.concatenate([ahead, [n]]).astype(np.int64)
    return np.minimum(ahead[np.clip(loc.pos0, 0, n)], loc.end)


def _next(task: TaskConfig, loc: Located, end_ns: int) -> tuple[np.ndarray, list[Step]]:
    values = loc.stage if task.target == "stage" else loc.touchpoint
    n = values.shape[0]
    pos = next_own(task, loc)
    nxt = values[np.clip(pos, 0, max(n - 1, 0))] if n else np.full(len(loc.pos0), None)
    steps: list[Step] = []
    if loc.prefix:
        has_next = pos < loc.end
        label = np.where(has_next, nxt, END_CLASS).astype(object)
    else:
        h = _horizon_ns(task)
        has_next = loc.window_end(h) > pos
        label = np.where(has_next, nxt, NONE_CLASS).astype(object)
        observed = _observed(task, loc, h, end_ns)
        if task.end_of_case:
            ended = loc.known & (pos == loc.end)
            label = np.where(ended, END_CLASS, label).astype(object)
            rule = observed.rule + " or the case over"
            observed = Step(observed.key, rule, observed.mask | ended)
        steps.append(observed)
    missing = has_next & pd.isna(pd.Series(label, dtype=object)).to_numpy()
    steps.append(Step("target", f"the next event has a {task.target}", ~missing))
    return label, steps
