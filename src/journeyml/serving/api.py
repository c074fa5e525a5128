"""The HTTP API's request models and the request handling the service delegates to:
validation beyond types, warnings, and the call into :class:`~journeyml.scoring.Predictor`.

Every case of doubtful input gets an answer with a ``warnings`` entry (``code``, ``field``,
``message``) or a :class:`~journeyml.errors.RequestError` naming the field — never a crash:

- naive timestamps are read as UTC; unsorted events are sorted; exact duplicates are counted;
- events at or after ``as_of`` are ignored; ``as_of`` defaults to just after the last event, or
  to the request time (``now``, given by the caller) when there are no events at all (a
  prior-based answer: the model's answer for a customer with no history);
- touchpoints and channels the models never saw are scored as "other";
- a journey a task was not trained for (a conversion model asked about a customer who already
  converted, a churn model about one already gone) is scored and flagged ``not_eligible``.

>>> PredictRequest.model_validate({"customer_id": "c", "events": [], "tasks": ["churn"]}).tasks
['churn']
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)

from journeyml.errors import PayloadTooLargeError, RequestError
from journeyml.explain import humanize
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.serving.prediction_log import PredictionLog, StoreLink
from journeyml.serving.stored import merge_events
from journeyml.tasks import journey_reasons

MAX_STRING = 200
MAX_VALUE = 1e9
#: timestamps outside this range are refused (pandas' nanosecond clock ends in 2262)
MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)
MAX_ATTRIBUTES = 50
#: the default as_of is this long after a journey's last event (API and batch scoring)
JUST_AFTER = timedelta(microseconds=1)

Name = Annotated[StrictStr, Field(min_length=1, max_length=MAX_STRING)]
Text = Annotated[StrictStr, Field(max_length=MAX_STRING)]
#: a number: JSON numbers only (no strings, no booleans)
Number = Annotated[float, Strict()]
Warning_ = dict[str, Any]


def _finite(v: float | None) -> float | None:
    if v is not None and (not math.isfinite(v) or abs(v) > MAX_VALUE):
        raise ValueError(f"expected a finite number with |value| <= {MAX_VALUE:g}")
    return v


def _text_time(v: Any) -> Any:
    """Timestamps are ISO 8601 strings: a number (seconds? milliseconds?) is ambiguous."""
    if isinstance(v, bool | int | float):
        raise ValueError(
            "expected an ISO 8601 timestamp string such as 2024-06-01T10:00:00Z, got a number "
            "(seconds and milliseconds would both be guesses); send the time as text"
        )
    return v


def _in_range(t: datetime | None) -> datetime | None:
    if t is None:
        return t
    aware = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    if not MIN_TIME <= aware < MAX_TIME:
        raise ValueError(f"expected a time between {MIN_TIME.year} and {MAX_TIME.year}")
    return t


class EventIn(BaseModel):
    """One touchpoint event of a journey."""

    model_config = ConfigDict(extra="forbid")

    timestamp: datetime
    touchpoint: Name
    channel: Text | None = None
    stage: Text | None = None
    value: Number | None = None
    attributes: (
        Annotated[dict[Name, Text | Number | None], Field(max_length=MAX_ATTRIBUTES)] | None
    ) = None

    _value = field_validator("value")(_finite)
    _text = field_validator("timestamp", mode="before")(_text_time)
    _time = field_validator("timestamp")(_in_range)

    @field_validator("attributes")
    @classmethod
    def _finite_attributes(
        cls, v: dict[str, str | float | None] | None
    ) -> dict[str, str | float | None] | None:
        for x in (v or {}).values():
            if isinstance(x, float):
                _finite(x)
        return v


class PredictRequest(BaseModel):
    """One journey to score (``POST /predict``)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Name
    events: list[EventIn]
    as_of: datetime | None = None
    #: omitted = every task; an empty list is refused (it would ask for nothing)
    tasks: Annotated[list[Name], Field(min_length=1)] | None = None
    explain: StrictBool = True
    top_k: Annotated[StrictInt, Field(ge=1, le=20)] = 3
    #: next_stage: also explain these classes (the predicted class is always explained)
    explain_classes: list[Name] | None = None
    #: merge the customer's stored journey (the event store) with the events sent
    use_store: StrictBool = False

    _text = field_validator("as_of", mode="before")(_text_time)
    _time = field_validator("as_of")(_in_range)


class BatchRequest(BaseModel):
    """Many journeys in one call (``POST /predict_batch``)."""

    model_config = ConfigDict(extra="forbid")

    journeys: list[PredictRequest]


def _utc(t: datetime) -> tuple[datetime, bool]:
    if t.tzinfo is None:
        return t.replace(tzinfo=UTC), True
    return t.astimezone(UTC), False


