"""A task definition that cannot yield labels says which filter removed the cutoffs, with
counts, and what to change: one test per message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeyml.errors import ConfigError, NoLabelsError
from journeyml.tasks import (
    Eligibility,
    EventMatch,
    TaskConfig,
    at_each_event,
    check_labels,
    check_split,
    check_vocabulary,
    every_n_days,
    labels_and_funnel,
    temporal_split,
)

BUY = EventMatch(("purchase",))


def cdnow_like(n: int = 40) -> pd.DataFrame:
    """Every customer's first event is a purchase (a purchases-only log like CDNOW)."""
    rows = []
    for i in range(n):
        for d in (0, 20 + i % 7, 60 + i % 11):
            rows.append(
                (f"c{i:02d}", pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=d + i))
            )
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows],
            "touchpoint": "purchase",
        }
    )


def diagnose(task: TaskConfig, ev: pd.DataFrame, cut: pd.DataFrame | None = None) -> NoLabelsError:
    end = ev["timestamp"].max() + pd.Timedelta(days=1)
    c = every_n_days(ev, 7, end=end) if cut is None else cut
    _, funnel = labels_and_funnel(ev, c, task, observation_end=end)
    with pytest.raises(NoLabelsError) as e:
        check_labels(task, funnel, ev, field=f"tasks.{task.name}")
    return e.value


def test_first_event_is_the_outcome_so_not_yet_leaves_nothing() -> None:
    task = TaskConfig(
        "conversion", "occurs", horizon_days=30, outcome=BUY, eligibility=Eligibility(not_yet=BUY)
    )
    err = diagnose(task, cdnow_like())
    assert err.field == "tasks.conversion.eligibility.not_yet"
    assert (
        "Every customer's first event is a purchase, so `not yet purchase` leaves 0 cutoffs"
        in err.message
    )
    assert "use `eligibility: any`" in err.message
    assert "more data" not in err.message
    # counts per filter: every cutoff passes min_events, none passes not_yet
    steps = {s["key"]: s for s in err.details["funnel"]}
    total = err.details["total"]
    assert total > 0 and steps["eligibility.min_events"]["remaining"] == total
    assert steps["eligibility.not_yet"]["remaining"] == 0
    assert steps["eligibility.not_yet"]["removed_alone"] == total
    assert f"{total:,} cutoffs" in err.message


def test_has_done_never_before_a_cutoff() -> None:
    ev = cdnow_like()
    ev.loc[ev.index[-1], "touchpoint"] = "review"  # one review, at the very end of the log
    task = TaskConfig(
        "t",
        "occurs",
        horizon_days=30,
        outcome=BUY,
        eligibility=Eligibility(has_done=EventMatch(("review",))),
    )
    err = diagnose(task, ev)
    assert err.field == "tasks.t.eligibility.has_done"
    assert "review occurs 1 times in the events, never before" in err.message


def test_no_activity_because_every_touchpoint_is_company_sent() -> None:
    ev = cdnow_like()
    ev["touchpoint"] = "newsletter"
    task = TaskConfig("t", "lapses", horizon_days=10, company_sent=("newsletter",))
    err = diagnose(task, ev)
    assert err.field == "tasks.t.eligibility.active_within_days"
    assert "any event except company-sent newsletter: 0 of" in err.message
    assert "Raise active_within_days" in err.message


def test_min_events_longer_than_any_journey() -> None:
    task = TaskConfig(
        "t", "occurs", horizon_days=10, outcome=BUY, eligibility=Eligibility(min_events=5)
    )
    err = diagnose(task, cdnow_like())
    assert err.field == "tasks.t.eligibility.min_events"
    assert "The longest journey has 3 events. Lower eligibility.min_events (now 5)" in err.message


def test_horizon_longer_than_the_log() -> None:
    task = TaskConfig("t", "occurs", horizon_days=400, outcome=BUY)
    err = diagnose(task, cdnow_like())
    assert err.field == "tasks.t.horizon_days"
    assert "the events span 105 days" in err.message and "horizon is 400 days" in err.message


def test_cut_before_outcome_when_cases_start_with_it() -> None:
    ev = cdnow_like()
    task = TaskConfig("t", "case_outcome", outcome=BUY, cut_before_outcome=True)
    err = diagnose(task, ev, at_each_event(ev))
    assert err.field == "tasks.t.cut_before_outcome"
    assert "Every customer's first event is a purchase" in err.message
    assert "set cut_before_outcome: false" in err.message


