"""The edge of the HTTP service, kept out of the BentoML shell so it is testable.

:class:`EdgeMiddleware` (plain ASGI): request ids, the optional API key, a body-size limit,
and one error shape for everything the framework rejects before our code runs.
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from journeyml.errors import PayloadTooLargeError, RequestError, UnauthorizedError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREDICT_PATHS = frozenset({"/predict", "/predict_batch"})
#: paths behind the API key and the body limit, with the error shape: predictions and the store
GUARDED_PATHS = PREDICT_PATHS | {"/events", "/whatif"}
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
        guarded = path in GUARDED_PATHS or path.startswith(GUARDED_PREFIXES)
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
