"""Slow-header clients (slowloris) are timed out: a connection must deliver a complete request
head within ``header_timeout`` seconds of being opened, or of its previous answer.

Neither BentoML nor uvicorn has such a limit: uvicorn's ``timeout_keep_alive`` (BentoML's
``--timeout-keep-alive``) is armed only after an answer and cancelled by the first byte that
arrives, and a fresh connection has no timer at all, so a client sending one header byte every
few seconds holds its connection (and a file descriptor) forever; ``h11_max_incomplete_event_size``
bounds the head's size, not its time. :class:`HeaderTimeout` adds the timer to uvicorn's HTTP
protocol; :func:`install` makes it the protocol of the uvicorn server BentoML starts in this
worker (the service module is imported before that server reads its configuration).

The connection is closed without an answer (as nginx does at its ``client_header_timeout``),
counted in ``journeyml_header_timeouts_total`` and logged as one JSON line.

Slow bodies too: once a request head is complete, its whole body must arrive within
``body_timeout`` seconds (a deadline for the body, not for each read: a client trickling one
byte a second defeats a per-read timeout such as nginx's ``client_body_timeout``). Time the
server itself holds the body back is not counted: while reading is paused (the application
has not yet asked for the buffered body, or a pipelined request waits its turn) or a
``100 Continue`` is still owed, the deadline moves on. A request whose body has arrived is never
timed out, however long it takes to compute. When the deadline passes, the client gets
``408`` with the one error shape (``body_timeout``) if nothing of the answer was sent yet, and
the connection is closed; counted in ``journeyml_body_timeouts_total`` and logged as one JSON
line (no body content). The request's scope is marked :data:`BODY_TIMED_OUT`, so the
application sees a disconnect and its access line can say why.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from journeyml.errors import BodyTimeoutError
from journeyml.serving.telemetry import access_log

#: connections closed for not sending a complete request head in time (this worker)
TIMEOUTS = [0]
#: connections closed for not sending a request body in time (this worker)
BODY_TIMEOUTS = [0]
#: the scope key set on a request whose body timed out
BODY_TIMED_OUT = "journeyml.body_timed_out"


def _log(event: str, **fields: Any) -> None:
    access_log.log(
        logging.WARNING,
        json.dumps(
            {
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "event": event,
                "error": event,
                **fields,
            }
        ),
    )


class HeaderTimeout(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol with a deadline for each request head and for each body."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._body_cycle: Any = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_body()

    def on_response_complete(self) -> None:
        self._arm()  # before the next (maybe pipelined) request starts a new cycle
        super().on_response_complete()
        self._watch_body()  # a pipelined request may have started

    def connection_lost(self, exc: Exception | None) -> None:
        for name in ("_head_timer", "_body_timer"):
            timer = getattr(self, name, None)
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def _watch_body(self) -> None:
        """Start the body deadline when a new request head has arrived with its body still to
        come; stop it once the body is complete."""
        cycle = self.cycle
        if cycle is None:
            return
        if cycle is not self._body_cycle:
            self._body_cycle = cycle
            self._stop_body_timer()
            if cycle.more_body and not cycle.response_complete:
                self._body_timer = self.loop.call_later(self.body_timeout, self._body_expired)
        elif not cycle.more_body:
            self._stop_body_timer()

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_expired(self) -> None:
        self._body_timer = None
        cycle = self._body_cycle
        if cycle is not self.cycle or not cycle.more_body or self.transport.is_closing():
            return
        if self.flow.read_paused or getattr(cycle, "waiting_for_100_continue", False):
            # the server holds the body back, not the client: give it the whole time again
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_expired)
            return
        BODY_TIMEOUTS[0] += 1
        cycle.scope[BODY_TIMED_OUT] = True
        answered = bool(cycle.response_started)
        if not answered:
            self.transport.write(_response_408(self.body_timeout))
        _log("body_timeout", seconds=self.body_timeout, answered_408=not answered)
        self.transport.close()

    def _arm(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
        self._head_cycle = self.cycle  # a new request head replaces it
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(
            self.header_timeout, self._expired
        )

    def _expired(self) -> None:
        self._head_timer = None
        no_new_head = self.cycle is self._head_cycle
        idle = self.cycle is None or self.cycle.response_complete
        if no_new_head and idle and not self.transport.is_closing():
            TIMEOUTS[0] += 1
            _log("header_timeout", seconds=self.header_timeout)
            self.transport.close()


def _response_408(seconds: float) -> bytes:
    """The raw answer (the application is still waiting for the body, so it cannot send it)."""
    error = BodyTimeoutError(
        f"expected the request body within {seconds:g} seconds of its headers, got only part "
        "of it. Send the body without pauses, or raise JOURNEYML_BODY_TIMEOUT for slow links.",
        field="body",
        details={"timeout_seconds": seconds},
    )
    body = json.dumps(error.to_dict()).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def install(header_timeout: float, body_timeout: float = 30.0) -> None:
    """Make :class:`HeaderTimeout` (with ``header_timeout`` seconds for a head and
    ``body_timeout`` for a body) the HTTP protocol of the uvicorn servers started in this
    process from now on (BentoML asks for ``auto``)."""
    import uvicorn.config

    HeaderTimeout.header_timeout = float(header_timeout)
    HeaderTimeout.body_timeout = float(body_timeout)
    uvicorn.config.HTTP_PROTOCOLS["auto"] = f"{__name__}:HeaderTimeout"


def render() -> str:
    """The counters in the Prometheus text format."""
    return (
        "# HELP journeyml_header_timeouts_total Connections closed for not sending a complete "
        "request head in time.\n"
        "# TYPE journeyml_header_timeouts_total counter\n"
        f"journeyml_header_timeouts_total {TIMEOUTS[0]}\n"
        "# HELP journeyml_body_timeouts_total Connections closed for not sending a request "
        "body in time.\n"
        "# TYPE journeyml_body_timeouts_total counter\n"
        f"journeyml_body_timeouts_total {BODY_TIMEOUTS[0]}\n"
    )
