"""The day-loop mechanics both simulated worlds share (journeyml.sim.mechanics), checked
against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from journeyml.errors import ConfigError
from journeyml.sim import b2b, insurer, mechanics, retail


def test_recent_counts_equal_counting_each_day_by_hand() -> None:
    rng = np.random.default_rng(0)
    n, days = 5, 40
    starts, ends = [1, 4, 1], [8, 10, 2]  # row 1: a delayed effect (days e+4 .. e+9)
    events = [
        (int(rng.integers(days)), int(rng.integers(3)), int(rng.integers(n))) for _ in range(200)
    ]
    counts = mechanics.RecentCounts(n, starts, ends, days)
    for d in range(days):
        got = counts.start_day(d).copy()
        want = np.zeros((3, n), np.int32)
        for e, k, c in events:
            if e + starts[k] <= d < e + ends[k]:
                want[k, c] += 1
        assert np.array_equal(got, want), d
        today = [(k, c) for e, k, c in events if e == d]
        rows = np.array([k for k, _ in today], np.int64)
        who = np.array([c for _, c in today], np.int64)
        counts.schedule(d, rows, who)


def test_canonical_order_is_customer_time_touchpoint_name_and_stable() -> None:
    touchpoints = ("visit", "ad", "buy")  # name order: ad, buy, visit
    cust = np.array([1, 0, 1, 0, 0], np.int64)
    sec = np.array([5, 9, 5, 9, 1], np.int64)
    tp = np.array([0, 2, 1, 2, 0], np.int64)
    idx = mechanics.canonical_order(cust, sec, tp, touchpoints, n=2, days=1)
    assert idx.tolist() == [4, 1, 3, 2, 0]  # ties (rows 1 and 3) keep their order


def test_session_offsets_start_each_session_at_zero() -> None:
    offsets = mechanics.session_offsets(np.array([7, 3, 4, 9, 2]), np.array([2, 3]))
    assert offsets.tolist() == [0, 3, 0, 9, 11]


@pytest.mark.parametrize("world", [retail, b2b, insurer])
def test_every_world_checks_its_window_the_same_way(world: object) -> None:
    simulate = world.simulate  # type: ignore[attr-defined]
    for kwargs, field in (({"n_customers": 0}, "n_customers"), ({"days": 0}, "days")):
        with pytest.raises(ConfigError) as err:
            simulate(**{"n_customers": 10, "days": 5, **kwargs})
        assert err.value.field == field
    with pytest.raises(ConfigError, match="start date"):
        simulate(10, days=5, start="not a date")
