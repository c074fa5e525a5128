"""The journeyml HTTP service: a thin BentoML shell over :mod:`journeyml.serving.api` and
:mod:`journeyml.serving`. Settings come from ``JOURNEYML_*`` variables (see
:class:`journeyml.serving.settings.ServiceSettings`), read once at start-up.

The edge (:class:`journeyml.serving.EdgeMiddleware`) sees every request first: the API key,
strict JSON bodies validated against their request model (``BODY_MODELS``), the JSON endpoints'
handlers (on the event loop for small journeys, in a pool of processes for big ones and
batches: ``journeyml.serving.pool``), probes, ``/metrics``, ``/docs`` and one log line per request.
Adding a JSON endpoint: a request model in ``BODY_MODELS``, a handler in ``EDGE_STATE.handlers``
and an entry in :func:`journeyml.serving.service_endpoints` (the OpenAPI document).

- ``POST /predict``, ``POST /predict_batch``: API key checked when ``JOURNEYML_API_KEY`` is set.
- ``GET /healthz`` (and ``/livez``): the process answers. ``GET /readyz``: the models are
  loaded. ``GET /metrics``: Prometheus (behind the API key when one is set).
- ``GET /docs``: Swagger UI over ``GET /docs.json`` (OpenAPI 3.1).
- ``POST /whatif``: one journey as sent and with one edit (remove an event, or add a touchpoint
  now): both answers side by side — model sensitivity, not causal effect.
- ``GET /metadata``: versions, feature fingerprint, horizons, classes, vocabulary.
- With an event store (``JOURNEYML_STORE_URI``): ``POST /events``,
  ``GET /customers/{customer_id}/predictions``, ``DELETE /customers/{customer_id}``,
  ``"use_store": true`` on ``/predict``; every prediction is logged
  (``journeyml.serving.journeys``).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
from fastapi import FastAPI

import journeyml
from journeyml.errors import JourneyMLError, RequestError
from journeyml.serving import (
    EXIT_REFUSED,
    BatchRequest,
    ComputePool,
    EdgeConfig,
    EdgeMiddleware,
    EdgeState,
    IngestRequest,
    Limits,
    OutcomesRequest,
    PredictionLog,
    PredictRequest,
    ServiceSettings,
    StoreLink,
    WhatIfRequest,
    answer,
    customer_predictions_route,
    default_model_dir,
    document,
    documents,
    handle_erase,
    handle_ingest,
    handle_outcomes,
    load_or_exit,
    metadata,
    service_endpoints,
    slow_clients,
    stop_parent_server,
)

SETTINGS = ServiceSettings.from_env()
EXAMPLE = json.loads((Path(__file__).parent / "example_request.json").read_text())
if SETTINGS.model_dir is None:
    SETTINGS = replace(SETTINGS, model_dir=default_model_dir(Path(__file__).parent))
# slow-header and slow-body clients are timed out by the uvicorn server BentoML starts here
slow_clients.install(SETTINGS.header_timeout, SETTINGS.body_timeout)

info_app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

#: what the edge checks before BentoML sees a request: one entry per JSON endpoint
BODY_MODELS = {
    "/predict": PredictRequest,
    "/predict_batch": BatchRequest,
    "/whatif": WhatIfRequest,
    "/events": IngestRequest,
    "/outcomes": OutcomesRequest,
}
EDGE_STATE = EdgeState()
EDGE_CONFIG = EdgeConfig(
    api_key=SETTINGS.api_key,
    max_body_bytes=SETTINGS.max_body_bytes,
    body_models=BODY_MODELS,
    compute_paths=frozenset({"/predict", "/predict_batch", "/whatif"}),
    max_inflight=SETTINGS.max_inflight,
    inline_events=SETTINGS.inline_events,
    compute_threads=SETTINGS.compute_threads,
    routes=(
        "/",
        "/docs",
        "/docs.json",
        "/metadata",
        "/customers/{customer_id}/predictions",
        "/customers/{customer_id}",
    ),
)


@bentoml.asgi_app(info_app, path="/")
@bentoml.service(
    name="journeyml",
    workers=SETTINGS.workers,
    traffic={"timeout": 30},
    logging={"access": {"enabled": False}},
    # BentoML's own request metrics and trace spans: per-request work (about 0.25 ms of CPU
    # per /predict) that nothing reads: the edge answers /metrics with journeyml's series,
    # and no trace exporter is configured
    metrics={"enabled": False},
    tracing={"excluded_urls": [".*"]},
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
        # big journeys and batches: computed in processes, so probes never wait for the GIL
        self.limits = Limits(max_events=SETTINGS.max_events, max_batch=SETTINGS.max_batch)
        self.pool: ComputePool | None = None
        if SETTINGS.compute_processes > 0:
            self.pool = ComputePool(
                self.predictor,
                processes=SETTINGS.compute_processes,
                limits=self.limits,
                store_uri=SETTINGS.store_uri,
                log=self.log,
            )
            self.pool.start()  # ready only once every process holds the models

        EDGE_STATE.handlers = {  # the JSON endpoints: the edge validates, these compute
            "/predict": self.answer,
            "/predict_batch": self.answer,
            "/whatif": self.answer,
            "/events": self.ingest,
            "/outcomes": self.record_outcomes,
        }
        EDGE_STATE.routes = {  # bodiless, with path parameters: the edge answers these too
            ("GET", "/customers/{customer_id}/predictions"): self.customer_predictions,
            ("DELETE", "/customers/{customer_id}"): self.erase_customer,
        }
        doc = document(
            service_endpoints(EXAMPLE),
            version=journeyml.__version__,
            tasks=self.predictor.tasks,
            secured=SETTINGS.api_key is not None,
        )
        EDGE_STATE.documents = documents(doc)  # /docs.json, /docs (Swagger UI)
        EDGE_STATE.pool = self.pool
        EDGE_STATE.predictor = self.predictor  # ready: /readyz, /metrics

    def answer(
        self, req: PredictRequest | BatchRequest | WhatIfRequest, request_id: str
    ) -> dict[str, Any]:
        """/predict, /predict_batch and /whatif computed in this worker (small journeys, or
        no pool)."""
        return answer(
            self.predictor,
            req,
            limits=self.limits,
            request_id=request_id,
            now=datetime.now(UTC),
            store=self.store,
            log=self.log,
        )

    def ingest(self, req: IngestRequest, request_id: str) -> dict[str, Any]:
        return handle_ingest(self.store, req, max_events=SETTINGS.max_events, now=datetime.now(UTC))

    def record_outcomes(self, req: OutcomesRequest, request_id: str) -> dict[str, Any]:
        return handle_outcomes(self.store, req, max_rows=SETTINGS.max_events)

    def customer_predictions(
        self, params: dict[str, str], query: dict[str, list[str]], request_id: str
    ) -> dict[str, Any]:
        return customer_predictions_route(
            self.predictor,
            self.store,
            params,
            query,
            now=datetime.now(UTC),
            request_id=request_id,
            log=self.log,
        )

    def erase_customer(
        self, params: dict[str, str], query: dict[str, list[str]], request_id: str
    ) -> dict[str, Any]:
        return handle_erase(self.store, params["customer_id"], log=self.log)

    @bentoml.on_shutdown
    def _flush_log(self) -> None:
        if self.pool is not None:
            self.pool.close()
        self.log.close()
        self.store.close()

    def __is_alive__(self) -> bool:
        return True

    def __is_ready__(self) -> bool:
        return bool(self.predictor.tasks)

    @info_app.get("/metadata")
    def get_metadata(self) -> dict[str, Any]:
        return metadata(self.predictor)


JourneyService.add_asgi_middleware(EdgeMiddleware, config=EDGE_CONFIG, state=EDGE_STATE)

__all__ = ["JourneyService", "RequestError"]
