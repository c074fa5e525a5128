"""Events in and journeys out, on both backends: exact round trips (nanoseconds, attributes,
missing values), idempotent ingest, point-in-time reads, streaming, activity windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeyml.errors import DataError
from journeyml.events import CANONICAL_COLUMNS, to_canonical
from journeyml.features import FeatureBuilder, build_features, journey_features
from journeyml.store import EVENT_ID, EventStore, IngestResult

NOW = "2024-07-01T00:00:00Z"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def frame(rows: list[dict]) -> pd.DataFrame:  # type: ignore[type-arg]
    return to_canonical(pd.DataFrame(rows))


def nones(df: pd.DataFrame) -> pd.DataFrame:
    """Missing texts as None (the store's spelling; to_canonical may leave NaN)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


JOURNEYS = frame(
    [
        {"customer_id": "b", "timestamp": "2024-05-02T08:00:00.000000001Z",
         "touchpoint": "visit", "channel": "web", "stage": "consideration", "value": None,
         "segment": "new", "score": 3.5},
        {"customer_id": "a", "timestamp": "2024-05-01T10:00:00.123456789Z",
         "touchpoint": "ad", "channel": None, "stage": None, "value": None,
         "segment": "loyal", "score": None},
        {"customer_id": "a", "timestamp": "2024-05-03T12:00:00Z", "touchpoint": "purchase",
         "channel": "app", "stage": "conversion", "value": 89.9, "segment": "loyal",
         "score": 1.0},
        {"customer_id": "a", "timestamp": "2024-05-03T12:00:00Z", "touchpoint": "email",
         "channel": "email", "stage": None, "value": -0.5, "segment": None, "score": 2.0},
    ]
)  # fmt: skip


def test_a_journey_comes_back_exactly_as_stored(store: EventStore) -> None:
    assert store.ingest(JOURNEYS, source="crm", now=NOW) == IngestResult(4, 0)
    got = store.journey("a")
    assert got["touchpoint"].tolist() == ["ad", "email", "purchase"]  # time, then touchpoint
    assert got["timestamp"].tolist() == [
        ts("2024-05-01T10:00:00.123456789"),
        ts("2024-05-03T12:00:00"),
        ts("2024-05-03T12:00:00"),
    ]
    assert got["timestamp"].iloc[0].nanosecond == 789
    assert str(got["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert got["channel"].tolist() == ["unknown", "email", "app"]
    assert got["stage"].tolist() == [None, None, "conversion"]
    np.testing.assert_array_equal(got["value"].to_numpy(), [np.nan, -0.5, 89.9])
    assert got["segment"].tolist() == ["loyal", None, "loyal"]
    np.testing.assert_array_equal(got["score"].to_numpy(), [np.nan, 2.0, 1.0])
    expected = JOURNEYS[JOURNEYS["customer_id"] == "a"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got,
        nones(expected[got.columns].sort_values(["timestamp", "touchpoint"], ignore_index=True)),
    )


def test_journey_before_is_strict_and_unknown_customers_are_empty(store: EventStore) -> None:
    store.ingest(JOURNEYS, source="crm", now=NOW)
    at = ts("2024-05-03T12:00:00")
    assert store.journey("a", before=at)["touchpoint"].tolist() == ["ad"]
    one_ns_later = at + pd.Timedelta(1, "ns")
    assert store.journey("a", before=one_ns_later)["touchpoint"].tolist() == [
        "ad",
        "email",
        "purchase",
    ]
    assert store.journey_records("a", before="2024-05-01T10:00:00.123456789Z") == []
    assert [r["touchpoint"] for r in store.journey_records("a", before=at)] == ["ad"]
    assert [r["touchpoint"] for r in store.journey_records("a", before=one_ns_later)] == [
        "ad",
        "email",
        "purchase",
    ]
    assert store.has_customer("a") and not store.has_customer("nobody")
    assert store.journey_records("nobody") == []
    empty = store.journey("nobody")
    assert empty.empty and tuple(empty.columns)[:6] == CANONICAL_COLUMNS


def test_each_event_keeps_its_id_source_and_ingest_time(store: EventStore) -> None:
    ev = JOURNEYS.copy()
    ev[EVENT_ID] = ["e1", None, "e3", None]
    store.ingest(ev, source="crm", now="2024-07-01T00:00:00.000000005Z")
    store.ingest(ev, source="pos", now="2024-07-02")  # duplicates keep their first source
    got = store.provenance("a")
    assert got["touchpoint"].tolist() == ["ad", "email", "purchase"]
    ids = got["event_id"].tolist()
    assert ids[0] == "e1" and ids[2] == "e3" and len(ids[1]) == 32  # given, content, given
    assert set(got["source"]) == {"crm"}
    assert (got["ingested_at"] == pd.Timestamp("2024-07-01T00:00:00.000000005Z")).all()
    assert got["timestamp"].iloc[0] == ts("2024-05-01T10:00:00.123456789")
    assert store.provenance("nobody").empty


def test_the_same_events_twice_are_stored_once(store: EventStore) -> None:
    assert store.ingest(JOURNEYS, source="crm", now=NOW) == IngestResult(4, 0)
    assert store.ingest(JOURNEYS, source="crm", now=NOW) == IngestResult(0, 4)
    shuffled = JOURNEYS.sample(frac=1.0, random_state=1)
    assert store.ingest(shuffled, source="other", now=NOW) == IngestResult(0, 4)
    doubled = pd.concat([JOURNEYS, JOURNEYS.iloc[:1]])  # a repeat within one batch
    assert store.ingest(doubled, source="crm", now=NOW) == IngestResult(0, 5)
    assert store.count_events() == 4


def test_what_makes_two_events_the_same(store: EventStore) -> None:
    base = {"customer_id": "a", "timestamp": "2024-05-01T10:00:00Z", "touchpoint": "visit",
            "channel": "web", "value": 1.0, "stage": "awareness", "segment": "x"}  # fmt: skip
    variants = [
        {"timestamp": "2024-05-01T10:00:00.000000001Z"},
        {"touchpoint": "view"},
        {"channel": "app"},
        {"value": 2.0},
        {"customer_id": "b"},
    ]
    store.ingest_records([base], source="api", now=NOW)
    for change in variants:
        assert store.ingest_records([{**base, **change}], source="api", now=NOW).accepted == 1
    # stage and attributes do not make another event (as validation's duplicate rule says)
    same = [{**base, "stage": "consideration"}, {**base, "segment": "y"}]
    assert store.ingest_records(same, source="api", now=NOW) == IngestResult(0, 2)
    assert store.count_events() == 1 + len(variants)


def test_client_event_ids_decide_identity(store: EventStore) -> None:
    ev = JOURNEYS.copy()
    ev[EVENT_ID] = ["e1", "e2", "e3", None]  # the last one gets a content id
    assert store.ingest(ev, source="crm", now=NOW).accepted == 4
    changed = ev.copy()
    changed["touchpoint"] = "something else"  # same ids, other content: still duplicates
    assert store.ingest(changed.iloc[:3], source="crm", now=NOW) == IngestResult(0, 3)
    again = JOURNEYS.iloc[:3].copy()
    again[EVENT_ID] = ["e7", "e8", "e9"]  # same content, other ids: other events
    assert store.ingest(again, source="crm", now=NOW).accepted == 3
    # ids are unique per customer: another customer may reuse a client's id
    other = JOURNEYS.iloc[:1].assign(customer_id="z", event_id="e1")
    assert store.ingest(other, source="crm", now=NOW).accepted == 1


def test_keep_repeats_stores_genuine_repeats_once_each(store: EventStore) -> None:
    row = {"customer_id": "a", "timestamp": "2024-05-01", "touchpoint": "purchase", "value": 9.9}
    three = frame([row, row, row])
    assert store.ingest(three, source="pos", now=NOW, keep_repeats=True).accepted == 3
    assert store.ingest(three, source="pos", now=NOW, keep_repeats=True).accepted == 0
    four = frame([row] * 4)
    assert store.ingest(four, source="pos", now=NOW, keep_repeats=True) == IngestResult(1, 3)
    assert store.ingest(three, source="pos", now=NOW) == IngestResult(0, 3)
    assert len(store.journey("a")) == 4


def test_records_and_frames_are_one_path(store: EventStore) -> None:
    records = [
        {"customer_id": "a", "timestamp": pd.Timestamp("2024-05-01T10:00:00.123456789Z"),
         "touchpoint": "ad", "segment": "loyal"},
        {"customer_id": "a", "timestamp": "2024-05-03T12:00:00+02:00", "touchpoint": "email",
         "channel": "email", "value": -0.5, "attributes": {"score": 2.0}},
    ]  # fmt: skip
    assert store.ingest_records(records, source="api", now=NOW).accepted == 2
    as_frame = frame(
        [
            {"customer_id": "a", "timestamp": "2024-05-01T10:00:00.123456789Z",
             "touchpoint": "ad", "segment": "loyal"},
            {"customer_id": "a", "timestamp": "2024-05-03T10:00:00Z", "touchpoint": "email",
             "channel": "email", "value": -0.5, "score": 2.0},
        ]
    )  # fmt: skip
    assert store.ingest(as_frame, source="file", now=NOW) == IngestResult(0, 2)
    back = store.journey_records("a")
    assert back[1] == {
        "timestamp": ts("2024-05-03T10:00:00"),
        "touchpoint": "email",
        "channel": "email",
        "stage": None,
        "value": -0.5,
        "score": 2.0,
    }
    assert back[0]["timestamp"].value == pd.Timestamp("2024-05-01T10:00:00.123456789Z").value


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"timestamp": "2024-05-01", "touchpoint": "ad"}, "events.1.customer_id"),
        ({"customer_id": "a", "touchpoint": "ad"}, "events.1.timestamp"),
        ({"customer_id": "a", "timestamp": "yesterday", "touchpoint": "ad"}, "events.1.timestamp"),
        ({"customer_id": "a", "timestamp": "2024-05-01", "touchpoint": " "}, "events.1.touchpoint"),
        (
            {"customer_id": "a", "timestamp": "2024-05-01", "touchpoint": "ad", "value": "x"},
            "events.1.value",
        ),
    ],
)
def test_bad_records_name_the_field_and_store_nothing(
    store: EventStore,
    record: dict,
    field: str,  # type: ignore[type-arg]
) -> None:
    good = {"customer_id": "a", "timestamp": "2024-05-01", "touchpoint": "visit"}
    with pytest.raises(DataError) as info:
        store.ingest_records([good, record], source="api", now=NOW)
    assert info.value.field == field
    assert store.count_events() == 0


