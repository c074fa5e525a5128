"""The HTTP API's request and response models, and the request handling the service delegates
to: validation beyond types, warnings, and the call into :class:`~journeyml.scoring.Predictor`.

Naive timestamps are read as UTC and reported; events at or after ``as_of`` are ignored and
reported; touchpoints and channels the models never saw are accepted (scored as "other") and
reported. ``as_of`` defaults to just after the journey's last event.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from journeyml.errors import PayloadTooLargeError, RequestError
from journeyml.scoring import Predictor, ScoreRequest

MAX_STRING = 200
MAX_VALUE = 1e9

Name = Annotated[str, Field(min_length=1, max_length=MAX_STRING)]


class EventIn(BaseModel):
    """One touchpoint event of a journey."""

    model_config = ConfigDict(extra="forbid")

    timestamp: datetime
    touchpoint: Name
    channel: Annotated[str, Field(max_length=MAX_STRING)] | None = None
    stage: Annotated[str, Field(max_length=MAX_STRING)] | None = None
    value: float | None = None
    attributes: dict[Name, Annotated[str, Field(max_length=MAX_STRING)] | float | None] | None = (
        None
    )

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and (not math.isfinite(v) or abs(v) > MAX_VALUE):
            raise ValueError(f"expected a finite number with |value| <= {MAX_VALUE:g}")
        return v


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Name
    events: list[EventIn]
    as_of: datetime | None = None
    tasks: list[Name] | None = None
    explain: bool = True
    top_k: Annotated[int, Field(ge=1, le=20)] = 3


def _utc(t: datetime) -> tuple[datetime, bool]:
    if t.tzinfo is None:
        return t.replace(tzinfo=UTC), True
    return t.astimezone(UTC), False


def handle_predict(
    predictor: Predictor,
    req: PredictRequest,
    *,
    max_events: int = 10_000,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Score one journey request; raises :class:`RequestError` subclasses for bad input."""
    if len(req.events) > max_events:
        raise PayloadTooLargeError(
            f"expected at most {max_events} events per journey, got {len(req.events)}. "
            "Send the most recent ones.",
            field="events",
        )
    tasks = predictor.check_tasks(req.tasks)
    warnings: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    naive = 0
    for ev in req.events:
        ts, was_naive = _utc(ev.timestamp)
        naive += was_naive
        rec: dict[str, Any] = {
            "timestamp": ts,
            "touchpoint": ev.touchpoint,
            "channel": ev.channel,
            "stage": ev.stage,
            "value": ev.value,
        }
        if ev.attributes:
            for k, v in ev.attributes.items():
                rec.setdefault(k, v)
        records.append(rec)
    if naive:
        warnings.append(
            {
                "code": "naive_timestamp",
                "field": "events.timestamp",
                "message": f"{naive} timestamp(s) had no time zone; read as UTC",
            }
        )
    if req.as_of is not None:
        as_of, as_of_naive = _utc(req.as_of)
        if as_of_naive:
            warnings.append(
                {
                    "code": "naive_timestamp",
                    "field": "as_of",
                    "message": "as_of had no time zone; read as UTC",
                }
            )
    elif records:
        as_of = max(r["timestamp"] for r in records) + timedelta(microseconds=1)
    else:
        raise RequestError(
            "expected as_of when events is empty (nothing to anchor the "
            "prediction in time); give as_of.",
            field="as_of",
        )
    later = sum(r["timestamp"] >= as_of for r in records)
    if later:
        warnings.append(
            {
                "code": "events_after_as_of",
                "field": "events",
                "message": f"{later} event(s) at or after as_of were ignored",
            }
        )
    spec = predictor.spec
    for field, vocab in (("touchpoint", set(spec.touchpoints)), ("channel", set(spec.channels))):
        unknown = sorted({str(r[field]) for r in records if r[field] is not None} - vocab)
        if field == "channel":
            unknown = [u for u in unknown if u != "unknown"]
        if unknown:
            warnings.append(
                {
                    "code": f"unknown_{field}",
                    "field": f"events.{field}",
                    "message": f"not seen in training, scored as 'other': {unknown[:10]}",
                }
            )
    result = predictor.predict_journey(
        req.customer_id, records, as_of, ScoreRequest(tasks, explain=req.explain, top_k=req.top_k)
    )
    result["customer_id"] = req.customer_id
    result["model_versions"] = {t: v for t, v in predictor.versions().items() if t in tasks}
    result["feature_fingerprint"] = spec.fingerprint
    result["request_id"] = request_id or uuid.uuid4().hex
    result["warnings"] = warnings
    return result
