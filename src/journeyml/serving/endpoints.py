"""The service's endpoints as the OpenAPI document lists them (the one list to extend when
an endpoint is added: its path, request model, answer and error statuses)."""

from __future__ import annotations

from typing import Any

from journeyml.serving.api import BatchRequest, PredictRequest
from journeyml.serving.journeys import IngestRequest, OutcomesRequest
from journeyml.serving.openapi import Endpoint
from journeyml.serving.responses import BatchResponse, PredictResponse, ProbeResponse
from journeyml.serving.whatif import WhatIfRequest

OBJECT: dict[str, Any] = {"type": "object"}
#: a prediction's errors: 501 when ``use_store`` is asked of a service without a store
PREDICTION_ERRORS = (400, 401, 413, 415, 422, 501, 503)


def service_endpoints(example: dict[str, Any]) -> list[Endpoint]:
    """Every endpoint of ``service/service.py``; ``example``: a ``/predict`` body."""
    one = {k: v for k, v in example.items()}
    return [
        Endpoint(
            "POST",
            "/predict",
            "Score one journey",
            "Conversion and churn probabilities and the next stage for one customer's "
            "journey as of `as_of` (default: just after the last event), each with its root "
            "causes. Events at or after `as_of` are ignored; doubtful input is answered with "
            "`warnings`.",
            request=PredictRequest,
            response=PredictResponse,
            example=one,
            errors=PREDICTION_ERRORS,
        ),
        Endpoint(
            "POST",
            "/predict_batch",
            "Score many journeys",
            "One result per journey, in order, each exactly what `/predict` answers for it. "
            "An error in one journey fails the call and names it (`journeys.<i>.<field>`).",
            request=BatchRequest,
            response=BatchResponse,
            example={"journeys": [one]},
            errors=PREDICTION_ERRORS,
        ),
        Endpoint(
            "POST",
            "/whatif",
            "Compare a journey with one edit",
            "The journey as sent and with one edit (remove an event, or add a touchpoint now),"
            " both answers side by side: model sensitivity, not causal effect.",
            request=WhatIfRequest,
            response=OBJECT,
            example={**one, "remove": 0},
            errors=PREDICTION_ERRORS,
        ),
        Endpoint(
            "POST",
            "/events",
            "Store events",
            "Events of any customers into the event store (idempotent); each event is checked "
            "on its own and the answer says what became of each.",
            request=IngestRequest,
            response=OBJECT,
            errors=(400, 401, 413, 415, 501, 503),
            example={
                "events": [
                    {
                        "customer_id": "c-1042",
                        "timestamp": "2024-06-01T10:00:00Z",
                        "touchpoint": "site_visit",
                        "channel": "web",
                    }
                ]
            },
            tag="event store",
        ),
        Endpoint(
            "POST",
            "/outcomes",
            "Record outcomes",
            "Outcomes known outside the event stream (a CRM's cancellations) into the event "
            "store (idempotent), for `journeyml monitor`: one of a binary task within a "
            "prediction's horizon makes its label positive. Each is checked on its own "
            "(`customer_id`, `task`, `outcome` that happened, ISO 8601 `time`, optional "
            "`source`) and the answer says what became of each, as for `/events`.",
            request=OutcomesRequest,
            response=OBJECT,
            errors=(400, 401, 413, 415, 501, 503),
            example={
                "outcomes": [
                    {
                        "customer_id": "c-1042",
                        "task": "churn",
                        "outcome": "cancellation",
                        "time": "2024-07-02T09:30:00Z",
                    }
                ]
            },
            tag="event store",
        ),
        Endpoint(
            "GET",
            "/customers/{customer_id}/predictions",
            "Score a stored customer",
            "The customer's journey as the event store holds it, scored as `/predict` would.",
            response=PredictResponse,
            errors=(400, 401, 404, 422, 501, 503),
            tag="event store",
            query=(
                ("as_of", "Moment of prediction (ISO 8601).", {"type": "string"}),
                ("top_k", "Root causes per task (1-20).", {"type": "string"}),
                ("explain", "`true` or `false`.", {"type": "string"}),
            ),
        ),
        Endpoint(
            "DELETE",
            "/customers/{customer_id}",
            "Erase a customer",
            "Erases the customer's events and logged predictions from the event store.",
            response=OBJECT,
            errors=(401, 404, 501, 503),
            tag="event store",
        ),
        Endpoint(
            "GET",
            "/metadata",
            "The models served",
            "Versions, feature fingerprint, horizons, classes, eligibility and vocabulary.",
            response=OBJECT,
            errors=(),
            tag="service",
            protected=False,
        ),
        Endpoint(
            "GET",
            "/healthz",
            "Liveness",
            "The process answers (never blocked by predictions being computed).",
            response=ProbeResponse,
            errors=(),
            tag="service",
            protected=False,
        ),
        Endpoint(
            "GET",
            "/readyz",
            "Readiness",
            "200 once the models are loaded, 503 before.",
            response=ProbeResponse,
            errors=(503,),
            tag="service",
            protected=False,
        ),
    ]
