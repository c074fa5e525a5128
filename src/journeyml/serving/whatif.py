"""``POST /whatif``: one journey scored as sent and with one edit — remove one of its events
(``remove``: its index in ``events`` as sent) or add a touchpoint now (``add``) — at the same
``as_of``. The request is a ``/predict`` request plus the edit and goes through the same
validation and warnings; the answer carries ``before``, ``after``, the ``change`` per task and
``meaning``: this is model sensitivity, not causal effect
(:mod:`journeyml.explain.whatif`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from journeyml.errors import PayloadTooLargeError
from journeyml.explain import Edit
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.serving.api import (
    MAX_ATTRIBUTES,
    Name,
    PredictRequest,
    Text,
    _finite,
    journey_of,
)
from journeyml.serving.prediction_log import StoreLink


class AddedTouchpoint(BaseModel):
    """A touchpoint to add to the journey now (just before ``as_of``)."""

    model_config = ConfigDict(extra="forbid")

    touchpoint: Name
    channel: Text | None = None
    stage: Text | None = None
    value: float | None = None
    attributes: (
        Annotated[dict[Name, Text | float | None], Field(max_length=MAX_ATTRIBUTES)] | None
    ) = None

    _value = field_validator("value")(_finite)


class WhatIfRequest(PredictRequest):
    """A ``/predict`` request plus exactly one edit."""

    #: the index (from 0, in the order of ``events`` as sent) of the event to remove
    remove: Annotated[int, Field(ge=0)] | None = None
    #: a touchpoint to add now
    add: AddedTouchpoint | None = None


def handle_what_if(
    predictor: Predictor,
    req: WhatIfRequest,
    *,
    max_events: int = 10_000,
    request_id: str | None = None,
    now: datetime | None = None,
    store: StoreLink | None = None,
) -> dict[str, Any]:
    """Answer one what-if request; raises :class:`RequestError` subclasses for bad input
    (never logged as a prediction: the edited journey is not the customer's)."""
    if len(req.events) > max_events:
        raise PayloadTooLargeError(
            f"expected at most {max_events} events per journey, got {len(req.events)}. "
            "Send the most recent ones.",
            field="events",
            details={"limit": max_events, "got": len(req.events)},
        )
    tasks = predictor.check_tasks(req.tasks)
    explain_classes = predictor.check_classes(req.explain_classes or ())
    add = None
    if req.add is not None:
        add = {k: v for k, v in req.add.model_dump().items() if k != "attributes"}
        add.update(req.add.attributes or {})
    edit = Edit(remove=req.remove, add=add)
    records, kept, as_of, warnings = journey_of(predictor, req, tasks, now=now, store=store)
    if req.remove is not None:  # the index counts the events as sent; the journey is `kept`
        Edit(remove=req.remove).apply(records, as_of)  # refuses an index out of range or late
        edit = Edit(remove=sum(1 for r in records[: req.remove] if r["timestamp"] < as_of))
    result = predictor.what_if(
        req.customer_id,
        kept,
        as_of,
        edit,
        ScoreRequest(tasks, explain=req.explain, top_k=req.top_k, explain_classes=explain_classes),
    )
    if req.remove is not None:
        result["edit"]["removed"]["index"] = req.remove
    versions = predictor.versions()
    return {
        "customer_id": req.customer_id,
        **result,
        "model_versions": {t: versions[t] for t in tasks},
        "feature_fingerprint": predictor.fingerprint,
        "request_id": request_id or uuid.uuid4().hex,
        "warnings": warnings,
    }


__all__ = ["AddedTouchpoint", "WhatIfRequest", "handle_what_if"]
