"""The shapes of the service's answers, as the OpenAPI document describes them (the handlers
build plain dicts; these models are the contract the schemathesis test holds them to)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorResponse(BaseModel):
    """Every error the API returns, whatever its status."""

    error: str = Field(description="A stable machine-readable code, e.g. `invalid_request`.")
    message: str = Field(description="What was expected, what was got, and what to do.")
    field: str | None = Field(None, description="The offending field (dotted path), if any.")
    details: Any = Field(None, description="Extra context: limits, validation problems.")


class Warning(BaseModel):
    """Input the service accepted but doubts (a prediction still comes back)."""

    code: str = Field(description="e.g. `naive_timestamp`, `unknown_touchpoint`, `not_eligible`")
    field: str
    message: str


class RootCause(BaseModel):
    """One reason for a prediction, in the customer's own touchpoints."""

    model_config = ConfigDict(extra="allow")

    cause: str = Field(description="kind:name, e.g. `touchpoint:support_call`")
    kind: str = Field(description="touchpoint, channel, stage, transition, attribute or journey")
    name: str
    label: str = Field(description="The name in words, e.g. `support call`.")
    points: float = Field(description="Probability points (0-100 scale) it adds or removes.")
    direction: str = Field(description="`raises` or `lowers`")
    sentence: str = Field(description="The cause as a sentence.")
    features: list[str] = Field(description="The model features behind it.")
    events: list[str] = Field(description="Timestamps of the events behind it.")


class TaskPrediction(BaseModel):
    """One task's answer: a calibrated probability (binary tasks) or a distribution over
    classes (next stage), with root causes when ``explain`` is true."""

    model_config = ConfigDict(extra="allow")

    probability: float = Field(ge=0, le=1, description="Of the outcome (or predicted class).")
    base_rate: float | None = Field(None, description="The average probability in training.")
    distribution: dict[str, float] | None = Field(None, description="Multiclass: every class.")
    predicted: str | None = Field(None, description="Multiclass: the most probable class.")
    root_causes: list[RootCause] | None = None
    root_causes_by_class: dict[str, list[RootCause]] | None = Field(
        None, description="Causes of the classes asked for in `explain_classes`."
    )


class PredictResponse(BaseModel):
    """The answer to one journey: one object per task (named by the task), plus these."""

    model_config = ConfigDict(extra="allow")

    customer_id: str
    as_of: str = Field(description="The moment of prediction (ISO 8601, UTC).")
    n_events_used: int = Field(ge=0, description="Events strictly before `as_of`.")
    model_versions: dict[str, str] = Field(description="Task -> registry version served.")
    feature_fingerprint: str
    request_id: str
    warnings: list[Warning]


class BatchResponse(BaseModel):
    """One result per journey, in order, each exactly what `/predict` returns for it."""

    model_config = ConfigDict(extra="allow")

    results: list[PredictResponse]
    request_id: str
    feature_fingerprint: str


class ProbeResponse(BaseModel):
    status: str = Field(description="`ok`, or `loading` while the models load.")
