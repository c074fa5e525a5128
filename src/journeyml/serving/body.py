"""Reading a request body under a limit that counts bytes as they arrive (chunked bodies
too), so an oversized body is refused as soon as it passes the limit, never read in full."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from journeyml.errors import PayloadTooLargeError

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


class ClientGone(Exception):
    """The client disconnected before sending its whole body."""


def too_large(limit: int, got: int | str) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"expected a body of at most {limit} bytes, got {got}. Send fewer or smaller journeys "
        "per request.",
        field="body",
        details={"limit": limit, "got": got},
    )


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body; :class:`PayloadTooLargeError` the moment it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise too_large(limit, f"more than {limit}")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the framework the body already read, then defers to the
    server (for the disconnect message)."""
    done = False

    async def again() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
