"""What the store holds and answers, as plain values: ingest results, prediction-log entries,
outcomes, what an erasure removed.

>>> r = IngestResult(accepted=3, duplicates=1)
>>> r.received, r.to_dict()
(4, {'accepted': 3, 'duplicates': 1})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from journeyml.features import to_ns


def _utc(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, tz="UTC")


@dataclass(frozen=True)
class IngestResult:
    """One acknowledged ingest: events newly stored and events the store already had (or that
    repeated within the batch). Every event received is one or the other."""

    accepted: int
    duplicates: int

    @property
    def received(self) -> int:
        return self.accepted + self.duplicates

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(self.accepted + other.accepted, self.duplicates + other.duplicates)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class PredictionRecord:
    """One entry of the prediction log: enough to show, audit and replay a prediction.

    ``probabilities`` maps each task to its probability (binary) or class distribution
    (multiclass); ``top_causes`` maps each task to its root causes as the API returns them.
    """

    request_id: str
    project: str
    customer_id: str
    as_of: pd.Timestamp
    model_versions: dict[str, str]
    feature_fingerprint: str
    probabilities: dict[str, Any]
    top_causes: dict[str, list[dict[str, Any]]]
    events_hash: str
    n_events: int
    created_at: pd.Timestamp
    #: position in its request: 0 for ``/predict``, the journey's index for a batch, whose
    #: predictions share one request id
    item: int = 0

    @classmethod
    def from_response(
        cls,
        response: Mapping[str, Any],
        *,
        project: str,
        events_hash: str,
        created_at: Any,
        item: int = 0,
    ) -> PredictionRecord:
        """The log entry of one ``/predict`` response (or a batch result with the same keys:
        ``request_id``, ``customer_id``, ``as_of``, ``model_versions``,
        ``feature_fingerprint``, ``n_events_used`` and one block per task of
        ``model_versions``).

        ``events_hash`` is :func:`journeyml.store.journey_digest` of the events the prediction
        used (those strictly before ``as_of``); ``created_at`` any time ``to_ns`` reads.
        """
        versions = {str(t): str(v) for t, v in response["model_versions"].items()}
        probabilities: dict[str, Any] = {}
        causes: dict[str, list[dict[str, Any]]] = {}
        for task in versions:
            block = response.get(task)
            if not isinstance(block, Mapping):
                continue
            probabilities[task] = block.get("distribution", block.get("probability"))
            if "root_causes" in block:
                causes[task] = list(block["root_causes"])
        return cls(
            request_id=str(response["request_id"]),
            project=project,
            customer_id=str(response["customer_id"]),
            as_of=_utc(to_ns(response["as_of"])),
            model_versions=versions,
            feature_fingerprint=str(response["feature_fingerprint"]),
            probabilities=probabilities,
            top_causes=causes,
            events_hash=events_hash,
            n_events=int(response.get("n_events_used", 0)),
            created_at=_utc(to_ns(created_at)),
            item=item,
        )


@dataclass(frozen=True)
class Outcome:
    """What happened to a customer, for judging predictions once it is known: ``task`` (e.g.
    ``churn``), ``outcome`` (e.g. ``cancellation``, ``1``, a stage), when, and where from."""

    customer_id: str
    task: str
    outcome: str
    time: pd.Timestamp
    source: str = "unknown"

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", _utc(to_ns(self.time)))


@dataclass(frozen=True)
class Erasure:
    """What erasing a customer removed (right to erasure)."""

    customer_id: str
    events: int
    predictions: int
    outcomes: int
    #: rows of scheduled scoring runs (the scores table)
    scores: int = 0

    @property
    def total(self) -> int:
        return self.events + self.predictions + self.outcomes + self.scores

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StoreSummary:
    """Counts and schema of a store (``journeyml store info``)."""

    uri: str
    backend: str
    revision: str
    events: int
    customers: int
    predictions: int
    outcomes: int
    first_event: pd.Timestamp | None = None
    last_event: pd.Timestamp | None = None
