"""The prediction log, outcomes and erasure, on both backends."""

from __future__ import annotations

import pandas as pd
import pytest

from journeyml.store import (
    Erasure,
    EventStore,
    IngestResult,
    Outcome,
    PredictionRecord,
    journey_digest,
)

NOW = "2024-07-01T00:00:00Z"

#: what /predict answers (abridged to the keys the log reads, plus some it ignores)
RESPONSE = {
    "as_of": "2024-06-20T00:00:00+00:00",
    "n_events_used": 3,
    "conversion": {"probability": 0.0392, "base_rate": 0.0531, "root_causes": []},
    "churn": {
        "probability": 0.3616,
        "base_rate": 0.042,
        "root_causes": [
            {"cause": "touchpoint:support_call", "points": 9.35, "direction": "raises",
             "sentence": "2 support calls in the last 30 days raised churn risk by 9 points",
             "events": ["2024-06-01T10:00:00+00:00", "2024-06-12T16:30:00+00:00"]},
        ],
    },
    "next_stage": {
        "distribution": {"retention": 0.6, "none": 0.4},
        "predicted": "retention",
        "probability": 0.6,
    },
    "customer_id": "c-1042",
    "model_versions": {"conversion": "4", "churn": "4", "next_stage": "5"},
    "feature_fingerprint": "2bbe4d537a911980",
    "request_id": "d975767afe4e43618684d102e3aa3006",
    "warnings": [{"code": "not_eligible", "field": "conversion", "message": "..."}],
}  # fmt: skip
EVENTS = [
    {"timestamp": "2024-05-10T12:04:00Z", "touchpoint": "purchase", "value": 89.9},
    {"timestamp": "2024-06-01T10:00:00Z", "touchpoint": "support_call"},
    {"timestamp": "2024-06-12T16:30:00Z", "touchpoint": "support_call"},
]


def record(**changes) -> PredictionRecord:  # type: ignore[no-untyped-def]
    base = PredictionRecord.from_response(
        RESPONSE, project="retail", events_hash=journey_digest(EVENTS), created_at=NOW
    )
    return PredictionRecord(**{**base.__dict__, **changes})


def test_a_response_becomes_a_log_entry() -> None:
    r = record()
    assert r.request_id == RESPONSE["request_id"] and r.item == 0
    assert r.customer_id == "c-1042" and r.project == "retail"
    assert r.as_of == pd.Timestamp("2024-06-20", tz="UTC")
    assert r.probabilities == {
        "conversion": 0.0392,
        "churn": 0.3616,
        "next_stage": {"retention": 0.6, "none": 0.4},
    }
    assert list(r.top_causes) == ["conversion", "churn"]  # next_stage was not explained
    assert r.top_causes["churn"][0]["points"] == 9.35
    assert r.model_versions == {"conversion": "4", "churn": "4", "next_stage": "5"}
    assert r.n_events == 3 and r.created_at == pd.Timestamp(NOW)


def test_the_log_reads_back_what_was_written(store: EventStore) -> None:
    r = record()
    assert store.log_prediction(r) is True
    assert store.prediction(r.request_id) == r
    assert store.predictions_for_request(r.request_id) == [r]
    assert store.predictions("c-1042") == [r]
    assert store.predictions(project="other") == []
    assert store.prediction("no-such-request") is None


def test_logging_again_keeps_the_first_entry(store: EventStore) -> None:
    r = record()
    store.log_prediction(r)
    assert store.log_prediction(record(events_hash="something else")) is False
    assert store.prediction(r.request_id) == r


def test_a_batch_request_logs_one_entry_per_journey(store: EventStore) -> None:
    batch = [record(item=i, customer_id=f"c{i}") for i in (2, 0, 1)]
    assert store.log_predictions(batch) == 3
    assert [p.customer_id for p in store.predictions_for_request(batch[0].request_id)] == [
        "c0",
        "c1",
        "c2",
    ]
    assert store.prediction(batch[0].request_id, item=1) == batch[2]


def test_predictions_by_customer_and_time(store: EventStore) -> None:
    early = record(request_id="r1", created_at=pd.Timestamp("2024-07-01", tz="UTC"))
    late = record(request_id="r2", created_at=pd.Timestamp("2024-07-03", tz="UTC"))
    other = record(request_id="r3", customer_id="someone else")
    store.log_predictions([late, other, early])
    assert store.predictions("c-1042") == [early, late]
    assert store.predictions("c-1042", since="2024-07-02") == [late]
    assert store.predictions("c-1042", until="2024-07-02") == [early]
    # r1 and r3 were created at the same time: logged order breaks the tie
    assert [p.request_id for p in store.predictions(limit=2)] == ["r3", "r1"]


