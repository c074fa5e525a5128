"""Labels and eligibility of every task kind on tiny journeys checkable by eye."""

from __future__ import annotations

import pandas as pd
import pytest

from journeyml.errors import ConfigError
from journeyml.tasks import (
    END_CLASS,
    NONE_CLASS,
    Eligibility,
    EventMatch,
    TaskConfig,
    at_each_event,
    make_labels,
)

END = pd.Timestamp("2024-03-01", tz="UTC")
Row = tuple[str, str, str, str | None]


def events(rows: list[Row], **attrs: list[object]) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": pd.to_datetime([r[1] for r in rows], utc=True),
            "touchpoint": [r[2] for r in rows],
            "stage": [r[3] for r in rows],
        }
    )
    for k, v in attrs.items():
        out[k] = v
    return out


EV = events(
    [
        ("a", "2024-01-01", "visit", "consideration"),
        ("a", "2024-01-05", "purchase", "conversion"),
        ("a", "2024-01-20", "visit", "retention"),
        ("b", "2024-01-02", "visit", "consideration"),
        ("b", "2024-01-03", "cancellation", "retention"),
        ("c", "2024-01-01", "ad", "awareness"),
        ("c", "2024-02-25", "visit", "consideration"),
        # n keeps receiving newsletters (company-sent) but does nothing itself for a month
        ("n", "2024-01-01", "visit", "consideration"),
        ("n", "2024-01-05", "newsletter", "awareness"),
        ("n", "2024-01-12", "newsletter", "awareness"),
        ("n", "2024-01-19", "newsletter", "awareness"),
        ("n", "2024-02-01", "visit", "consideration"),
    ]
)


def cut(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "as_of": pd.to_datetime([r[1] for r in rows], utc=True, format="ISO8601"),
        }
    )


def labels(task: TaskConfig, c: pd.DataFrame, ev: pd.DataFrame = EV) -> list[tuple[object, bool]]:
    """(label, eligible) per cutoff; the label of an ineligible cutoff is shown as None."""
    out = make_labels(ev, c, task, observation_end=END)
    return [
        (lab if ok else None, bool(ok))
        for lab, ok in zip(out["label"].tolist(), out["eligible"].tolist(), strict=True)
    ]


BUY = EventMatch(("purchase",))


# --- occurs ------------------------------------------------------------------------------------
def test_occurs_labels_eligibility_and_censoring() -> None:
    task = TaskConfig(
        "conversion", "occurs", horizon_days=7, outcome=BUY, eligibility=Eligibility(not_yet=BUY)
    )
    c = cut(
        ("a", "2024-01-02"),  # purchase on 01-05: 1
        ("a", "2024-01-06"),  # already bought: not yet purchase fails
        ("c", "2024-01-02"),  # nothing within 7 days: 0
        ("c", "2024-01-01"),  # no history before as_of (the event is at as_of): ineligible
        ("zz", "2024-01-02"),  # unknown customer
        ("c", "2024-02-26"),  # window reaches past the end of the data: censored
        ("a", "2024-01-05"),  # the purchase *at* as_of counts for the label, not history
    )
    assert labels(task, c) == [
        (1, True),
        (None, False),
        (0, True),
        (None, False),
        (None, False),
        (None, False),
        (1, True),
    ]
    anyone = TaskConfig("conversion", "occurs", horizon_days=7, outcome=BUY)
    assert labels(anyone, cut(("a", "2024-01-06"))) == [(0, True)]


def test_occurs_by_stage_and_by_event_attribute() -> None:
    by_stage = TaskConfig(
        "reaches_retention", "occurs", horizon_days=20, outcome=EventMatch(stages=("retention",))
    )
    assert labels(by_stage, cut(("a", "2024-01-02"), ("c", "2024-01-02"))) == [
        (1, True),  # a's visit on 01-20 is in stage retention
        (0, True),
    ]
    ev = events(
        [("p", "2024-01-01", "ticket", None), ("p", "2024-01-03", "ticket", None)],
        priority=["low", "high"],
    )
    high = TaskConfig(
        "escalates",
        "occurs",
        horizon_days=5,
        outcome=EventMatch(attribute="priority", values=("high",)),
    )
    assert labels(high, cut(("p", "2024-01-02")), ev) == [(1, True)]