def test_features_from_the_store_equal_features_from_the_frame(
    store: EventStore,
    small_simulation,  # type: ignore[no-untyped-def]
) -> None:
    ev = small_simulation.events
    ev = ev[ev["customer_id"].isin(ev["customer_id"].unique()[:60])].reset_index(drop=True)
    for lo in range(0, len(ev), 500):
        store.ingest(ev.iloc[lo : lo + 500], source="sim", now=NOW)
    spec = FeatureBuilder(windows_days=(7, 30), attributes=("segment",)).fit(ev).spec_
    customers = ev["customer_id"].unique()[:25]
    cut = pd.DataFrame(
        {"customer_id": customers, "as_of": ev["timestamp"].min() + pd.Timedelta(days=40)}
    )
    want = build_features(ev, cut, spec)
    streamed = pd.concat(list(store.journeys(customers, chunk_customers=7)), ignore_index=True)
    got = build_features(streamed, cut, spec)
    pd.testing.assert_frame_equal(got, want)
    names = [f.name for f in spec.features]
    for i, cid in enumerate(customers):
        t = cut["as_of"].iloc[i]
        x = journey_features(cid, store.journey_records(cid, before=t), t, spec)
        np.testing.assert_array_equal(x[0], want[names].iloc[i].to_numpy(dtype=float))


