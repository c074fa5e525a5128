"""The request handling behind the service (no HTTP): the bad-input catalogue cases that are
not about parsing, limits, warnings, metadata, settings and start-up."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from journeyml.errors import (
    FingerprintMismatchError,
    ModelNotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnknownTaskError,
)
from journeyml.modeling import META_FILE, MODEL_FILE, write_checksums
from journeyml.serving import (
    BatchRequest,
    PredictRequest,
    ServiceSettings,
    check_api_key,
    handle_batch,
    handle_predict,
    load_predictor,
    metadata,
)

pytestmark = pytest.mark.integration  # uses the session's trained models

NOW = datetime(2024, 7, 1, tzinfo=UTC)
EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[1] / "service" / "example_request.json").read_text()
)


def ask(predictor: Any, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return handle_predict(predictor, PredictRequest.model_validate(body), now=NOW, **kw)


def codes(out: dict[str, Any]) -> set[str]:
    return {w["code"] for w in out["warnings"]}


def test_example_has_every_task_and_ids(predictor: Any) -> None:
    out = ask(predictor, EXAMPLE)
    assert set(out["model_versions"]) == {"conversion", "churn", "next_stage"}
    assert out["feature_fingerprint"] == predictor.spec.fingerprint
    assert out["request_id"] and out["customer_id"] == "c-1042"
    assert "root_causes" in out["next_stage"]


def test_empty_events_is_a_prior_based_answer(predictor: Any) -> None:
    out = ask(predictor, {"customer_id": "new", "events": []})
    assert out["as_of"] == NOW.isoformat() and out["n_events_used"] == 0
    assert {"no_events", "as_of_defaulted", "not_eligible"} <= codes(out)
    assert 0 < out["conversion"]["probability"] < 1
    # with as_of given, the answer does not depend on the request time
    a = ask(predictor, {"customer_id": "n", "events": [], "as_of": "2024-01-01T00:00:00Z"})
    assert "as_of_defaulted" not in codes(a)


def test_unknown_touchpoints_and_channels_are_scored_and_reported(predictor: Any) -> None:
    body = {
        "customer_id": "c",
        "events": [
            {"timestamp": "2024-05-01T10:00:00Z", "touchpoint": "hologram_call", "channel": "vr"},
            {"timestamp": "2024-05-02T10:00:00Z", "touchpoint": "site_visit", "channel": "web"},
        ],
    }
    out = ask(predictor, body)
    msgs = {w["code"]: w for w in out["warnings"]}
    assert "hologram_call" in msgs["unknown_touchpoint"]["message"]
    assert msgs["unknown_channel"]["field"] == "events.channel"


def test_naive_timestamps_read_as_utc(predictor: Any) -> None:
    naive = dict(
        EXAMPLE, events=[dict(e, timestamp=e["timestamp"][:-1]) for e in EXAMPLE["events"]]
    )
    naive["as_of"] = EXAMPLE["as_of"][:-1]
    a, b = ask(predictor, naive), ask(predictor, EXAMPLE)
    assert {"naive_timestamp"} <= codes(a)
    assert [w["field"] for w in a["warnings"] if w["code"] == "naive_timestamp"] == [
        "events.timestamp",
        "as_of",
    ]
    assert a["conversion"]["probability"] == b["conversion"]["probability"]


def test_events_after_as_of_are_ignored(predictor: Any) -> None:
    body = dict(EXAMPLE, as_of="2024-05-10T00:00:00Z")
    out = ask(predictor, body)
    assert out["n_events_used"] == 4
    w = next(w for w in out["warnings"] if w["code"] == "events_after_as_of")
    assert w["message"].startswith("6 event(s)")
    cut = dict(EXAMPLE, as_of="2024-05-10T00:00:00Z", events=EXAMPLE["events"][:4])
    assert ask(predictor, cut)["churn"] == out["churn"]


def test_unsorted_and_duplicate_events(predictor: Any) -> None:
    shuffled = dict(EXAMPLE, events=list(reversed(EXAMPLE["events"])))
    a, b = ask(predictor, shuffled), ask(predictor, EXAMPLE)
    assert "unsorted_events" in codes(a) and "unsorted_events" not in codes(b)
    assert a["conversion"] == b["conversion"] and a["next_stage"] == b["next_stage"]
    dup = dict(EXAMPLE, events=[*EXAMPLE["events"], EXAMPLE["events"][-1]])
    d = ask(predictor, dup)
    assert "duplicate_events" in codes(d) and d["n_events_used"] == 11


def test_not_eligible_customers_are_flagged(predictor: Any) -> None:
    out = ask(predictor, EXAMPLE)  # purchased on 2024-05-10
    w = [w for w in out["warnings"] if w["code"] == "not_eligible"]
    assert [x["field"] for x in w] == ["conversion"]
    assert "already has purchase (2024-05-10)" in w[0]["message"]
    assert "no purchase yet" in w[0]["message"]
    gone = dict(
        EXAMPLE,
        events=[
            *EXAMPLE["events"],
            {"timestamp": "2024-06-15T00:00:00Z", "touchpoint": "cancellation"},
        ],
    )
    assert any(
        x["field"] == "churn" and "already has cancellation" in x["message"]
        for x in ask(predictor, gone)["warnings"]
    )
    quiet = dict(EXAMPLE, as_of="2024-09-01T00:00:00Z")
    assert any("inactive" in x["message"] for x in ask(predictor, quiet)["warnings"])


def test_unknown_tasks_and_classes_name_the_field(predictor: Any) -> None:
    with pytest.raises(UnknownTaskError) as e:
        ask(predictor, dict(EXAMPLE, tasks=["conversion", "bogus"]))
    assert e.value.field == "tasks" and e.value.http_status == 422
    with pytest.raises(UnknownTaskError) as e:
        ask(predictor, dict(EXAMPLE, explain_classes=["nope"]))
    assert e.value.field == "explain_classes"


def test_explain_classes_and_task_subset(predictor: Any) -> None:
    classes = predictor.bundles["next_stage"].classes
    out = ask(predictor, dict(EXAMPLE, tasks=["next_stage"], explain_classes=[classes[0]]))
    assert set(out["model_versions"]) == {"next_stage"} and "conversion" not in out
    assert set(out["next_stage"]["root_causes_by_class"]) == {classes[0]}


def test_too_many_events_and_journeys_are_413_with_the_limit(predictor: Any) -> None:
    with pytest.raises(PayloadTooLargeError) as e:
        ask(predictor, EXAMPLE, max_events=5)
    assert e.value.http_status == 413 and e.value.details == {"limit": 5, "got": 10}
    batch = BatchRequest.model_validate({"journeys": [EXAMPLE] * 3})
    with pytest.raises(PayloadTooLargeError) as e:
        handle_batch(predictor, batch, max_batch=2, now=NOW)
    assert e.value.field == "journeys" and e.value.details["limit"] == 2
    bad = BatchRequest.model_validate({"journeys": [EXAMPLE, dict(EXAMPLE, tasks=["x"])]})
    with pytest.raises(UnknownTaskError) as e2:
        handle_batch(predictor, bad, now=NOW)
    assert e2.value.field == "journeys.1.tasks"


def test_batch_equals_single(predictor: Any) -> None:
    bodies = [
        EXAMPLE,
        {"customer_id": "z", "events": []},
        dict(EXAMPLE, as_of="2024-05-10T00:00:00Z"),
    ]
    out = handle_batch(predictor, BatchRequest.model_validate({"journeys": bodies}), now=NOW)
    for got, body in zip(out["results"], bodies, strict=True):
        want = ask(predictor, body)
        got, want = dict(got), dict(want)
        got.pop("request_id"), want.pop("request_id")
        assert got == want


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"timestamp": "yesterday", "touchpoint": "a"}, "timestamp"),
        ({"timestamp": "9999-01-01T00:00:00Z", "touchpoint": "a"}, "timestamp"),
        ({"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "a", "value": float("nan")}, "value"),
        ({"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "a", "value": float("inf")}, "value"),
        ({"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "a", "value": 1e300}, "value"),
        ({"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "a" * 201}, "touchpoint"),
        ({"timestamp": "2024-01-01T00:00:00Z", "touchpoint": ""}, "touchpoint"),
        ({"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "a", "x": 1}, "x"),
        (
            {
                "timestamp": "2024-01-01T00:00:00Z",
                "touchpoint": "a",
                "attributes": {"k": float("nan")},
            },
            "attributes",
        ),
    ],
)
def test_request_model_rejects_with_the_field(event: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as e:
        PredictRequest.model_validate({"customer_id": "c", "events": [event]})
    assert field in e.value.errors()[0]["loc"]


def test_metadata_describes_models(predictor: Any) -> None:
    m = metadata(predictor)
    assert set(m["tasks"]) == {"conversion", "churn", "next_stage"}
    assert m["tasks"]["conversion"]["horizon_days"] > 0
    assert m["tasks"]["next_stage"]["classes"] == list(predictor.bundles["next_stage"].classes)
    assert m["vocabulary"]["touchpoints"] == list(predictor.spec.touchpoints)
    assert m["feature_fingerprint"] == predictor.spec.fingerprint


def test_api_key() -> None:
    check_api_key(None, {})
    check_api_key("k", {"authorization": "Bearer k"})
    check_api_key("k", {"x-api-key": "k"})
    for headers in ({}, {"authorization": "Bearer no"}, {"x-api-key": ""}):
        with pytest.raises(UnauthorizedError):
            check_api_key("k", headers)


def test_start_up_falls_back_to_bundled_copies_and_refuses_mismatches(
    predictor: Any, tmp_path: Path
) -> None:
    bundled = predictor.save(tmp_path / "bundled")
    dead = ServiceSettings(tracking_uri="http://127.0.0.1:9", model_dir=bundled, registry_timeout=2)
    pred, source = load_predictor(dead)
    assert source.startswith("bundled") and pred.fingerprint == predictor.fingerprint
    with pytest.raises(ModelNotFoundError, match="no bundled copies"):
        load_predictor(ServiceSettings(tracking_uri="http://127.0.0.1:9", model_dir=tmp_path / "x"))
    meta = bundled / "churn" / "bundle.json"
    d = json.loads(meta.read_text())
    d["spec"]["code_version"] = "0"
    meta.write_text(json.dumps(d))
    write_checksums(meta.parent, [MODEL_FILE, META_FILE])  # a consistent bundle of another version
    with pytest.raises(FingerprintMismatchError, match="feature code version"):
        load_predictor(ServiceSettings(model_dir=bundled))
