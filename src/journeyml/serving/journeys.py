"""The HTTP endpoints over the event store: the service maps its routes onto these.

- ``POST /events`` (:func:`handle_ingest`): ``{"events": [...]}`` → ``{"accepted",
  "duplicates", "rejected": [{"index", "field", "reason"}]}``. Each event is checked on its own
  (the rules of ``/predict``'s events, plus a ``customer_id`` and an optional ``event_id``); the
  valid ones are stored in one transaction even when others are rejected. Every event sent is
  counted once: accepted + duplicates + rejected = sent.
- ``POST /outcomes`` (:func:`handle_outcomes`): ``{"outcomes": [{"customer_id", "task",
  "outcome", "time", "source"?}]}`` → the same answer as ``POST /events``, each outcome checked
  on its own by the rules of ``journeyml outcomes FILE`` (:mod:`journeyml.store.outcome_file`).
- ``GET /customers/{customer_id}/predictions`` (:func:`handle_customer_predictions`): exactly
  what ``/predict`` answers for the stored journey (it is that call, with ``use_store``),
  ``as_of`` defaulting to the request time.
- ``DELETE /customers/{customer_id}`` (:func:`handle_erase`): the customer's events,
  prediction-log entries, outcomes and scores erased, with counts of what was removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from journeyml.errors import PayloadTooLargeError, RequestError, UnknownCustomerError
from journeyml.scoring import Predictor
from journeyml.serving import metrics
from journeyml.serving.api import EventIn, Name, PredictRequest, handle_predict, stored_journey
from journeyml.serving.prediction_log import PredictionLog, StoreLink
from journeyml.store import OUTCOME_COLUMNS as COLUMNS
from journeyml.store import row_problem, to_outcome

#: what ``POST /events`` stores as the events' source
API_SOURCE = "api"


class StoredEventIn(EventIn):
    """One event sent to the store: a ``/predict`` event plus whose it is and, optionally,
    the client's own id for it (else the store derives one from its content)."""

    customer_id: Name
    event_id: Name | None = None


class IngestRequest(BaseModel):
    """``POST /events``: events of any customers. Each is checked on its own, so one bad event
    does not cost the others."""

    model_config = ConfigDict(extra="forbid")

    events: list[Any]


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(x) for x in loc) or "event"


#: a batch of events checked in one call (pydantic's loop, not Python's)
_EVENTS: TypeAdapter[list[StoredEventIn]] = TypeAdapter(list[StoredEventIn])


def _validated(raw: list[Any]) -> tuple[list[StoredEventIn], list[dict[str, Any]]]:
    """(the valid events in order, a reject with the first error of each invalid one)."""
    try:
        return _EVENTS.validate_python(raw), []
    except ValidationError as exc:
        first: dict[int, Any] = {}
        for err in exc.errors(include_url=False, include_input=False):
            first.setdefault(int(err["loc"][0]), err)
    rejected = [
        {"index": i, "field": _location(err["loc"][1:]), "reason": err["msg"]}
        for i, err in sorted(first.items())
    ]
    return _EVENTS.validate_python([e for i, e in enumerate(raw) if i not in first]), rejected


def _at_most(got: int, limit: int, what: str) -> None:
    if got > limit:
        raise PayloadTooLargeError(
            f"expected at most {limit} {what} per request, got {got}. "
            "Send them in several requests.",
            field=what,
            details={"limit": limit, "got": got},
        )


def handle_ingest(
    store: StoreLink,
    req: IngestRequest,
    *,
    max_events: int,
    now: datetime,
    source: str = API_SOURCE,
) -> dict[str, Any]:
    """Validate each event, store the valid ones (idempotent: an event the store holds is a
    duplicate) and say what became of every event."""
    _at_most(len(req.events), max_events, "events")
    valid, rejected = _validated(req.events)
    records: list[dict[str, Any]] = []
    for ev in valid:
        ts = ev.timestamp if ev.timestamp.tzinfo else ev.timestamp.replace(tzinfo=UTC)
        rec: dict[str, Any] = {
            "customer_id": ev.customer_id,
            "timestamp": ts,
            "touchpoint": ev.touchpoint,
            "channel": ev.channel,
            "stage": ev.stage,
            "value": ev.value,
        }
        if ev.event_id is not None:
            rec["event_id"] = ev.event_id
        if ev.attributes:
            rec["attributes"] = ev.attributes
        records.append(rec)
    accepted = duplicates = 0
    if records:
        result = store.get().ingest_records(records, source=source, now=now)
        accepted, duplicates = result.accepted, result.duplicates
    metrics.ingested(accepted, duplicates, len(rejected))
    return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}


class OutcomesRequest(BaseModel):
    """``POST /outcomes``: outcomes known outside the event stream (``customer_id``, ``task``,
    ``outcome``, ``time`` and optionally ``source``), each checked on its own."""

    model_config = ConfigDict(extra="forbid")

    outcomes: list[Any]


