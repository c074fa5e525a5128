"""The HTTP edge: request models and their handling, limits and the API key, settings, and how
the service starts. ``service/service.py`` (BentoML) only maps endpoints onto this."""

from journeyml.serving.api import (
    BatchRequest,
    EventIn,
    PredictRequest,
    eligibility_warnings,
    handle_batch,
    handle_predict,
    metadata,
    requests_from_frame,
)
from journeyml.serving.batch import (
    batch_results,
    default_cutoffs,
    flat_row,
    score_chunks,
    write_responses,
)
from journeyml.serving.batch_log import BATCH_PREFIX, BatchLog
from journeyml.serving.edge import (
    PREDICT_PATHS,
    REQUEST_ID,
    EdgeConfig,
    EdgeMiddleware,
    EdgeState,
    check_api_key,
    framework_error,
)
from journeyml.serving.endpoints import service_endpoints
from journeyml.serving.journeys import (
    IngestRequest,
    OutcomesRequest,
    StoredEventIn,
    customer_predictions_route,
    customer_request,
    handle_customer_predictions,
    handle_erase,
    handle_ingest,
    handle_outcomes,
)
from journeyml.serving.openapi import Endpoint, document, documents
from journeyml.serving.pool import ComputePool, Limits, answer
from journeyml.serving.prediction_log import PredictionLog, StoreLink
from journeyml.serving.process import EXIT_REFUSED, run_server, write_refusal
from journeyml.serving.settings import ServiceSettings
from journeyml.serving.startup import (
    SERVICE_TARGET,
    default_model_dir,
    load_or_exit,
    load_predictor,
    self_check,
    serve_command,
    stop_parent_server,
)
from journeyml.serving.whatif import AddedTouchpoint, WhatIfRequest, handle_what_if

__all__ = [
    "BATCH_PREFIX",
    "EXIT_REFUSED",
    "PREDICT_PATHS",
    "REQUEST_ID",
    "SERVICE_TARGET",
    "AddedTouchpoint",
    "BatchLog",
    "BatchRequest",
    "ComputePool",
    "EdgeConfig",
    "EdgeMiddleware",
    "EdgeState",
    "Endpoint",
    "EventIn",
    "IngestRequest",
    "Limits",
    "OutcomesRequest",
    "PredictRequest",
    "PredictionLog",
    "ServiceSettings",
    "StoreLink",
    "StoredEventIn",
    "WhatIfRequest",
    "answer",
    "batch_results",
    "check_api_key",
    "customer_predictions_route",
    "customer_request",
    "default_cutoffs",
    "default_model_dir",
    "document",
    "documents",
    "eligibility_warnings",
    "flat_row",
    "framework_error",
    "handle_batch",
    "handle_customer_predictions",
    "handle_erase",
    "handle_ingest",
    "handle_outcomes",
    "handle_predict",
    "handle_what_if",
    "load_or_exit",
    "load_predictor",
    "metadata",
    "requests_from_frame",
    "run_server",
    "score_chunks",
    "self_check",
    "serve_command",
    "service_endpoints",
    "stop_parent_server",
    "write_refusal",
    "write_responses",
]
