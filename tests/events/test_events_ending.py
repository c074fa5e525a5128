"""Touchpoints that end journeys, told by what follows them (journeyml.events.ending): on tiny
logs checked by eye, through ``journeyml init``'s inspection and proposal, and on the three
simulated worlds with their cancellation renamed to a word no lexicon knows."""

from __future__ import annotations

import pandas as pd
import pytest

from journeyml.events.ending import ending_touchpoints
from journeyml.events.inspect import inspect_frame
from journeyml.events.proposal import mapping_yaml
from journeyml.sim import simulate_world


def _log(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": pd.to_datetime([r[1] for r in rows], utc=True),
            "touchpoint": [r[2] for r in rows],
        }
    )


def _telecom(last_day: str = "2024-04-30") -> pd.DataFrame:
    """40 subscribers log in every 2 days in January, each at an hour of their own; 25 of them
    port out on Feb 1 (at their hour) and are never heard of again (a promo still reaches
    them); the other 15 go on logging in until ``last_day``."""
    rows = []
    for i in range(40):
        at = f"{8 + i % 12:02d}:{i:02d}"
        for d in range(1, 31, 2):
            rows.append((f"s{i}", f"2024-01-{d:02d} {at}", "app_login"))
        rows.append((f"s{i}", "2024-02-15 09:00", "promo_sms"))
        if i < 25:
            rows.append((f"s{i}", f"2024-02-01 {at}", "port_out"))
        else:
            rows.append((f"s{i}", f"{last_day} {at}", "app_login"))
    return _log(rows)


def test_a_touchpoint_done_once_then_silence_ends_journeys() -> None:
    found = ending_touchpoints(_telecom(), sent={"promo_sms"})
    assert list(found) == ["port_out"]
    e = found["port_out"]
    # 25 customers, each once, each their last own event; silent from Feb 1 to the log's end
    # (Apr 30, 19:39): 89 days and some hours
    assert (e.customers, e.once, e.last) == (25, 1.0, 1.0)
    assert 89 < e.quiet_days < 90
    assert e.quiet_pauses == pytest.approx(e.quiet_days / 2)  # the usual pause: 2 days
    assert "100% of the 25 customers with it did nothing of their own after it" in e.evidence()


def test_company_sent_events_after_it_do_not_count_as_activity() -> None:
    """Unless the promo is declared company-sent, it follows every port-out: not ending."""
    assert ending_touchpoints(_telecom()) == {}


def test_a_once_only_touchpoint_near_the_log_end_ends_nothing() -> None:
    """Port-outs on Feb 1 in a log that ends Feb 2: last, but silent for less than 4 pauses."""
    ev = _telecom(last_day="2024-02-02")
    ev = ev[ev["timestamp"] < pd.Timestamp("2024-02-03", tz="UTC")]
    assert ending_touchpoints(ev, sent={"promo_sms"}) == {}


def test_a_touchpoint_followed_by_own_activity_is_not_ending() -> None:
    """A welcome call done once, then logins go on: once, but rarely last."""
    ev = _telecom()
    ev.loc[ev["touchpoint"] == "port_out", "touchpoint"] = "welcome_call"
    later = _log([(f"s{i}", "2024-03-01 10:00", "app_login") for i in range(25)])
    assert ending_touchpoints(pd.concat([ev, later]), sent={"promo_sms"}) == {}


def test_too_few_customers_are_not_judged() -> None:
    ev = _telecom()
    ev = ev[(ev["touchpoint"] != "port_out") | ev["customer_id"].isin([f"s{i}" for i in range(5)])]
    assert ending_touchpoints(ev, sent={"promo_sms"}) == {}


def test_init_proposes_it_as_the_churn_touchpoint_with_its_evidence() -> None:
    raw = _telecom().rename(columns={"customer_id": "subscriber", "timestamp": "ts"})
    raw["ts"] = raw["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    found = inspect_frame(raw.astype(str), source="tiny.csv")
    (guess,) = [t for t in found.touchpoints if t.role == "cancellation"]
    assert (guess.touchpoint, guess.signal) == ("port_out", "ending")
    assert found.outcomes("cancellation") == ["port_out"]
    # the log's shape counts the customers who cancel by it (none had converted: no conversion)
    assert found.shape.cancelling == 25
    text = mapping_yaml(found, name="tiny")
    assert "churn_touchpoints: [port_out]  # port_out ends journeys: 100% of the 25" in text


def test_process_cases_are_not_judged() -> None:
    """Every case of a process ends with some activity: that is no cancellation."""
    rows = [
        (f"case{i}", f"2024-01-{1 + i % 28:02d} {h:02d}:00", act)
        for i in range(60)
        for h, act in ((9, "Register"), (10, "Review"), (11, "Close ticket x"))
    ]
    raw = _log(rows).rename(columns={"customer_id": "case_id", "timestamp": "time"})
    raw["time"] = raw["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    found = inspect_frame(raw.astype(str), source="cases.csv")
    assert found.shape.kind == "cases"
    assert not [t for t in found.touchpoints if t.signal == "ending"]


@pytest.mark.parametrize("world", ["retail", "b2b", "insurer"])
def test_the_simulated_worlds_cancellation_under_another_name(world: str) -> None:
    """Each world's cancellation renamed to a word no lexicon knows is found by what follows
    it, and nothing else is."""
    sim = simulate_world(world, 2000, seed=5, days=150)
    (cancel,) = sim.churn_touchpoints
    ev = sim.events.copy()
    ev["touchpoint"] = ev["touchpoint"].astype(str).replace({cancel: "offboarded_xq"})
    assert set(ending_touchpoints(ev, sent=set(sim.company_sent))) == {"offboarded_xq"}
