"""The service's OpenAPI document (``/docs.json``) and Swagger UI (``/docs``), generated from
the request and response models so they cannot drift from what the edge enforces.

Every endpoint has a summary, a description and an example; every error status it can answer
is documented with the one error shape (:class:`~journeyml.serving.responses.ErrorResponse`).
The 200 answer of ``/predict`` names the served tasks (known once the models are loaded).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from journeyml.serving.responses import (
    BatchResponse,
    ErrorResponse,
    PredictResponse,
    ProbeResponse,
    TaskPrediction,
)

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed request: bad JSON, a duplicate key, a wrong type or a missing field "
    "(`field` names it).",
    401: "Missing or wrong API key (`Authorization: Bearer <key>` or `X-API-Key`).",
    404: "Not found.",
    413: "Too large: the body, the number of events or journeys (`details.limit`).",
    415: "The body is not declared as JSON (`Content-Type: application/json`).",
    422: "Well-formed but not answerable: an unknown task or class, an impossible edit.",
    501: "Needs an event store, and none is configured.",
    503: "Busy (too many requests being computed) or a dependency is down: retry after the "
    "`Retry-After` header's seconds.",
}
DESCRIPTION = """Predict how customer journeys end — conversion and churn within a horizon,
and the next stage — from the customer's touchpoints. Every prediction is calibrated,
explained in the customer's own touchpoints (root causes), and computed only from events
strictly before the moment of prediction (`as_of`).

Errors share one shape: `{"error": code, "message": what was expected / got / what to do,
"field": the offending field}`. Bodies must be JSON (`Content-Type: application/json`), with
each key once; timestamps are ISO 8601 strings. When the service runs with an API key, every
endpoint but the probes and these docs needs it (`Authorization: Bearer <key>` or
`X-API-Key`)."""


@dataclass(frozen=True)
class Endpoint:
    """One documented endpoint."""

    method: str
    path: str
    summary: str
    description: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | dict[str, Any] | None = None
    errors: Sequence[int] = (400, 401, 413, 415, 422, 503)
    example: Any = None
    tag: str = "predictions"
    protected: bool = True
    query: Sequence[tuple[str, str, dict[str, Any]]] = field(default_factory=tuple)


def _path_params(path: str) -> list[dict[str, Any]]:
    names = [p[1:-1] for p in path.split("/") if p.startswith("{") and p.endswith("}")]
    return [
        {
            "name": n,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
        }
        for n in names
    ]


def document(
    endpoints: Sequence[Endpoint],
    *,
    version: str,
    tasks: Sequence[str] = (),
    title: str = "journeyml",
    secured: bool = False,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints``; ``tasks`` become typed properties of the
    prediction answer."""
    models: list[type[BaseModel]] = [ErrorResponse, PredictResponse, BatchResponse, ProbeResponse]
    models += [e.request for e in endpoints if e.request is not None]
    models += [e.response for e in endpoints if isinstance(e.response, type)]
    models.append(TaskPrediction)
    unique = list(dict.fromkeys(models))
    keys = [(m, "validation") for m in unique]
    _, top = models_json_schema(keys, ref_template=REF)  # type: ignore[arg-type]
    schemas: dict[str, Any] = top.get("$defs", {})
    pred = schemas.get("PredictResponse")
    if pred is not None and tasks:
        for t in tasks:
            pred["properties"][t] = {"$ref": REF.format(model="TaskPrediction")}
        pred["description"] = (
            pred.get("description", "") + f" Tasks served: {', '.join(tasks)}."
        ).strip()
    paths: dict[str, Any] = {}
    for e in endpoints:
        op: dict[str, Any] = {
            "summary": e.summary,
            "description": e.description,
            "operationId": f"{e.method.lower()}_{e.path.strip('/').replace('/', '_')}".replace(
                "{", ""
            ).replace("}", ""),
            "tags": [e.tag],
        }
        params = _path_params(e.path) + [
            {"name": n, "in": "query", "required": False, "description": d, "schema": s}
            for n, d, s in e.query
        ]
        if params:
            op["parameters"] = params
        if e.request is not None:
            media: dict[str, Any] = {"schema": {"$ref": REF.format(model=e.request.__name__)}}
            if e.example is not None:
                media["example"] = e.example
            op["requestBody"] = {"required": True, "content": {"application/json": media}}
        ok: dict[str, Any] = {"description": "OK"}
        if isinstance(e.response, type):
            ok["content"] = {
                "application/json": {"schema": {"$ref": REF.format(model=e.response.__name__)}}
            }
        elif isinstance(e.response, dict):
            ok["content"] = {"application/json": {"schema": e.response}}
        responses: dict[str, Any] = {"200": ok}
        errors = [s for s in e.errors if s != 401 or (secured and e.protected)]
        for status in errors:
            responses[str(status)] = {
                "description": ERROR_TEXT.get(status, "Error."),
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model="ErrorResponse")}}
                },
            }
        if secured and e.protected:
            op["security"] = [{"bearer": []}, {"apiKey": []}]
        op["responses"] = responses
        paths.setdefault(e.path, {})[e.method.lower()] = op
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if secured:
        doc["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
    return doc


SWAGGER_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "/docs.json", dom_id: "#swagger-ui",
deepLinking: true, defaultModelsExpandDepth: 0}});</script>
</body></html>
"""


def _swagger_assets() -> dict[str, tuple[str, bytes]]:
    """Swagger UI's files, from the copy BentoML ships (no network needed)."""
    import bentoml

    folder = Path(bentoml.__file__).parent / "_internal" / "server" / "static_content"
    out = {}
    for name, ctype in (
        ("swagger-ui.css", "text/css"),
        ("swagger-ui-bundle.js", "application/javascript"),
    ):
        path = folder / name
        if path.exists():
            out[f"/docs/{name}"] = (ctype, path.read_bytes())
    return out


def documents(doc: Mapping[str, Any], *, title: str = "journeyml") -> dict[str, tuple[str, bytes]]:
    """What the edge serves as it is: ``/docs.json``, ``/docs`` (Swagger UI, also at ``/``)
    and Swagger UI's assets."""
    html = SWAGGER_HTML.format(title=title).encode()
    return {
        "/docs.json": ("application/json", json.dumps(doc).encode()),
        "/docs": ("text/html; charset=utf-8", html),
        "/": ("text/html; charset=utf-8", html),
        **_swagger_assets(),
    }