def test_journeys_stream_whole_customers_in_sorted_chunks(store: EventStore) -> None:
    rows = [
        {"customer_id": c, "timestamp": f"2024-05-0{d}", "touchpoint": "visit"}
        for c in ("c3", "c1", "c2", "c5", "c4")
        for d in range(1, 1 + int(c[1]))
    ]
    store.ingest(frame(rows), source="t", now=NOW)
    chunks = list(store.journeys(chunk_customers=2))
    assert [sorted(set(c["customer_id"])) for c in chunks] == [
        ["c1", "c2"],
        ["c3", "c4"],
        ["c5"],
    ]
    assert [len(c) for c in chunks] == [1 + 2, 3 + 4, 5]
    before = list(store.journeys(before="2024-05-03", chunk_customers=10))
    assert len(before) == 1 and len(before[0]) == 1 + 2 + 2 + 2 + 2
    picked = list(store.journeys(["c4", "nobody", "c2"], chunk_customers=1))
    assert [c["customer_id"].iloc[0] for c in picked] == ["c2", "c4"]  # 'nobody' yields nothing
    assert store.customers(before="2024-05-02") == ["c1", "c2", "c3", "c4", "c5"]


def test_chunks_share_columns_when_attributes_are_named(store: EventStore) -> None:
    rows = [
        {"customer_id": "a", "timestamp": "2024-05-01", "touchpoint": "visit", "segment": "x"},
        {"customer_id": "b", "timestamp": "2024-05-01", "touchpoint": "visit"},
    ]
    store.ingest(frame(rows), source="t", now=NOW)
    free = [list(c.columns) for c in store.journeys(chunk_customers=1)]
    assert free[0][-1] == "segment" and "segment" not in free[1]
    named = list(store.journeys(chunk_customers=1, attributes=["segment", "region"]))
    assert [list(c.columns)[-2:] for c in named] == [["segment", "region"]] * 2
    assert named[1]["segment"].tolist() == [None]


def test_active_customers_are_those_with_an_event_in_the_window(store: EventStore) -> None:
    rows = [
        {"customer_id": "early", "timestamp": "2024-05-01T00:00:00Z", "touchpoint": "v"},
        {"customer_id": "edge", "timestamp": "2024-05-24T00:00:00Z", "touchpoint": "v"},
        {"customer_id": "late", "timestamp": "2024-05-30T23:59:59Z", "touchpoint": "v"},
        {"customer_id": "future", "timestamp": "2024-05-31T00:00:00Z", "touchpoint": "v"},
    ]
    store.ingest(frame(rows), source="t", now=NOW)
    assert store.active_customers("2024-05-31T00:00:00Z", days=7) == ["edge", "late"]
    assert store.active_customers("2024-05-31T00:00:00Z", days=6.5) == ["late"]
    assert store.active_customers("2024-06-30", days=60) == ["early", "edge", "future", "late"]


def test_chunk_size_must_be_positive(store: EventStore) -> None:
    with pytest.raises(ValueError, match="chunk_customers"):
        list(store.journeys(chunk_customers=0))
