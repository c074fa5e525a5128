"""Who a task asks at ``as_of``: its eligibility rules, from events before ``as_of`` only.

One set of rules serves the labels (many cutoffs, :func:`population_steps` over a frame) and
the API (:func:`journey_reason` for one journey), through the same :class:`Located` arrays, so
a journey the API flags ``not_eligible`` is one training would have left out.

>>> from journeyml.tasks.definition import EventMatch, TaskConfig
>>> task = TaskConfig("conversion", "occurs", horizon_days=14, outcome=EventMatch(("purchase",)),
...                   eligibility=Eligibility(not_yet=EventMatch(("purchase",))))
>>> journey = [{"timestamp": "2024-05-10T12:04:00Z", "touchpoint": "purchase"}]
>>> journey_reason(task, journey, "2024-06-01T00:00:00Z")
'the customer already has purchase (2024-05-10)'
>>> journey_reason(task, [{"timestamp": "2024-05-10", "touchpoint": "visit"}], "2024-06-01")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from journeyml.features import NS_PER_DAY
from journeyml.tasks.definition import Eligibility, EventMatch, TaskConfig
from journeyml.tasks.located import NEVER, Located

Words = Callable[[str], str]

__all__ = [
    "Eligibility",
    "Step",
    "journey_reason",
    "journey_reasons",
    "population_steps",
    "reasons_by_cutoff",
    "task_attributes",
]


@dataclass(frozen=True)
class Step:
    """One filter: the config key that sets it, the rule in words, and which cutoffs pass."""

    key: str
    rule: str
    mask: np.ndarray


def task_attributes(task: TaskConfig) -> tuple[str, ...]:
    """The attribute columns a task's outcome, activity or eligibility reads."""
    e = task.rules
    matches: list[EventMatch | None] = [task.outcome, task.churn, task.activity, e.not_yet]
    matches.append(e.has_done)
    return tuple(dict.fromkeys(m.attribute for m in matches if m is not None and m.attribute))


def population_steps(task: TaskConfig, loc: Located) -> list[Step]:
    """The task's eligibility filters in order (each mask is that filter alone)."""
    e = task.rules
    steps = [
        Step(
            "eligibility.min_events",
            f"at least {e.min_events} event{'s' if e.min_events > 1 else ''} before as_of",
            loc.known & (loc.n_history >= e.min_events),
        )
    ]
    if not e.not_yet.empty:
        seen = loc.count(loc.match(e.not_yet), loc.start, loc.pos0)
        steps.append(Step("eligibility.not_yet", f"no {e.not_yet.describe()} yet", seen == 0))
    if task.cut_before_outcome:
        seen = loc.count(loc.match(task.outcome), loc.start, loc.pos0)
        steps.append(
            Step("cut_before_outcome", f"no {task.outcome.describe()} in the prefix", seen == 0)
        )
    if not e.has_done.empty:
        done = loc.count(loc.match(e.has_done), loc.start, loc.pos0)
        steps.append(
            Step("eligibility.has_done", f"some {e.has_done.describe()} already", done > 0)
        )
    if e.active_within_days is not None:
        act = task.activity_mask(loc.touchpoint, loc.stage, loc.attributes)
        last = loc.last_in_history(act)
        d = np.int64(round(e.active_within_days * NS_PER_DAY))
        active = (last > NEVER) & (loc.as_of - last <= d)
        steps.append(
            Step(
                "eligibility.active_within_days",
                f"activity ({task.activity_text()}) in the {e.active_within_days:g} days "
                "before as_of",
                active,
            )
        )
    return steps


def journey_reason(
    task: TaskConfig,
    records: Sequence[Mapping[str, Any]],
    as_of: Any,
    words: Words = str,
) -> str | None:
    """Why one journey (event dicts before ``as_of``) is outside the task's population, or
    None when the task would have asked it in training."""
    return journey_reasons([task], records, as_of, words)[0]