def handle_outcomes(
    store: StoreLink, req: OutcomesRequest, *, max_rows: int, source: str = API_SOURCE
) -> dict[str, Any]:
    """Check each outcome, record the valid ones (the same outcome twice is a duplicate) and
    say what became of every one, as ``POST /events`` does for events."""
    _at_most(len(req.outcomes), max_rows, "outcomes")
    allowed = {*COLUMNS, "source"}
    valid = []
    rejected: list[dict[str, Any]] = []
    for i, row in enumerate(req.outcomes):
        if not isinstance(row, dict):
            problem: tuple[str, str] | None = ("outcome", "expected an object")
        elif unknown := sorted(set(row) - allowed):
            problem = (unknown[0], f"unknown key {unknown[0]!r}; expected {sorted(allowed)}")
        else:
            problem = row_problem(row)
        if problem is None:
            valid.append(to_outcome(row, source))
        else:
            rejected.append({"index": i, "field": problem[0], "reason": problem[1]})
    result = store.get().record_outcomes(valid)
    return {"accepted": result.accepted, "duplicates": result.duplicates, "rejected": rejected}


def _query_tasks(tasks: Sequence[str] | str | None) -> list[str] | None:
    """``tasks=churn,conversion`` or ``tasks=churn&tasks=conversion``."""
    if tasks is None:
        return None
    items = [tasks] if isinstance(tasks, str) else list(tasks)
    return [t.strip() for item in items for t in item.split(",") if t.strip()]


def customer_request(
    customer_id: str,
    *,
    as_of: str | None,
    tasks: Sequence[str] | str | None,
    now: datetime,
    top_k: str | None = None,
    explain: str | None = None,
) -> PredictRequest:
    """The ``/predict`` request that ``GET /customers/{id}/predictions`` stands for: no events
    sent, the stored journey merged in, ``as_of`` the request time unless given."""
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "events": [],
        "as_of": as_of if as_of is not None else now,
        "use_store": True,
    }
    task_list = _query_tasks(tasks)
    if task_list is not None:
        body["tasks"] = task_list
    if top_k is not None:
        body["top_k"] = top_k
    if explain is not None:
        body["explain"] = explain
    try:
        return PredictRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = _location(first["loc"])
        err = RequestError(
            f"expected a valid {field} in the query or path, got: {first['msg']}.",
            field=field,
        )
        err.http_status = 400
        raise err from None


def handle_customer_predictions(
    predictor: Predictor,
    store: StoreLink,
    customer_id: str,
    *,
    as_of: str | None,
    tasks: Sequence[str] | str | None,
    now: datetime,
    request_id: str | None,
    log: PredictionLog | None = None,
    top_k: str | None = None,
    explain: str | None = None,
) -> dict[str, Any]:
    """``/predict`` for the customer's stored journey (what :func:`customer_request` says);
    :class:`UnknownCustomerError` (404) when the store holds no event of the customer."""
    req = customer_request(
        customer_id, as_of=as_of, tasks=tasks, now=now, top_k=top_k, explain=explain
    )
    stored = stored_journey(store, req)  # one read: the journey is what the prediction uses
    if not stored and not store.get().has_customer(customer_id):
        raise UnknownCustomerError(
            f"expected a customer the event store knows, got {customer_id!r} with no stored "
            "events. Send their events to POST /events first (or check the id).",
            field="customer_id",
        )
    return handle_predict(
        predictor, req, request_id=request_id, now=now, store=store, log=log, stored=stored
    )


def last(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The last value of a query parameter given once or more (None when absent)."""
    values = query.get(name)
    return values[-1] if values else None


def customer_predictions_route(
    predictor: Predictor,
    store: StoreLink,
    params: Mapping[str, str],
    query: Mapping[str, Sequence[str]],
    *,
    now: datetime,
    request_id: str,
    log: PredictionLog | None = None,
) -> dict[str, Any]:
    """``GET /customers/{customer_id}/predictions?as_of=…&tasks=…&top_k=…&explain=…`` as the
    edge routes it: :func:`handle_customer_predictions` with the path and query."""
    return handle_customer_predictions(
        predictor,
        store,
        params["customer_id"],
        as_of=last(query, "as_of"),
        tasks=query.get("tasks"),
        top_k=last(query, "top_k"),
        explain=last(query, "explain"),
        now=now,
        request_id=request_id,
        log=log,
    )


def handle_erase(
    store: StoreLink, customer_id: str, *, log: PredictionLog | None = None
) -> dict[str, Any]:
    """Erase the customer (right to erasure): events, prediction-log entries (buffered ones
    too), outcomes and scores; says how many of each were removed."""
    es = store.get()
    buffered = log.discard_customer(customer_id) if log is not None else 0
    erased = es.erase_customer(customer_id)
    return {
        "customer_id": customer_id,
        "erased": {
            "events": erased.events,
            "predictions": erased.predictions + buffered,
            "outcomes": erased.outcomes,
            "scores": erased.scores,
        },
    }
