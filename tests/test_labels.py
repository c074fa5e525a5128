"""Labels for each task on tiny journeys: values, eligibility, censoring; and a property: only
events at or after as_of decide an eligible label."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyml.errors import ConfigError
from journeyml.tasks import END_CLASS, NONE_CLASS, TaskConfig, make_labels

END = pd.Timestamp("2024-03-01", tz="UTC")


def events(rows: list[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": pd.to_datetime([r[1] for r in rows], utc=True),
            "touchpoint": [r[2] for r in rows],
            "stage": [r[3] for r in rows],
        }
    )


EV = events(
    [
        ("a", "2024-01-01", "visit", "consideration"),
        ("a", "2024-01-05", "purchase", "conversion"),
        ("a", "2024-01-20", "visit", "retention"),
        ("b", "2024-01-02", "visit", "consideration"),
        ("b", "2024-01-03", "cancellation", "retention"),
        ("c", "2024-01-01", "ad", "awareness"),
        ("c", "2024-02-25", "visit", "consideration"),
    ]
)


def cut(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "as_of": pd.to_datetime([r[1] for r in rows], utc=True),
        }
    )


def labels(task: TaskConfig, c: pd.DataFrame) -> list[tuple[object, bool]]:
    """(label, eligible) per cutoff; the label of an ineligible cutoff is shown as None."""
    out = make_labels(EV, c, task, observation_end=END)
    return [
        (lab if ok else None, bool(ok))
        for lab, ok in zip(out["label"].tolist(), out["eligible"].tolist(), strict=True)
    ]


def test_conversion_labels_eligibility_and_censoring() -> None:
    task = TaskConfig("conversion", horizon_days=7)
    c = cut(
        ("a", "2024-01-02"),  # purchase on 01-05: 1
        ("a", "2024-01-06"),  # already converted: ineligible
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
    anyone = TaskConfig("conversion", horizon_days=7, eligibility="any")
    assert labels(anyone, cut(("a", "2024-01-06"))) == [(0, True)]


def test_churn_explicit_inactivity_and_activity_eligibility() -> None:
    task = TaskConfig("churn", horizon_days=10)
    c = cut(
        ("b", "2024-01-03"),  # cancellation at as_of: 1
        ("b", "2024-01-04"),  # churned before: ineligible
        ("a", "2024-01-06"),  # next event 01-20 is 14 days later: inactive for 10 days -> 1
        ("a", "2024-01-02"),  # purchase on 01-05: active -> 0
        ("c", "2024-01-20"),  # last event 19 days before as_of: not active, ineligible
    )
    assert labels(task, c) == [(1, True), (None, False), (1, True), (0, True), (None, False)]
    explicit_only = TaskConfig("churn", horizon_days=10, inactivity=False)
    assert labels(explicit_only, c)[2] == (0, True)
    anyone = TaskConfig("churn", horizon_days=10, eligibility="any")
    assert labels(anyone, c)[4] == (1, True)


def test_next_stage_and_touchpoint() -> None:
    c = cut(("a", "2024-01-02"), ("a", "2024-01-06"), ("c", "2024-01-10"), ("a", "2024-01-21"))
    stage = TaskConfig("next_stage", horizon_days=7)
    assert labels(stage, c) == [
        ("conversion", True),
        (NONE_CLASS, True),
        (NONE_CLASS, True),
        (NONE_CLASS, True),
    ]
    tp = TaskConfig("next_stage", horizon_days=20, target="touchpoint")
    assert [lab for lab, _ in labels(tp, c)[:2]] == ["purchase", "visit"]
    # censored: the window of c at 02-20 reaches past 03-01
    assert labels(tp, cut(("c", "2024-02-20"))) == [(None, False)]


def test_end_of_case_in_time_based_mode() -> None:
    task = TaskConfig("next_stage", horizon_days=7, target="touchpoint", end_of_case=True)
    c = cut(("a", "2024-01-21"), ("a", "2024-01-06"), ("c", "2024-02-27"), ("b", "2024-01-05"))
    # a ended (no more events), a at 01-06: more later but none within 7 days -> none;
    # c at 02-27: the case is over, known even though the window is censored
    assert labels(task, c) == [
        (END_CLASS, True),
        (NONE_CLASS, True),
        (END_CLASS, True),
        (END_CLASS, True),
    ]


def test_prefix_mode_labels_the_next_event_or_end() -> None:
    c = cut(("a", "2024-01-01"), ("a", "2024-01-05"), ("a", "2024-01-20"), ("a", "2024-01-20"))
    c["as_of"] = c["as_of"] + pd.Timedelta(1, "ns")
    c["n_events"] = [1, 2, 3, 0]
    task = TaskConfig("next_stage", target="touchpoint")
    assert labels(task, c) == [
        ("purchase", True),
        ("visit", True),
        (END_CLASS, True),
        (None, False),
    ]
    with pytest.raises(ConfigError):
        make_labels(EV, c, TaskConfig("conversion"), observation_end=END)


def test_task_config_is_checked() -> None:
    with pytest.raises(ConfigError):
        TaskConfig("conversion", horizon_days=0)
    with pytest.raises(ConfigError):
        TaskConfig("lifetime")  # type: ignore[arg-type]


TOUCH = st.sampled_from(["visit", "purchase", "cancellation", "ad"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 60), TOUCH), min_size=1, max_size=20),
    st.integers(1, 59),
    st.lists(TOUCH, min_size=20, max_size=20),
    st.sampled_from(["conversion", "churn", "next_stage"]),
)
def test_labels_only_depend_on_events_from_as_of(rows, as_of_day, new_tps, name) -> None:  # type: ignore[no-untyped-def]
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    ev = pd.DataFrame(
        {
            "customer_id": "a",
            "timestamp": [t0 + pd.Timedelta(days=d) for d, _ in rows],
            "touchpoint": [tp for _, tp in rows],
            "stage": [tp for _, tp in rows],
        }
    )
    as_of = t0 + pd.Timedelta(days=as_of_day)
    before = ev["timestamp"] < as_of
    changed = ev.copy()
    changed.loc[before, "touchpoint"] = [new_tps[i] for i in range(int(before.sum()))]
    changed.loc[before, "stage"] = changed.loc[before, "touchpoint"]
    task = TaskConfig(name, horizon_days=10, eligibility="any", target="touchpoint")  # type: ignore[arg-type]
    c = cut(("a", str(as_of)))
    x = make_labels(ev, c, task, observation_end=t0 + pd.Timedelta(days=61))
    y = make_labels(changed, c, task, observation_end=t0 + pd.Timedelta(days=61))
    if x["eligible"].iloc[0] and y["eligible"].iloc[0]:
        assert x["label"].iloc[0] == y["label"].iloc[0]
