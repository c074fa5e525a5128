"""Events between their three shapes: canonical frames, event records (the API's dicts) and rows
of the ``events`` table.

Timestamps become integer nanoseconds (UTC) on the way in and come back as nanosecond pandas
timestamps; missing channels become ``"unknown"`` as everywhere in journeyml; attributes (every
column or key beyond the canonical ones) are kept as a JSON object per event.

>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a"], "touchpoint": ["visit"], "channel": [None],
...     "timestamp": [pd.Timestamp("2024-01-01 10:00:00.000000001", tz="UTC")],
...     "stage": [None], "value": [float("nan")], "segment": ["new"]})
>>> row = rows_from_frame(ev, source="demo", ingested_at_ns=0)[0]
>>> row["ts_ns"], row["channel"], row["value"], row["attributes"]
(1704103200000000001, 'unknown', None, '{"segment":"new"}')
>>> back = frame_from_rows([(row[c] for c in SELECTED)])
>>> back.loc[0, "timestamp"].nanosecond, back.loc[0, "segment"]
(1, 'new')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd

from journeyml.errors import DataError
from journeyml.events import (
    CANONICAL_COLUMNS,
    CHANNEL,
    CUSTOMER_ID,
    DEFAULT_CHANNEL,
    STAGE,
    TIMESTAMP,
    TOUCHPOINT,
    VALUE,
    is_canonical,
    to_canonical,
)
from journeyml.features import to_ns
from journeyml.store.ids import (
    EVENT_ID,
    RECORD_KEYS,
    assign_ids,
    is_missing,
    record_attributes,
)

#: the columns read back from the events table, in this order
SELECTED: Final = (CUSTOMER_ID, "ts_ns", TOUCHPOINT, CHANNEL, STAGE, VALUE, "attributes")
#: the columns of one customer's events as records (:func:`records_from_rows`), in this order
RECORD_COLUMNS: Final = SELECTED[1:]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _plain(v: Any) -> Any:
    """An attribute value JSON can hold (numpy scalars unwrapped, times as ISO text)."""
    if isinstance(v, str | bool | int | float):
        return v
    item = getattr(v, "item", None)
    if callable(item) and not isinstance(v, pd.Timestamp):
        return _plain(item())
    iso = getattr(v, "isoformat", None)
    return iso() if callable(iso) else str(v)


def attributes_json(attrs: Mapping[str, Any]) -> str | None:
    """JSON text of an event's attributes (None when it has none)."""
    kept = {k: _plain(v) for k, v in attrs.items() if not is_missing(v)}
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False) if kept else None


def _texts(values: Iterable[Any]) -> list[str | None]:
    return [None if is_missing(v) else str(v) for v in values]


def _channels(values: Iterable[Any]) -> list[str]:
    return [DEFAULT_CHANNEL if is_missing(v) else str(v) for v in values]


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in values.astype(np.float64).tolist()]


class _AttributeTexts:
    """Encodes attributes as JSON, each distinct set once (journeys repeat the same few)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Any, ...], str | None] = {}

    def __call__(self, attrs: Mapping[str, Any]) -> str | None:
        return self._encode(tuple(attrs.items()), lambda: attrs)

    def columns(self, names: Sequence[str], values: Sequence[Any]) -> str | None:
        """The attributes of one row of a frame: ``names`` and that row's ``values``."""
        return self._encode(tuple(values), lambda: dict(zip(names, values, strict=True)))

    def _encode(self, key: tuple[Any, ...], attrs: Callable[[], Mapping[str, Any]]) -> str | None:
        try:
            return self._seen[key]
        except KeyError:
            return self._seen.setdefault(key, attributes_json(attrs()))
        except TypeError:  # unhashable values
            return attributes_json(attrs())


@dataclass(frozen=True)
class _Columns:
    """A batch of events as columns, ready to become rows of the events table."""

    customers: list[str]
    ts: list[int]
    touchpoints: list[str]
    channels: list[str]
    stages: list[str | None]
    values: list[float | None]
    attributes: list[str | None]
    given: list[Any] | None

    def rows(self, *, source: str, ingested_at_ns: int, keep_repeats: bool) -> list[dict[str, Any]]:
        ids = assign_ids(
            self.customers,
            self.ts,
            self.touchpoints,
            self.channels,
            self.values,
            self.given,
            keep_repeats=keep_repeats,
        )
        return [
            {
                CUSTOMER_ID: self.customers[i],
                EVENT_ID: ids[i],
                "ts_ns": self.ts[i],
                TOUCHPOINT: self.touchpoints[i],
                CHANNEL: self.channels[i],
                STAGE: self.stages[i],
                VALUE: self.values[i],
                "attributes": self.attributes[i],
                "source": source,
                "ingested_at_ns": ingested_at_ns,
            }
            for i in range(len(ids))
        ]


