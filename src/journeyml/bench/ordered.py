"""Loading a process log with its file order kept: the order of cases in the file, and the
order of events inside a case even where timestamps tie (Tax et al.'s files truncate times to
the second, so ties are common and sorting by time alone would shuffle them).

Timestamps inside a case are nudged to strictly increase in file order (by at most a few
nanoseconds per tie), so that the canonical sort — and with it the feature engine's "first k
events" — reproduces the file's order.

>>> import numpy as np
>>> strictly_increasing(np.array([0, 0, 0, 5, 5]), np.array([0, 0, 0, 0, 1])).tolist()
[0, 1, 2, 5, 5]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from journeyml.events import (
    CUSTOMER_ID,
    TIMESTAMP,
    TOUCHPOINT,
    ColumnSource,
    MappingRef,
    map_events,
    read_for_mapping,
)

POSITION = "_file_position"


@dataclass(frozen=True)
class OrderedLog:
    """Canonical events (sorted by case then file order) and the cases in file order."""

    events: pd.DataFrame
    #: case ids in order of first appearance in the file
    file_order: list[str]
    #: first event time per case (index: case id)
    start: pd.Series
    #: number of events per case (index: case id)
    length: pd.Series


def strictly_increasing(ns: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per group (contiguous), the smallest sequence ``>= ns`` increasing by at least 1."""
    n = len(ns)
    if n == 0:
        return ns
    pos = np.arange(n, dtype=np.int64)
    first = np.r_[True, group[1:] != group[:-1]]
    start = np.maximum.accumulate(np.where(first, pos, 0))
    i = pos - start
    shifted = pd.Series(ns - i).groupby(group).cummax().to_numpy()
    return np.asarray(shifted + i)


def load_ordered(
    path: str | Path,
    mapping: MappingRef,
    *,
    now: datetime | pd.Timestamp | None = None,
) -> OrderedLog:
    """Read ``path`` through ``mapping`` (lenient) keeping the file order of rows."""
    raw, m = read_for_mapping(path, mapping)
    raw[POSITION] = np.arange(len(raw), dtype=np.int64)
    attrs = {**m.event_attributes, POSITION: ColumnSource(column=POSITION)}
    m2 = m.model_copy(update={"event_attributes": attrs})
    ev = map_events(raw, m2, policy="lenient", now=now, source=str(path)).events
    ev[POSITION] = pd.to_numeric(ev[POSITION]).astype(np.int64)
    ev = ev.sort_values([CUSTOMER_ID, POSITION], kind="stable").reset_index(drop=True)
    codes = pd.factorize(ev[CUSTOMER_ID])[0]
    ns = ev[TIMESTAMP].to_numpy("datetime64[ns]").view(np.int64)
    ev[TIMESTAMP] = pd.to_datetime(strictly_increasing(ns, codes), utc=True).as_unit("ns")
    ev[TIMESTAMP] = ev[TIMESTAMP].astype(str(ev[TIMESTAMP].dtype))
    first_pos = ev.groupby(CUSTOMER_ID, sort=False)[POSITION].min().sort_values(kind="stable")
    start = ev.groupby(CUSTOMER_ID, sort=False)[TIMESTAMP].min()
    length = ev.groupby(CUSTOMER_ID, sort=False)[TOUCHPOINT].size()
    return OrderedLog(
        events=ev.drop(columns=[POSITION]),
        file_order=[str(c) for c in first_pos.index],
        start=start,
        length=length,
    )