def journey_reasons(
    tasks: Sequence[TaskConfig],
    records: Sequence[Mapping[str, Any]],
    as_of: Any,
    words: Words = str,
) -> list[str | None]:
    """:func:`journey_reason` of several tasks (in their order), reading the journey once."""
    attrs = dict.fromkeys(a for t in tasks for a in task_attributes(t))
    loc = Located.from_records(records, as_of, attrs)
    return [reasons[0] for reasons in _reasons(tasks, loc, words)]


def reasons_by_cutoff(
    tasks: Sequence[TaskConfig],
    events: pd.DataFrame,
    cutoffs: pd.DataFrame,
    words: Words = str,
) -> list[list[str | None]]:
    """:func:`journey_reason` for many journeys at once (batch scoring): per task, one reason
    (or None) per cutoff row, through the same filters as the labels and the API.

    >>> from journeyml.tasks.definition import EventMatch, TaskConfig
    >>> task = TaskConfig("conversion", "occurs", horizon_days=14,
    ...                   outcome=EventMatch(("purchase",)),
    ...                   eligibility=Eligibility(not_yet=EventMatch(("purchase",))))
    >>> ev = pd.DataFrame({"customer_id": ["a", "b"], "touchpoint": ["purchase", "visit"],
    ...     "timestamp": pd.to_datetime(["2024-05-10", "2024-05-11"], utc=True)})
    >>> cut = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                     "as_of": pd.Timestamp("2024-06-01", tz="UTC")})
    >>> for reason in reasons_by_cutoff([task], ev, cut)[0]:
    ...     print(reason)
    the customer already has purchase (2024-05-10)
    None
    the customer has no history before as_of
    """
    attrs = dict.fromkeys(a for t in tasks for a in task_attributes(t))
    return _reasons(tasks, Located.from_frame(events, cutoffs, attrs), words)


def _reasons(tasks: Sequence[TaskConfig], loc: Located, words: Words) -> list[list[str | None]]:
    out: list[list[str | None]] = []
    for task in tasks:
        why: list[str | None] = [None] * len(loc.as_of)
        for step in population_steps(task, loc):
            failed = [int(i) for i in np.flatnonzero(~step.mask) if why[i] is None]
            if not failed:  # the first filter a journey fails says why
                continue
            first = _first_seen(task, step, loc)
            for i in failed:
                why[i] = _why(task, step, loc, words, i, first)
        out.append(why)
    return out


def _first_seen(task: TaskConfig, step: Step, loc: Located) -> np.ndarray | None:
    """Per cutoff, the first event that put it out of a not-yet / cut-before-outcome step."""
    if step.key not in ("eligibility.not_yet", "cut_before_outcome"):
        return None
    m = task.rules.not_yet if step.key == "eligibility.not_yet" else task.outcome
    return loc.first_in(loc.match(m), loc.start, loc.pos0)


def _why(
    task: TaskConfig,
    step: Step,
    loc: Located,
    words: Words,
    row: int = 0,
    first: np.ndarray | None = None,
) -> str:
    e = task.rules
    if step.key == "eligibility.min_events":
        n = int(loc.pos0[row] - loc.start[row])
        if n == 0:
            return "the customer has no history before as_of"
        return f"the customer has {n} event(s) before as_of, fewer than {e.min_events}"
    if step.key in ("eligibility.not_yet", "cut_before_outcome"):
        first = _first_seen(task, step, loc) if first is None else first
        assert first is not None
        i = int(first[row])
        when = pd.Timestamp(int(loc.ts[i]), tz="UTC").date().isoformat()
        what = words(str(loc.touchpoint[i]))
        if step.key == "cut_before_outcome":
            return f"the case already reached {what} ({when})"
        return f"the customer already has {what} ({when})"
    if step.key == "eligibility.has_done":
        return f"the customer has no {e.has_done.describe(words)} yet"
    return (
        f"the customer has been inactive for more than {e.active_within_days:g} days "
        f"(activity: {task.activity_text(words)})"
    )
