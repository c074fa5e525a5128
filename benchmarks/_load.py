"""A lean HTTP/1.1 load generator for loopback benchmarks (keep-alive, one prepared request).

On a 2-core machine the client shares the CPU with the server it measures: a general-purpose
client (httpx) spends about as much CPU per request as a small server does, which shows up as
server latency and lost throughput. This client writes one prepared request per call and
reads the response by its ``Content-Length`` — what ``wrk`` does, in Python — so most of the
CPU goes to the server. It checks every status code and counts non-200 answers as errors.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np


def request_bytes(
    host: str, port: int, path: str, body: bytes, ctype: str = "application/json"
) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def get_bytes(host: str, port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: keep-alive\r\n\r\n".encode()


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes
) -> tuple[int, bool]:
    """Send one prepared request on a keep-alive connection and read its answer: (status,
    whether the server keeps the connection open)."""
    writer.write(req)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status, length = _parse_head(head)
    await reader.readexactly(length)
    return status, b"connection: close" not in head.lower()


def read_response(f: BinaryIO) -> tuple[int, bytes]:
    """(status, body) of the next response on a blocking keep-alive connection's file."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = f.readline()
        if not line:
            raise RuntimeError("the server closed the connection")
        head += line
    status, length = _parse_head(head)
    return status, f.read(length)


def _parse_head(head: bytes) -> tuple[int, int]:
    """(status, content length) from the response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return status, int(value)
        if name.strip().lower() == b"transfer-encoding":
            raise RuntimeError("expected a Content-Length response, got a chunked one")
    raise RuntimeError(f"expected a Content-Length header, got {head!r}")


@dataclass
class Result:
    latencies_ms: np.ndarray
    seconds: float
    errors: int

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds


def sequential(host: str, port: int, path: str, body: bytes, n: int, warmup: int = 50) -> Result:
    """``n`` requests one after the other on one keep-alive connection."""
    req = request_bytes(host, port, path, body)
    lat: list[float] = []
    errors = 0
    with socket.create_connection((host, port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        t_start = time.perf_counter()
        for k in range(warmup + n):
            t = time.perf_counter()
            s.sendall(req)
            status, _ = read_response(f)
            if k >= warmup:
                lat.append(time.perf_counter() - t)
                errors += status != 200
            else:
                t_start = time.perf_counter()
    return Result(np.array(lat) * 1e3, time.perf_counter() - t_start, errors)


async def _worker(
    host: str,
    port: int,
    req: bytes,
    end: float,
    lat: list[float],
    errs: list[int],
    sent_first: asyncio.Event,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while time.perf_counter() < end:
            t = time.perf_counter()
            writer.write(req)
            await writer.drain()
            sent_first.set()
            head = await reader.readuntil(b"\r\n\r\n")
            status, length = _parse_head(head)
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t)
            if status != 200:
                errs.append(status)
    finally:
        sent_first.set()
        writer.close()


def concurrent(
    host: str, port: int, path: str, body: bytes, seconds: float, conc: int = 8
) -> Result:
    """``conc`` keep-alive connections, each sending its next request when the last answers,
    for ``seconds`` (closed loop, as wrk does).

    Connections open one after another, each once the previous one has sent its first request
    — the way a client's connection pool grows under load. Opened all at the same instant
    against an idle multi-worker server, they would all be accepted by one worker (asyncio
    accepts every pending connection in one go) and stay pinned to it.
    """
    req = request_bytes(host, port, path, body)

    async def run(duration: float, lat: list[float], errs: list[int]) -> float:
        end = time.perf_counter() + duration
        tasks = []
        t0 = time.perf_counter()
        for _ in range(conc):
            sent = asyncio.Event()
            tasks.append(asyncio.create_task(_worker(host, port, req, end, lat, errs, sent)))
            await sent.wait()
        await asyncio.gather(*tasks)
        return time.perf_counter() - t0

    asyncio.run(run(1.0, [], []))  # warm-up
    lat: list[float] = []
    errs: list[int] = []
    dt = asyncio.run(run(seconds, lat, errs))
    return Result(np.array(lat) * 1e3, dt, len(errs))
