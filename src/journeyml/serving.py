"""Start-up and the edge of the HTTP service, kept out of the BentoML shell so it is testable.

- :func:`load_predictor`: the champions from the registry, or the bundled copies when the
  registry cannot be reached; never a model whose features differ from this code's.
- :class:`EdgeMiddleware` (plain ASGI): request ids, the optional API key, a body-size limit,
  and one error shape for everything the framework rejects before our code runs.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from journeyml.errors import (
    FingerprintMismatchError,
    JourneyMLError,
    ModelNotFoundError,
    PayloadTooLargeError,
    RequestError,
    UnauthorizedError,
)
from journeyml.features.spec import FEATURE_CODE_VERSION
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.settings import ServiceSettings

log = logging.getLogger("journeyml.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREDICT_PATHS = frozenset({"/predict", "/predict_batch"})
REQUEST_ID = "x-request-id"

#: the BentoML service class, as ``bentoml serve`` names it inside ``service/``
SERVICE_TARGET = "service:JourneyService"


def serve_command(service_dir: Path, host: str, port: int) -> list[str]:
    """The command that starts the journeyml service (``bentoml serve``) with this Python.

    >>> serve_command(Path("/repo/service"), "127.0.0.1", 3000)[2:5]
    ['bentoml', 'serve', 'service:JourneyService']
    """
    import sys

    return [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        SERVICE_TARGET,
        "--working-dir",
        str(service_dir.resolve()),
        "--host",
        host,
        "--port",
        str(port),
    ]


# --- start-up --------------------------------------------------------------------------------
def load_predictor(settings: ServiceSettings) -> tuple[Predictor, str]:
    """(predictor, where it came from). Falls back to ``settings.model_dir`` when the registry
    fails for any reason but a feature mismatch; a mismatch always refuses to start."""
    bundled = settings.model_dir
    if settings.tracking_uri:
        # fail fast on a dead tracking server instead of MLflow's minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.registry_timeout))
        try:
            pred = Predictor.from_registry(settings.tracking_uri)
            source = f"registry {settings.tracking_uri}"
        except FingerprintMismatchError:
            raise
        except Exception as exc:  # unreachable, no champion, broken artifact...
            if bundled is None or not bundled.exists():
                raise ModelNotFoundError(
                    f"expected champions in the registry at {settings.tracking_uri}, got an error "
                    f"({type(exc).__name__}: {str(exc)[:300]}); and no bundled copies at "
                    f"{bundled}. Start the tracking server, or export copies with "
                    "`journeyml export-models --out DIR` and set JOURNEYML_MODEL_DIR."
                ) from exc
            log.warning(
                "registry %s unavailable (%s: %s); serving the bundled copies in %s",
                settings.tracking_uri,
                type(exc).__name__,
                str(exc)[:200],
                bundled,
            )
            pred, source = Predictor.from_dir(bundled), f"bundled {bundled}"
    elif bundled is not None:
        pred, source = Predictor.from_dir(bundled), f"bundled {bundled}"
    else:
        raise ModelNotFoundError(
            "expected JOURNEYML_TRACKING_URI or JOURNEYML_MODEL_DIR, got neither."
        )
    self_check(pred)
    return pred, source


def self_check(pred: Predictor) -> None:
    """Refuse models the feature code cannot feed: another feature code version, another
    number of columns, or features this code does not build."""
    for t, b in pred.bundles.items():
        if b.spec.code_version != FEATURE_CODE_VERSION:
            raise FingerprintMismatchError(
                f"expected the {t} model to be built for feature code version "
                f"{FEATURE_CODE_VERSION}, got {b.spec.code_version!r}. Retrain and promote it."
            )
        n_model, n_spec = b.booster.num_feature(), len(b.spec.features)
        if n_model != n_spec:
            raise FingerprintMismatchError(
                f"expected the {t} model to take the {n_spec} features of its spec "
                f"(fingerprint {b.spec.fingerprint}), got a model taking {n_model}. The artifact "
                "is inconsistent: retrain and promote it."
            )
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    tp = pred.spec.touchpoints[0] if pred.spec.touchpoints else "x"
    try:
        out = pred.predict_journey(
            "self-check",
            [{"timestamp": t0, "touchpoint": tp, "channel": None, "stage": None, "value": None}],
            datetime(2024, 1, 2, tzinfo=UTC),
            ScoreRequest(pred.tasks, explain=True),
        )
    except JourneyMLError as exc:
        raise FingerprintMismatchError(
            f"expected this code to build every feature of the models (fingerprint "
            f"{pred.fingerprint}), got: {exc.message}"
        ) from exc
    for t in pred.tasks:
        if not np.isfinite(out[t]["probability"]):
            raise FingerprintMismatchError(f"expected a finite {t} probability on the self-check")


def load_or_exit(settings: ServiceSettings) -> Predictor:
    """:func:`load_predictor` with the refusal logged in one clear line before re-raising."""
    try:
        pred, source = load_predictor(settings)
    except JourneyMLError as exc:
        log.critical("journeyml: refusing to start: [%s] %s", exc.code, exc.message)
        raise
    log.info(
        "journeyml: serving %s (fingerprint %s) from %s",
        ", ".join(f"{t} v{v}" for t, v in pred.versions().items()),
        pred.fingerprint,
        source,
    )
    return pred


def stop_parent_server() -> None:
    """After a refusal to start: stop the ``bentoml serve`` process that spawned this worker,
    which would otherwise respawn it forever (outside containers)."""
    import signal

    import psutil

    try:
        parent = psutil.Process(os.getppid())
        if any("bentoml" in part for part in parent.cmdline()):
            parent.send_signal(signal.SIGTERM)
    except psutil.Error:  # pragma: no cover - best effort
        pass


def default_model_dir(service_dir: Path) -> Path:
    return service_dir / "bundled"


# --- the edge --------------------------------------------------------------------------------
def check_api_key(expected: str | None, headers: dict[str, str]) -> None:
    """Raise :class:`UnauthorizedError` unless ``Authorization: Bearer <key>`` or
    ``X-API-Key: <key>`` carries ``expected`` (no key configured → open).

    >>> check_api_key("s3cret", {"authorization": "Bearer s3cret"})
    >>> check_api_key("s3cret", {"x-api-key": "nope"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    journeyml.errors.UnauthorizedError: expected a valid API key ..., got a wrong one.
    """
    if expected is None:
        return
    got = headers.get("x-api-key")
    auth = headers.get("authorization", "")
    if got is None and auth[:7].lower() == "bearer ":
        got = auth[7:].strip()
    if got is None:
        raise UnauthorizedError(
            "expected an API key (Authorization: Bearer <key> or X-API-Key), got none.",
            field="authorization",
        )
    if not hmac.compare_digest(got.encode(), expected.encode()):
        raise UnauthorizedError(
            "expected a valid API key (Authorization: Bearer <key> or X-API-Key), got a wrong one.",
            field="authorization",
        )


def framework_error(status: int, body: bytes) -> dict[str, Any]:
    """Our error shape for a 4xx the framework produced (a pydantic ``detail`` list → the
    first error's location as ``field``).

    >>> body = (b'{"error": "x", "detail": [{"loc": ["events", 0, "timestamp"], '
    ...         b'"msg": "Input should be a valid datetime", "type": "datetime_parsing"}]}')
    >>> framework_error(400, body)["field"]
    'events.0.timestamp'
    """
    try:
        data = json.loads(body)
    except ValueError:
        data = {"error": body.decode("utf-8", "replace")[:500]}
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        loc = [str(x) for x in first.get("loc", ()) if x != "body"]
        typ = str(first.get("type", ""))
        field = ".".join(loc) or "body"
        if typ == "json_invalid":
            msg = f"expected a JSON body, got malformed JSON: {first.get('msg', '')}"
        else:
            msg = f"{field}: {first.get('msg', 'invalid')}"
            if len(detail) > 1:
                msg += f" (and {len(detail) - 1} more problem(s), see details)"
        err = RequestError(msg, field=field, details=detail)
        err.code = "json_invalid" if typ == "json_invalid" else "invalid_request"
        return err.to_dict()
    text = data.get("error") if isinstance(data, dict) else None
    return {
        "error": "invalid_request" if status < 500 else "internal_error",
        "message": str(text or data)[:500],
    }


class EdgeMiddleware:
    """Request id, API key and body limit before the framework parses anything; framework
    4xx errors rewritten to ``{"error", "message", "field"}``."""

    def __init__(self, app: ASGIApp, *, api_key: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.api_key = api_key
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
        rid = headers.get(REQUEST_ID, "")
        if not (0 < len(rid) <= 128 and rid.isprintable()):
            rid = uuid.uuid4().hex
            raw_headers = [(k, v) for k, v in raw_headers if k.lower() != REQUEST_ID.encode()]
            raw_headers.append((REQUEST_ID.encode(), rid.encode()))
            scope["headers"] = raw_headers
        path = scope.get("path", "")
        guarded = path in PREDICT_PATHS
        if guarded:
            try:
                check_api_key(self.api_key, headers)
                length = headers.get("content-length")
                if length is not None and length.isdigit() and int(length) > self.max_body:
                    raise PayloadTooLargeError(
                        f"expected a body of at most {self.max_body} bytes, got {length}.",
                        field="body",
                        details={"limit": self.max_body, "got": int(length)},
                    )
            except RequestError as exc:
                extra = [(b"www-authenticate", b"Bearer")] if exc.http_status == 401 else []
                await _send_json(send, exc.http_status, exc.to_dict(), rid, extra)
                return

        state: dict[str, Any] = {"status": 200, "start": None, "body": []}

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                hs = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                hs.append((b"x-request-id", rid.encode()))
                message["headers"] = hs
                if guarded and 400 <= message["status"] < 600 and message["status"] != 413:
                    state["start"] = message  # hold: the body may need rewriting
                    return
                await send(message)
                return
            if state["start"] is not None and message["type"] == "http.response.body":
                state["body"].append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(state["body"])
                status = int(state["status"])
                if not _ours(body):
                    body = json.dumps(framework_error(status, body)).encode()
                start = state["start"]
                start["headers"] = [
                    (k, v)
                    for k, v in start["headers"]
                    if k.lower() not in (b"content-length", b"content-type")
                ] + [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ]
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, wrapped_send)


def _ours(body: bytes) -> bool:
    """Already in our error shape (``error`` code + ``message``)?"""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and "message" in data and isinstance(data.get("error"), str)


async def _send_json(
    send: Send, status: int, data: dict[str, Any], rid: str, extra: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", rid.encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
