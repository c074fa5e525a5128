"""Bad task definitions, caught before training with a message that says what to change:
names not in the events' vocabulary, filters that leave no cutoff (with counts per filter),
labels of one class only, and splits too small to learn from.

>>> import pandas as pd
>>> from journeyml.tasks.definition import EventMatch, TaskConfig
>>> ev = pd.DataFrame({"customer_id": ["a"], "timestamp": pd.to_datetime(["2024-01-01"], utc=True),
...                    "touchpoint": ["purchase"]})
>>> check_vocabulary(TaskConfig("t", "occurs", horizon_days=7, outcome=EventMatch(("purchse",))),
...                  ev, field="tasks.t")
Traceback (most recent call last):
...
journeyml.errors.ConfigError: task 't': outcome names touchpoint(s) not in the events: \
['purchse'] (did you mean 'purchase'?). The events have 1 touchpoints: ['purchase']. Fix \
tasks.t.outcome.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError, NoLabelsError
from journeyml.events import CUSTOMER_ID, STAGE, TIMESTAMP, TOUCHPOINT, is_canonical, to_canonical
from journeyml.tasks.definition import EventMatch, TaskConfig
from journeyml.tasks.funnel import Funnel
from journeyml.tasks.snapshots import TemporalSplit

#: the fewest eligible cutoffs per part of the split a model is trained from
MIN_CUTOFFS = {"train": 20, "valid": 10, "test": 1}


def _matches(task: TaskConfig) -> list[tuple[str, EventMatch]]:
    e = task.rules
    out = [
        ("outcome", task.outcome),
        ("churn", task.churn),
        ("eligibility.not_yet", e.not_yet),
        ("eligibility.has_done", e.has_done),
    ]
    if task.activity is not None:
        out.append(("activity", task.activity))
    return out


def check_vocabulary(
    task: TaskConfig, events: pd.DataFrame, *, field: str, company_sent_declared: bool = False
) -> None:
    """Every touchpoint, stage and attribute a task names must occur in ``events``.
    ``company_sent_declared``: the task's own ``company_sent`` list is checked too."""
    tps = sorted(pd.unique(events[TOUCHPOINT].astype(str)))
    stages = sorted(str(s) for s in pd.unique(events[STAGE].dropna())) if STAGE in events else []
    checks = [(key, m) for key, m in _matches(task) if not m.empty]
    if company_sent_declared and task.company_sent:
        checks.append(("company_sent", EventMatch(task.company_sent)))
    for key, m in checks:
        for what, names, vocab in (("touchpoint", m.touchpoints, tps), ("stage", m.stages, stages)):
            unknown = [n for n in names if n not in set(vocab)]
            if unknown:
                close = difflib.get_close_matches(unknown[0], vocab, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                shown = vocab[:30] + (["…"] if len(vocab) > 30 else [])
                raise ConfigError(
                    f"task {task.name!r}: {key} names {what}(s) not in the events: {unknown}"
                    f"{hint}. The events have {len(vocab)} {what}s: {shown}. Fix {field}.{key}.",
                    field=f"{field}.{key}",
                )
        if m.attribute is not None:
            _check_attribute(task, key, m, events, field)


def _check_attribute(
    task: TaskConfig, key: str, m: EventMatch, events: pd.DataFrame, field: str
) -> None:
    assert m.attribute is not None
    if m.attribute not in events.columns:
        raise ConfigError(
            f"task {task.name!r}: {key} reads attribute {m.attribute!r}, which the events do not "
            f"have (columns: {list(events.columns)}). Map it in the mapping "
            "(customer_attributes or event_attributes) or fix the name.",
            field=f"{field}.{key}.attribute",
        )
    seen = {str(v) for v in pd.unique(events[m.attribute].dropna())}
    if not seen & set(m.values):
        raise ConfigError(
            f"task {task.name!r}: {key} expects {m.attribute} to be one of {list(m.values)}, but "
            f"the events never have those values (they have {sorted(seen)[:20]}). Fix "
            f"{field}.{key}.values.",
            field=f"{field}.{key}.values",
        )


def check_labels(task: TaskConfig, funnel: Funnel, events: pd.DataFrame, *, field: str) -> None:
    """Raise :class:`NoLabelsError` when the task leaves no eligible cutoff, or labels every
    eligible cutoff the same (binary tasks), naming the filter or key to change."""
    if funnel.eligible == 0:
        _no_cutoffs(task, funnel, events, field)
    if len(funnel.classes) == 1:
        if task.output == "binary":
            _one_class(task, funnel, events, field)
        _one_next_class(task, funnel, field)


def check_split(
    task: TaskConfig, labels: pd.DataFrame, split: TemporalSplit, *, field: str
) -> None:
    """Raise :class:`NoLabelsError` when a part of the split has too few eligible cutoffs,
    or training sees one outcome only."""
    elig = labels["eligible"].to_numpy(bool)
    counts = {k: int((getattr(split, k) & elig).sum()) for k in MIN_CUTOFFS}
    short = [k for k, n in MIN_CUTOFFS.items() if counts[k] < n]
    if short:
        if split.by == "time":
            hint = (
                "Sample snapshots more often (snapshots.every_days), use a shorter horizon_days "
                "(the parts are kept at least a horizon apart), smaller split fractions, or a "
                "longer log"
            )
        else:
            hint = "Use a log with more cases, or change split.test_fraction / valid_fraction"
        raise NoLabelsError(
            f"task {task.name!r}: {int(elig.sum()):,} eligible cutoffs, but the split "
            f"({split.by}; validation from {split.valid_start.date()}, test from "
            f"{split.test_start.date()}) leaves train {counts['train']}, validation "
            f"{counts['valid']}, test {counts['test']}; at least {MIN_CUTOFFS['train']}, "
            f"{MIN_CUTOFFS['valid']} and {MIN_CUTOFFS['test']} are needed. {hint}.",
            field="split",
            details={"counts": counts},
        )
    if task.output == "binary":
        y = labels["label"].to_numpy()[split.train & elig]
        if len(np.unique(y)) < 2:
            raise NoLabelsError(
                f"task {task.name!r}: the {len(y):,} training cutoffs (before "
                f"{split.valid_start.date()}) are all labelled {int(y[0])}; the other outcome "
                "only appears later. Use a longer log, or smaller split fractions.",
                field="split",
            )


# --- the messages ----------------------------------------------------------------------------
def _canon(events: pd.DataFrame) -> pd.DataFrame:
    return events if is_canonical(events) else to_canonical(events)


def _no_cutoffs(task: TaskConfig, funnel: Funnel, events: pd.DataFrame, field: str) -> None:
    step = funnel.first_empty()
    assert step is not None
    i = funnel.steps.index(step)
    before = funnel.steps[i - 1].remaining if i else funnel.total
    head = (
        f"task {task.name!r} has no eligible cutoff: {step.rule} ({field}.{step.key}) leaves 0 "
        f"of {before:,}.\nCutoffs kept by each filter in turn:\n{funnel.table()}\n"
    )
    ev = _canon(events)
    raise NoLabelsError(
        head + _hint(task, step.key, ev),
        field=f"{field}.{step.key}",
        details={"funnel": [s.__dict__ for s in funnel.steps], "total": funnel.total},
    )


def _hint(task: TaskConfig, key: str, ev: pd.DataFrame) -> str:
    e = task.rules
    tps = ev[TOUCHPOINT].to_numpy(dtype=object)
    stages = ev[STAGE].to_numpy(dtype=object)
    attrs = {
        m.attribute: ev[m.attribute].to_numpy(dtype=object)
        for _, m in _matches(task)
        if m.attribute is not None and m.attribute in ev.columns
    }
    first = ~ev[CUSTOMER_ID].duplicated().to_numpy()
    if key in ("eligibility.not_yet", "cut_before_outcome"):
        m = e.not_yet if key == "eligibility.not_yet" else task.outcome
        hit = m.mask(tps, stages, attrs)
        what = m.describe()
        if hit[first].all():
            fix = (
                "use `eligibility: any` (or drop not_yet)"
                if key == "eligibility.not_yet"
                else "set cut_before_outcome: false, or choose an outcome that happens later"
            )
            return (
                f"Every customer's first event is a {what}, so `not yet {what}` leaves 0 "
                f"cutoffs; {fix}."
            )
        return (
            f"Every cutoff comes after a {what} event. Drop the filter (`eligibility: any`) or "
            "sample cutoffs earlier in the journeys (snapshots.every_days)."
        )
    if key == "eligibility.has_done":
        n = int(e.has_done.mask(tps, stages, attrs).sum())
        return (
            f"{e.has_done.describe()} occurs {n:,} times in the events, never before an "
            "otherwise eligible cutoff. Check the names in has_done, or drop it."
        )
    if key == "eligibility.active_within_days":
        act = task.activity_mask(tps, stages, attrs)
        return (
            f"Activity is {task.activity_text()}: {int(act.sum()):,} of {len(act):,} events. "
            f"No cutoff has one in the {e.active_within_days:g} days before it. Raise "
            "active_within_days, set it to null, or declare activity: [...] (touchpoints the "
            "mapping marks company_sent never count)."
        )
    if key == "eligibility.min_events":
        longest = int(ev.groupby(CUSTOMER_ID, sort=False).size().max()) if len(ev) else 0
        return (
            f"The longest journey has {longest} events. Lower eligibility.min_events "
            f"(now {e.min_events})."
        )
    if key == "complete_after_days":
        return (
            f"No case has been quiet for {task.complete_after_days:g} days before the end of "
            f"the data ({ev[TIMESTAMP].max().date()}). Lower complete_after_days, or remove it "
            "if the log holds finished cases only."
        )
    if key == "horizon_days":
        t0, t1 = ev[TIMESTAMP].min(), ev[TIMESTAMP].max()
        span = (t1 - t0) / pd.Timedelta(days=1)
        return (
            f"Every label window reaches past the end of the data: the events span "
            f"{span:.0f} days ({t0.date()} to {t1.date()}) and the horizon is "
            f"{task.horizon_days:g} days. Use a shorter horizon_days, or a longer log."
        )
    return (
        f"No next event has a {task.target}. Use target: touchpoint, or give the mapping a "
        "stage_map / stage_mode."
    )


def _one_next_class(task: TaskConfig, funnel: Funnel, field: str) -> None:
    ((value, n),) = funnel.classes.items()
    msg = f"task {task.name!r}: all {n:,} eligible cutoffs have the same label {value!r}: "
    msg += "there is nothing to predict."
    key = "target"
    dropped = next((s for s in funnel.steps if s.key == "target"), None)
    if dropped is not None and dropped.removed_alone:
        msg += (
            f" {dropped.removed_alone:,} cutoffs were left out because the next event has no "
            f"{task.target}. Use target: touchpoint, or give the mapping a stage_map / "
            "stage_mode."
        )
    else:
        key = "horizon_days"
        msg += " Use a longer horizon_days, or a log with more varied journeys."
    raise NoLabelsError(msg, field=f"{field}.{key}", details={"classes": funnel.classes})


def _one_class(task: TaskConfig, funnel: Funnel, events: pd.DataFrame, field: str) -> None:
    ((value, n),) = funnel.classes.items()
    ev = _canon(events)
    when = (
        "later in the case"
        if task.kind == "case_outcome"
        else f"within {task.horizon_days:g} days of"
    )
    if task.kind == "lapses":
        event = f"lapsing ({task.churn.describe()}, or no {task.activity_text()} for the horizon)"
        key = "churn"
    else:
        event = task.outcome.describe()
        key = "outcome"
    if value == "0":
        m = task.churn if task.kind == "lapses" else task.outcome
        attrs = (
            {m.attribute: ev[m.attribute].to_numpy(dtype=object)}
            if m.attribute is not None and m.attribute in ev.columns
            else {}
        )
        k = int(m.mask(ev[TOUCHPOINT].to_numpy(object), ev[STAGE].to_numpy(object), attrs).sum())
        msg = (
            f"task {task.name!r}: all {n:,} eligible cutoffs are labelled 0: {event} never "
            f"happens {when} an eligible cutoff ({k:,} such events in the log). Check {key}, "
            "lengthen horizon_days, or loosen eligibility."
        )
    else:
        msg = (
            f"task {task.name!r}: all {n:,} eligible cutoffs are labelled 1: {event} always "
            f"happens {when} an eligible cutoff, so there is nothing to predict. Narrow {key}"
            + (", declare activity more broadly," if task.kind == "lapses" else "")
            + " or shorten horizon_days."
        )
    raise NoLabelsError(msg, field=f"{field}.{key}", details={"classes": funnel.classes})
