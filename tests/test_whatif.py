"""What-if for one journey: remove one of its events or add a touchpoint now, and get the
model's answers before and after (model sensitivity, not causal effect) — the Python API and
the request handling behind ``POST /whatif``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from journeyml.errors import RequestError
from journeyml.explain import MEANING, Edit
from journeyml.serving import WhatIfRequest, handle_what_if

pytestmark = pytest.mark.integration  # uses the session's trained models

NOW = datetime(2024, 7, 1, tzinfo=UTC)
EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[1] / "service" / "example_request.json").read_text()
)


def _records(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"channel": None, "stage": None, "value": None, **e, "timestamp": e["timestamp"]}
        for e in body["events"]
    ]


def test_removing_an_event_gives_the_prediction_without_it(predictor: Any) -> None:
    records = _records(EXAMPLE)
    as_of = EXAMPLE["as_of"]
    i = next(j for j, r in enumerate(records) if r["touchpoint"] == "complaint")
    out = predictor.what_if("c", records, as_of, Edit(remove=i))
    without = records[:i] + records[i + 1 :]
    assert out["before"] == predictor.predict_journey("c", records, as_of)
    assert out["after"] == predictor.predict_journey("c", without, as_of)
    assert out["edit"]["removed"]["touchpoint"] == "complaint"
    assert out["edit"]["removed"]["index"] == i
    churn = out["change"]["churn"]
    assert churn["points"] == pytest.approx(100 * (churn["after"] - churn["before"]), abs=1e-3)
    assert churn["before"] != churn["after"]  # a complaint is a planted churn driver
    ns = out["change"]["next_stage"]
    assert set(ns["classes"]) == set(predictor.bundles["next_stage"].classes)
    assert out["meaning"] == MEANING and "not causal effect" in MEANING
    # the removed complaint is no longer a cause after the edit
    after_causes = [c["name"] for c in out["after"]["churn"]["root_causes"]]
    assert "complaint" not in after_causes


def test_adding_a_touchpoint_now(predictor: Any) -> None:
    records = _records(EXAMPLE)
    as_of = EXAMPLE["as_of"]
    out = predictor.what_if("c", records, as_of, Edit(add={"touchpoint": "support_call"}))
    added = out["edit"]["added"]
    assert added["touchpoint"] == "support_call"
    assert added["timestamp"] == "2024-06-19T23:59:59+00:00"  # one second before as_of
    edited = [*records, {"timestamp": added["timestamp"], "touchpoint": "support_call"}]
    assert out["after"] == predictor.predict_journey("c", edited, as_of)
    assert out["after"]["n_events_used"] == out["before"]["n_events_used"] + 1


def test_edits_are_checked(predictor: Any) -> None:
    records = _records(EXAMPLE)
    for edit, field in (
        (dict(), "add"),
        (dict(remove=0, add={"touchpoint": "x"}), "remove"),
    ):
        with pytest.raises(RequestError) as e:
            Edit(**edit)  # type: ignore[arg-type]
        assert e.value.field == field and e.value.http_status == 422
    with pytest.raises(RequestError, match="0 to 9") as e:
        predictor.what_if("c", records, EXAMPLE["as_of"], Edit(remove=10))
    assert e.value.field == "remove"
    late = [*records, {"timestamp": "2024-07-01T00:00:00Z", "touchpoint": "visit"}]
    with pytest.raises(RequestError, match="at or after as_of"):
        predictor.what_if("c", late, EXAMPLE["as_of"], Edit(remove=10))


def ask(predictor: Any, body: dict[str, Any]) -> dict[str, Any]:
    return handle_what_if(predictor, WhatIfRequest.model_validate(body), now=NOW)


def test_the_request_counts_events_as_sent_and_keeps_as_of(predictor: Any) -> None:
    """Events sent out of order: ``remove`` is the index in the list sent; with no ``as_of``,
    removing the latest event does not move the moment of prediction."""
    events = list(reversed(EXAMPLE["events"]))  # latest first
    body = {"customer_id": "c-1", "events": events, "remove": 0}
    out = ask(predictor, body)
    assert out["edit"]["removed"]["index"] == 0
    assert out["edit"]["removed"]["touchpoint"] == events[0]["touchpoint"]
    assert out["before"]["as_of"] == out["after"]["as_of"] == out["as_of"]
    assert out["after"]["n_events_used"] == len(events) - 1
    assert "unsorted_events" in {w["code"] for w in out["warnings"]}
    assert out["customer_id"] == "c-1" and out["request_id"] and "not causal" in out["meaning"]


def test_bad_what_if_requests_name_the_field(predictor: Any) -> None:
    as_of = datetime(2024, 6, 20, tzinfo=UTC)
    base = {**EXAMPLE, "as_of": as_of.isoformat()}
    with pytest.raises(RequestError) as e:
        ask(predictor, base)  # no edit
    assert e.value.field == "add"
    later = {"timestamp": (as_of + timedelta(days=1)).isoformat(), "touchpoint": "visit"}
    late = {**base, "events": [*base["events"], later]}
    with pytest.raises(RequestError, match="at or after as_of") as e:
        ask(predictor, {**late, "remove": len(late["events"]) - 1})
    assert e.value.field == "remove"
    with pytest.raises(ValidationError):
        WhatIfRequest.model_validate({**base, "remove": -1})
    with pytest.raises(ValidationError):
        WhatIfRequest.model_validate({**base, "add": {"touchpoint": "x", "timestamp": "now"}})
    out = ask(predictor, {**base, "add": {"touchpoint": "never_seen", "channel": "web"}})
    assert out["edit"]["added"]["channel"] == "web"
