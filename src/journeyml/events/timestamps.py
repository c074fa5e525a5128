"""Parse raw timestamps row by row, without failing: UTC values plus masks of what went wrong.

Strings with an offset (``...+02:00``, ``...Z``) keep it; naive ones are read in ``timezone``
and converted to UTC. Wall-clock times that occur
twice when daylight saving ends are read as the first (summer-time) occurrence, and times
skipped when it starts are shifted forward, so a local-time log never loses a row to DST.

>>> s = pd.Series(["2024-01-02T10:00:00+02:00", "2024-01-02 10:00", "soon", None])
>>> parsed = parse_timestamps(s, timezone="Europe/Paris")
>>> [str(t) for t in parsed.values[:2]]
['2024-01-02 08:00:00+00:00', '2024-01-02 09:00:00+00:00']
>>> parsed.missing.tolist(), parsed.unparseable.tolist()
([False, False, False, True], [False, False, True, False])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from journeyml.errors import DataError
from journeyml.events.date_order import date_order

TIMESTAMP_DTYPE: Final = "datetime64[ns, UTC]"

_OFFSET_RE = r"(?:[zZ]|[+-]\d\d:?\d\d)\s*$"

#: ``timestamp_format`` values for numbers since 1970-01-01 UTC (Unix time), by unit
EPOCH_FORMATS: Final = {"epoch_s": "s", "epoch_ms": "ms", "epoch_us": "us", "epoch_ns": "ns"}

#: the magnitudes each unit gives for 1980-01-01 .. 2100-01-01: they never overlap, so the
#: size of a number tells its unit (a smaller number is no plausible time of a log)
_EPOCH_RANGES: Final = {
    unit: (315_532_800 * 1000**i, 4_102_444_800 * 1000**i) for i, unit in enumerate(EPOCH_FORMATS)
}


def epoch_format(numbers: pd.Series, share: float = 0.95) -> str | None:
    """The ``epoch_*`` format under which at least ``share`` of ``numbers`` are times between
    1980 and 2100, or None.

    >>> epoch_format(pd.Series([1746060732, 1746062065])), epoch_format(pd.Series([17, 3]))
    ('epoch_s', None)
    >>> epoch_format(pd.Series(["1746060732403", "1746062065069.5"]))
    'epoch_ms'
    """
    values = pd.to_numeric(numbers, errors="coerce").dropna()
    if values.empty:
        return None
    for fmt, (lo, hi) in _EPOCH_RANGES.items():
        if float(((values >= lo) & (values < hi)).mean()) >= share:
            return fmt
    return None


def _from_epoch(values: pd.Series, fmt: str) -> pd.Series:
    """Numbers (or their text) since the epoch in ``fmt``'s unit, as UTC; anything else NaT."""
    numbers = pd.to_numeric(values, errors="coerce")
    hi = _EPOCH_RANGES["epoch_s"][1]
    scale = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[EPOCH_FORMATS[fmt]]
    plausible = (numbers / scale >= 0) & (numbers / scale < hi)
    out = pd.to_datetime(numbers.where(plausible), unit=EPOCH_FORMATS[fmt], utc=True)
    return out.astype(TIMESTAMP_DTYPE)


@dataclass(frozen=True)
class ParsedTimestamps:
    """UTC timestamps (NaT where not parsed), the masks explaining each NaT, and which text
    values carried no UTC offset (``naive``: read in the given zone) and which did."""

    values: pd.Series
    missing: pd.Series
    unparseable: pd.Series
    naive: pd.Series
    aware: pd.Series

    def refuse_mixed_zones(self, raw: pd.Series, column: str = "timestamp") -> None:
        """Raise :class:`DataError` when some values carry a UTC offset and others do not:
        the zone of the naive ones is then a question only the user can answer (call it when
        no timezone was declared). Offsets alone, however many, convert to UTC exactly.

        >>> s = pd.Series(["2024-01-02T10:00:00+02:00", "2024-03-02 10:00"])
        >>> parse_timestamps(s).refuse_mixed_zones(s)
        Traceback (most recent call last):
        ...
        journeyml.errors.DataError: expected timestamps in column 'timestamp' all with a UTC \
offset or all without, got 1 without an offset (rows [1], e.g. ['2024-03-02 10:00']) beside 1 \
with one (e.g. ['2024-01-02T10:00:00+02:00']). Declare the time zone of those without: \
`timezone: <IANA zone>` in the mapping (e.g. Europe/Rome; timezone= in to_canonical), or \
give every value its offset.
        """
        naive, aware = self.naive & ~self.unparseable, self.aware & ~self.unparseable
        if not (naive.any() and aware.any()):
            return
        rows = np.flatnonzero(naive.to_numpy())[:5].tolist()
        examples = raw[naive.to_numpy()].astype(str).head(3).tolist()
        with_offset = raw[aware.to_numpy()].astype(str).head(1).tolist()
        raise DataError(
            f"expected timestamps in column {column!r} all with a UTC offset or all without, "
            f"got {int(naive.sum())} without an offset (rows {rows}, e.g. {examples}) beside "
            f"{int(aware.sum())} with one (e.g. {with_offset}). Declare the time zone of those "
            "without: `timezone: <IANA zone>` in the mapping (e.g. Europe/Rome; timezone= in "
            "to_canonical), or give every value its offset.",
            field=column,
        )