# --- lapses ------------------------------------------------------------------------------------
def test_lapses_explicit_inactivity_and_activity_eligibility() -> None:
    task = TaskConfig("churn", "lapses", horizon_days=10, churn=EventMatch(("cancellation",)))
    c = cut(
        ("b", "2024-01-03"),  # cancellation at as_of: 1
        ("b", "2024-01-04"),  # cancelled before: not yet cancellation fails
        ("a", "2024-01-06"),  # next event 01-20 is 14 days later: no activity for 10 days -> 1
        ("a", "2024-01-02"),  # purchase on 01-05: active -> 0
        ("c", "2024-01-20"),  # last event 19 days before as_of: not active within 10 days
    )
    assert labels(task, c) == [(1, True), (None, False), (1, True), (0, True), (None, False)]
    explicit_only = TaskConfig(
        "churn", "lapses", horizon_days=10, churn=EventMatch(("cancellation",)), inactivity=False
    )
    assert labels(explicit_only, c)[2] == (0, True)
    no_activity_filter = TaskConfig(
        "churn",
        "lapses",
        horizon_days=10,
        churn=EventMatch(("cancellation",)),
        eligibility=Eligibility(not_yet=EventMatch(("cancellation",))),
    )
    assert labels(no_activity_filter, c)[4] == (1, True)


def test_company_sent_touchpoints_are_not_activity() -> None:
    def lapses(sent: tuple[str, ...]) -> TaskConfig:
        return TaskConfig("lapses", "lapses", horizon_days=14, company_sent=sent)

    c = cut(("n", "2024-01-06"), ("n", "2024-01-20"))
    # counting newsletters, n looks active: never lapses, and is active on 01-20
    assert labels(lapses(()), c) == [(0, True), (0, True)]
    # newsletters are sent by the company: n does nothing for 14 days after 01-06 (lapsed), and
    # on 01-20 its last own activity (01-01) is 19 days old, so it is not asked at all
    assert labels(lapses(("newsletter",)), c) == [(1, True), (None, False)]
    declared = TaskConfig(
        "lapses", "lapses", horizon_days=14, activity=EventMatch(("visit", "purchase"))
    )
    assert labels(declared, c) == [(1, True), (None, False)]


# --- eligibility filters -------------------------------------------------------------------------
def test_each_eligibility_filter_and_their_composition() -> None:
    c = cut(
        ("a", "2024-01-02"),  # 1 event, no purchase yet
        ("a", "2024-01-06"),  # 2 events, bought, active
        ("b", "2024-01-02T12:00"),  # 1 event, no purchase
        ("c", "2024-02-20"),  # 1 event, last 50 days ago
        ("n", "2024-01-20"),  # 4 events, own activity 19 days ago, newsletter yesterday
    )

    def eligible(e: Eligibility, sent: tuple[str, ...] = ("newsletter",)) -> list[bool]:
        task = TaskConfig(
            "t", "occurs", horizon_days=5, outcome=BUY, eligibility=e, company_sent=sent
        )
        return make_labels(EV, c, task, observation_end=END)["in_population"].tolist()

    assert eligible(Eligibility()) == [True] * 5
    assert eligible(Eligibility(not_yet=BUY)) == [True, False, True, True, True]
    assert eligible(Eligibility(has_done=BUY)) == [False, True, False, False, False]
    assert eligible(Eligibility(min_events=2)) == [False, True, False, False, True]
    assert eligible(Eligibility(active_within_days=14)) == [True, True, True, False, False]
    assert eligible(Eligibility(active_within_days=14), sent=()) == [True, True, True, False, True]
    both = Eligibility(not_yet=BUY, min_events=2, active_within_days=30)
    assert eligible(both) == [False, False, False, False, True]
    buyers = Eligibility(has_done=BUY, active_within_days=3)
    assert eligible(buyers) == [False, True, False, False, False]


