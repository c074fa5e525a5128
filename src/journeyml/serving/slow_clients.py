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
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from journeyml.serving.telemetry import access_log

#: connections closed for not sending a complete request head in time (this worker)
TIMEOUTS = [0]


class HeaderTimeout(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol with a deadline for each request head."""

    header_timeout: float = 10.0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        self._arm()  # before the next (maybe pipelined) request starts a new cycle
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)

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
            access_log.log(
                logging.WARNING,
                json.dumps(
                    {
                        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "event": "header_timeout",
                        "error": "header_timeout",
                        "seconds": self.header_timeout,
                    }
                ),
            )
            self.transport.close()


def install(header_timeout: float) -> None:
    """Make :class:`HeaderTimeout` (with ``header_timeout`` seconds) the HTTP protocol of the
    uvicorn servers started in this process from now on (BentoML asks for ``auto``)."""
    import uvicorn.config

    HeaderTimeout.header_timeout = float(header_timeout)
    uvicorn.config.HTTP_PROTOCOLS["auto"] = f"{__name__}:HeaderTimeout"


def render() -> str:
    """The counter in the Prometheus text format."""
    return (
        "# HELP journeyml_header_timeouts_total Connections closed for not sending a complete "
        "request head in time.\n"
        "# TYPE journeyml_header_timeouts_total counter\n"
        f"journeyml_header_timeouts_total {TIMEOUTS[0]}\n"
    )
