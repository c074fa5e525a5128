"""Event ids and journey digests: what makes ingest idempotent and a prediction replayable.

An event's **id** is the client's ``event_id`` when it gives one, else a hash of the fields by which
validation's ``duplicate_event`` rule tells two rows are the same event: customer, timestamp to
the nanosecond, touchpoint, channel and value. Sending the same event twice stores it
once. A log whose rows may legitimately repeat (``duplicates: keep`` in its mapping) ingests with
``keep_repeats``: the second identical row of one load gets the id of "the same content, second
occurrence", so re-ingesting that file still adds nothing.

A journey's **digest** hashes every field of the events a prediction used (stage and
attributes too), in any order, so a replay can tell whether it saw the same events.

>>> a = content_id("c1", 1_700_000_000_123_456_789, "visit", "web", None)
>>> a == content_id("c1", 1_700_000_000_123_456_789, "visit", "web", float("nan")), len(a)
(True, 32)
>>> a == content_id("c1", 1_700_000_000_123_456_790, "visit", "web", None)
False
>>> e1 = {"timestamp": "2024-05-01T10:00:00Z", "touchpoint": "visit", "segment": "new"}
>>> e2 = {"timestamp": "2024-05-02T10:00:00Z", "touchpoint": "purchase", "value": 20}
>>> journey_digest([e1, e2]) == journey_digest([e2, e1]) != journey_digest([e1])
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from journeyml.events import CHANNEL, CUSTOMER_ID, DEFAULT_CHANNEL, STAGE, TIMESTAMP, TOUCHPOINT
from journeyml.events import VALUE as VALUE_COL
from journeyml.features import to_ns

#: the optional column (frames) or key (records) with the client's own event id
EVENT_ID: Final = "event_id"
#: keys of an event record that are not attributes
RECORD_KEYS: Final = frozenset(
    {CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, CHANNEL, STAGE, VALUE_COL, EVENT_ID, "attributes"}
)
_SEP: Final = "\x1f"


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def is_missing(v: Any) -> bool:
    """None, NaN, NaT or pandas' NA."""
    if v is None:
        return True
    try:
        return bool(v != v)
    except (TypeError, ValueError):
        return False


def _number(v: Any) -> str:
    return "" if is_missing(v) else repr(float(v))


def content_id(
    customer_id: str, ts_ns: int, touchpoint: str, channel: str, value: Any, occurrence: int = 0
) -> str:
    """The id of an event that came without one (``occurrence`` > 0: a genuine repeat)."""
    key = _SEP.join((customer_id, str(ts_ns), touchpoint, channel, _number(value)))
    return _hash(key if occurrence == 0 else f"{key}{_SEP}#{occurrence}")


def assign_ids(
    customer_ids: Sequence[str],
    ts_ns: Sequence[int],
    touchpoints: Sequence[str],
    channels: Sequence[str],
    values: Sequence[Any],
    given: Sequence[Any] | None = None,
    *,
    keep_repeats: bool = False,
) -> list[str]:
    """Ids of a batch of events: the given id where there is one, else the content id; with
    ``keep_repeats`` the k-th identical event of the batch is told apart from the first."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, (c, t, p, ch, v) in enumerate(
        zip(customer_ids, ts_ns, touchpoints, channels, values, strict=True)
    ):
        g = None if given is None else given[i]
        if not is_missing(g):
            out.append(str(g))
            continue
        first = content_id(c, t, p, ch, v)
        k = 0
        if keep_repeats:
            k = seen.get(first, 0)
            seen[first] = k + 1
        out.append(first if k == 0 else content_id(c, t, p, ch, v, k))
    return out


def _json_value(v: Any) -> Any:
    """A JSON-ready attribute value (numbers as float, so 1 and 1.0 agree)."""
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int | float):
        return float(v)
    item = getattr(v, "item", None)  # numpy scalars
    if callable(item):
        return _json_value(item())
    iso = getattr(v, "isoformat", None)
    return iso() if callable(iso) else str(v)


def record_attributes(record: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes of an event record: a nested ``attributes`` dict and/or extra keys
    (missing values dropped)."""
    out: dict[str, Any] = {}
    nested = record.get("attributes")
    if isinstance(nested, Mapping):
        out.update({str(k): v for k, v in nested.items() if not is_missing(v)})
    for k, v in record.items():
        if k not in RECORD_KEYS and not is_missing(v):
            out.setdefault(str(k), v)
    return out


def event_fingerprint(record: Mapping[str, Any]) -> str:
    """Every field of one event record as one line of text (the unit of a digest)."""
    channel = record.get(CHANNEL)
    stage = record.get(STAGE)
    attrs = {k: _json_value(v) for k, v in sorted(record_attributes(record).items())}
    return _SEP.join(
        (
            str(to_ns(record[TIMESTAMP])),
            str(record[TOUCHPOINT]),
            DEFAULT_CHANNEL if is_missing(channel) else str(channel),
            "" if is_missing(stage) else str(stage),
            _number(record.get(VALUE_COL)),
            json.dumps(attrs, sort_keys=True, separators=(",", ":")) if attrs else "",
        )
    )


def journey_digest(records: Iterable[Mapping[str, Any]]) -> str:
    """A hash of a journey's events (the ones a prediction used), independent of their order.

    Pass the events strictly before ``as_of``: what the prediction saw, nothing more.
    """
    lines = sorted(event_fingerprint(r) for r in records)
    return _hash("\n".join(lines))