def rows_from_frame(
    events: pd.DataFrame, *, source: str, ingested_at_ns: int, keep_repeats: bool = False
) -> list[dict[str, Any]]:
    """Rows of a canonical event frame (any other frame goes through ``to_canonical``); an
    ``event_id`` column, where set, is the client's id."""
    given = events[EVENT_ID].tolist() if EVENT_ID in events.columns else None
    frame = events if is_canonical(events) else to_canonical(events)
    if given is not None and frame is not events:  # to_canonical sorted the rows
        given = frame[EVENT_ID].tolist()
    n = len(frame)
    customers = frame[CUSTOMER_ID].astype(str).tolist()
    ts = frame[TIMESTAMP].to_numpy(dtype="datetime64[ns]").view(np.int64).tolist()
    touchpoints = frame[TOUCHPOINT].astype(str).tolist()
    channels = (
        _channels(frame[CHANNEL].tolist()) if CHANNEL in frame.columns else [DEFAULT_CHANNEL] * n
    )
    none: list[None] = [None] * n
    stages: list[str | None] = _texts(frame[STAGE].tolist()) if STAGE in frame.columns else [*none]
    values: list[float | None] = (
        _floats(pd.to_numeric(frame[VALUE]).to_numpy()) if VALUE in frame.columns else [*none]
    )
    attr_cols = [c for c in frame.columns if c not in CANONICAL_COLUMNS and c != EVENT_ID]
    attr_values = [frame[c].tolist() for c in attr_cols]
    encode = _AttributeTexts()
    texts = [
        encode.columns(attr_cols, [col[i] for col in attr_values]) if attr_cols else None
        for i in range(n)
    ]
    columns = _Columns(customers, ts, touchpoints, channels, stages, values, texts, given)
    return columns.rows(source=source, ingested_at_ns=ingested_at_ns, keep_repeats=keep_repeats)


def _float(v: Any, index: int) -> float | None:
    if is_missing(v):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise DataError(
            f"expected a number as the value of event {index}, got {v!r}.",
            field=f"events.{index}.{VALUE}",
        ) from None


def _missing(v: Any) -> bool:
    """:func:`is_missing`, or an empty text (cheap for the usual str)."""
    if v.__class__ is str:
        return not v.strip()
    return is_missing(v)


def _required(record: Mapping[str, Any], key: str, index: int) -> Any:
    v = record.get(key)
    if _missing(v):
        raise DataError(
            f"expected a {key} on every event, got none on event {index}. Add it, or leave "
            "the event out.",
            field=f"events.{index}.{key}",
        )
    return v


_ONE_US: Final = timedelta(microseconds=1)


