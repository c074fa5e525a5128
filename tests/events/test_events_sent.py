"""Company-sent touchpoints told by their timing (journeyml.events.sent): on tiny logs checked
by eye, through ``journeyml init``'s inspection, and on the three simulated worlds, which know
which touchpoints the company sends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeyml.events.inspect import inspect_frame
from journeyml.events.proposal import mapping_yaml
from journeyml.events.sent import MIN_CUSTOMERS, burst_shares, has_times_of_day, sent_by_timing
from journeyml.sim import simulate_world


def _log(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": pd.to_datetime([r[1] for r in rows], utc=True),
            "touchpoint": [r[2] for r in rows],
        }
    )


def _campaign_log() -> pd.DataFrame:
    """Ten customers; a promo reaches all of them at 09:00-09:09 on three Mondays; their own
    logins are spread one per customer over the hours of each day."""
    rows = []
    for day in ("2024-01-01", "2024-01-08", "2024-01-15"):
        for i in range(10):
            rows.append((f"c{i}", f"{day} 09:0{i}", "promo"))
            rows.append((f"c{i}", f"{day} {8 + i:02d}:30", "login"))
    return _log(rows)


def test_a_campaign_arrives_in_bursts_and_own_activity_does_not() -> None:
    ev = _campaign_log()
    shares = burst_shares(ev)
    # every promo hour holds 10 customers and all of the day's promos
    assert shares["promo"] == 1.0
    # one login per hour: never 5 customers in one hour
    assert shares["login"] == 0.0
    assert sent_by_timing(ev) == {"promo": 1.0}


def test_a_busy_hour_of_own_activity_is_not_a_burst() -> None:
    """Many customers share every hour (a big log), but no hour holds half of the day: a daily
    rhythm, not a send."""
    rng = np.random.default_rng(0)
    n = 4000
    hours = rng.choice(np.arange(8, 20), size=n)
    day = rng.integers(1, 10, size=n)
    ts = [
        f"2024-01-{d:02d} {h:02d}:{m:02d}"
        for d, h, m in zip(day, hours, rng.integers(0, 60, n), strict=True)
    ]
    ev = _log([(f"c{i % 300}", t, "site_visit") for i, t in enumerate(ts)])
    assert burst_shares(ev)["site_visit"] == 0.0
    assert sent_by_timing(ev) == {}


def test_fewer_than_five_customers_in_an_hour_is_no_burst() -> None:
    rows = [(f"c{i}", f"2024-01-{d:02d} 09:00", "promo") for d in range(1, 30) for i in range(4)]
    ev = _log(rows)
    assert MIN_CUSTOMERS == 5
    assert burst_shares(ev)["promo"] == 0.0


def test_dates_without_times_say_nothing() -> None:
    """CDNOW-like: every event at midnight: a day's purchases all share one 'hour'."""
    rows = [(f"c{i}", f"2024-01-{d:02d}", "purchase") for d in range(1, 20) for i in range(9)]
    ev = _log(rows)
    assert not has_times_of_day(ev)
    assert sent_by_timing(ev) == {}
    assert has_times_of_day(_campaign_log())


def test_init_flags_a_burst_touchpoint_with_its_evidence() -> None:
    """A renewal batch no name gives away: flagged by its timing, the one-line evidence in
    init's table and the proposal, and left out of the customers' own activity."""
    raw = _campaign_log().rename(columns={"customer_id": "user", "timestamp": "time"})
    raw["touchpoint"] = raw["touchpoint"].replace({"promo": "renewal_batch_x"})
    raw["time"] = raw["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    found = inspect_frame(raw.astype(str), source="tiny.csv")
    (guess,) = [t for t in found.touchpoints if t.role == "company_sent"]
    assert guess.touchpoint == "renewal_batch_x" and guess.signal == "timing"
    assert "100% of its events reach 5+ customers in one hour" in guess.word
    assert found.outcomes("company_sent") == ["renewal_batch_x"]
    assert "renewal_batch_x" not in found.shape.returning.own
    text = mapping_yaml(found, name="tiny")
    assert "renewal_batch_x arrives in bursts" in text


def test_names_stay_a_signal_of_their_own() -> None:
    """A newsletter sent at random hours (no burst) is still flagged by its name."""
    rng = np.random.default_rng(1)
    rows = [
        (
            f"c{i}",
            f"2024-01-{1 + int(rng.integers(0, 20)):02d} {int(rng.integers(0, 24)):02d}:15",
            tp,
        )
        for i in range(30)
        for tp in ("newsletter", "login")
    ]
    raw = _log(rows).rename(columns={"customer_id": "user", "timestamp": "time"})
    raw["time"] = raw["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    found = inspect_frame(raw.astype(str), source="tiny.csv")
    (guess,) = [t for t in found.touchpoints if t.role == "company_sent"]
    assert (guess.touchpoint, guess.signal, guess.word) == ("newsletter", "name", "newsletter")


@pytest.mark.parametrize(
    ("world", "flagged"),
    [
        ("insurer", {"email_open", "renewal_notice"}),  # a batch and campaign e-mails
        ("b2b", set()),  # sends at random hours: only their names tell (ad, newsletter)
        ("retail", set()),  # the brand survey is sent at random hours, one customer at a time
    ],
)
def test_the_simulated_worlds(world: str, flagged: set[str]) -> None:
    sim = simulate_world(world, 2000, seed=5, days=150)
    got = set(sent_by_timing(sim.events))
    assert got == flagged
    assert got <= set(sim.company_sent)