# --- case outcome --------------------------------------------------------------------------------
CASES = events(
    [
        ("k1", "2024-01-01", "A", None),
        ("k1", "2024-01-02", "B", None),
        ("k1", "2024-01-03", "X", None),
        ("k1", "2024-01-04", "C", None),
        ("k2", "2024-01-01", "A", None),
        ("k2", "2024-01-05", "B", None),
        ("k2", "2024-01-06", "C", None),
        ("k3", "2024-01-02", "X", None),
        ("k3", "2024-01-03", "A", None),
    ],
    status=["approved"] * 4 + ["rejected"] * 3 + ["approved"] * 2,
)


def prefix_labels(task: TaskConfig) -> dict[str, list[object]]:
    c = at_each_event(CASES)
    out = make_labels(CASES, c, task, observation_end=END)
    got: dict[str, list[object]] = {}
    for cid, lab, ok in zip(c["customer_id"], out["label"], out["eligible"], strict=True):
        got.setdefault(cid, []).append(lab if ok else None)
    return got


def test_case_outcome_labels_every_prefix_with_the_case_outcome() -> None:
    task = TaskConfig("reaches_x", "case_outcome", outcome=EventMatch(("X",)))
    assert prefix_labels(task) == {"k1": [1, 1, 1, 1], "k2": [0, 0, 0], "k3": [1, 1]}


def test_cut_before_outcome_ends_prefixes_before_the_outcome_event() -> None:
    task = TaskConfig(
        "reaches_x", "case_outcome", outcome=EventMatch(("X",)), cut_before_outcome=True
    )
    # k1: only the prefixes A and A,B (X is the third event); k3 starts with X: no prefix
    assert prefix_labels(task) == {"k1": [1, 1, None, None], "k2": [0, 0, 0], "k3": [None, None]}


def test_open_cases_are_censored_when_cases_can_still_be_running() -> None:
    task = TaskConfig(
        "reaches_x", "case_outcome", outcome=EventMatch(("X",)), complete_after_days=56
    )
    # the data ends 03-01: k1 (last event 01-04) and k3 (01-03) have been quiet for 56 days,
    # k2 (last event 01-06) only for 55, so its outcome is not known yet
    assert prefix_labels(task) == {"k1": [1, 1, 1, 1], "k2": [None] * 3, "k3": [1, 1]}
    with pytest.raises(ConfigError, match="complete_after_days"):
        TaskConfig("t", "occurs", horizon_days=3, outcome=BUY, complete_after_days=5)


def test_case_outcome_from_a_case_attribute() -> None:
    task = TaskConfig(
        "approved",
        "case_outcome",
        outcome=EventMatch(attribute="status", values=("approved",)),
    )
    assert prefix_labels(task) == {"k1": [1, 1, 1, 1], "k2": [0, 0, 0], "k3": [1, 1]}
    with pytest.raises(ConfigError, match="cut_before_outcome"):
        TaskConfig(
            "approved",
            "case_outcome",
            outcome=EventMatch(attribute="status", values=("approved",)),
            cut_before_outcome=True,
        )


# --- next ---------------------------------------------------------------------------------------
def test_next_stage_and_touchpoint_with_snapshots() -> None:
    c = cut(("a", "2024-01-02"), ("a", "2024-01-06"), ("c", "2024-01-10"), ("a", "2024-01-21"))
    stage = TaskConfig("next_stage", "next", horizon_days=7)
    assert labels(stage, c) == [
        ("conversion", True),
        (NONE_CLASS, True),
        (NONE_CLASS, True),
        (NONE_CLASS, True),
    ]
    tp = TaskConfig("next_touchpoint", "next", horizon_days=20, target="touchpoint")
    assert [lab for lab, _ in labels(tp, c)[:2]] == ["purchase", "visit"]
    # censored: the window of c at 02-20 reaches past 03-01
    assert labels(tp, cut(("c", "2024-02-20"))) == [(None, False)]


