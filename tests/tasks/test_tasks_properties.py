"""Point-in-time properties of every task kind (hypothesis):

- events at or after ``as_of`` never change who is asked (eligibility);
- events before ``as_of`` never change the label value (for case_outcome: with
  ``cut_before_outcome``; without it the label is the whole case's, checked against its
  definition);
- the labels do not depend on the order of the input rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyml.tasks import Eligibility, EventMatch, TaskConfig, make_labels

T0 = pd.Timestamp("2024-01-01", tz="UTC")
OBS_END = T0 + pd.Timedelta(days=80)
TOUCH = ["visit", "purchase", "cancellation", "newsletter", "ad"]
STAGE = {
    "visit": "consideration",
    "purchase": "conversion",
    "cancellation": "retention",
    "newsletter": "awareness",
    "ad": "awareness",
}
BUY = EventMatch(("purchase",))

TASKS = [
    TaskConfig(
        "conversion", "occurs", horizon_days=10, outcome=BUY, eligibility=Eligibility(not_yet=BUY)
    ),
    TaskConfig(
        "reaches_conversion", "occurs", horizon_days=5, outcome=EventMatch(stages=("conversion",))
    ),
    TaskConfig(
        "churn",
        "lapses",
        horizon_days=10,
        churn=EventMatch(("cancellation",)),
        company_sent=("newsletter", "ad"),
        eligibility=Eligibility(
            not_yet=EventMatch(("cancellation",)), has_done=BUY, active_within_days=15
        ),
    ),
    TaskConfig(
        "lapses_any",
        "lapses",
        horizon_days=7,
        company_sent=(),
        eligibility=Eligibility(min_events=2),
    ),
    TaskConfig("reaches_purchase", "case_outcome", outcome=BUY, cut_before_outcome=True),
    TaskConfig("next_stage", "next", horizon_days=10, end_of_case=True),
    TaskConfig("next_touchpoint", "next", horizon_days=10, target="touchpoint"),
]
IDS = [t.name for t in TASKS]

journeys = st.lists(
    st.tuples(st.integers(0, 70), st.sampled_from(TOUCH)),
    min_size=1,
    max_size=15,
    unique_by=lambda r: r[0],  # no ties in time: the order of a customer's events is defined
)
settings_ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frame(rows: list[tuple[int, str]], cid: str = "a") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": cid,
            "timestamp": [T0 + pd.Timedelta(days=d) for d, _ in rows],
            "touchpoint": [tp for _, tp in rows],
            "stage": [STAGE[tp] for _, tp in rows],
        }
    )


def cutoff(rows: list[tuple[int, str]], where: int, prefix: bool) -> tuple[pd.DataFrame, int]:
    """A cutoff of customer ``a``: a prefix of ``where`` events (clipped), or a snapshot at
    day ``where``. Returns it and the day that splits the past from the future."""
    days = sorted(d for d, _ in rows)
    if prefix:
        k = max(1, min(where, len(days)))
        as_of = T0 + pd.Timedelta(days=days[k - 1]) + pd.Timedelta(1, "ns")
        c = pd.DataFrame({"customer_id": ["a"], "as_of": [as_of], "n_events": [k]})
        return c, days[k - 1] + 1
    return pd.DataFrame({"customer_id": ["a"], "as_of": [T0 + pd.Timedelta(days=where)]}), where


def split(rows: list[tuple[int, str]], day: int) -> tuple[list, list]:
    return [r for r in rows if r[0] < day], [r for r in rows if r[0] >= day]


def labels(task: TaskConfig, rows: list[tuple[int, str]], c: pd.DataFrame) -> pd.DataFrame:
    return make_labels(frame(rows), c, task, observation_end=OBS_END)


def prefix_mode(task: TaskConfig, flip: bool) -> bool:
    return task.kind == "case_outcome" or (task.kind == "next" and flip)


@pytest.mark.parametrize("task", TASKS, ids=IDS)
@settings_
@given(journeys, journeys, st.integers(1, 60), st.booleans())
def test_events_from_as_of_never_change_eligibility(task, rows, other, where, flip) -> None:  # type: ignore[no-untyped-def]
    c, day = cutoff(rows, where, prefix_mode(task, flip))
    past, _ = split(rows, day)
    future_b = [(d, tp) for d, tp in other if d >= day]
    a = labels(task, rows, c)
    b = labels(task, past + future_b, c)
    assert a["in_population"].iloc[0] == b["in_population"].iloc[0]
    if not task.end_of_case:  # otherwise "the case is over" is known only from the future
        assert a["eligible"].iloc[0] == b["eligible"].iloc[0]


@pytest.mark.parametrize("task", TASKS, ids=IDS)
@settings_
@given(
    journeys,
    st.lists(st.sampled_from(TOUCH), min_size=15, max_size=15),
    st.integers(1, 60),
    st.booleans(),
)
def test_events_before_as_of_never_change_the_label(task, rows, new_tps, where, flip) -> None:  # type: ignore[no-untyped-def]
    c, day = cutoff(rows, where, prefix_mode(task, flip))
    past, future = split(rows, day)
    changed = [(d, new_tps[i]) for i, (d, _) in enumerate(past)] + future
    a, b = labels(task, rows, c), labels(task, changed, c)
    if a["eligible"].iloc[0] and b["eligible"].iloc[0]:
        assert a["label"].iloc[0] == b["label"].iloc[0]


@settings_
@given(journeys, st.integers(1, 16))
def test_case_outcome_without_cut_is_the_whole_case(rows, k) -> None:  # type: ignore[no-untyped-def]
    task = TaskConfig("reaches_purchase", "case_outcome", outcome=BUY)
    c, _ = cutoff(rows, k, prefix=True)
    out = labels(task, rows, c)
    assert out["eligible"].iloc[0]
    assert out["label"].iloc[0] == int(any(tp == "purchase" for _, tp in rows))


@pytest.mark.parametrize("task", TASKS, ids=IDS)
@settings_
@given(journeys, journeys, st.lists(st.integers(1, 60), min_size=1, max_size=6), st.randoms())
def test_labels_do_not_depend_on_row_order(task, rows_a, rows_b, wheres, rnd) -> None:  # type: ignore[no-untyped-def]
    ev = pd.concat([frame(rows_a, "a"), frame(rows_b, "b")], ignore_index=True)
    prefix = task.kind == "case_outcome"
    if prefix:
        c = pd.concat([cutoff(rows_a, w, True)[0] for w in wheres], ignore_index=True)
    else:
        ids = ["a", "b"] * len(wheres)
        c = pd.DataFrame(
            {
                "customer_id": ids[: len(wheres)],
                "as_of": [T0 + pd.Timedelta(days=w) for w in wheres],
            }
        )
    order = list(range(len(ev)))
    rnd.shuffle(order)
    x = make_labels(ev, c, task, observation_end=OBS_END)
    y = make_labels(ev.iloc[order], c, task, observation_end=OBS_END)
    pd.testing.assert_frame_equal(x, y)
    assert np.array_equal(x["eligible"].to_numpy(), y["eligible"].to_numpy())
