"""The canonical event frame every part of journeyml works on.

One row per touchpoint event. Required: ``customer_id`` (str), ``timestamp`` (UTC),
``touchpoint`` (str). Optional: ``channel`` (str, default ``"unknown"``), ``stage`` (str or
missing), ``value`` (float or NaN). Any further column is an attribute, kept as it is.

>>> import pandas as pd
>>> raw = pd.DataFrame({"customer_id": [2, 1], "timestamp": ["2024-01-02", "2024-01-01"],
...                     "touchpoint": ["visit", "ad"]})
>>> ev = to_canonical(raw)
>>> list(ev.columns)
['customer_id', 'timestamp', 'touchpoint', 'channel', 'stage', 'value']
>>> ev["customer_id"].tolist(), ev["channel"].tolist(), str(ev["timestamp"].dtype)
(['1', '2'], ['unknown', 'unknown'], 'datetime64[ns, UTC]')
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from journeyml.errors import DataError, MissingColumnError
from journeyml.events.strings import shared_strings, sort_ranks
from journeyml.events.timestamps import TIMESTAMP_DTYPE as TIMESTAMP_DTYPE
from journeyml.events.timestamps import parse_timestamps

CUSTOMER_ID: Final = "customer_id"
TIMESTAMP: Final = "timestamp"
TOUCHPOINT: Final = "touchpoint"
CHANNEL: Final = "channel"
STAGE: Final = "stage"
VALUE: Final = "value"

REQUIRED_COLUMNS: Final = (CUSTOMER_ID, TIMESTAMP, TOUCHPOINT)
CANONICAL_COLUMNS: Final = (CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, CHANNEL, STAGE, VALUE)
DEFAULT_CHANNEL: Final = "unknown"

#: The five canonical stages of the marketing funnel, in funnel order.
CANONICAL_STAGES: Final = ("awareness", "consideration", "conversion", "retention", "advocacy")


def to_utc(values: pd.Series, *, timezone: str | None = None, column: str = TIMESTAMP) -> pd.Series:
    """Parse timestamps; naive ones are taken to be in ``timezone``; return ns UTC.

    Values with a UTC offset keep it, whatever the mix of offsets (converted to UTC exactly).
    Without a ``timezone``, naive values are UTC, unless others carry an offset: that mix
    raises :class:`DataError`, as do unparseable values (naming the first of them).

    >>> s = pd.Series(["2024-01-02T10:00:00+02:00", "2024-07-02T10:00:00+01:00"])
    >>> [str(t) for t in to_utc(s)]
    ['2024-01-02 08:00:00+00:00', '2024-07-02 09:00:00+00:00']
    >>> [str(t) for t in to_utc(pd.concat([s, pd.Series(["2024-03-02 10:00"])]),
    ...                         timezone="Europe/Rome")][2]
    '2024-03-02 09:00:00+00:00'
    """
    parsed = parse_timestamps(values, timezone=timezone or "UTC")
    bad = parsed.unparseable
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:5].tolist()
        examples = values[bad].astype(str).head(3).tolist()
        raise DataError(
            f"expected parseable timestamps in column {column!r}, got {int(bad.sum())} that "
            f"are not (rows {rows}, e.g. {examples}). Fix the values or set a format.",
            field=column,
        )
    if timezone is None:
        parsed.refuse_mixed_zones(values, column)
    return parsed.values


def to_canonical(frame: pd.DataFrame, *, timezone: str | None = None) -> pd.DataFrame:
    """Return ``frame`` as a canonical event frame: typed, UTC, sorted, with a fresh index.

    Timestamps: see :func:`to_utc` (``timezone``: the zone of values without a UTC offset;
    needed when the column mixes them with values that have one).

    Sorting is by customer, timestamp, then touchpoint, so that the order of input rows
    never matters. Attribute columns are kept after the canonical ones.

    >>> import pandas as pd
    >>> from journeyml import to_canonical
    >>> raw = pd.DataFrame({"customer_id": [2, 1],
    ...                     "timestamp": ["2024-01-02 10:00", "2024-01-01 09:00"],
    ...                     "touchpoint": ["visit", "purchase"]})
    >>> to_canonical(raw, timezone="Europe/Berlin")[["customer_id", "timestamp", "channel"]]
      customer_id                 timestamp  channel
    0           1 2024-01-01 08:00:00+00:00  unknown
    1           2 2024-01-02 09:00:00+00:00  unknown
    """
    for col in REQUIRED_COLUMNS:
        if col not in frame.columns:
            raise MissingColumnError(col, available=frame.columns)
    out = pd.DataFrame(index=frame.index)
    ids = frame[CUSTOMER_ID]
    if ids.isna().any():
        rows = np.flatnonzero(ids.isna().to_numpy())[:5].tolist()
        raise DataError(
            f"expected a customer_id on every event, got {int(ids.isna().sum())} missing "
            f"(rows {rows}). Drop those rows or validate with the lenient policy.",
            field=CUSTOMER_ID,
        )
    out[CUSTOMER_ID] = shared_strings(ids)
    out[TIMESTAMP] = to_utc(frame[TIMESTAMP], timezone=timezone)
    if out[TIMESTAMP].isna().any():
        raise DataError(
            "expected a timestamp on every event, got missing values. "
            "Drop those rows or validate with the lenient policy.",
            field=TIMESTAMP,
        )
    out[TOUCHPOINT] = shared_strings(frame[TOUCHPOINT])
    if CHANNEL in frame.columns:
        out[CHANNEL] = shared_strings(frame[CHANNEL].fillna(DEFAULT_CHANNEL))
    else:
        out[CHANNEL] = DEFAULT_CHANNEL
    if STAGE in frame.columns:
        out[STAGE] = shared_strings(frame[STAGE])
    else:
        out[STAGE] = None
    out[STAGE] = out[STAGE].astype(object)
    if VALUE in frame.columns:
        out[VALUE] = pd.to_numeric(frame[VALUE], errors="raise").astype("float64")
    else:
        out[VALUE] = np.nan
    for col in frame.columns:
        if col not in CANONICAL_COLUMNS:
            out[col] = frame[col]
    keys = (sort_ranks(out[TOUCHPOINT]), out[TIMESTAMP].array.asi8, sort_ranks(out[CUSTOMER_ID]))
    return out.take(np.lexsort(keys)).reset_index(drop=True)


def is_canonical(frame: pd.DataFrame) -> bool:
    """True if ``frame`` has the canonical columns with the canonical timestamp dtype."""
    return (
        all(c in frame.columns for c in CANONICAL_COLUMNS)
        and str(frame[TIMESTAMP].dtype) == TIMESTAMP_DTYPE
    )
