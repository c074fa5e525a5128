"""A request's events merged with the customer's stored journey (``"use_store": true``).

The stored events (strictly before ``as_of`` when it is given) come first; a sent event that
the store already holds (same time to the nanosecond, touchpoint, channel and value: the
store's own duplicate rule) is counted once. The result is in time order.

>>> from datetime import datetime, UTC
>>> t = datetime(2024, 5, 1, tzinfo=UTC)
>>> stored = [{"timestamp": t, "touchpoint": "visit", "channel": "web", "stage": None,
...            "value": None}]
>>> sent = [dict(stored[0], channel="web"), {"timestamp": t.replace(day=2), "touchpoint": "buy",
...          "channel": None, "stage": None, "value": 5.0}]
>>> merged, n_dup = merge_events(stored, sent)
>>> [e["touchpoint"] for e in merged], n_dup
(['visit', 'buy'], 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from journeyml.events import DEFAULT_CHANNEL
from journeyml.features import to_ns
from journeyml.store import is_missing


def _key(r: Mapping[str, Any]) -> tuple[int, str, str, float | None]:
    ch = r.get("channel")
    v: Any = r.get("value")
    return (
        to_ns(r["timestamp"]),
        str(r["touchpoint"]),
        DEFAULT_CHANNEL if is_missing(ch) else str(ch),
        None if is_missing(v) else float(v),
    )


def merge_events(
    stored: Sequence[dict[str, Any]], sent: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """(stored + the sent events the store does not hold, in time order; how many sent events
    it held already)."""
    known = {_key(r) for r in stored}
    new = [r for r in sent if _key(r) not in known]
    merged = sorted([*stored, *new], key=lambda r: to_ns(r["timestamp"]))
    return merged, len(sent) - len(new)