def _warn(code: str, field: str, message: str) -> Warning_:
    return {"code": code, "field": field, "message": message}


def handle_predict(
    predictor: Predictor,
    req: PredictRequest,
    *,
    max_events: int = 10_000,
    request_id: str | None = None,
    now: datetime | None = None,
    field_prefix: str = "",
    store: StoreLink | None = None,
    log: PredictionLog | _Answered | None = None,
    item: int = 0,
    stored: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Score one journey request; raises :class:`RequestError` subclasses for bad input.

    ``now`` (aware) anchors a journey with neither events nor ``as_of``; the service passes
    the request time. ``field_prefix`` (e.g. ``"journeys.3."``) locates errors in a batch.
    ``store``: where ``use_store`` requests find the customer's stored journey; ``log``: the
    prediction log the answer is recorded in (``item``: its index in a batch request);
    ``stored``: the customer's stored journey when the caller read it already.
    """
    if len(req.events) > max_events:
        raise PayloadTooLargeError(
            f"expected at most {max_events} events per journey, got {len(req.events)}. "
            "Send the most recent ones.",
            field=f"{field_prefix}events",
            details={"limit": max_events, "got": len(req.events)},
        )
    try:
        tasks = predictor.check_tasks(req.tasks)
        explain_classes = predictor.check_classes(req.explain_classes or ())
    except RequestError as exc:
        exc.field = f"{field_prefix}{exc.field}" if exc.field else exc.field
        raise
    _, kept, as_of, warnings = journey_of(
        predictor, req, tasks, now=now, store=store, stored=stored
    )
    result = predictor.predict_journey(
        req.customer_id,
        kept,
        as_of,
        ScoreRequest(tasks, explain=req.explain, top_k=req.top_k, explain_classes=explain_classes),
    )
    result["customer_id"] = req.customer_id
    respond(predictor, result, tasks, request_id or uuid.uuid4().hex, warnings)
    if log is not None:
        log.add(result, kept, item=item)
    return result


class _Answered:
    """Collects the log entries of a batch until every journey in it is answered."""

    def __init__(self) -> None:
        self.entries: list[tuple[dict[str, Any], list[dict[str, Any]], int]] = []

    def add(self, response: dict[str, Any], used: list[dict[str, Any]], *, item: int = 0) -> None:
        self.entries.append((response, used, item))


def journey_of(
    predictor: Predictor,
    req: PredictRequest,
    tasks: tuple[str, ...],
    *,
    now: datetime | None,
    store: StoreLink | None,
    stored: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], datetime, list[Warning_]]:
    """The journey a request asks about: all its events (sent, and stored with ``use_store``;
    ``stored``: the stored ones when already read), the ``as_of``, the events before it, and
    the request's warnings (naive timestamps, events at or after ``as_of``, unknown
    vocabulary, eligibility)."""
    warnings: list[Warning_] = []
    records, naive = _records(req)
    if req.use_store:
        records = _with_stored(store, req, records, warnings, stored)
    if naive:
        warnings.append(
            _warn(
                "naive_timestamp",
                "events.timestamp",
                f"{naive} timestamp(s) had no time zone; read as UTC",
            )
        )
    as_of = _as_of(req, records, now, warnings)
    if req.use_store and not req.events and req.as_of is not None:
        kept = records  # the stored journey alone, read strictly before this as_of
    else:
        kept = [r for r in records if r["timestamp"] < as_of]
    if len(kept) < len(records):
        warnings.append(events_after_warning(len(records) - len(kept)))
    warnings.extend(_event_warnings(predictor, kept))
    warnings.extend(eligibility_warnings(predictor, tasks, kept, as_of))
    return records, kept, as_of, warnings


def stored_journey(store: StoreLink | None, req: PredictRequest) -> list[dict[str, Any]]:
    """The customer's stored events a ``use_store`` request merges in (before its ``as_of``
    when given): one indexed read."""
    if store is None:
        store = StoreLink(None)
    before = None if req.as_of is None else _utc(req.as_of)[0]
    return store.get().journey_records(req.customer_id, before=before)


def _with_stored(
    store: StoreLink | None,
    req: PredictRequest,
    records: list[dict[str, Any]],
    warnings: list[Warning_],
    stored: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The customer's stored events (``stored`` when already read by :func:`stored_journey`)
    merged with those sent."""
    if stored is None:
        stored = stored_journey(store, req)
    if not records:  # nothing sent: the stored journey, as /predict would get it sent
        return stored
    merged, repeated = merge_events(stored, records)
    warnings.append(
        _warn(
            "from_store",
            "use_store",
            f"{len(stored)} stored event(s) merged with the {len(records)} sent"
            + (f" ({repeated} of which the store already held)" if repeated else ""),
        )
    )
    return merged


