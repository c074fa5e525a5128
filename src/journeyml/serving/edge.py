"""The edge of the HTTP service, kept out of the BentoML shell so it is testable.

:class:`EdgeMiddleware` (plain ASGI): request ids, the optional API key, a body-size limit,
and one error shape for everything the framework rejects before our code runs.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from journeyml.errors import (
    BodyTimeoutError,
    JourneyMLError,
    RequestError,
    ServiceBusyError,
    UnauthorizedError,
)
from journeyml.serving.body import ClientGone, read_body, replay, too_large
from journeyml.serving.metrics import render as store_metrics
from journeyml.serving.slow_clients import BODY_TIMED_OUT
from journeyml.serving.slow_clients import render as slow_client_metrics
from journeyml.serving.strict_json import check_content_type, parse_json
from journeyml.serving.telemetry import Metrics, log_request

Scope = MutableMapping[str, Any]
#: a query string's parameters, each with all its values in order
Query = dict[str, list[str]]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREDICT_PATHS = frozenset({"/predict", "/predict_batch"})
#: paths behind the API key and the body limit, with the error shape: predictions and the store
GUARDED_PATHS = PREDICT_PATHS | {"/events", "/outcomes", "/whatif"}
GUARDED_PREFIXES = ("/customers/",)
REQUEST_ID = "x-request-id"


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
        return _from_detail(detail).to_dict()
    text = data.get("error") if isinstance(data, dict) else None
    return {
        "error": "invalid_request" if status < 500 else "internal_error",
        "message": str(text or data)[:500],
    }


class Offload(Protocol):
    """Where requests too big for the event loop are computed instead of a thread: a pool of
    processes (:class:`~journeyml.serving.pool.ComputePool`) for its ``paths``. ``run``
    validates and computes a JSON body there: (the answer as JSON, the tasks it asked for)."""

    paths: frozenset[str]
    predictor: Any

    async def run(
        self, path: str, body: bytes, request_id: str
    ) -> tuple[bytes, tuple[str, ...]]: ...


@dataclass
class EdgeState:
    """What the edge needs from the worker: the predictor once it is loaded (``None`` before:
    ``/readyz`` answers 503)."""

    predictor: Any = None
    #: path -> handler(validated request, request id) -> JSON-ready answer, run in a thread;
    #: registered by the service once its models are loaded (paths without one go on to
    #: the framework)
    handlers: dict[str, Callable[[Any, str], Any]] = field(default_factory=dict)
    #: ``path -> (content type, bytes)`` served as they are (the OpenAPI document, Swagger UI)
    documents: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: ``(method, route template) -> handler(path parameters, query, request id)`` for the
    #: bodiless endpoints with path parameters (``GET /customers/{customer_id}/predictions``):
    #: answered here, in a compute thread, without the framework's routing and middleware
    routes: dict[tuple[str, str], Callable[[dict[str, str], Query, str], Any]] = field(
        default_factory=dict
    )
    #: computes the big requests of its paths in other processes (None: in threads)
    pool: Offload | None = None

    def versions(self) -> dict[str, str]:
        return dict(self.predictor.versions()) if self.predictor is not None else {}

    def tasks(self) -> tuple[str, ...]:
        return tuple(self.predictor.tasks) if self.predictor is not None else ()


@dataclass(frozen=True)
class EdgeConfig:
    """The edge's limits and routes (from :class:`~journeyml.serving.ServiceSettings`).

    ``body_models``: path → the pydantic model its JSON body must validate against (strict
    JSON, Content-Type, limit and validation happen here, before the framework sees the
    body: adding an endpoint with a request model is one entry). ``compute_paths``: paths
    whose requests count against ``max_inflight`` (more → 503 + Retry-After)."""

    api_key: str | None = None
    max_body_bytes: int = 20_000_000
    body_models: Mapping[str, type[BaseModel]] = field(default_factory=dict)
    compute_paths: frozenset[str] = PREDICT_PATHS
    max_inflight: int = 32
    #: a single journey of at most this many events, without the event store, is computed
    #: on the event loop (a few ms: a thread hop and GIL hand-offs between threads cost more
    #: than they free); anything bigger (batches, long journeys, store reads) in a thread
    inline_events: int = 256
    #: threads computing the bigger requests at once (more only fight over the GIL and
    #: slow the event loop's probes; the rest wait in the bounded queue)
    compute_threads: int = 2
    #: route templates known to metrics and logs (others are ``other``)
    routes: tuple[str, ...] = ()
    #: ``path -> (content type, bytes)`` documents served as they are (/docs, /docs.json)
    documents: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)


log = logging.getLogger("journeyml.serving")

PROBES = frozenset({"/healthz", "/livez", "/readyz"})
#: bodies larger than this are parsed and validated in a thread, not on the event loop
OFFLOAD_BYTES = 64_000


class EdgeMiddleware:
    """Everything between the socket and the framework: request ids, probes, metrics, the API
    key, the body (Content-Type, a streaming limit, strict JSON, the request model), a bound
    on requests being computed, one error shape and one log line per request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None = None,
        max_body_bytes: int = 20_000_000,
        config: EdgeConfig | None = None,
        state: EdgeState | None = None,
    ) -> None:
        self.app = app
        self.config = config or EdgeConfig(api_key=api_key, max_body_bytes=max_body_bytes)
        self.api_key = self.config.api_key
        self.max_body = self.config.max_body_bytes
        self.state = state or EdgeState()
        routes = (*self.config.routes, *self.config.body_models, *PROBES, "/metrics")
        self.metrics = Metrics(routes=(*routes, *self.config.documents))
        self.inflight = 0
        self._limiter: Any = None  # the compute threads' limiter, made in the event loop
        self._gate: asyncio.Lock | None = None  # small journeys computed on the loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        raw_headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
        rid = headers.get(REQUEST_ID, "")
        if not (0 < len(rid) <= 128 and rid.isprintable()):
            rid = uuid.uuid4().hex
            raw_headers = [(k, v) for k, v in raw_headers if k.lower() != REQUEST_ID.encode()]
            raw_headers.append((REQUEST_ID.encode(), rid.encode()))
            scope["headers"] = raw_headers
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        info: dict[str, Any] = {"status": 500, "error": None, "tasks": ()}
        counted = False
        try:
            if path in PROBES:
                await self._probe(path, send, rid, info)
                return
            docs = self.state.documents or self.config.documents
            if path in docs and method in ("GET", "HEAD"):
                ctype, doc = docs[path]
                await _send_raw(send, 200, doc, ctype, rid, [])
                info["status"] = 200
                return
            if path == "/metrics":
                check_api_key(self.api_key, headers)
                text = (
                    self.metrics.render(self.state.versions())
                    + slow_client_metrics()
                    + store_metrics()
                ).encode()
                await _send_raw(send, 200, text, "text/plain; version=0.0.4", rid, [])
                info["status"] = 200
                return
            guarded = path in GUARDED_PATHS or path.startswith(GUARDED_PREFIXES)
            if guarded:
                check_api_key(self.api_key, headers)
            if path in self.config.compute_paths:
                if self.inflight >= self.config.max_inflight:
                    raise ServiceBusyError(
                        f"expected at most {self.config.max_inflight} requests being read or "
                        "computed at once, got more. Retry after 1 second.",
                        retry_after=1,
                    )
                self.inflight += 1
                counted = True
            model = self.config.body_models.get(path) if method == "POST" else None
            req: BaseModel | None = None
            body = b""
            if model is not None:
                body = await self._read_body(headers, receive)
                pool = self._pool(path)
                if pool is not None and len(body) > OFFLOAD_BYTES:
                    # validated and computed in another process: pydantic holds the GIL for
                    # about 0.1 s validating 10,000 events, the features longer; the event
                    # loop keeps answering probes meanwhile
                    answer, info["tasks"] = await pool.run(path, body, rid)
                    await _send_raw(send, 200, answer, "application/json", rid, [])
                    info["status"] = 200
                    return
                req, info["tasks"] = await self._validated(model, body)
                receive = replay(body, receive)
            routed = self._route(method, path) if req is None else None
            if routed is not None:  # store reads: in a thread, the loop keeps answering
                route, params = routed
                query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
                result = await self._in_thread(route, params, query, rid)
                await _send_raw(send, 200, _to_json(result), "application/json", rid, [])
                info["status"] = 200
                return
            handler = self.state.handlers.get(path) if req is not None else None
            if handler is not None:
                from pydantic_core import to_json

                if self._inline(req):
                    # one at a time, with a turn of the loop before each: probes and other
                    # quick requests wait for at most about one small journey, not for
                    # every small journey queued before them
                    await asyncio.sleep(0)
                    async with self._inline_gate():
                        result = handler(req, rid)
                        await asyncio.sleep(0)  # the loop polls before the next one starts
                elif (pool := self._pool(path)) is not None:  # in another process: no GIL
                    answer, _ = await pool.run(path, body, rid)
                    await _send_raw(send, 200, answer, "application/json", rid, [])
                    info["status"] = 200
                    return
                else:  # in a thread: the event loop keeps answering probes meanwhile
                    result = await self._in_thread(handler, req, rid)
                await _send_raw(send, 200, to_json(result), "application/json", rid, [])
                info["status"] = 200
                return
            await self.app(scope, receive, self._wrap_send(send, rid, guarded, info))
        except ClientGone:
            if scope.get(BODY_TIMED_OUT):  # answered 408 by the server protocol
                info["status"], info["error"] = 408, BodyTimeoutError.code
            else:
                info["status"], info["error"] = 499, "client_disconnected"
        except JourneyMLError as exc:
            info["status"], info["error"] = exc.http_status, exc.code
            extra: list[tuple[bytes, bytes]] = []
            if exc.http_status == 401:
                extra.append((b"www-authenticate", b"Bearer"))
            retry = getattr(exc, "retry_after", None)
            if isinstance(retry, int):
                extra.append((b"retry-after", str(retry).encode()))
            if exc.http_status == 413:
                extra.append((b"connection", b"close"))  # the rest of the body is not read
            await _send_json(send, exc.http_status, exc.to_dict(), rid, extra)
        except Exception:  # a bug, not bad input: the one place with a traceback
            info["status"], info["error"] = 500, "internal_error"
            log.exception("journeyml: internal error on %s (request %s)", path, rid)
            if not info.get("started"):
                failure = {
                    "error": "internal_error",
                    "message": f"expected to answer, got an internal error (request {rid}). "
                    "It is logged; retry or report it with the request id.",
                }
                await _send_json(send, 500, failure, rid, [])
        finally:
            if counted:
                self.inflight -= 1
            dt = time.perf_counter() - t0
            status = int(info["status"])
            tasks = info["tasks"] if status == 200 else ()
            self.metrics.observe(path, method, status, dt, info["error"], tasks=tasks)
            log_request(
                request_id=rid,
                method=method,
                route=self.metrics.route(path),
                status=status,
                seconds=dt,
                error=info["error"],
            )

    def _route(
        self, method: str, path: str
    ) -> tuple[Callable[[dict[str, str], Query, str], Any], dict[str, str]] | None:
        """The route handler of ``method path`` and its path parameters, or None."""
        if not self.state.routes or not path.startswith(GUARDED_PREFIXES):
            return None
        parts = path.split("/")
        for (m, template), handler in self.state.routes.items():
            if m != method:
                continue
            params = match_template(template, parts)
            if params is not None:
                return handler, params
        return None

    def _inline(self, req: BaseModel | None) -> bool:
        """Small enough to compute on the event loop: one journey of at most
        ``inline_events`` events that needs no event store."""
        events = getattr(req, "events", None)
        return (
            isinstance(events, list)
            and len(events) <= self.config.inline_events
            and not getattr(req, "use_store", False)
        )

    def _pool(self, path: str) -> Offload | None:
        """The process pool computing ``path`` requests, when there is one for the models the
        edge serves (a pool holding other models than ``state.predictor`` is not used)."""
        pool = self.state.pool
        if pool is None or path not in pool.paths:
            return None
        return pool if pool.predictor is self.state.predictor else None

    def _inline_gate(self) -> asyncio.Lock:
        if self._gate is None:
            self._gate = asyncio.Lock()
        return self._gate

    async def _in_thread(self, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)`` in one of the ``compute_threads`` threads (parsing a big body,
        computing a big request): more threads would only fight over the GIL."""
        import anyio

        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(max(1, self.config.compute_threads))
        return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)

    async def _probe(self, path: str, send: Send, rid: str, info: dict[str, Any]) -> None:
        ready = self.state.predictor is not None
        status = 503 if path == "/readyz" and not ready else 200
        body = b'{"status": "ok"}' if status == 200 else b'{"status": "loading"}'
        info["status"] = status
        await _send_raw(send, status, body, "application/json", rid, [])

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        """The body, once its Content-Type is JSON and its size within the limit."""
        check_content_type(headers.get("content-type"))
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise too_large(self.max_body, int(length))
        return await read_body(receive, self.max_body)

    async def _validated(
        self, model: type[BaseModel], body: bytes
    ) -> tuple[BaseModel, tuple[str, ...]]:
        """The request ``body`` validates to, and the tasks it asks for (for metrics)."""
        if len(body) > OFFLOAD_BYTES:  # a big journey: parse it off the event loop
            data, req = await self._in_thread(_checked, model, body)
        else:
            data, req = _checked(model, body)
        return req, self._tasks(data)

    def _tasks(self, data: Any) -> tuple[str, ...]:
        """The tasks a valid prediction body asks for, one entry per journey (for metrics)."""
        if not isinstance(data, dict):
            return ()
        journeys = data.get("journeys")
        if isinstance(journeys, list):
            return tuple(t for j in journeys if isinstance(j, dict) for t in self._tasks(j))
        if "customer_id" not in data or "events" not in data:
            return ()
        asked = data.get("tasks")
        return tuple(asked) if isinstance(asked, list) else self.state.tasks()

    def _wrap_send(self, send: Send, rid: str, guarded: bool, info: dict[str, Any]) -> Send:
        held: dict[str, Any] = {"start": None, "body": []}

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                info["started"] = True
                status = int(message["status"])
                info["status"] = status
                hs = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                hs.append((b"x-request-id", rid.encode()))
                message["headers"] = hs
                if status >= 400:
                    held["start"] = message  # hold: read the error code, maybe rewrite the body
                    return
                await send(message)
                return
            if held["start"] is not None and message["type"] == "http.response.body":
                held["body"].append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(held["body"])
                status = int(info["status"])
                if not _ours(body) and (guarded or status >= 500):
                    body = json.dumps(framework_error(status, body)).encode()
                info["error"] = _error_code(body, status)
                start = held["start"]
                if guarded or status >= 500:
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

        return wrapped_send


def match_template(template: str, parts: list[str]) -> dict[str, str] | None:
    """The parameters of a route template matched by a path split on ``/`` (one non-empty
    segment per ``{name}``), or None.

    >>> path = "/customers/c-7/predictions".split("/")
    >>> match_template("/customers/{customer_id}/predictions", path)
    {'customer_id': 'c-7'}
    >>> match_template("/customers/{customer_id}", path)
    """
    want = template.split("/")
    if len(want) != len(parts):
        return None
    params: dict[str, str] = {}
    for w, got in zip(want, parts, strict=True):
        if w.startswith("{") and w.endswith("}"):
            if not got:
                return None
            params[w[1:-1]] = got
        elif w != got:
            return None
    return params


def parse_qs(text: str) -> Query:
    """A query string's parameters (``+`` and percent escapes decoded, empty values kept).

    >>> parse_qs("tasks=churn&tasks=conversion&as_of=2024-07-01T00%3A00%3A00%2B00%3A00")
    {'tasks': ['churn', 'conversion'], 'as_of': ['2024-07-01T00:00:00+00:00']}
    """
    from urllib.parse import parse_qs as _parse

    return _parse(text, keep_blank_values=True)


def _to_json(data: Any) -> bytes:
    from pydantic_core import to_json

    return to_json(data)


def _checked(model: type[BaseModel], body: bytes) -> tuple[Any, BaseModel]:
    data = parse_json(body)
    try:
        return data, model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def validation_error(exc: ValidationError) -> RequestError:
    """A pydantic error as our :class:`RequestError` (400) naming the first field."""
    detail = exc.errors(include_context=False, include_input=False, include_url=False)
    return _from_detail(detail)


def _from_detail(detail: list[Any]) -> RequestError:
    first = detail[0]
    loc = [str(x) for x in first.get("loc", ()) if x != "body"]
    typ = str(first.get("type", ""))
    field_ = ".".join(loc) or "body"
    if typ == "json_invalid":
        msg = f"expected a JSON body, got malformed JSON: {first.get('msg', '')}"
    else:
        msg = f"{field_}: {first.get('msg', 'invalid')}"
        if len(detail) > 1:
            msg += f" (and {len(detail) - 1} more problem(s), see details)"
    err = RequestError(msg, field=field_, details=detail)
    err.code = "json_invalid" if typ == "json_invalid" else "invalid_request"
    err.http_status = 400
    return err


def _error_code(body: bytes, status: int) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    code = data.get("error") if isinstance(data, dict) else None
    if isinstance(code, str) and code.isidentifier():
        return code[:40]
    return {404: "not_found", 405: "method_not_allowed"}.get(
        status, "invalid_request" if status < 500 else "internal_error"
    )


def _ours(body: bytes) -> bool:
    """Already in our error shape (``error`` code + ``message``)?"""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and "message" in data and isinstance(data.get("error"), str)


async def _send_raw(
    send: Send,
    status: int,
    body: bytes,
    ctype: str,
    rid: str,
    extra: list[tuple[bytes, bytes]],
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", ctype.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", rid.encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


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
