"""Snapshot sampling and the temporal split with a gap of at least the horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeyml.errors import ConfigError, EmptyDataError
from journeyml.tasks import at_each_event, every_n_days, fixed_dates, temporal_split

EV = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b", "b", "b"],
        "timestamp": pd.to_datetime(
            [
                "2024-01-01 10:00",
                "2024-01-09 00:00",
                "2024-01-05 00:00",
                "2024-01-05 00:00",
                "2024-01-20 00:00",
            ],
            utc=True,
        ),
        "touchpoint": ["visit", "buy", "visit", "ad", "visit"],
    }
)


def test_every_n_days_only_customers_seen_before() -> None:
    out = every_n_days(EV, 7, end=pd.Timestamp("2024-01-23", tz="UTC"))
    got = [(c, str(t.date())) for c, t in zip(out.customer_id, out.as_of, strict=True)]
    assert got == [
        ("a", "2024-01-08"),
        ("a", "2024-01-15"),
        ("a", "2024-01-22"),
        ("b", "2024-01-08"),
        ("b", "2024-01-15"),
        ("b", "2024-01-22"),
    ]
    with pytest.raises(ConfigError):
        every_n_days(EV, 0)
    with pytest.raises(EmptyDataError):
        every_n_days(EV.iloc[:0], 7)


def test_fixed_dates() -> None:
    out = fixed_dates(EV, ["2024-01-03", "2024-01-06T00:00:00+00:00"])
    assert list(zip(out.customer_id, out.as_of.dt.day, strict=True)) == [
        ("a", 3),
        ("a", 6),
        ("b", 6),
    ]


def test_at_each_event_prefixes() -> None:
    out = at_each_event(EV)
    assert out["n_events"].tolist() == [1, 2, 1, 2, 3]
    assert at_each_event(EV, min_prefix=2)["n_events"].tolist() == [2, 2, 3]


def test_temporal_split_keeps_a_gap_of_the_horizon() -> None:
    days = pd.date_range("2024-01-01", periods=40, freq="7D", tz="UTC")
    cuts = pd.DataFrame({"customer_id": "a", "as_of": days})
    h = 21.0
    s = temporal_split(cuts, horizon_days=h)
    t = cuts["as_of"]
    assert s.train.any() and s.valid.any() and s.test.any()
    assert not (s.train & s.valid).any() and not (s.valid & s.test).any()
    gap = pd.Timedelta(days=h)
    # every training label window ends before validation starts, validation before test
    assert (t[s.train] + gap <= s.valid_start).all()
    assert (t[s.valid] + gap <= s.test_start).all()
    assert t[s.valid].min() >= s.valid_start and t[s.test].min() >= s.test_start
    wider = temporal_split(cuts, horizon_days=h, gap_days=35)
    assert (t[wider.train] + pd.Timedelta(days=35) <= wider.valid_start).all()
    with pytest.raises(ConfigError):
        temporal_split(cuts, horizon_days=h, gap_days=7)
    with pytest.raises(ConfigError):
        temporal_split(cuts, horizon_days=h, test_fraction=0.6, valid_fraction=0.5)
    with pytest.raises(EmptyDataError):
        temporal_split(cuts.iloc[:2], horizon_days=h)
    assert np.asarray(s.train).dtype == bool