def handle_batch(
    predictor: Predictor,
    req: BatchRequest,
    *,
    max_batch: int = 1_000,
    max_events: int = 10_000,
    request_id: str | None = None,
    now: datetime | None = None,
    store: StoreLink | None = None,
    log: PredictionLog | _Answered | None = None,
) -> dict[str, Any]:
    """Score many journeys; each result is exactly what :func:`handle_predict` returns for it
    (minus the shared ``request_id``). An error in one journey fails the call, naming it."""
    if len(req.journeys) > max_batch:
        raise PayloadTooLargeError(
            f"expected at most {max_batch} journeys per batch, got {len(req.journeys)}. "
            "Split the batch.",
            field="journeys",
            details={"limit": max_batch, "got": len(req.journeys)},
        )
    rid = request_id or uuid.uuid4().hex
    results = []
    answered = _Answered()  # logged once every journey is answered (an error fails them all)
    for i, j in enumerate(req.journeys):
        r = handle_predict(
            predictor,
            j,
            max_events=max_events,
            request_id=rid,
            now=now,
            field_prefix=f"journeys.{i}.",
            store=store,
            log=answered,
            item=i,
        )
        results.append(r)
    if log is not None:
        for response, used, item in answered.entries:
            log.add(response, used, item=item)
    return {"results": results, "request_id": rid, "feature_fingerprint": predictor.fingerprint}


def metadata(predictor: Predictor) -> dict[str, Any]:
    """What ``GET /metadata`` returns: versions, fingerprint, horizons, classes, vocabulary."""
    spec = predictor.spec
    return {
        "project": predictor.project,
        "tasks": {
            t: {
                "version": predictor.versions()[t],
                "kind": b.kind,
                "horizon_days": b.task.horizon_days,
                "classes": list(b.classes),
                "eligibility": b.task.population(humanize),
            }
            for t, b in predictor.bundles.items()
        },
        "feature_fingerprint": predictor.fingerprint,
        "feature_code_version": spec.code_version,
        "n_features": len(spec.features),
        "vocabulary": {
            "touchpoints": list(spec.touchpoints),
            "channels": list(spec.channels),
            "stages": list(spec.stages),
            "attributes": {
                a: list(spec.attribute_levels.get(a, ())) for a in spec.params.attributes
            },
        },
    }


# --- helpers ---------------------------------------------------------------------------------
def _records(req: PredictRequest) -> tuple[list[dict[str, Any]], int]:
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
    return records, naive


def _as_of(
    req: PredictRequest,
    records: list[dict[str, Any]],
    now: datetime | None,
    warnings: list[Warning_],
) -> datetime:
    if req.as_of is not None:
        as_of, naive = _utc(req.as_of)
        if naive:
            warnings.append(
                _warn("naive_timestamp", "as_of", "as_of had no time zone; read as UTC")
            )
        return as_of
    if records:
        return max(r["timestamp"] for r in records) + JUST_AFTER
    if now is None:
        raise RequestError(
            "expected as_of when events is empty (nothing anchors the prediction in time); "
            "give as_of.",
            field="as_of",
        )
    warnings.append(
        _warn(
            "as_of_defaulted",
            "as_of",
            "no events and no as_of: predicted as of the request time",
        )
    )
    return now


# --- the warnings, worded once for the API and batch scoring (journeyml.serving.batch) -------
def no_events_warning() -> Warning_:
    return _warn(
        "no_events",
        "events",
        "no events before as_of: a prior-based answer (what the models expect for a "
        "customer with no history)",
    )


def events_after_warning(n: int) -> Warning_:
    return _warn("events_after_as_of", "events", f"{n} event(s) at or after as_of were ignored")


def duplicates_warning(n: int) -> Warning_:
    return _warn(
        "duplicate_events",
        "events",
        f"{n} event(s) repeat another exactly (time, touchpoint, channel, stage, value); "
        "counted as given",
    )


def unknown_warning(field: str, unknown: Sequence[str]) -> Warning_:
    """``unknown`` sorted: the values of ``field`` (touchpoint, channel) training never saw."""
    return _warn(
        f"unknown_{field}",
        f"events.{field}",
        f"not seen in training, scored as 'other': {list(unknown[:10])}",
    )


def missing_stage_warning() -> Warning_:
    return _warn(
        "missing_stage",
        "events.stage",
        "no event has a stage; the models were trained with stages, so stage signals "
        "are missing from this answer",
    )


