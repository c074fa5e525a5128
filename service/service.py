"""The journeyml HTTP service: a thin BentoML shell over :mod:`journeyml.serving.api` and
:mod:`journeyml.serving`. Settings come from ``JOURNEYML_*`` variables (see
:class:`journeyml.serving.settings.ServiceSettings`), read once at start-up.

- ``POST /predict``, ``POST /predict_batch``: API key checked when ``JOURNEYML_API_KEY`` is set.
- ``GET /healthz`` (and ``/livez``): the process answers. ``GET /readyz``: the models are
  loaded (BentoML's built-in probes, wired to ``__is_alive__`` / ``__is_ready__``).
- ``GET /metadata``: versions, feature fingerprint, horizons, classes, vocabulary.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.responses import Response

from journeyml.errors import JourneyMLError, RequestError
from journeyml.serving import (
    EXIT_REFUSED,
    BatchRequest,
    EdgeMiddleware,
    PredictRequest,
    ServiceSettings,
    default_model_dir,
    framework_error,
    handle_batch,
    handle_predict,
    load_or_exit,
    metadata,
    stop_parent_server,
)

SETTINGS = ServiceSettings.from_env()
if SETTINGS.model_dir is None:
    SETTINGS = replace(SETTINGS, model_dir=default_model_dir(Path(__file__).parent))

info_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


def _json(data: Any, status: int = 200) -> Response:
    from pydantic_core import to_json

    return Response(to_json(data), status_code=status, media_type="application/json")


def _error(ctx: bentoml.Context, exc: JourneyMLError | ValidationError) -> Response:
    if isinstance(exc, ValidationError):
        body = {"detail": exc.errors(include_context=False, include_input=False, include_url=False)}
        ctx.response.status_code = 422
        return _json(framework_error(422, _dumps(body)), 422)
    ctx.response.status_code = exc.http_status  # BentoML copies it onto the response
    return _json(exc.to_dict(), exc.http_status)


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
                )
            )
        except (JourneyMLError, ValidationError) as exc:
            return _error(ctx, exc)  # type: ignore[return-value]

    @info_app.get("/metadata")
    def get_metadata(self) -> dict[str, Any]:
        return metadata(self.predictor)


JourneyService.add_asgi_middleware(
    EdgeMiddleware, api_key=SETTINGS.api_key, max_body_bytes=SETTINGS.max_body_bytes
)

__all__ = ["JourneyService", "RequestError"]
