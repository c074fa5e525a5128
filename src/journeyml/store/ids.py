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

import contextlib
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import pandas as pd

from journeyml.events import CHANNEL, CUSTOMER_ID, DEFAULT_CHANNEL, STAGE, TIMESTAMP, TOUCHPOINT
from journeyml.events import VALUE as VALUE_COL
from journeyml.features import to_ns

_Timestamp: Final = pd.Timestamp

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


#: the keys of a record without attributes (the store's and the API's plain records)
_PLAIN_KEYS: Final = frozenset({TIMESTAMP, TOUCHPOINT, CHANNEL, STAGE, VALUE_COL, CUSTOMER_ID})


def event_fingerprint(record: Mapping[str, Any]) -> str:
    """Every field of one event record as one line of text (the unit of a digest)."""
    channel = record.get(CHANNEL)
    stage = record.get(STAGE)
    value = record.get(VALUE_COL)
    ts = record[TIMESTAMP]
    line = _SEP.join(
        (
            str(ts.value if type(ts) is _Timestamp else to_ns(ts)),
            str(record[TOUCHPOINT]),
            DEFAULT_CHANNEL if channel is None or is_missing(channel) else str(channel),
            "" if stage is None or is_missing(stage) else str(stage),
            "" if value is None else _number(value),
        )
    )
    if record.keys() <= _PLAIN_KEYS:  # no attributes: the common case, no dict to build
        return line + _SEP
    attrs = {k: _json_value(v) for k, v in sorted(record_attributes(record).items())}
    return line + _SEP + (json.dumps(attrs, sort_keys=True, separators=(",", ":")) if attrs else "")


def journey_digest(records: Iterable[Mapping[str, Any]]) -> str:
    """A hash of a journey's events (the ones a prediction used), independent of their order.

    Pass the events strictly before ``as_of``: what the prediction saw, nothing more.
    """
    return digest_of(event_fingerprint(r) for r in records)


def digest_of(fingerprints: Iterable[str]) -> str:
    """:func:`journey_digest` of the events with these :func:`event_fingerprint` lines."""
    return _hash("\n".join(sorted(fingerprints)))


def frame_fingerprints(frame: pd.DataFrame) -> list[str]:
    """:func:`event_fingerprint` of every row of an event frame, column by column (the same
    lines as of ``frame.to_dict("records")``, without building a dict and a Timestamp per
    row): the attributes are the columns that are not event fields."""
    n = len(frame)
    if n == 0:
        return []
    if "attributes" in frame.columns:  # nested attribute dicts: row by row
        return [event_fingerprint(r) for r in frame.to_dict("records")]
    ts = frame[TIMESTAMP].to_numpy(dtype="datetime64[ns]").view("int64").tolist()
    tps = frame[TOUCHPOINT].tolist()

    def texts(col: str, missing: str) -> list[str]:
        if col not in frame.columns:
            return [missing] * n
        return [missing if v is None or is_missing(v) else str(v) for v in frame[col].tolist()]

    channels, stages = texts(CHANNEL, DEFAULT_CHANNEL), texts(STAGE, "")
    values = (
        [_number(v) for v in frame[VALUE_COL].tolist()] if VALUE_COL in frame.columns else [""] * n
    )
    attr_cols = sorted(str(c) for c in frame.columns if c not in RECORD_KEYS)
    attrs = [""] * n
    if attr_cols:
        cols = [frame[c].tolist() for c in attr_cols]
        seen: dict[tuple[Any, ...], str] = {}
        for i in range(n):
            row = [col[i] for col in cols]
            key = tuple((v.__class__, v) for v in row)  # 1, 1.0 and True are not one value
            try:
                text = seen.get(key)
            except TypeError:  # an unhashable value: no cache
                text = None
            if text is None:
                kept = {a: _json_value(v) for a, v in zip(attr_cols, row, strict=True)
                        if not is_missing(v)}  # fmt: skip
                text = json.dumps(kept, sort_keys=True, separators=(",", ":")) if kept else ""
                if len(seen) < 10_000:  # journeys repeat the same few; bounded all the same
                    with contextlib.suppress(TypeError):
                        seen[key] = text
            attrs[i] = text
    return [
        _SEP.join((str(t), str(p), c, st, v, a))
        for t, p, c, st, v, a in zip(ts, tps, channels, stages, values, attrs, strict=True)
    ]
