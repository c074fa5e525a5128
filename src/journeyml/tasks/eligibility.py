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
    out: list[str | None] = []
    for task in tasks:
        why = None
        for step in population_steps(task, loc):
            if not bool(step.mask[0]):
                why = _why(task, step, loc, words)
                break
        out.append(why)
    return out


def _why(task: TaskConfig, step: Step, loc: Located, words: Words) -> str:
    e = task.rules
    n = int(loc.n_history[0])
    if step.key == "eligibility.min_events":
        if n == 0:
            return "the customer has no history before as_of"
        return f"the customer has {n} event(s) before as_of, fewer than {e.min_events}"
    if step.key in ("eligibility.not_yet", "cut_before_outcome"):
        m = e.not_yet if step.key == "eligibility.not_yet" else task.outcome
        i = int(loc.first_in(loc.match(m), loc.start, loc.pos0)[0])
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