def test_no_case_over_yet() -> None:
    ev = cdnow_like()
    task = TaskConfig("t", "case_outcome", outcome=BUY, complete_after_days=500)
    err = diagnose(task, ev, at_each_event(ev))
    assert err.field == "tasks.t.complete_after_days"
    assert "No case has been quiet for 500 days" in err.message


def test_next_stage_without_stages() -> None:
    task = TaskConfig("t", "next", horizon_days=400)
    ev = cdnow_like()
    err = diagnose(task, ev, at_each_event(ev))
    # the last prefix of each case is "end"; every other prefix's next event has no stage
    assert err.field == "tasks.t.target"
    assert "all 40 eligible cutoffs have the same label 'end'" in err.message
    assert "80 cutoffs were left out because the next event has no stage" in err.message
    assert "Use target: touchpoint" in err.message


def test_labels_of_one_class_only() -> None:
    ev = cdnow_like()
    never = TaskConfig(
        "t",
        "occurs",
        horizon_days=10,
        outcome=EventMatch(("purchase",)),
        eligibility=Eligibility(min_events=3),
    )
    ev2 = ev.copy()
    ev2["touchpoint"] = np.where(np.arange(len(ev)) % 3 == 0, "visit", "purchase")
    err = diagnose(never, ev2)
    assert err.field == "tasks.t.outcome"
    assert "labelled 0: purchase never happens within 10 days of an eligible cutoff" in err.message
    always = TaskConfig(
        "t", "lapses", horizon_days=3, company_sent=("purchase",), eligibility=Eligibility()
    )
    err = diagnose(always, ev)
    assert (
        "labelled 1" in err.message and "Narrow churn, declare activity more broadly" in err.message
    )


def test_split_too_small_says_which_part() -> None:
    ev = cdnow_like(2)
    task = TaskConfig("t", "occurs", horizon_days=7, outcome=BUY)
    end = ev["timestamp"].max() + pd.Timedelta(days=1)
    c = every_n_days(ev, 7, end=end)
    labels, _ = labels_and_funnel(ev, c, task, observation_end=end)
    split = temporal_split(c, horizon_days=7)
    with pytest.raises(NoLabelsError, match=r"leaves train \d+, validation \d+, test \d+") as e:
        check_split(task, labels, split, field="tasks.t")
    assert "snapshots.every_days" in e.value.message and e.value.field == "split"


def test_unknown_names_are_named_with_a_suggestion() -> None:
    ev = cdnow_like()
    ev["stage"] = "conversion"
    ev["status"] = "open"
    cases = [
        (
            TaskConfig("t", "occurs", horizon_days=7, outcome=EventMatch(("purchases",))),
            "tasks.t.outcome",
            "did you mean 'purchase'",
        ),
        (
            TaskConfig("t", "occurs", horizon_days=7, outcome=EventMatch(stages=("convert",))),
            "tasks.t.outcome",
            r"stage\(s\) not in the events: \['convert'\]",
        ),
        (
            TaskConfig(
                "t",
                "lapses",
                horizon_days=7,
                eligibility=Eligibility(has_done=EventMatch(("buy",))),
            ),
            "tasks.t.eligibility.has_done",
            r"\['buy'\]",
        ),
        (
            TaskConfig("t", "lapses", horizon_days=7, activity=EventMatch(("login",))),
            "tasks.t.activity",
            r"\['login'\]",
        ),
        (
            TaskConfig("t", "case_outcome", outcome=EventMatch(attribute="state", values=("x",))),
            "tasks.t.outcome.attribute",
            "does not have|do not have",
        ),
        (
            TaskConfig(
                "t", "case_outcome", outcome=EventMatch(attribute="status", values=("closed",))
            ),
            "tasks.t.outcome.values",
            "never have those values",
        ),
    ]
    for task, field, words in cases:
        with pytest.raises(ConfigError, match=words) as e:
            check_vocabulary(task, ev, field="tasks.t")
        assert e.value.field == field
    declared = TaskConfig("t", "lapses", horizon_days=7, company_sent=("newsleter",))
    check_vocabulary(declared, ev, field="tasks.t")  # from the data source: not checked
    with pytest.raises(ConfigError, match="newsleter"):
        check_vocabulary(declared, ev, field="tasks.t", company_sent_declared=True)
