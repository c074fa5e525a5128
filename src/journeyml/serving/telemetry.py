"""What the service tells its operators: Prometheus metrics with bounded cardinality and one
JSON log line per request.

Every label value comes from a closed set: the route (a known path template, else ``other``),
the status code, the error code (journeyml's own codes), the task (the models' tasks). A
client sending random paths or error-provoking bodies cannot add series.

>>> m = Metrics(routes=["/predict"])
>>> m.observe("/nowhere/123", "GET", 404, 0.001, "not_found")
>>> m.observe("/predict", "POST", 200, 0.004, None, tasks=["churn"])
>>> text = m.render({"churn": "4"})
>>> 'journeyml_requests_total{route="other",method="GET",status="404"} 1' in text
True
>>> 'journeyml_predictions_total{task="churn"} 1' in text
True
>>> 'journeyml_model_info{task="churn",version="4"} 1' in text
True
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: latency buckets (seconds) of the request histograms
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
OTHER = "other"


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$"
    )


class Metrics:
    """Counters and histograms of one worker process, rendered in the Prometheus text format."""

    def __init__(self, routes: Iterable[str]) -> None:
        self.routes = list(dict.fromkeys(routes))
        self._exact = {r for r in self.routes if "{" not in r}
        self._patterns = [(r, _template_regex(r)) for r in self.routes if "{" in r]
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self.rejected: Counter[str] = Counter()
        self.predictions: Counter[str] = Counter()
        self.hist: dict[str, list[float]] = {}  # route -> bucket counts + [sum, count]
        self.started = time.time()

    def route(self, path: str) -> str:
        """The route template of ``path``, or ``other`` (bounded cardinality)."""
        if path in self._exact:
            return path
        for template, rx in self._patterns:
            if rx.match(path):
                return template
        return OTHER

    def observe(
        self,
        path: str,
        method: str,
        status: int,
        seconds: float,
        error: str | None,
        *,
        tasks: Sequence[str] = (),
    ) -> None:
        route = self.route(path)
        m = method if method in METHODS else OTHER
        self.requests[(route, m, str(status))] += 1
        if error is not None and status >= 400:
            self.rejected[error[:40] if error.isidentifier() else OTHER] += 1
        for t in tasks:
            self.predictions[t] += 1
        h = self.hist.get(route)
        if h is None:
            h = self.hist[route] = [0.0] * (len(BUCKETS) + 2)
        for i, b in enumerate(BUCKETS):
            if seconds <= b:
                h[i] += 1
        h[-2] += seconds
        h[-1] += 1

    def render(self, versions: Mapping[str, str]) -> str:
        out = [
            "# HELP journeyml_requests_total HTTP requests by route template, method, status.",
            "# TYPE journeyml_requests_total counter",
        ]
        for (route, method, status), n in sorted(self.requests.items()):
            out.append(
                f'journeyml_requests_total{{route="{route}",method="{method}",'
                f'status="{status}"}} {n}'
            )
        out += [
            "# HELP journeyml_request_duration_seconds Request latency by route template.",
            "# TYPE journeyml_request_duration_seconds histogram",
        ]
        for route, h in sorted(self.hist.items()):
            for i, b in enumerate(BUCKETS):
                out.append(
                    f'journeyml_request_duration_seconds_bucket{{route="{route}",le="{b}"}} '
                    f"{int(h[i])}"
                )
            out.append(
                f'journeyml_request_duration_seconds_bucket{{route="{route}",le="+Inf"}} '
                f"{int(h[-1])}"
            )
            out.append(f'journeyml_request_duration_seconds_sum{{route="{route}"}} {h[-2]:.6f}')
            out.append(f'journeyml_request_duration_seconds_count{{route="{route}"}} {int(h[-1])}')
        out += [
            "# HELP journeyml_rejected_requests_total Requests answered with an error, by code.",
            "# TYPE journeyml_rejected_requests_total counter",
        ]
        out += [
            f'journeyml_rejected_requests_total{{code="{c}"}} {n}'
            for c, n in sorted(self.rejected.items())
        ]
        out += [
            "# HELP journeyml_predictions_total Journeys scored, by task.",
            "# TYPE journeyml_predictions_total counter",
        ]
        out += [
            f'journeyml_predictions_total{{task="{t}"}} {n}'
            for t, n in sorted(self.predictions.items())
        ]
        out += [
            "# HELP journeyml_model_info The model version served for each task.",
            "# TYPE journeyml_model_info gauge",
        ]
        out += [
            f'journeyml_model_info{{task="{t}",version="{_label(v)}"}} 1'
            for t, v in sorted(versions.items())
        ]
        out += [
            "# HELP journeyml_process_start_time_seconds Start of this worker (Unix time).",
            "# TYPE journeyml_process_start_time_seconds gauge",
            f"journeyml_process_start_time_seconds {self.started:.3f}",
        ]
        return "\n".join(out) + "\n"


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")[:64]


# --- the access log ------------------------------------------------------------------------
access_log = logging.getLogger("journeyml.access")


def _handler() -> logging.Handler:
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(logging.Formatter("%(message)s"))
    return h


if not access_log.handlers:
    access_log.addHandler(_handler())
    access_log.setLevel(logging.INFO)
    access_log.propagate = False  # one line, not repeated by the framework's handlers


def log_request(
    *,
    request_id: str,
    method: str,
    route: str,
    status: int,
    seconds: float,
    error: str | None,
) -> None:
    """One JSON line: never a body, a customer id or a raw path (the route template)."""
    rec: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "request_id": request_id,
        "method": method if method in METHODS else OTHER,
        "route": route,
        "status": status,
        "latency_ms": round(seconds * 1000, 2),
    }
    if error is not None:
        rec["error"] = error
    access_log.log(logging.WARNING if status >= 400 else logging.INFO, json.dumps(rec))
