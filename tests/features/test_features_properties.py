"""Hypothesis properties of the point-in-time engine: no leakage, order-free, one path."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyml.events.schema import CANONICAL_COLUMNS
from journeyml.features import FeatureBuilder, FeatureSpec, build_features, journey_features

T0 = pd.Timestamp("2024-01-01", tz="UTC")
TOUCHPOINTS = ["ad", "visit", "purchase", "support_call", "brand_new"]
CHANNELS = ["web", "app", "display", "fax", None]
STAGES = ["awareness", "consideration", "conversion", "retention", None, "weird"]
SEGMENTS = ["x", "y", None, "q"]
CUSTOMERS = ["a", "b", "c"]


def _train() -> pd.DataFrame:
    rows = [
        {
            "customer_id": f"t{i % 4}",
            "timestamp": T0 + pd.Timedelta(hours=7 * i),
            "touchpoint": TOUCHPOINTS[i % 4],
            "channel": CHANNELS[i % 3],
            "stage": STAGES[i % 4],
            "value": float(i % 3),
            "segment": SEGMENTS[i % 2],
            "score": float(i),
        }
        for i in range(40)
    ]
    return pd.DataFrame(rows)


SPEC: FeatureSpec = (
    FeatureBuilder(
        windows_days=(1, 3),
        last_k=2,
        session_gap_minutes=60,
        top_n_transitions=4,
        trend_days=1,
        attributes=("segment", "score"),
    )
    .fit(_train())
    .spec_
)

# a coarse time grid (hours) so that ties in time, touchpoint and everything else happen
EVENT = st.fixed_dictionaries(
    {
        "customer_id": st.sampled_from(CUSTOMERS),
        "hour": st.integers(0, 30),
        "touchpoint": st.sampled_from(TOUCHPOINTS),
        "channel": st.sampled_from(CHANNELS),
        "stage": st.sampled_from(STAGES),
        "value": st.one_of(st.none(), st.sampled_from([0.5, 1.25, -3.0, 1e6, 0.1])),
        "segment": st.sampled_from(SEGMENTS),
        "score": st.one_of(st.none(), st.floats(-5, 5, allow_nan=False)),
    }
)
EVENTS = st.lists(EVENT, min_size=0, max_size=30)
AS_OF_HOURS = st.lists(st.integers(0, 36), min_size=len(CUSTOMERS), max_size=len(CUSTOMERS))

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = [*CANONICAL_COLUMNS, "segment", "score"]
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols}).assign(
            timestamp=pd.to_datetime([], utc=True),
            value=pd.Series([], dtype=float),
            score=pd.Series([], dtype=float),
        )
    df = pd.DataFrame(rows)
    df["timestamp"] = T0 + pd.to_timedelta(df.pop("hour"), unit="h")
    df["value"] = df["value"].astype(float)
    df["score"] = df["score"].astype(float)
    return df[cols]


def cutoffs(hours: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [*CUSTOMERS, "nobody"],
            "as_of": [T0 + pd.Timedelta(hours=h) for h in [*hours, 5]],
        }
    )


def same(a: np.ndarray, b: np.ndarray) -> None:
    """Bitwise equality, NaN equal to NaN."""
    np.testing.assert_array_equal(a, b, strict=True)


@SETTINGS
@given(EVENTS, AS_OF_HOURS, EVENTS)
def test_events_at_or_after_as_of_change_nothing(rows, hours, extra) -> None:  # type: ignore[no-untyped-def]
    cut = cutoffs(hours)
    base = build_features(frame(rows), cut, SPEC).to_numpy()
    as_of = dict(zip(CUSTOMERS, hours, strict=True))
    future = [
        {**e, "hour": as_of[e["customer_id"]] + e["hour"] % 48} for e in extra
    ]  # at or after each customer's as_of
    more = build_features(frame(rows + future), cut, SPEC).to_numpy()
    same(base, more)


@SETTINGS
@given(EVENTS, AS_OF_HOURS, st.randoms(use_true_random=False))
def test_row_order_changes_nothing(rows, hours, rnd) -> None:  # type: ignore[no-untyped-def]
    cut = cutoffs(hours)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    same(
        build_features(frame(rows), cut, SPEC).to_numpy(),
        build_features(frame(shuffled), cut, SPEC).to_numpy(),
    )


@SETTINGS
@given(EVENTS, AS_OF_HOURS, st.randoms(use_true_random=False))
def test_single_journey_equals_batch(rows, hours, rnd) -> None:  # type: ignore[no-untyped-def]
    cut = cutoffs(hours)
    batch = build_features(frame(rows), cut, SPEC).to_numpy()
    for i, (cid, as_of) in enumerate(zip(cut.customer_id, cut.as_of, strict=True)):
        mine = [dict(r) for r in rows if r["customer_id"] == cid]
        rnd.shuffle(mine)
        recs = []
        for r in mine:
            rec = {k: v for k, v in r.items() if k not in ("customer_id", "hour")}
            rec["timestamp"] = (T0 + pd.Timedelta(hours=r["hour"])).isoformat()
            recs.append(rec)
        same(journey_features(cid, recs, as_of.isoformat(), SPEC)[0], batch[i])


@SETTINGS
@given(EVENTS, AS_OF_HOURS)
def test_prefix_mode_never_sees_later_events(rows, hours) -> None:  # type: ignore[no-untyped-def]
    cut = cutoffs(hours)
    cut["n_events"] = [2, 1, 3, 1]
    X = build_features(frame(rows), cut, SPEC)
    plain = build_features(frame(rows), cut.drop(columns="n_events"), SPEC)
    assert (X["count_events_all"] <= np.minimum(cut["n_events"], plain["count_events_all"])).all()
