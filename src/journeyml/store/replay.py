"""Replaying a logged prediction: recompute it from the store and say whether it is identical,
or what changed (the models, the events, the answer).

The stored journey before the entry's ``as_of`` is read again and scored by the models given
(today's champions, or any other set); the events' digest is compared with the one logged. A
prediction whose events the store does not hold at all (scored from a file, or sent with the
request, and never ingested) is not recomputed: the replay says the events are missing and how
to store them, rather than reporting a different answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from journeyml.errors import RequestError
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.store.entries import PredictionRecord
from journeyml.store.ids import journey_digest
from journeyml.store.store import EventStore

#: probabilities that differ by less than this are the same (float formatting of JSON)
TOLERANCE = 1e-9


class UnknownRequestError(RequestError):
    """No prediction in the log has this request id."""

    code = "unknown_request"
    http_status = 404


@dataclass(frozen=True)
class Replay:
    """A logged prediction next to its recomputation."""

    logged: PredictionRecord
    recomputed: dict[str, Any]
    events_same: bool
    n_events_now: int
    #: task → (logged version, version now), for tasks whose model changed or is gone
    models: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    fingerprint_now: str = ""
    #: task → (logged, now), for probabilities or distributions that changed
    answers: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: tasks whose root causes (names, order or points) changed
    causes: list[str] = field(default_factory=list)

    @property
    def events_missing(self) -> bool:
        """The prediction used events and the store holds none of the customer's before its
        ``as_of``: it cannot be recomputed from this store."""
        return self.logged.n_events > 0 and self.n_events_now == 0 and not self.events_same

    @property
    def identical(self) -> bool:
        return (
            self.events_same
            and not self.models
            and self.fingerprint_now == self.logged.feature_fingerprint
            and not self.answers
            and not self.causes
        )

    def to_text(self) -> str:
        e = self.logged
        head = (
            f"request {e.request_id} (item {e.item}): customer {e.customer_id} as of "
            f"{e.as_of.isoformat()}, project {e.project}, logged {e.created_at.isoformat()}"
        )
        if self.identical:
            return f"{head}\nidentical: same events ({e.n_events}), same models, same answer"
        if self.events_missing:
            lines = [
                head,
                f"events not in the store: the prediction used {e.n_events} event(s) of "
                f"customer {e.customer_id} before as_of and the store holds none, so it cannot "
                "be recomputed (scored from a file or sent with the request, never ingested). "
                "Ingest those events (`journeyml ingest FILE`) and replay again.",
            ]
            for task, (then, now) in self.models.items():
                lines.append(f"  model {task}: version {then} then, {now or 'none'} now")
            return "\n".join(lines)
        lines = [head, "changed:"]
        if not self.events_same:
            lines.append(
                f"  events: {e.n_events} used then, {self.n_events_now} in the store now "
                "before as_of (digest differs: events added, erased or corrected since, or "
                "sent with the request and never stored)"
            )
        for task, (then, now) in self.models.items():
            lines.append(f"  model {task}: version {then} then, {now or 'none'} now")
        if self.fingerprint_now != e.feature_fingerprint:
            lines.append(
                f"  features: fingerprint {e.feature_fingerprint} then, {self.fingerprint_now} now"
            )
        for task, (then, now) in self.answers.items():
            lines.append(f"  {task}: {_short(then)} then, {_short(now)} now")
        for task in self.causes:
            lines.append(f"  {task} root causes differ")
        return "\n".join(lines)


def _short(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {x:.4f}" for k, x in v.items()) + "}"
    return "none" if v is None else f"{float(v):.6f}"


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) != set(b) or any(abs(float(a[k]) - float(b[k])) > TOLERANCE for k in a)
    if a is None or b is None:
        return a is not b
    return abs(float(a) - float(b)) > TOLERANCE


def replay(store: EventStore, predictor: Predictor, request_id: str, item: int = 0) -> Replay:
    """Recompute the logged prediction ``(request_id, item)`` (see the module docstring)."""
    entry = store.prediction(request_id, item)
    if entry is None:
        raise UnknownRequestError(
            f"expected a request id in the prediction log of {store.uri}, got {request_id!r} "
            f"(item {item}), which is not there (erased, or logged to another store).",
            field="request_id",
        )
    records = store.journey_records(entry.customer_id, before=entry.as_of)
    now_versions = predictor.versions()
    tasks = tuple(t for t in entry.model_versions if t in predictor.bundles)
    models = {
        t: (v, now_versions.get(t))
        for t, v in entry.model_versions.items()
        if now_versions.get(t) != v
    }
    top_k = max((len(c) for c in entry.top_causes.values()), default=0) or 3
    explain = bool(entry.top_causes)
    missing = entry.n_events > 0 and not records  # nothing to recompute from
    out = (
        predictor.predict_journey(
            entry.customer_id, records, entry.as_of, ScoreRequest(tasks, explain, top_k)
        )
        if tasks and not missing
        else {}
    )
    answers: dict[str, tuple[Any, Any]] = {}
    causes: list[str] = []
    for t in entry.model_versions if not missing else ():
        block = out.get(t) if isinstance(out.get(t), dict) else None
        now = None if block is None else block.get("distribution", block.get("probability"))
        then = entry.probabilities.get(t)
        if _differs(then, now):
            answers[t] = (then, now)
        if t in entry.top_causes and (block is None or _causes(block) != _causes_of(entry, t)):
            causes.append(t)
    return Replay(
        logged=entry,
        recomputed=out,
        events_same=journey_digest(records) == entry.events_hash,
        n_events_now=len(records),
        models=models,
        fingerprint_now=predictor.fingerprint,
        answers=answers,
        causes=causes,
    )


def _causes(block: dict[str, Any]) -> list[tuple[str, float]]:
    return [(c["cause"], round(float(c["points"]), 6)) for c in block.get("root_causes", [])]


def _causes_of(entry: PredictionRecord, task: str) -> list[tuple[str, float]]:
    return [(c["cause"], round(float(c["points"]), 6)) for c in entry.top_causes.get(task, [])]
