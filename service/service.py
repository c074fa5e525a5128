"""The journeyml HTTP service: a thin BentoML shell over :mod:`journeyml.serving.api` and
:mod:`journeyml.serving`. Settings come from ``JOURNEYML_*`` variables (see
:class:`journeyml.serving.settings.ServiceSettings`), read once at start-up.

- ``POST /predict``, ``POST /predict_batch``: API key checked when ``JOURNEYML_API_KEY`` is set.
- ``GET /healthz`` (and ``/livez``): the process answers. ``GET /readyz``: the models are
  loaded (BentoML's built-in probes, wired to ``__is_alive__`` / ``__is_ready__``).
- ``POST /whatif``: one journey as sent and with one edit (remove an event, or add a touchpoint
  now): both answers side by side — model sensitivity, not causal effect.
- ``GET /metadata``: versions, feature fingerprint, horizons, classes, vocabulary.
- With an event store (``JOURNEYML_STORE_URI``): ``POST /events``,
  ``GET /customers/{customer_id}/predictions``, ``DELETE /customers/{customer_id}``,
  ``"use_store": true`` on ``/predict``; every prediction is logged
  (``journeyml.serving.journeys``).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
from fastapi import FastAPI, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from journeyml.errors import JourneyMLError, RequestError, StoreUnavailableError
from journeyml.serving import (
    EXIT_REFUSED,
    BatchRequest,
    EdgeMiddleware,
    IngestRequest,
    PredictionLog,
    PredictRequest,
    ServiceSettings,
    StoreLink,
    WhatIfRequest,
    default_model_dir,
    framework_error,
    handle_batch,
    handle_customer_predictions,
    handle_erase,
    handle_ingest,
    handle_predict,
    handle_what_if,
    load_or_exit,
    metadata,
    stop_parent_server,
)

SETTINGS = ServiceSettings.from_env()
if SETTINGS.model_dir is None:
    SETTINGS = replace(SETTINGS, model_dir=default_model_dir(Path(__file__).parent))

info_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    from pydantic_core import to_json

    return Response(
        to_json(data), status_code=status, media_type="application/json", headers=headers
    )


def _failure(exc: JourneyMLError) -> Response:
    retry = (
        {"Retry-After": str(exc.retry_after)} if isinstance(exc, StoreUnavailableError) else None
    )
    return _json(exc.to_dict(), exc.http_status, retry)


def _error(ctx: bentoml.Context, exc: JourneyMLError | ValidationError) -> Response:
    if isinstance(exc, ValidationError):
        body = {"detail": exc.errors(include_context=False, include_input=False, include_url=False)}
        ctx.response.status_code = 422
        return _json(framework_error(422, _dumps(body)), 422)
    ctx.response.status_code = exc.http_status  # BentoML copies it onto the response
    return _failure(exc)


def _dumps(data: Any) -> bytes:
    from pydantic_core import to_json

    return to_json(data)


@bentoml.asgi_app(info_app, path="/")
@bentoml.service(
    name="journeyml",
    workers=SETTINGS.workers,
    traffic={"timeout": 30},
    logging={"access": {"enabled": False}},
)
class JourneyService:
    def __init__(self) -> None:
        try:
            self.predictor = load_or_exit(SETTINGS)
        except JourneyMLError:  # already logged in one line (and told `journeyml serve`)
            stop_parent_server()  # refuse to start: no endless respawning
            os._exit(EXIT_REFUSED)  # no framework traceback after the one line
        self.store = StoreLink(SETTINGS.store_uri)  # opened on first use, in this worker
        project = self.predictor.project or SETTINGS.project or "demo"
        self.log = PredictionLog(self.store, project=project)

    @bentoml.on_shutdown
    def _flush_log(self) -> None:
        self.log.close()
        self.store.close()

    def __is_alive__(self) -> bool:
        return True

    def __is_ready__(self) -> bool:
        return bool(self.predictor.tasks)

    @bentoml.api(route="/predict", input_spec=PredictRequest)
    async def predict(self, ctx: bentoml.Context, **fields: Any) -> dict[str, Any]:
        try:
            req = PredictRequest.model_construct(**fields)
            return _json(  # type: ignore[return-value]
                handle_predict(
                    self.predictor,
                    req,
                    max_events=SETTINGS.max_events,
                    request_id=ctx.request.headers.get("x-request-id"),
                    now=datetime.now(UTC),
                    store=self.store,
                    log=self.log,
                )
            )
        except (JourneyMLError, ValidationError) as exc:
            return _error(ctx, exc)  # type: ignore[return-value]

    @bentoml.api(route="/whatif", input_spec=WhatIfRequest)
    async def what_if(self, ctx: bentoml.Context, **fields: Any) -> dict[str, Any]:
        try:
            return _json(  # type: ignore[return-value]
                handle_what_if(
                    self.predictor,
                    WhatIfRequest.model_construct(**fields),
                    max_events=SETTINGS.max_events,
                    request_id=ctx.request.headers.get("x-request-id"),
                    now=datetime.now(UTC),
                    store=self.store,
                )
            )
        except (JourneyMLError, ValidationError) as exc:
            return _error(ctx, exc)  # type: ignore[return-value]

    @bentoml.api(route="/predict_batch", input_spec=BatchRequest)
    def predict_batch(self, ctx: bentoml.Context, **fields: Any) -> dict[str, Any]:
        try:
            return _json(  # type: ignore[return-value]
                handle_batch(
                    self.predictor,
                    BatchRequest.model_construct(**fields),
                    max_batch=SETTINGS.max_batch,
                    max_events=SETTINGS.max_events,
                    request_id=ctx.request.headers.get("x-request-id"),
                    now=datetime.now(UTC),
                    store=self.store,
                    log=self.log,
                )
            )
        except (JourneyMLError, ValidationError) as exc:
            return _error(ctx, exc)  # type: ignore[return-value]

    @bentoml.api(route="/events", input_spec=IngestRequest)
    def ingest(self, ctx: bentoml.Context, **fields: Any) -> dict[str, Any]:
        try:
            return _json(  # type: ignore[return-value]
                handle_ingest(
                    self.store,
                    IngestRequest.model_construct(**fields),
                    max_events=SETTINGS.max_events,
                    now=datetime.now(UTC),
                )
            )
        except (JourneyMLError, ValidationError) as exc:
            return _error(ctx, exc)  # type: ignore[return-value]

    @info_app.get("/customers/{customer_id}/predictions")
    def customer_predictions(
        self,
        request: Request,
        customer_id: str,
        as_of: str | None = None,
        tasks: list[str] | None = Query(None),  # noqa: B008
        top_k: str | None = None,
        explain: str | None = None,
    ) -> Response:
        try:
            return _json(
                handle_customer_predictions(
                    self.predictor,
                    self.store,
                    customer_id,
                    as_of=as_of,
                    tasks=tasks,
                    top_k=top_k,
                    explain=explain,
                    now=datetime.now(UTC),
                    request_id=request.headers.get("x-request-id"),
                    log=self.log,
                )
            )
        except JourneyMLError as exc:
            return _failure(exc)

    @info_app.delete("/customers/{customer_id}")
    def erase_customer(self, customer_id: str) -> Response:
        try:
            return _json(handle_erase(self.store, customer_id, log=self.log))
        except JourneyMLError as exc:
            return _failure(exc)

    @info_app.get("/metadata")
    def get_metadata(self) -> dict[str, Any]:
        return metadata(self.predictor)


JourneyService.add_asgi_middleware(
    EdgeMiddleware, api_key=SETTINGS.api_key, max_body_bytes=SETTINGS.max_body_bytes
)

__all__ = ["JourneyService", "RequestError"]
