"""The seeded journey simulator: determinism, canonical output, ground truth, planted effects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeyml.errors import ConfigError, JourneyMLError
from journeyml.events.schema import CANONICAL_STAGES, TIMESTAMP_DTYPE, to_canonical
from journeyml.sim import (
    CHANNELS,
    CHURN_TOUCHPOINTS,
    CONVERSION_TOUCHPOINTS,
    NO_EFFECT_TOUCHPOINT,
    OFFLINE_CHANNELS,
    ONLINE_CHANNELS,
    PAIN_POINTS,
    PLANTED_CAUSES,
    SEGMENTS,
    TOUCHPOINT_STAGE,
    PlantedCause,
    SimulationResult,
    ground_truth_path,
    simulate,
    write_simulation,
)

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def small() -> SimulationResult:
    return simulate(2000, seed=0)


@pytest.fixture(scope="module")
def large() -> SimulationResult:
    return simulate(5000, seed=7)


# --- API and vocabulary ------------------------------------------------------------------------
def test_vocabulary_is_consistent() -> None:
    assert CONVERSION_TOUCHPOINTS == ("purchase",)
    assert CHURN_TOUCHPOINTS == ("cancellation",)
    assert set(TOUCHPOINT_STAGE.values()) == set(CANONICAL_STAGES)
    for tp in (*CONVERSION_TOUCHPOINTS, *CHURN_TOUCHPOINTS, *PAIN_POINTS, NO_EFFECT_TOUCHPOINT):
        assert tp in TOUCHPOINT_STAGE
    assert set(ONLINE_CHANNELS) | set(OFFLINE_CHANNELS) == set(CHANNELS)
    assert NO_EFFECT_TOUCHPOINT not in {c.touchpoint for c in PLANTED_CAUSES}


def test_planted_causes_are_well_formed() -> None:
    names = [c.name for c in PLANTED_CAUSES]
    assert len(set(names)) == len(names)
    for c in PLANTED_CAUSES:
        assert isinstance(c, PlantedCause)
        assert c.touchpoint in TOUCHPOINT_STAGE
        assert c.outcome in ("conversion", "churn")
        assert c.direction in (-1, 1)
        assert c.log_hazard > 0 and c.window_days >= 1
        if c.strong:  # strong: hazard x3 or more (or /3) per exposure
            assert abs(np.log(c.hazard_ratio)) >= np.log(3)
    strong = [c for c in PLANTED_CAUSES if c.strong]
    assert sum(c.outcome == "churn" for c in strong) >= 2
    conv = {c.direction for c in strong if c.outcome == "conversion"}
    assert conv == {-1, 1}
    assert {c.touchpoint for c in PLANTED_CAUSES} & set(PAIN_POINTS)


# --- determinism -------------------------------------------------------------------------------
def test_same_seed_same_frames_other_seed_other_frames() -> None:
    a = simulate(400, seed=3, days=90)
    b = simulate(400, seed=3, days=90)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    c = simulate(400, seed=4, days=90)
    assert not a.events.equals(c.events)


def test_bad_arguments_raise_config_errors() -> None:
    with pytest.raises(ConfigError):
        simulate(0)
    with pytest.raises(ConfigError):
        simulate(10, days=0)
    with pytest.raises(JourneyMLError):
        simulate(10, start="not a date")


# --- canonical events --------------------------------------------------------------------------
def test_events_are_canonical(small: SimulationResult) -> None:
    ev = small.events
    pd.testing.assert_frame_equal(to_canonical(ev), ev)
    assert str(ev["timestamp"].dtype) == TIMESTAMP_DTYPE
    assert list(ev.columns[:6]) == [
        "customer_id",
        "timestamp",
        "touchpoint",
        "channel",
        "stage",
        "value",
    ]
    assert {"segment", "region"} <= set(ev.columns)
    assert (ev["timestamp"] >= small.start).all()
    assert (ev["timestamp"] < small.end).all()
    assert small.end - small.start == pd.Timedelta(days=180)
    assert ev.notna()[["customer_id", "timestamp", "touchpoint", "channel", "stage"]].all().all()


def test_start_with_timezone_is_converted_to_utc() -> None:
    res = simulate(50, seed=0, start="2024-03-01 00:00+02:00", days=10)
    assert res.start == pd.Timestamp("2024-02-29 22:00", tz="UTC")
    assert (res.events["timestamp"] >= res.start).all()
    assert (res.events["timestamp"] < res.end).all()


def test_coverage_of_stages_channels_touchpoints(small: SimulationResult) -> None:
    ev = small.events
    assert set(ev["stage"]) == set(CANONICAL_STAGES)
    assert set(ev["channel"]) == set(CHANNELS)
    assert set(PAIN_POINTS) <= set(ev["touchpoint"])
    assert set(ev["touchpoint"]) <= set(TOUCHPOINT_STAGE)
    assert set(ev["touchpoint"]) == set(TOUCHPOINT_STAGE)
    assert (ev["stage"] == ev["touchpoint"].map(TOUCHPOINT_STAGE)).all()
    assert set(ev["segment"]) == set(SEGMENTS)
    # order values on purchases only
    is_purchase = ev["touchpoint"] == "purchase"
    assert ev.loc[is_purchase, "value"].gt(0).all()
    assert ev.loc[~is_purchase, "value"].isna().all()


def test_personas_differ_in_channel_habits(small: SimulationResult) -> None:
    share = pd.crosstab(small.events["segment"], small.events["channel"], normalize="index")
    assert share.loc["impulse", "social"] > 1.5 * share.loc["researcher", "social"]
    assert share.loc["loyalist", "store"] > 1.3 * share.loc["bargain_hunter", "store"]


# --- base rates --------------------------------------------------------------------------------
def test_default_base_rates_are_realistic(small: SimulationResult) -> None:
    ev, cu = small.events, small.customers
    assert len(cu) == 2000
    assert 20_000 <= len(ev) <= 150_000
    per_customer = ev.groupby("customer_id").size()
    assert len(per_customer) == 2000  # every customer shows up at least once
    assert 10 <= per_customer.median() <= 40
    assert 0.15 <= cu["converted_at"].notna().mean() <= 0.35
    assert 0.10 <= cu["churned_at"].notna().mean() <= 0.25
    assert set(cu["churn_kind"].dropna()) == {"explicit", "inactivity"}
    assert (cu["n_purchases"] >= 2).sum() > 20  # repeat purchases happen
    # arrivals are staggered over the window
    days_in = (cu["first_seen"] - small.start) / DAY
    assert days_in.min() < 5 and days_in.max() > 170 and 60 < days_in.median() < 120


# --- ground truth ------------------------------------------------------------------------------
def test_ground_truth_matches_events(small: SimulationResult) -> None:
    ev, cu = small.events, small.customers.set_index("customer_id")
    assert cu.index.is_unique
    for cause in PLANTED_CAUSES:
        counts = (
            ev[ev["touchpoint"] == cause.touchpoint]
            .groupby("customer_id")
            .size()
            .reindex(cu.index, fill_value=0)
        )
        assert (cu[f"n_{cause.name}"] == counts).all(), cause.name
        assert (cu[f"exposed_{cause.name}"] == (counts > 0)).all(), cause.name
    first = ev.groupby("customer_id")["timestamp"].min()
    pd.testing.assert_series_equal(
        cu["first_seen"], first, check_names=False, check_index_type=False
    )
    first_purchase = (
        ev[ev["touchpoint"] == "purchase"].groupby("customer_id")["timestamp"].min()
    ).reindex(cu.index)
    pd.testing.assert_series_equal(
        cu["converted_at"], first_purchase, check_names=False, check_index_type=False
    )
    assert (cu["n_purchases"] == cu["converted_at"].notna().astype(int) * cu["n_purchases"]).all()
    segs = ev.groupby("customer_id")["segment"].first()
    assert (segs == cu["segment"]).all()


def test_churn_ground_truth(small: SimulationResult) -> None:
    ev, cu = small.events, small.customers.set_index("customer_id")
    last = ev.groupby("customer_id")["timestamp"].max()
    cancels = ev[ev["touchpoint"] == "cancellation"].groupby("customer_id")["timestamp"]
    explicit = cu.index[cu["churn_kind"] == "explicit"]
    inactive = cu.index[cu["churn_kind"] == "inactivity"]
    stayed = cu.index[cu["churn_kind"].isna()]
    assert len(explicit) > 10 and len(inactive) > 10
    # explicit: exactly one cancellation, at churned_at, the last event; only after converting
    assert set(cancels.size().index) == set(explicit)
    assert (cancels.size() == 1).all()
    assert (cancels.min()[explicit] == cu.loc[explicit, "churned_at"]).all()
    assert (last[explicit] == cu.loc[explicit, "churned_at"]).all()
    assert (cu.loc[explicit, "converted_at"] < cu.loc[explicit, "churned_at"]).all()
    # inactivity: silent from churned_at on, which falls inside the window
    assert (last[inactive] < cu.loc[inactive, "churned_at"]).all()
    assert (cu.loc[inactive, "churned_at"] < small.end).all()
    assert cu.loc[stayed, "churned_at"].isna().all()
    assert (cu.loc[cu["churn_kind"].notna(), "final_stage"] == "churned").all()


# --- planted effects (point in time, like a model sees them) -----------------------------------
def _landmark_ratio(
    res: SimulationResult, touchpoint: str, outcome: str, lookback: int = 30, horizon: int = 30
) -> float:
    """Outcome rate in the next ``horizon`` days of customers with ``touchpoint`` in the last
    ``lookback`` days over that of customers without, pooled over landmarks, among customers
    present for the whole lookback and not churned at the landmark."""
    ev, cu = res.events, res.customers
    exposed_y, exposed_n, other_y, other_n = 0, 0, 0, 0
    for landmark in range(60, 151, 15):
        t0 = res.start + landmark * DAY
        eligible = (cu["first_seen"] < t0 - lookback * DAY) & ~(cu["churned_at"] < t0)
        later = (ev["timestamp"] >= t0) & (ev["timestamp"] < t0 + horizon * DAY)
        if outcome == "churn":
            y = (cu["churned_at"] >= t0) & (cu["churned_at"] < t0 + horizon * DAY)
        else:
            buyers = ev.loc[later & (ev["touchpoint"] == "purchase"), "customer_id"]
            y = cu["customer_id"].isin(buyers)
        recent = (ev["timestamp"] >= t0 - lookback * DAY) & (ev["timestamp"] < t0)
        x = cu["customer_id"].isin(ev.loc[recent & (ev["touchpoint"] == touchpoint), "customer_id"])
        exposed_y += int((y & x & eligible).sum())
        exposed_n += int((x & eligible).sum())
        other_y += int((y & ~x & eligible).sum())
        other_n += int((~x & eligible).sum())
    assert exposed_n > 200 and other_n > 200
    return (exposed_y / exposed_n) / (other_y / other_n)


@pytest.mark.parametrize("name", ["support_call", "complaint"])
def test_strong_churn_causes_raise_churn(large: SimulationResult, name: str) -> None:
    assert _landmark_ratio(large, name, "churn") >= 1.5


def test_strong_positive_conversion_cause_raises_conversion(large: SimulationResult) -> None:
    assert _landmark_ratio(large, "product_demo", "conversion") >= 1.5


@pytest.mark.parametrize("outcome", ["churn", "conversion"])
def test_no_effect_touchpoint_has_no_effect(large: SimulationResult, outcome: str) -> None:
    assert 0.8 <= _landmark_ratio(large, NO_EFFECT_TOUCHPOINT, outcome) <= 1.25


def test_no_effect_touchpoint_is_about_as_common_as_the_causes(large: SimulationResult) -> None:
    counts = large.events["touchpoint"].value_counts()
    strong = [counts[c.touchpoint] for c in PLANTED_CAUSES if c.strong]
    assert min(strong) / 2 <= counts[NO_EFFECT_TOUCHPOINT] <= max(strong) * 2


def test_payment_error_lowers_conversion_among_shoppers(large: SimulationResult) -> None:
    """Among customers who viewed products recently (the shoppers), a payment error in the
    last 30 days cuts the chance of buying in the next 30 days."""
    ev, cu = large.events, large.customers
    exposed_y, exposed_n, other_y, other_n = 0, 0, 0, 0
    for landmark in range(60, 151, 15):
        t0 = large.start + landmark * DAY
        recent = ev[(ev["timestamp"] >= t0 - 30 * DAY) & (ev["timestamp"] < t0)]
        shoppers = set(recent.loc[recent["touchpoint"] == "cart_add", "customer_id"])
        hit = set(recent.loc[recent["touchpoint"] == "payment_error", "customer_id"])
        later = ev[(ev["timestamp"] >= t0) & (ev["timestamp"] < t0 + 30 * DAY)]
        buyers = set(later.loc[later["touchpoint"] == "purchase", "customer_id"])
        alive = set(cu.loc[~(cu["churned_at"] < t0), "customer_id"])
        for c in shoppers & alive:
            if c in hit:
                exposed_n += 1
                exposed_y += c in buyers
            else:
                other_n += 1
                other_y += c in buyers
    assert exposed_n > 100
    assert (exposed_y / exposed_n) < 0.8 * (other_y / other_n)


# --- files -------------------------------------------------------------------------------------
def test_write_simulation_round_trip(tmp_path: Path) -> None:
    res = simulate(200, seed=5, days=60)
    out = tmp_path / "sub" / "sim.parquet"
    write_simulation(res, out)
    truth = ground_truth_path(out)
    assert truth == tmp_path / "sub" / "sim.customers.parquet"
    assert out.exists() and truth.exists()
    events = pd.read_parquet(out)
    pd.testing.assert_frame_equal(to_canonical(events), res.events, check_dtype=False)
    pd.testing.assert_frame_equal(events, res.events, check_dtype=False)
    customers = pd.read_parquet(truth)
    kind = customers["churn_kind"].astype(object)
    customers["churn_kind"] = kind.where(kind.notna(), None)
    pd.testing.assert_frame_equal(customers, res.customers, check_dtype=False)


def test_module_docstring_documents_every_cause() -> None:
    import journeyml.sim.retail as sim

    doc = sim.__doc__ or ""
    for c in PLANTED_CAUSES:
        line = next(ln for ln in doc.splitlines() if ln.startswith(c.name + " "))
        fields = line.split()
        assert fields[1] == c.outcome
        assert fields[2].replace("−", "-") == f"{c.direction:+d}"
        assert float(fields[3]) == c.log_hazard
        assert f"{c.window_days} d" in line
        assert line.rstrip().endswith("yes" if c.strong else "no")