def _stamp_ns(stamp: Any, index: int) -> int:
    if stamp.__class__ is datetime and stamp.tzinfo is not None:  # what the API sends
        return int((stamp - _EPOCH) // _ONE_US) * 1000
    try:
        return to_ns(stamp)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(
            f"expected an ISO 8601 timestamp on event {index}, got {stamp!r} ({exc}).",
            field=f"events.{index}.{TIMESTAMP}",
        ) from None


def rows_from_records(
    records: Sequence[Mapping[str, Any]],
    *,
    source: str,
    ingested_at_ns: int,
    customer_id: str | None = None,
    keep_repeats: bool = False,
) -> list[dict[str, Any]]:
    """Rows of event records (the API's dicts: ``timestamp``, ``touchpoint``, optional
    ``channel``, ``stage``, ``value``, ``event_id``, attributes as extra keys or an
    ``attributes`` dict). ``customer_id`` is each record's own unless given for all.

    One pass over the records (a batch of 500 is on the request path of ``POST /events``)."""
    customers: list[str] = []
    ts: list[int] = []
    touchpoints: list[str] = []
    channels: list[str] = []
    stages: list[str | None] = []
    values: list[float | None] = []
    texts: list[str | None] = []
    given: list[Any] = []
    encode = _AttributeTexts()
    plain = RECORD_KEYS
    for i, r in enumerate(records):
        customers.append(
            str(customer_id if customer_id is not None else _required(r, CUSTOMER_ID, i))
        )
        ts.append(_stamp_ns(_required(r, TIMESTAMP, i), i))
        touchpoints.append(str(_required(r, TOUCHPOINT, i)))
        ch = r.get(CHANNEL)
        channels.append(DEFAULT_CHANNEL if ch is None or is_missing(ch) else str(ch))
        st = r.get(STAGE)
        stages.append(None if st is None or is_missing(st) else str(st))
        v = r.get(VALUE)
        values.append(None if v is None else _float(v, i))
        given.append(r.get(EVENT_ID))
        extra = r.get("attributes") or not r.keys() <= plain
        texts.append(encode(record_attributes(r)) if extra else None)
    columns = _Columns(customers, ts, touchpoints, channels, stages, values, texts, given)
    return columns.rows(source=source, ingested_at_ns=ingested_at_ns, keep_repeats=keep_repeats)


class _Attributes:
    """Parses attribute JSON, each distinct text once (journeys repeat the same few)."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, Any]] = {}

    def __call__(self, text: str | None) -> dict[str, Any]:
        if not text:
            return {}
        got = self._seen.get(text)
        if got is None:
            got = self._seen[text] = json.loads(text)
        return got


def _attribute_column(values: list[Any]) -> pd.Series:
    present = [v for v in values if v is not None]
    numeric = bool(present) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in present
    )
    if numeric:
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    return pd.Series(values, dtype=object)


def frame_from_rows(
    rows: Iterable[Sequence[Any]], attributes: Sequence[str] | None = None
) -> pd.DataFrame:
    """A canonical event frame from rows of :data:`SELECTED` (already in journey order).

    Attribute columns: ``attributes`` if given (absent ones all missing), else every attribute
    found, in the order first met.
    """
    cols = list(zip(*rows, strict=True)) or [()] * len(SELECTED)
    customer, ts, touchpoint, channel, stage, value, attr_text = cols
    parse = _Attributes()
    parsed = [parse(t) for t in attr_text]
    names = (
        list(attributes)
        if attributes is not None
        else list(dict.fromkeys(k for p in {id(d): d for d in parsed}.values() for k in p))
    )
    stamps = pd.DatetimeIndex(np.asarray(ts, dtype=np.int64).view("datetime64[ns]")).tz_localize(
        "UTC"
    )
    frame = pd.DataFrame(
        {
            CUSTOMER_ID: pd.Series(customer, dtype=object),
            TIMESTAMP: pd.Series(stamps),
            TOUCHPOINT: pd.Series(touchpoint, dtype=object),
            CHANNEL: pd.Series(channel, dtype=object),
            STAGE: pd.Series(stage, dtype=object),
            VALUE: pd.Series([np.nan if v is None else v for v in value], dtype="float64"),
        }
    )
    for name in names:
        frame[name] = _attribute_column([p.get(name) for p in parsed])
    return frame


def stamp(ns: int) -> datetime:
    """A UTC time from nanoseconds since the epoch: a plain ``datetime`` when it is exact to the
    microsecond (what ``/predict``'s own events are, and several times cheaper to build, compare
    and hash), else a nanosecond ``pd.Timestamp``.

    >>> stamp(1_704_103_200_000_001_000), stamp(1_704_103_200_000_000_001).nanosecond
    (datetime.datetime(2024, 1, 1, 10, 0, 0, 1, tzinfo=datetime.timezone.utc), 1)
    """
    us, ns_part = divmod(ns, 1000)
    if ns_part:
        return pd.Timestamp(ns, tz="UTC")
    return _EPOCH + timedelta(microseconds=us)


def stamps(ns: Sequence[int]) -> list[datetime]:
    """:func:`stamp` of each time, the nanosecond ones boxed together (a ``pd.Timestamp``
    apiece costs about twice as much built one by one).

    >>> [type(t).__name__ for t in stamps([1_704_103_200_000_001_000, 1_704_103_200_000_000_001])]
    ['datetime', 'Timestamp']
    """
    a = np.asarray(ns, dtype=np.int64)
    out: list[datetime] = [_EPOCH + timedelta(microseconds=us) for us in (a // 1000).tolist()]
    fine = np.flatnonzero(a % 1000)
    if len(fine):
        boxed = pd.DatetimeIndex(a[fine].view("datetime64[ns]")).tz_localize("UTC")
        for i, t in zip(fine.tolist(), boxed, strict=True):
            out[i] = t
    return out


def records_from_rows(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Event records, as the API's feature path takes them, from rows of
    :data:`RECORD_COLUMNS` (one customer's events; timestamps as :func:`stamp` gives them)."""
    parse = _Attributes()
    out: list[dict[str, Any]] = []
    for when, (_, touchpoint, channel, stage, value, attr_text) in zip(
        stamps([r[0] for r in rows]), rows, strict=True
    ):
        rec: dict[str, Any] = {
            TIMESTAMP: when,
            TOUCHPOINT: touchpoint,
            CHANNEL: channel,
            STAGE: stage,
            VALUE: value,
        }
        if attr_text:
            for k, v in parse(attr_text).items():
                rec.setdefault(k, v)
        out.append(rec)
    return out
