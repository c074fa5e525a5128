"""Point-in-time reads and idempotent ingest, as properties (hypothesis), on both backends."""

from __future__ import annotations

import itertools

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyml.store import EventStore

T0 = pd.Timestamp("2024-01-01", tz="UTC").value
NOW = "2025-01-01"
_run = itertools.count()

event = st.fixed_dictionaries(
    {
        "customer_id": st.sampled_from(["a", "b", "ä", "B"]),
        # a few distinct instants so that ties and 1 ns gaps both happen
        "ts": st.sampled_from([0, 1, 2, 10**9, 86_400 * 10**9, 86_400 * 10**9 + 1]),
        "touchpoint": st.sampled_from(["visit", "ad", "Ad", "é-mail"]),
        "channel": st.sampled_from([None, "web", "app"]),
        "value": st.sampled_from([None, 0.0, 1.5, -2.25]),
    }
)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _frame(events: list[dict], prefix: str) -> pd.DataFrame:  # type: ignore[type-arg]
    return pd.DataFrame(
        {
            "customer_id": [prefix + e["customer_id"] for e in events],
            "timestamp": pd.to_datetime([T0 + e["ts"] for e in events], utc=True),
            "touchpoint": [e["touchpoint"] for e in events],
            "channel": [e["channel"] for e in events],
            "value": [e["value"] for e in events],
        }
    )


def _key(df: pd.DataFrame) -> list[tuple]:  # type: ignore[type-arg]
    return [
        (
            r.timestamp.value,
            r.touchpoint,
            "unknown" if pd.isna(r.channel) else r.channel,
            None if pd.isna(r.value) else r.value,
        )
        for r in df.itertuples()
    ]


@SETTINGS
@given(
    events=st.lists(event, max_size=30),
    cut=st.sampled_from([0, 1, 2, 10**9, 86_400 * 10**9 + 1]),
)
def test_a_journey_before_t_is_exactly_the_events_before_t(
    store: EventStore,
    events: list[dict],
    cut: int,  # type: ignore[type-arg]
) -> None:
    prefix = f"{next(_run)}/"
    ev = _frame(events, prefix)
    store.ingest(ev, source="p", now=NOW, keep_repeats=True)
    t = pd.Timestamp(T0 + cut, tz="UTC")
    for cid in sorted(set(ev["customer_id"])):
        mine = ev[(ev["customer_id"] == cid) & (ev["timestamp"] < t)]
        got = store.journey(cid, before=t)
        # journey order: time, touchpoint (code points), channel, value (missing last)
        want = sorted(
            _key(mine),
            key=lambda k: (k[0], k[1], k[2], k[3] is None, 0.0 if k[3] is None else k[3]),
        )
        assert _key(got) == want
        assert (got["timestamp"] < t).all()


@SETTINGS
@given(
    events=st.lists(event, min_size=1, max_size=30),
    cuts=st.lists(st.integers(0, 30), max_size=4),
    order=st.randoms(use_true_random=False),
)
def test_any_split_and_order_of_batches_stores_the_same_events(
    store: EventStore,
    events: list[dict],
    cuts: list[int],
    order,  # type: ignore[no-untyped-def, type-arg]
) -> None:
    prefix = f"{next(_run)}/"
    ev = _frame(events, prefix)
    edges = sorted({0, len(ev), *(min(c, len(ev)) for c in cuts)})
    batches = [ev.iloc[lo:hi] for lo, hi in itertools.pairwise(edges)]
    order.shuffle(batches)
    accepted = sum(store.ingest(b, source="p", now=NOW).accepted for b in batches)
    distinct = len(set(zip(*(ev[c].fillna("-") for c in ev.columns), strict=True)))
    assert accepted == distinct
    again = store.ingest(ev, source="p", now=NOW)
    assert (again.accepted, again.duplicates) == (0, len(ev))
    stored = sum(len(store.journey(c)) for c in set(ev["customer_id"]))
    assert stored == distinct


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62), max_size=30), st.booleans())
def test_stamps_are_stamp_of_each_time(ns: list[int], micro: bool) -> None:
    """The batch conversion of stored times gives what one at a time gives: a ``datetime``
    where a time is exact to the microsecond, a nanosecond ``pd.Timestamp`` elsewhere."""
    from journeyml.store.rows import stamp, stamps

    times = [t // 1000 * 1000 for t in ns] if micro else ns
    got, want = stamps(times), [stamp(t) for t in times]
    assert [type(t) for t in got] == [type(t) for t in want]
    assert [repr(t) for t in got] == [repr(t) for t in want]
