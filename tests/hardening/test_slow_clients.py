"""Slow-header clients are timed out (issue 15): a connection that does not deliver a complete
request head within the header timeout is closed, on a fresh connection and on a kept-alive
one, while a request whose computation outlasts the timeout is answered. A real uvicorn
server (the protocol BentoML's workers use) with a short timeout, in-process; the real
service's wiring is checked in tests/hardening/test_edge_http.py."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from journeyml.serving.slow_clients import TIMEOUTS, HeaderTimeout

TIMEOUT = 0.5


class ShortTimeout(HeaderTimeout):
    header_timeout = TIMEOUT


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
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