#: the times a nanosecond timestamp can hold (a code such as "V30" may parse as year 1)
_NS_MIN, _NS_MAX = pd.Timestamp("1678-01-01"), pd.Timestamp("2262-01-01")


def nanoseconds(ts: pd.Series) -> np.ndarray:
    """Parsed timestamps (a datetime column) as int64 nanoseconds since the epoch."""
    return np.asarray(pd.DatetimeIndex(ts).as_unit("ns").asi8)


def _in_ns_range(parsed: pd.Series) -> pd.Series:
    """``parsed`` with times a nanosecond timestamp cannot hold set to NaT (unparseable)."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        lo, hi = _NS_MIN.tz_localize("UTC"), _NS_MAX.tz_localize("UTC")
    else:
        lo, hi = _NS_MIN, _NS_MAX
    return parsed.where((parsed >= lo) & (parsed < hi))


def _to_datetime(text: pd.Series, fmt: str | None, *, utc: bool) -> pd.Series:
    """Vectorised parse to ns; values the fast path rejects get one slower ``mixed`` retry.

    >>> _to_datetime(pd.Series(["2024-01-02", "V30"]), None, utc=False).tolist()
    [Timestamp('2024-01-02 00:00:00'), NaT]
    """
    unit = TIMESTAMP_DTYPE if utc else "datetime64[ns]"
    out = pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce", utc=utc)
    if isinstance(out.dtype, pd.DatetimeTZDtype) and not utc:
        return out  # a naive-looking format that still carried offsets; caller converts
    out = _in_ns_range(out).astype(unit)
    if fmt is None:
        retry = out.isna() & text.notna()
        if retry.any():
            day_first = date_order(text[retry]) == "day_first"  # one order for the column
            try:
                again = pd.to_datetime(
                    text[retry], format="mixed", dayfirst=day_first, errors="coerce", utc=utc
                )
            except (ValueError, OverflowError):  # e.g. mixed zones: those rows stay unparsed
                return out
            if pd.api.types.is_datetime64_dtype(again.dtype) or (
                utc and isinstance(again.dtype, pd.DatetimeTZDtype)
            ):
                out[retry] = _in_ns_range(again).astype(unit)
    return out


def _localize(naive: pd.Series, timezone: str) -> pd.Series:
    if naive.empty:
        return naive.dt.tz_localize("UTC")
    local = naive.dt.tz_localize(
        timezone, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return _utc(local)


def _utc(aware: pd.Series) -> pd.Series:
    return aware.dt.tz_convert("UTC").astype(TIMESTAMP_DTYPE)


def parse_timestamps(
    values: pd.Series, *, fmt: str | None = None, timezone: str = "UTC"
) -> ParsedTimestamps:
    """Parse ``values`` (text, datetimes or datetime-like) into ``datetime64[ns, UTC]``.

    ``fmt`` is a ``strftime`` format (``%Y%m%d``) or one of :data:`EPOCH_FORMATS` (numbers
    since 1970-01-01 UTC: ``epoch_ms``); without it ISO 8601 is tried first and any other
    common form second. Never raises on bad values: see the returned masks. The
    results keep the index of ``values`` (unique or not).
    """
    if not values.index.is_unique:
        at = parse_timestamps(values.reset_index(drop=True), fmt=fmt, timezone=timezone)
        idx = values.index
        return ParsedTimestamps(
            at.values.set_axis(idx),
            at.missing.set_axis(idx),
            at.unparseable.set_axis(idx),
            at.naive.set_axis(idx),
            at.aware.set_axis(idx),
        )
    index = values.index
    no = pd.Series(False, index=index)
    if fmt in EPOCH_FORMATS:
        absent = values.isna() | (values.astype("str").str.strip() == "")
        utc = _from_epoch(values, fmt)
        return ParsedTimestamps(utc, absent, utc.isna() & ~absent, no, ~absent)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        utc = _utc(values)
        missing = utc.isna()
        return ParsedTimestamps(utc, missing, no, no, ~missing)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        missing = values.isna()
        utc = pd.Series(pd.NaT, index=index, dtype=TIMESTAMP_DTYPE)
        utc[~missing] = _localize(values[~missing], timezone)
        return ParsedTimestamps(utc, missing, no, ~missing, no)

    text = values.astype("str").where(values.notna())
    stripped = text.str.strip()
    missing = stripped.isna() | (stripped == "")
    text = stripped.where(~missing)
    if fmt is not None:
        aware = pd.Series("%z" in fmt or "%Z" in fmt, index=index) & ~missing
    else:
        aware = text.str.contains(":", regex=False, na=False) & text.str.contains(
            _OFFSET_RE, regex=True, na=False
        )
    naive = ~aware & ~missing
    utc = pd.Series(pd.NaT, index=index, dtype=TIMESTAMP_DTYPE)
    if aware.any():
        utc[aware] = _to_datetime(text[aware], fmt, utc=True)
    if naive.any():
        parsed = _to_datetime(text[naive], fmt, utc=False)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            utc[naive] = _utc(parsed)
        else:
            ok = parsed.notna()
            utc[parsed.index[ok]] = _localize(parsed[ok], timezone)
    unparseable = utc.isna() & ~missing
    return ParsedTimestamps(utc, missing, unparseable, naive, aware)
