"""Snapshot sampling and the temporal split with a gap of at least the horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeyml.errors import ConfigError, EmptyDataError
from journeyml.tasks import at_each_event, case_split, every_n_days, fixed_dates, temporal_split

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


def test_case_split_keeps_cases_whole_and_orders_them_by_start() -> None:
    # 10 cases starting a day apart, each with 3 events spread over 20 days (long cases:
    # a time split with a gap of any horizon would cut through them)
    rows = []
    for i in range(10):
        for d in (0, 10, 20):
            rows.append((f"c{i}", pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=i + d)))
    ev = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows],
            "touchpoint": "x",
        }
    )
    cut = at_each_event(ev)
    s = case_split(ev, cut, test_fraction=0.2, valid_fraction=0.2)
    assert s.by == "case_start"
    part = {}
    for cid, tr, va, te in zip(cut["customer_id"], s.train, s.valid, s.test, strict=True):
        part.setdefault(cid, set()).add((tr, va, te))
    # the two latest-starting cases are the test cases, with every prefix
    assert [c for c in part if (False, False, True) in part[c]] == ["c8", "c9"]
    assert s.test.sum() == 6
    assert str(s.test_start.date()) == "2024-01-09" and str(s.valid_start.date()) == "2024-01-07"
    # training and validation prefixes ending at or after the test start are left out
    as_of = cut["as_of"]
    assert (as_of[s.train | s.valid] <= s.test_start).all()
    # c0 (events on 01-01, 01-11, 01-21) trains on its first prefix only
    assert s.train[cut["customer_id"] == "c0"].tolist() == [True, False, False]
    assert s.valid[cut["customer_id"] == "c7"].tolist() == [True, False, False]
    assert s.train.sum() == 6 and s.valid.sum() == 2
    # only the cases with an eligible cutoff are shared out
    odd = cut["customer_id"].isin([f"c{i}" for i in range(1, 10, 2)]).to_numpy()
    s2 = case_split(ev, cut, test_fraction=0.2, valid_fraction=0.2, eligible=odd)
    assert set(cut["customer_id"][s2.test]) == {"c9"} and set(cut["customer_id"][s2.valid]) == {
        "c7"
    }
    assert not (s2.train | s2.valid | s2.test)[~odd].any()
    with pytest.raises(EmptyDataError):
        case_split(ev[ev["customer_id"].isin(["c0", "c1"])], cut)
    with pytest.raises(ConfigError):
        case_split(ev, cut, test_fraction=0.7, valid_fraction=0.4)


def test_at_each_event_max_prefix() -> None:
    assert at_each_event(EV, max_prefix=2)["n_events"].tolist() == [1, 2, 1, 2]
