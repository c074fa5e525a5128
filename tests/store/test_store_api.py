"""The store's HTTP handlers with real models and a real store, on both backends: per-row
ingest, scoring by id equal to /predict, use_store merges, erasure, the prediction log."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from journeyml.errors import StoreNotConfiguredError, UnknownCustomerError
from journeyml.serving import (
    BatchRequest,
    IngestRequest,
    PredictionLog,
    PredictRequest,
    StoreLink,
    handle_batch,
    handle_customer_predictions,
    handle_erase,
    handle_ingest,
    handle_predict,
    requests_from_frame,
)
from journeyml.store import EventStore, journey_digest

NOW = datetime(2030, 1, 1, tzinfo=UTC)
GOOD = {"customer_id": "c1", "timestamp": "2024-05-01T10:00:00Z", "touchpoint": "site_visit"}


def link_to(store: EventStore) -> StoreLink:
    return StoreLink(store.uri, opener=lambda _uri: store)


def without_ids(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "request_id"}


def journey_body(sim: Any, predictor: Any, customer: str, as_of: str) -> dict[str, Any]:
    cut = pd.DataFrame({"customer_id": [customer], "as_of": [pd.Timestamp(as_of)]})
    attrs = list(predictor.spec.params.attributes)
    return requests_from_frame(sim.events, cut, attributes=attrs)[0]


def busy_customer(sim: Any, n: int = 20) -> str:
    counts = sim.events["customer_id"].value_counts()
    return str(counts[counts >= n].index[0])


def test_ingest_stores_valid_rows_and_names_each_rejected_field(store: EventStore) -> None:
    events = [
        GOOD,
        {**GOOD, "timestamp": "soon"},
        {**GOOD, "touchpoint": "purchase", "value": 20.5, "attributes": {"plan": "pro"}},
        {"timestamp": "2024-05-01T10:00:00Z", "touchpoint": "x"},  # no customer
        "not an event",
        {**GOOD, "value": 1e99},
        {**GOOD, "colour": "red"},  # unknown key
        GOOD,  # the same event again in the batch
        {**GOOD, "customer_id": "c2", "event_id": "crm-7", "timestamp": "2024-05-02T00:00:00"},
    ]
    out = handle_ingest(link_to(store), IngestRequest(events=events), max_events=100, now=NOW)
    assert out["accepted"] == 3 and out["duplicates"] == 1
    assert {(r["index"], r["field"]) for r in out["rejected"]} == {
        (1, "timestamp"),
        (3, "customer_id"),
        (4, "event"),
        (5, "value"),
        (6, "colour"),
    }
    assert all(r["reason"] for r in out["rejected"])
    assert out["accepted"] + out["duplicates"] + len(out["rejected"]) == len(events)
    journey = store.journey_records("c1")
    assert [e["touchpoint"] for e in journey] == ["purchase", "site_visit"]
    assert journey[0]["plan"] == "pro" and journey[0]["value"] == 20.5
    assert store.provenance("c2")["event_id"].tolist() == ["crm-7"]  # naive time read as UTC
    assert store.journey("c2")["timestamp"][0] == pd.Timestamp("2024-05-02", tz="UTC")
    again = handle_ingest(link_to(store), IngestRequest(events=events), max_events=100, now=NOW)
    assert again["accepted"] == 0 and again["duplicates"] == 4


def test_ingest_limit_and_no_store() -> None:
    from journeyml.errors import PayloadTooLargeError

    link = StoreLink(None)
    with pytest.raises(PayloadTooLargeError) as err:
        handle_ingest(link, IngestRequest(events=[GOOD] * 3), max_events=2, now=NOW)
    assert err.value.field == "events" and err.value.details == {"limit": 2, "got": 3}
    with pytest.raises(StoreNotConfiguredError) as no:
        handle_ingest(link, IngestRequest(events=[GOOD]), max_events=2, now=NOW)
    assert no.value.http_status == 501 and "JOURNEYML_STORE_URI" in no.value.message


def test_scoring_by_id_is_predict_on_the_stored_journey(
    store: EventStore, predictor: Any, small_simulation: Any
) -> None:
    sim = small_simulation
    cid = busy_customer(sim)
    as_of = "2024-04-20T00:00:00+00:00"
    body = journey_body(sim, predictor, cid, as_of)
    assert len(body["events"]) >= 5
    store.ingest(sim.events[sim.events["customer_id"] == cid], source="test", now=NOW)
    by_id = handle_customer_predictions(
        predictor, link_to(store), cid, as_of=as_of, tasks=None, now=NOW, request_id="r1"
    )
    sent = handle_predict(predictor, PredictRequest.model_validate(body), now=NOW)
    assert without_ids(by_id) == without_ids(sent)
    assert by_id["request_id"] == "r1" and by_id["n_events_used"] == len(body["events"])
    # tasks as a comma list; as_of defaults to the request time (every stored event counts)
    some = handle_customer_predictions(
        predictor, link_to(store), cid, as_of=None, tasks="churn,conversion", now=NOW,
        request_id=None,
    )  # fmt: skip
    assert set(some["model_versions"]) == {"churn", "conversion"}
    assert some["n_events_used"] == int((sim.events["customer_id"] == cid).sum())
    with pytest.raises(UnknownCustomerError) as err:
        handle_customer_predictions(
            predictor, link_to(store), "nobody", as_of=None, tasks=None, now=NOW, request_id=None
        )
    assert err.value.http_status == 404 and err.value.field == "customer_id"
    # a known customer asked about before their first event: scored on no events, not 404
    early = handle_customer_predictions(
        predictor, link_to(store), cid, as_of="2000-01-01T00:00:00Z", tasks=None, now=NOW,
        request_id=None,
    )  # fmt: skip
    assert early["n_events_used"] == 0
    from journeyml.errors import RequestError

    with pytest.raises(RequestError) as bad:
        handle_customer_predictions(
            predictor, link_to(store), cid, as_of="someday", tasks=None, now=NOW, request_id=None
        )
    assert bad.value.http_status == 400 and bad.value.field == "as_of"


def test_use_store_merges_stored_and_sent_events(
    store: EventStore, predictor: Any, small_simulation: Any
) -> None:
    sim = small_simulation
    cid = busy_customer(sim)
    as_of = "2024-04-20T00:00:00+00:00"
    body = journey_body(sim, predictor, cid, as_of)
    whole = handle_predict(predictor, PredictRequest.model_validate(body), now=NOW)
    half = len(body["events"]) // 2
    stored = [{**e, "customer_id": cid} for e in body["events"][:half]]
    handle_ingest(link_to(store), IngestRequest(events=stored), max_events=10_000, now=NOW)
    # the rest sent with the request, plus one the store already holds (counted once)
    merged_body = {**body, "events": body["events"][half - 1 :], "use_store": True}
    merged = handle_predict(
        predictor, PredictRequest.model_validate(merged_body), now=NOW, store=link_to(store)
    )
    assert merged["n_events_used"] == whole["n_events_used"]
    for t in ("conversion", "churn"):
        assert merged[t]["probability"] == pytest.approx(whole[t]["probability"], abs=1e-12)
        assert merged[t]["root_causes"] == whole[t]["root_causes"]
    (note,) = [w for w in merged["warnings"] if w["code"] == "from_store"]
    assert f"{half} stored event(s)" in note["message"] and "1 of which" in note["message"]
    with pytest.raises(StoreNotConfiguredError):
        handle_predict(predictor, PredictRequest.model_validate(merged_body), now=NOW)


def test_every_answer_is_logged_in_the_background_and_erasure_removes_it(
    store: EventStore, predictor: Any, small_simulation: Any
) -> None:
    sim = small_simulation
    cid = busy_customer(sim)
    store.ingest(sim.events[sim.events["customer_id"] == cid], source="test", now=NOW)
    link = link_to(store)
    plog = PredictionLog(link, project="retail", interval_s=0.05)
    as_of = "2024-04-20T00:00:00+00:00"
    out = handle_customer_predictions(
        predictor, link, cid, as_of=as_of, tasks=None, now=NOW, request_id="rid-1", log=plog
    )
    body = journey_body(sim, predictor, cid, as_of)
    batch = handle_batch(
        predictor,
        BatchRequest.model_validate({"journeys": [body, body]}),
        request_id="rid-2",
        now=NOW,
        log=plog,
    )
    assert len(batch["results"]) == 2
    deadline = time.monotonic() + 10
    while plog.written < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert plog.written == 3 and plog.pending() == 0
    entry = store.prediction("rid-1")
    assert entry is not None and entry.project == "retail" and entry.customer_id == cid
    assert entry.probabilities["churn"] == out["churn"]["probability"]
    assert entry.top_causes["churn"] == out["churn"]["root_causes"]
    assert entry.model_versions == out["model_versions"]
    assert entry.events_hash == journey_digest(store.journey_records(cid, before=as_of))
    assert [e.item for e in store.predictions_for_request("rid-2")] == [0, 1]
    # a batch whose last journey fails logs nothing
    bad = {"journeys": [body, {**body, "tasks": ["bogus"]}]}
    from journeyml.errors import UnknownTaskError

    with pytest.raises(UnknownTaskError):
        handle_batch(predictor, BatchRequest.model_validate(bad), request_id="rid-3", log=plog)
    plog.flush()
    assert store.predictions_for_request("rid-3") == []
    # an entry still buffered when the customer is erased is dropped, not written later
    plog.add(out, [], item=5)
    erased = handle_erase(link, cid, log=plog)
    assert erased == {
        "customer_id": cid,
        "erased": {"events": int((sim.events["customer_id"] == cid).sum()), "predictions": 4,
                   "outcomes": 0, "scores": 0},
    }  # fmt: skip
    plog.close()
    assert store.predictions(cid) == [] and store.count_events(cid) == 0


def test_a_store_that_is_down_keeps_entries_until_it_is_back(predictor: Any, tmp_path: Any) -> None:
    from journeyml.errors import StoreUnavailableError

    uri = f"sqlite:///{tmp_path / 'no-such-folder' / 'x' / 'j.db'}"
    blocker = tmp_path / "no-such-folder"
    blocker.write_text("a file where the folder should be")
    link = StoreLink(uri)
    plog = PredictionLog(link, project="demo", interval_s=60)
    event = {k: v for k, v in GOOD.items() if k != "customer_id"}
    body = {"customer_id": "c", "events": [event], "as_of": "2024-06-01T00:00:00Z"}
    out = handle_predict(predictor, PredictRequest.model_validate(body), now=NOW, log=plog)
    assert plog.pending() == 1
    with pytest.raises(StoreUnavailableError) as err:
        plog.flush()
    assert err.value.http_status == 503 and err.value.retry_after >= 1
    assert plog.pending() == 1
    blocker.unlink()
    assert plog.flush() == 1
    got = EventStore.open(uri).prediction(out["request_id"])
    assert got is not None and got.events_hash == journey_digest([event])