def test_the_digest_is_of_the_events_not_their_spelling() -> None:
    same = [
        {"timestamp": pd.Timestamp("2024-06-12T18:30:00+02:00"), "touchpoint": "support_call",
         "channel": None, "stage": None, "value": None},
        {"timestamp": "2024-05-10T12:04:00Z", "touchpoint": "purchase", "value": 89.9,
         "channel": "unknown"},
        {"timestamp": "2024-06-01T10:00:00Z", "touchpoint": "support_call"},
    ]  # fmt: skip
    assert journey_digest(same) == journey_digest(EVENTS)
    assert journey_digest(EVENTS[:2]) != journey_digest(EVENTS)
    assert journey_digest([{**EVENTS[0], "stage": "conversion"}, *EVENTS[1:]]) != journey_digest(
        EVENTS
    )
    with_attr = [{**EVENTS[0], "segment": "new"}, *EVENTS[1:]]
    nested = [{**EVENTS[0], "attributes": {"segment": "new"}}, *EVENTS[1:]]
    assert journey_digest(with_attr) == journey_digest(nested) != journey_digest(EVENTS)
    numeric = [{**EVENTS[0], "attributes": {"score": 1}}, *EVENTS[1:]]
    assert journey_digest(numeric) == journey_digest(
        [{**EVENTS[0], "attributes": {"score": 1.0}}, *EVENTS[1:]]
    )


def test_the_digest_of_stored_events_equals_the_digest_of_sent_events(
    store: EventStore,
) -> None:
    sent = [{**e, "segment": "new"} for e in EVENTS]
    store.ingest_records(sent, source="api", now=NOW, customer_id="c-1042")
    assert journey_digest(store.journey_records("c-1042")) == journey_digest(sent)


def test_outcomes_are_stored_once_and_read_by_task_and_time(store: EventStore) -> None:
    items = [
        Outcome("c1", "churn", "cancellation", pd.Timestamp("2024-06-02", tz="UTC"), "crm"),
        Outcome("c2", "conversion", "purchase", "2024-06-01T00:00:00.000000001Z", "pos"),
        Outcome("c1", "churn", "cancellation", "2024-06-02T00:00:00Z", "another source"),
    ]
    assert store.record_outcomes(items) == IngestResult(2, 1)
    churn = store.outcomes(task="churn")
    assert churn.to_dict("records") == [
        {"customer_id": "c1", "task": "churn", "outcome": "cancellation",
         "time": pd.Timestamp("2024-06-02", tz="UTC"), "source": "crm"},
    ]  # fmt: skip
    both = store.outcomes(since="2024-06-01T00:00:00.000000001Z")
    assert both["customer_id"].tolist() == ["c2", "c1"]  # by time
    assert both["time"].iloc[0].nanosecond == 1
    assert store.outcomes(until="2024-06-01T00:00:00.000000001Z").empty


def test_erasure_removes_a_customer_and_says_what(store: EventStore) -> None:
    store.ingest_records(EVENTS, source="api", now=NOW, customer_id="c-1042")
    store.ingest_records(EVENTS[:1], source="api", now=NOW, customer_id="keep-me")
    kept = record(request_id="r3", customer_id="keep-me")
    store.log_predictions([record(), record(request_id="r2"), kept])
    store.record_outcomes([Outcome("c-1042", "churn", "cancellation", "2024-07-02")])
    assert store.erase_customer("c-1042") == Erasure("c-1042", events=3, predictions=2, outcomes=1)
    assert store.journey("c-1042").empty and store.predictions("c-1042") == []
    assert store.outcomes(customer_id="c-1042").empty
    assert len(store.journey("keep-me")) == 1 and len(store.predictions("keep-me")) == 1
    assert store.erase_customer("c-1042").total == 0
    # the same events may come back later (a new consent): they are new again
    assert store.ingest_records(EVENTS, source="api", now=NOW, customer_id="c-1042").accepted == 3


def test_summary_counts_what_the_store_holds(store: EventStore) -> None:
    empty = store.summary()
    assert (empty.events, empty.customers, empty.first_event) == (0, 0, None)
    store.ingest_records(EVENTS, source="api", now=NOW, customer_id="c-1042")
    store.log_prediction(record())
    s = store.summary()
    assert (s.events, s.customers, s.predictions, s.outcomes) == (3, 1, 1, 0)
    assert s.first_event == pd.Timestamp("2024-05-10T12:04:00Z")
    assert s.revision == store.revision and s.backend in ("sqlite", "postgresql")


@pytest.mark.parametrize("missing", ["request_id", "customer_id", "model_versions", "as_of"])
def test_a_response_without_what_the_log_needs_is_refused(missing: str) -> None:
    broken = {k: v for k, v in RESPONSE.items() if k != missing}
    with pytest.raises(KeyError):
        PredictionRecord.from_response(broken, project="p", events_hash="h", created_at=NOW)