def test_next_skips_company_sent_touchpoints() -> None:
    """A newsletter between the cutoff and the customer's own next step is not the step; a
    window holding only newsletters is "none"."""
    ev = events(
        [
            ("a", "2024-01-01", "visit", "awareness"),
            ("a", "2024-01-03", "newsletter", "awareness"),
            ("a", "2024-01-05", "purchase", "conversion"),
            ("b", "2024-01-01", "visit", "awareness"),
            ("b", "2024-01-03", "newsletter", "awareness"),
            ("b", "2024-01-20", "visit", "awareness"),
        ]
    )
    c = cut(("a", "2024-01-02"), ("b", "2024-01-02"))
    sent = TaskConfig(
        "nxt", "next", horizon_days=7, target="touchpoint", company_sent=("newsletter",)
    )
    got = make_labels(ev, c, sent, observation_end=END)
    assert got["label"].tolist() == ["purchase", NONE_CLASS]
    plain = TaskConfig("nxt", "next", horizon_days=7, target="touchpoint")
    assert make_labels(ev, c, plain, observation_end=END)["label"].tolist() == [
        "newsletter",
        "newsletter",
    ]


def test_end_of_case_with_snapshots() -> None:
    task = TaskConfig("nxt", "next", horizon_days=7, target="touchpoint", end_of_case=True)
    c = cut(("a", "2024-01-21"), ("a", "2024-01-06"), ("c", "2024-02-27"), ("b", "2024-01-05"))
    # a ended (no more events); a at 01-06: more later but none within 7 days -> none;
    # c at 02-27: the case is over, known even though the window is censored
    assert labels(task, c) == [
        (END_CLASS, True),
        (NONE_CLASS, True),
        (END_CLASS, True),
        (END_CLASS, True),
    ]


def test_next_with_prefixes_is_the_next_event_or_end_of_case() -> None:
    task = TaskConfig("next_activity", "next", target="touchpoint")
    assert prefix_labels(task) == {
        "k1": ["B", "X", "C", END_CLASS],
        "k2": ["B", "C", END_CLASS],
        "k3": ["A", END_CLASS],
    }
    with pytest.raises(ConfigError, match="horizon_days"):
        make_labels(CASES, cut(("k1", "2024-01-02")), task, observation_end=END)


def test_prefix_cutoffs_serve_time_based_kinds_too() -> None:
    # occurs on prefixes: the outcome within 1.5 days after the k-th event
    task = TaskConfig("x_soon", "occurs", horizon_days=1.5, outcome=EventMatch(("X",)))
    assert prefix_labels(task) == {"k1": [0, 1, 0, 0], "k2": [0, 0, 0], "k3": [0, 0]}


def test_task_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="horizon_days"):
        TaskConfig("t", "occurs", horizon_days=0, outcome=BUY)
    with pytest.raises(ConfigError, match="horizon_days"):
        TaskConfig("t", "lapses")
    with pytest.raises(ConfigError, match="kind"):
        TaskConfig("t", "lifetime", horizon_days=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="outcome"):
        TaskConfig("t", "occurs", horizon_days=3)
    with pytest.raises(ConfigError, match="no horizon_days"):
        TaskConfig("t", "case_outcome", horizon_days=3, outcome=BUY)
    with pytest.raises(ConfigError, match="lowercase") as e:
        TaskConfig("Books Demo", "occurs", horizon_days=3, outcome=BUY)
    assert "books_demo" in e.value.message
    with pytest.raises(ConfigError, match="min_events"):
        Eligibility(min_events=0)
