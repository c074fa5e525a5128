"""The API's ``not_eligible`` warning and the training labels apply the same rules: on a
sample of simulated journeys, a journey is flagged exactly when training would have left
its cutoff out of the task's population."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pandas as pd
import pytest

from journeyml.serving import eligibility_warnings, requests_from_frame
from journeyml.sim import simulate
from journeyml.tasks import (
    Eligibility,
    EventMatch,
    TaskConfig,
    every_n_days,
    journey_reason,
    make_labels,
)

BUY = EventMatch(("purchase",))
TASKS = [
    TaskConfig(
        "conversion", "occurs", horizon_days=14, outcome=BUY, eligibility=Eligibility(not_yet=BUY)
    ),
    TaskConfig(
        "churn",
        "lapses",
        horizon_days=30,
        churn=EventMatch(("cancellation",)),
        company_sent=("ad_impression", "email_open"),
    ),
    TaskConfig(
        "buyers_churn",
        "lapses",
        horizon_days=21,
        churn=EventMatch(("cancellation",)),
        company_sent=("ad_impression",),
        eligibility=Eligibility(
            not_yet=EventMatch(("cancellation",)),
            has_done=EventMatch(stages=("conversion",)),
            active_within_days=10,
            min_events=4,
        ),
    ),
    TaskConfig(
        "books_demo",
        "occurs",
        horizon_days=14,
        outcome=EventMatch(("product_demo",)),
        activity=EventMatch(("site_visit", "product_view", "login")),
        eligibility=Eligibility(not_yet=EventMatch(("product_demo",)), active_within_days=14),
    ),
]


@pytest.fixture(scope="module")
def journeys() -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:  # type: ignore[type-arg]
    sim = simulate(150, seed=5, days=120)
    ev = sim.events
    cut = every_n_days(ev, 10, end=sim.end)
    cut = cut.sample(n=min(400, len(cut)), random_state=0).reset_index(drop=True)
    return ev, cut, requests_from_frame(ev, cut)


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_api_eligibility_agrees_with_training(journeys, task: TaskConfig) -> None:  # type: ignore[no-untyped-def]
    ev, cut, bodies = journeys
    end = ev["timestamp"].max() + pd.Timedelta(days=1)
    trained = make_labels(ev, cut, task, observation_end=end)["in_population"].tolist()
    served = [journey_reason(task, b["events"], b["as_of"]) is None for b in bodies]
    assert served == trained
    # both outcomes occur in the sample, so the agreement is not vacuous
    assert 0 < sum(trained) < len(trained)


def test_the_api_warning_uses_the_task_rules(journeys) -> None:  # type: ignore[no-untyped-def]
    _, _, bodies = journeys
    holder = SimpleNamespace(bundles={t.name: SimpleNamespace(task=t) for t in TASKS})
    for body in bodies[:60]:
        records = [
            {**e, "timestamp": datetime.fromisoformat(e["timestamp"])} for e in body["events"]
        ]
        as_of = datetime.fromisoformat(body["as_of"])
        warned = {
            w["field"]
            for w in eligibility_warnings(holder, [t.name for t in TASKS], records, as_of)  # type: ignore[arg-type]
        }
        expected = {t.name for t in TASKS if journey_reason(t, records, as_of) is not None}
        assert warned == expected


def test_the_api_reads_events_in_any_order(journeys) -> None:  # type: ignore[no-untyped-def]
    """Events sent out of order, with several at one moment, are read in (time, touchpoint)
    order, ties in the order sent: the same reasons and the same arrays as sorted events."""
    import random

    import numpy as np

    from journeyml.tasks import journey_reasons
    from journeyml.tasks.located import Located

    _, _, bodies = journeys
    rng = random.Random(0)
    checked = 0
    for b in bodies[:120]:
        events = [dict(e, timestamp=pd.Timestamp(e["timestamp"])) for e in b["events"]]
        if len(events) < 3:
            continue
        for e in rng.sample(events, k=len(events) // 3):  # moments shared by several events
            e["timestamp"] = events[0]["timestamp"]
        ordered = sorted(events, key=lambda e: (e["timestamp"], e["touchpoint"]))
        shuffled = rng.sample(events, k=len(events))
        want = Located.from_records(ordered, b["as_of"], ["segment"])
        for order in (ordered, shuffled):
            got = Located.from_records(order, b["as_of"], ["segment"])
            np.testing.assert_array_equal(got.ts, want.ts)
            np.testing.assert_array_equal(got.touchpoint, want.touchpoint)
            assert got.pos0.tolist() == want.pos0.tolist()
            assert journey_reasons(TASKS, order, b["as_of"]) == journey_reasons(
                TASKS, ordered, b["as_of"]
            )
        checked += 1
    assert checked > 50