def not_eligible_warning(predictor: Predictor, task: str, why: str) -> Warning_:
    population = predictor.bundles[task].task.population(humanize)
    return _warn(
        "not_eligible",
        task,
        f"the {task} model predicts for {population}; {why}, so this probability is outside "
        "what it was trained on",
    )


def respond(
    predictor: Predictor,
    result: dict[str, Any],
    tasks: Sequence[str],
    request_id: str,
    warnings: list[Warning_],
) -> dict[str, Any]:
    """The request-level fields every answer carries, API or batch: model versions, the
    feature fingerprint, the request id and the warnings."""
    versions = predictor.versions()
    result["model_versions"] = {t: versions[t] for t in tasks}
    result["feature_fingerprint"] = predictor.fingerprint
    result["request_id"] = request_id
    result["warnings"] = warnings
    return result


def _event_warnings(predictor: Predictor, records: Sequence[dict[str, Any]]) -> list[Warning_]:
    if not records:
        return [no_events_warning()]
    out: list[Warning_] = []
    ts = [r["timestamp"] for r in records]
    if any(a > b for a, b in itertools.pairwise(ts)):
        out.append(_warn("unsorted_events", "events", "events were not in time order; sorted"))
    keys = [
        (r["timestamp"], r["touchpoint"], r["channel"], r["stage"], r["value"]) for r in records
    ]
    dup = len(keys) - len(set(keys))
    if dup:
        out.append(duplicates_warning(dup))
    spec = predictor.spec
    for field, vocab in (
        ("touchpoint", predictor.touchpoint_set),
        ("channel", predictor.channel_set),
    ):
        unknown = sorted({str(r[field]) for r in records if r[field] is not None} - vocab)
        if field == "channel":
            unknown = [u for u in unknown if u != "unknown"]
        if unknown:
            out.append(unknown_warning(field, unknown))
    if spec.stages and not spec.stages_are_touchpoints and all(r["stage"] is None for r in records):
        out.append(missing_stage_warning())
    return out


def eligibility_warnings(
    predictor: Predictor,
    tasks: Sequence[str],
    records: Sequence[dict[str, Any]],
    as_of: datetime,
) -> list[Warning_]:
    """``not_eligible`` warnings for tasks whose training population excludes this journey:
    the task's own eligibility rules (:func:`journeyml.tasks.journey_reasons`, the rules the
    labels apply in training)."""
    configs = [predictor.bundles[t].task for t in tasks]
    reasons = journey_reasons(configs, records, as_of, humanize)
    return [
        not_eligible_warning(predictor, t, why)
        for t, why in zip(tasks, reasons, strict=True)
        if why
    ]


def requests_from_frame(
    events: Any, cutoffs: Any, *, attributes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """JSON-ready ``/predict`` bodies, one per cutoff row, from a canonical event frame and
    ``(customer_id, as_of)`` cutoffs (events strictly before ``as_of`` only) — how a client
    holding a frame talks to the service, and how tests compare the service with
    :meth:`Predictor.score_frame`."""
    import numpy as np
    import pandas as pd

    ev = events.sort_values(["customer_id", "timestamp"], kind="stable")
    ids = ev["customer_id"].astype(str).to_numpy()
    ts = ev["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    iso = [t.isoformat() for t in pd.DatetimeIndex(ev["timestamp"])]
    cols = {c: ev[c].to_numpy(dtype=object) for c in ("touchpoint", "channel", "stage", "value")}
    attrs = {a: ev[a].to_numpy(dtype=object) for a in attributes}
    first = {c: i for i, c in reversed(list(enumerate(ids)))}
    bodies: list[dict[str, Any]] = []
    as_of = pd.DatetimeIndex(pd.to_datetime(cutoffs["as_of"], utc=True))
    for cid, t in zip(cutoffs["customer_id"].astype(str), as_of, strict=True):
        lo = first.get(cid, 0)
        hi = lo
        n = len(ids)
        while hi < n and ids[hi] == cid and ts[hi] < t.value:
            hi += 1
        evs = []
        for i in range(lo if cid in first else 0, hi if cid in first else 0):
            e: dict[str, Any] = {"timestamp": iso[i], "touchpoint": str(cols["touchpoint"][i])}
            for c in ("channel", "stage"):
                v = cols[c][i]
                if v is not None and v == v:
                    e[c] = str(v)
            v = cols["value"][i]
            if v is not None and v == v:
                e["value"] = float(v)
            if attrs:
                e["attributes"] = {a: _jsonable(attrs[a][i]) for a in attributes}
            evs.append(e)
        bodies.append({"customer_id": cid, "events": evs, "as_of": t.isoformat()})
    return bodies


def _jsonable(v: Any) -> Any:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return v.item() if hasattr(v, "item") else v
