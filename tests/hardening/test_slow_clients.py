"""Slow-header clients are timed out (issue 15): a connection that does not deliver a complete
request head within the header timeout is closed, on a fresh connection and on a kept-alive
one, while a request whose computation outlasts the timeout is answered. Slow bodies likewise:
a body not complete within the body timeout of its head gets 408 in the one error shape and
the connection is closed; a body that arrives in time is answered however long it computes.
A real uvicorn server (the protocol BentoML's workers use) with a short timeout, in-process;
the real service's wiring is checked in tests/hardening/test_edge_http.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from journeyml.serving.slow_clients import BODY_TIMED_OUT, BODY_TIMEOUTS, TIMEOUTS, HeaderTimeout

TIMEOUT = 0.5


class ShortTimeout(HeaderTimeout):
    header_timeout = TIMEOUT
    body_timeout = TIMEOUT


#: what the application saw of each timed-out body: (bytes received, scope marked)
SEEN: list[tuple[int, bool]] = []


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":  # the application reads the whole body first
        got = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                SEEN.append((got, bool(scope.get(BODY_TIMED_OUT))))
                return
            got += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
    if scope["path"] == "/slow":
        await asyncio.sleep(3 * TIMEOUT)  # computing longer than the header timeout
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = int(s.getsockname()[1])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free, http=ShortTimeout, lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield free
    server.should_exit = True
    thread.join(10)


def _closed_after(sock: socket.socket, trickle: bytes, limit: float) -> float:
    """Send ``trickle`` one byte every 0.1 s (headers that never end); seconds until the server
    closes the connection, or ``limit`` if it never does."""
    t0 = time.monotonic()
    sock.settimeout(0.1)
    for i in range(int(limit / 0.1)):
        try:
            sock.sendall(trickle[i % len(trickle) : i % len(trickle) + 1])
            if sock.recv(1024) == b"":
                return time.monotonic() - t0
        except TimeoutError:
            continue
        except OSError:  # reset or broken pipe: closed
            return time.monotonic() - t0
    return limit


def _get(sock: socket.socket, path: str) -> bytes:
    sock.settimeout(10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return _until_ok(sock)


def _until_ok(sock: socket.socket) -> bytes:
    """The answer, read up to its ``ok`` body."""
    data = b""
    while not data.endswith(b"ok"):
        chunk = sock.recv(1024)
        assert chunk, data
        data += chunk
    return data


def test_a_slow_header_client_is_closed_after_the_timeout(port: int) -> None:
    before = TIMEOUTS[0]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        took = _closed_after(sock, b"X-Slow: yes\r\n", limit=5.0)
    assert TIMEOUT * 0.9 <= took < TIMEOUT + 1.5, took
    assert TIMEOUTS[0] == before + 1


def test_a_kept_alive_connection_gets_the_same_deadline_for_its_next_head(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert _get(sock, "/").startswith(b"HTTP/1.1 200")
        took = _closed_after(sock, b"GET / HTTP/1.1\r\nX-Slow: yes\r\n", limit=5.0)
    assert took < TIMEOUT + 1.5, took


def test_a_request_computed_longer_than_the_timeout_is_answered(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert _get(sock, "/slow").startswith(b"HTTP/1.1 200")
        assert _get(sock, "/").startswith(b"HTTP/1.1 200")  # and the connection stays usable


def _answer_after_trickle(sock: socket.socket, trickle: bytes, limit: float) -> tuple[bytes, float]:
    """Send ``trickle`` one byte every 0.1 s (a body that never ends); what the server answered
    before closing, and the seconds until it closed (``limit`` if it never did)."""
    t0 = time.monotonic()
    sock.settimeout(0.1)
    data = b""
    for i in range(int(limit / 0.1)):
        with contextlib.suppress(OSError):  # the server closed its side: read its answer
            sock.sendall(trickle[i % len(trickle) : i % len(trickle) + 1])
        try:
            chunk = sock.recv(4096)
            if chunk == b"":
                return data, time.monotonic() - t0
            data += chunk
        except TimeoutError:
            continue
        except OSError:
            return data, time.monotonic() - t0
    return data, limit


@pytest.mark.parametrize(
    "head",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"customer_id": "secret-c',
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"cus\r\n',
    ],
    ids=["content-length", "chunked"],
)
def test_a_slow_body_gets_408_in_the_error_shape_and_is_closed(port: int, head: bytes) -> None:
    before, seen = BODY_TIMEOUTS[0], len(SEEN)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        trickle = b"1\r\nx\r\n" if b"chunked" in head else b"x"
        answer, took = _answer_after_trickle(sock, trickle, limit=5.0)
    assert TIMEOUT * 0.9 <= took < TIMEOUT + 1.5, took
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout", answer
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    error = json.loads(body)
    assert error["error"] == "body_timeout" and error["field"] == "body"
    assert "JOURNEYML_BODY_TIMEOUT" in error["message"]
    assert error["details"] == {"timeout_seconds": TIMEOUT}
    assert BODY_TIMEOUTS[0] == before + 1
    deadline = time.monotonic() + 2  # the application's task hears it in the server's thread
    while len(SEEN) == seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(SEEN) == seen + 1 and SEEN[-1][1]  # the application saw a marked disconnect


def test_a_body_sent_in_pieces_within_the_timeout_is_answered(port: int) -> None:
    before = BODY_TIMEOUTS[0]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
        time.sleep(TIMEOUT * 0.5)
        sock.sendall(b"cd")
        data = _until_ok(sock)
    assert data.startswith(b"HTTP/1.1 200")
    assert BODY_TIMEOUTS[0] == before


def test_a_posted_request_computed_longer_than_the_body_timeout_is_answered(port: int) -> None:
    before = BODY_TIMEOUTS[0]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        for _ in range(2):  # and the kept-alive connection's next body gets its own deadline
            sock.sendall(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            data = _until_ok(sock)
            assert data.startswith(b"HTTP/1.1 200"), data
    assert BODY_TIMEOUTS[0] == before
