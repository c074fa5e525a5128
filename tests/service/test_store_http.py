"""The event store over HTTP, on the real BentoML server: POST /events, scoring by id,
use_store, erasure with the prediction log, the API key, 501 without a store and 503 with
Retry-After when the store is down (never a 500)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from journeyml.serving import requests_from_frame

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("bento")]

KEY = {"x-api-key": "k3y"}
EV = {"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "site_visit"}


@pytest.fixture(scope="module")
def store_server(trained_store: Any, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from journey_servers import start_bento_server, stop_server

    folder = tmp_path_factory.mktemp("store-server")
    uri = f"sqlite:///{folder / 'journeyml.db'}"
    env = {
        "JOURNEYML_TRACKING_URI": trained_store[0],
        "JOURNEYML_STORE_URI": uri,
        "JOURNEYML_API_KEY": KEY["x-api-key"],
    }
    h = start_bento_server(env, folder / "server.log")
    h.store_uri = uri
    yield h
    stop_server(h.proc)


def without_ids(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "request_id"}


def test_store_endpoints_over_http(
    store_server: Any, predictor: Any, small_simulation: Any
) -> None:
    from journeyml.store import EventStore

    url = store_server.url
    sim = small_simulation
    counts = sim.events["customer_id"].value_counts()
    cid = str(counts[counts >= 20].index[0])
    as_of = "2024-04-20T00:00:00+00:00"
    cut = pd.DataFrame({"customer_id": [cid], "as_of": [pd.Timestamp(as_of)]})
    body = requests_from_frame(sim.events, cut, attributes=list(predictor.spec.params.attributes))[
        0
    ]
    events = [{**e, "customer_id": cid} for e in body["events"]]
    events.insert(1, {**events[0], "timestamp": "yesterday"})

    assert httpx.post(f"{url}/events", json={"events": events}).status_code == 401
    r = httpx.post(f"{url}/events", json={"events": events}, headers=KEY, timeout=60)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == len(body["events"]) and out["duplicates"] == 0
    assert out["rejected"] == [
        {"index": 1, "field": "timestamp", "reason": out["rejected"][0]["reason"]}
    ]
    r = httpx.post(
        f"{url}/events",
        content=b'{"events": 5}',
        headers={**KEY, "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["field"] == "events"

    r = httpx.get(
        f"{url}/customers/{cid}/predictions",
        params={"as_of": as_of, "tasks": "conversion,churn,next_stage"},
        headers={**KEY, "x-request-id": "by-id-1"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    by_id = r.json()
    sent = httpx.post(f"{url}/predict", json=body, headers=KEY, timeout=60).json()
    assert without_ids(by_id) == without_ids(sent)
    assert by_id["request_id"] == "by-id-1" == r.headers["x-request-id"]

    merged = httpx.post(
        f"{url}/predict",
        json={"customer_id": cid, "events": body["events"][-2:], "as_of": as_of, "use_store": True},
        headers=KEY,
        timeout=60,
    ).json()
    assert merged["churn"]["probability"] == sent["churn"]["probability"]

    r = httpx.get(f"{url}/customers/nobody/predictions", headers=KEY, timeout=60)
    assert r.status_code == 404 and r.json()["error"] == "unknown_customer"
    r = httpx.get(
        f"{url}/customers/{cid}/predictions", params={"as_of": "soon"}, headers=KEY, timeout=60
    )
    assert r.status_code == 400 and r.json()["field"] == "as_of"
    r = httpx.get(
        f"{url}/customers/{cid}/predictions", params={"tasks": "bogus"}, headers=KEY, timeout=60
    )
    assert r.status_code == 422 and r.json()["field"] == "tasks"

    # three predictions answered (by id, sent, merged): all logged within a moment
    with EventStore.open(store_server.store_uri) as es:
        deadline = time.monotonic() + 15
        while len(es.predictions(cid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        logged = es.prediction("by-id-1")
        assert logged is not None and logged.probabilities["churn"] == by_id["churn"]["probability"]
        assert len(es.predictions(cid)) == 3
    r = httpx.delete(f"{url}/customers/{cid}", headers=KEY, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "customer_id": cid,
        "erased": {"events": len(body["events"]), "predictions": 3, "outcomes": 0,
                   "scores": 0},
    }  # fmt: skip
    assert httpx.delete(f"{url}/customers/{cid}", headers=KEY).json()["erased"]["events"] == 0
    metrics = httpx.get(f"{url}/metrics", headers=KEY, timeout=30).text
    written = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("journeyml_prediction_log_written_total")
    ]
    assert written and sum(written) >= 3, metrics[-2000:]
    assert 'journeyml_store_events_total{result="rejected"} 1.0' in metrics
    assert "journeyml_store_up 1.0" in metrics


def test_post_outcomes_over_http(store_server: Any) -> None:
    """POST /outcomes behind the API key, strict JSON, per-row rejects as POST /events; the
    store holds what it accepted."""
    from journeyml.store import EventStore

    url = store_server.url + "/outcomes"
    good = {"customer_id": "o-1", "task": "churn", "outcome": "cancellation", "time": "2024-05-01"}
    body = {"outcomes": [good, {**good, "outcome": "false"}, good]}
    assert httpx.post(url, json=body, timeout=60).status_code == 401
    r = httpx.post(url, json=body, headers=KEY, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1 and r.json()["duplicates"] == 1
    assert [(x["index"], x["field"]) for x in r.json()["rejected"]] == [(1, "outcome")]
    r = httpx.post(url, json={"rows": []}, headers=KEY, timeout=60)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    with EventStore.open(store_server.store_uri) as es:
        got = es.outcomes(customer_id="o-1")
    assert list(got["task"]) == ["churn"] and list(got["source"]) == ["api"]


def test_no_store_is_501_and_a_dead_store_is_503(
    bento_server: Any, trained_store: Any, tmp_path: Path
) -> None:
    from journey_servers import start_bento_server, stop_server

    r = httpx.post(f"{bento_server.url}/events", json={"events": [{**EV, "customer_id": "a"}]})
    assert r.status_code == 501 and r.json()["error"] == "store_not_configured"
    r = httpx.delete(f"{bento_server.url}/customers/a")
    assert r.status_code == 501

    env = {
        "JOURNEYML_TRACKING_URI": trained_store[0],
        "JOURNEYML_STORE_URI": "postgresql://nobody@127.0.0.1:9/none",  # nothing listens
    }
    h = start_bento_server(env, tmp_path / "server.log")
    try:
        for method, path, kw in (
            ("POST", "/events", {"json": {"events": [{**EV, "customer_id": "a"}]}}),
            ("GET", "/customers/a/predictions", {}),
            ("DELETE", "/customers/a", {}),
            ("POST", "/predict", {"json": {"customer_id": "a", "events": [EV], "use_store": True}}),
        ):
            r = httpx.request(method, h.url + path, timeout=60, **kw)
            assert r.status_code == 503, (path, r.text)
            assert r.json()["error"] == "store_unavailable" and int(r.headers["retry-after"]) >= 1
        # predictions without the store still answer (their log entries wait for it)
        r = httpx.post(h.url + "/predict", json={"customer_id": "a", "events": [EV]}, timeout=60)
        assert r.status_code == 200
    finally:
        stop_server(h.proc)
