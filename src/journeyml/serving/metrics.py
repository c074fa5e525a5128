"""Prometheus gauges and counters of the event store's side of the service, appended to the
service's own on ``GET /metrics`` (values of the worker that answers, like the others there).

- ``journeyml_store_events_total{result}``: events received by ``POST /events``: ``accepted``,
  ``duplicate``, ``rejected``;
- ``journeyml_prediction_log_written_total``, ``journeyml_prediction_log_dropped_total``;
- ``journeyml_prediction_log_pending``: entries waiting in the workers' buffers;
- ``journeyml_store_up``: 1 when the last write to the store succeeded, 0 when it failed.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
EVENTS = Counter(
    "journeyml_store_events",
    "Events received by POST /events, by result.",
    ["result"],
    registry=REGISTRY,
)
LOG_WRITTEN = Counter(
    "journeyml_prediction_log_written", "Prediction-log entries written.", registry=REGISTRY
)
LOG_DROPPED = Counter(
    "journeyml_prediction_log_dropped",
    "Prediction-log entries dropped (buffer full).",
    registry=REGISTRY,
)
LOG_PENDING = Gauge(
    "journeyml_prediction_log_pending",
    "Prediction-log entries waiting to be written.",
    registry=REGISTRY,
)
STORE_UP = Gauge(
    "journeyml_store_up",
    "1 when the last write to the event store succeeded, 0 when it failed.",
    registry=REGISTRY,
)


def render() -> str:
    """The store's metrics in the Prometheus text format."""
    return generate_latest(REGISTRY).decode()


def ingested(accepted: int, duplicates: int, rejected: int) -> None:
    EVENTS.labels("accepted").inc(accepted)
    EVENTS.labels("duplicate").inc(duplicates)
    EVENTS.labels("rejected").inc(rejected)
    STORE_UP.set(1)


def log_flushed(written: int, pending: int, *, ok: bool) -> None:
    LOG_WRITTEN.inc(written)
    LOG_PENDING.set(pending)
    STORE_UP.set(1 if ok else 0)


def log_dropped() -> None:
    LOG_DROPPED.inc()
