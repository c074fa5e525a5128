"""The mechanics every simulated world shares: a day loop over all customers at once.

A world (:mod:`journeyml.sim.retail`, :mod:`journeyml.sim.b2b`) says *what* happens on a day;
this module holds *how* the day loop keeps its books, the same for every world:

* :func:`check_window` checks a simulator's size, length and start;
* :class:`Arrivals` lets customers arrive on their day;
* :class:`RecentCounts` keeps the recent exposure counts planted causes act through (an event
  on day ``e`` counts on days ``e + start .. e + end - 1``, e.g. ``1 + delay .. window``), and
  :func:`cause_rows` lays the planted causes out on them with their log-hazards;
* :func:`cdf_rows`, :func:`pick`, :func:`seconds_of_day` and :func:`session_offsets` draw
  touchpoints, channels, times of day and the seconds between a session's touchpoints;
* :class:`EventLog` collects the day's events and :func:`canonical_order` sorts them;
* :func:`first_of`, :func:`last_of`, :func:`to_timestamps` and :func:`exposure_columns` build
  the ground truth.

Nothing here draws a random number of its own unless given ``rng``: a world's draws, and so its
output for a seed, are the world's.

>>> counts = RecentCounts(n=2, starts=[1], ends=[3], days=10)  # acts on days e+1 .. e+2
>>> counts.schedule(0, np.array([0]), np.array([1]))           # customer 1, day 0
>>> [(d, counts.start_day(d)[0].tolist()) for d in range(4)]
[(0, [0, 0]), (1, [0, 1]), (2, [0, 1]), (3, [0, 0])]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from journeyml.errors import ConfigError

IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]
BoolArr = npt.NDArray[np.bool_]

#: seconds in a day
DAY = 86_400


def check_window(
    n_customers: int, days: int, start: str | pd.Timestamp, *, noun: str = "customer"
) -> pd.Timestamp:
    """The UTC start of a simulation; :class:`~journeyml.errors.ConfigError` on a bad size,
    length or start (``noun`` names what is simulated: customer, account...)."""
    if n_customers < 1:
        raise ConfigError(
            f"expected n_customers >= 1, got {n_customers}. Ask for at least one {noun}.",
            field="n_customers",
        )
    if days < 1:
        raise ConfigError(
            f"expected days >= 1, got {days}. Give the length of the window in days.",
            field="days",
        )
    try:
        ts = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"expected a start date like '2024-01-01', got {start!r}.", field="start"
        ) from exc
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


class Arrivals:
    """Customers by the day they arrive (``arrival``: a day per customer)."""

    def __init__(self, arrival: IntArr, days: int) -> None:
        self.order = np.argsort(arrival, kind="stable")
        self.bounds = np.concatenate([[0], np.cumsum(np.bincount(arrival, minlength=days))])

    def on(self, day: int) -> IntArr:
        """The customers arriving on ``day``, in increasing order."""
        return self.order[self.bounds[day] : self.bounds[day + 1]]


class RecentCounts:
    """Counts per row (a planted cause, or activity) and customer of the events that act on
    the current day: an event of day ``e`` on row ``k`` counts on days
    ``e + starts[k] .. e + ends[k] - 1``. Call :meth:`start_day` at the top of each day (it
    returns the counts, as of the start of that day) and :meth:`schedule` for the day's
    events."""

    def __init__(self, n: int, starts: Sequence[int], ends: Sequence[int], days: int) -> None:
        self.n = n
        self.days = days
        self.starts = list(starts)
        self.ends = list(ends)
        self.counts = np.zeros((len(self.starts), n), np.int32)
        self._pending: dict[int, list[tuple[IntArr, int]]] = {}  # day -> (flat indices, ±1)

    def start_day(self, day: int) -> npt.NDArray[np.int32]:
        flat_counts = self.counts.reshape(-1)
        for flat, sign in self._pending.pop(day, []):
            np.add.at(flat_counts, flat, sign)
        return self.counts

    def schedule(self, day: int, rows: IntArr, who: IntArr) -> None:
        """Events of ``day``: the ``i``-th is on row ``rows[i]``, of customer ``who[i]``."""
        for k in np.unique(rows).tolist():
            flat = k * self.n + who[rows == k]
            for when, sign in ((day + self.starts[k], 1), (day + self.ends[k], -1)):
                if when < self.days:
                    self._pending.setdefault(when, []).append((flat, sign))


@dataclass(frozen=True)
class CauseRows:
    """Planted causes as hazard terms (:func:`cause_rows`): ``recent`` holds one row per cause,
    then the activity row; ``beta_conv`` / ``beta_churn`` weigh those rows in the conversion
    and churn log-hazards (0 for the other outcome's causes and for activity); ``row_of_tp``
    is each touchpoint's cause row (-1 where it plants nothing)."""

    recent: RecentCounts
    beta_conv: FloatArr
    beta_churn: FloatArr
    row_of_tp: IntArr
    activity_row: int


def cause_rows(
    causes: Sequence[Any],
    tp_index: dict[str, int],
    n: int,
    *,
    engage_days: int,
    days: int,
) -> CauseRows:
    """Lay ``causes`` (planted causes: touchpoint, outcome, direction, log_hazard, delay_days,
    window_days) out on :class:`RecentCounts` for ``n`` customers: a cause's event counts
    from ``1 + delay_days`` to ``window_days`` days after it; the last row counts activity
    over ``engage_days``."""
    recent = RecentCounts(
        n,
        [1 + c.delay_days for c in causes] + [1],
        [c.window_days + 1 for c in causes] + [engage_days + 1],
        days,
    )
    beta = np.array([c.direction * c.log_hazard for c in causes] + [0.0])
    beta_conv = np.where([c.outcome == "conversion" for c in causes] + [False], beta, 0.0)
    beta_churn = np.where([c.outcome == "churn" for c in causes] + [False], beta, 0.0)
    row_of_tp = np.full(len(tp_index), -1, np.int64)
    for k, c in enumerate(causes):
        row_of_tp[tp_index[c.touchpoint]] = k
    return CauseRows(recent, beta_conv, beta_churn, row_of_tp, len(causes))


def cdf_rows(weights: FloatArr) -> FloatArr:
    """Row-wise cumulative probabilities of a weight array (last axis)."""
    cdf = np.cumsum(weights, axis=-1)
    cdf = cdf / cdf[..., -1:]
    cdf[..., -1] = 1.0  # exact, so that u < 1 never falls past the last column
    return cdf


def pick(cdf: FloatArr, u: FloatArr) -> IntArr:
    """Inverse-CDF draw: column index per row of ``cdf`` (shape m x k) for uniforms ``u``."""
    return (u[:, None] >= cdf).sum(axis=1).astype(np.int64)


def seconds_of_day(
    rng: np.random.Generator, hour_cdf: FloatArr, m: int, latest: int = DAY - 1
) -> IntArr:
    """``m`` seconds into the day following the daily rhythm ``hour_cdf`` (24 hours), at most
    ``latest``."""
    hour = np.searchsorted(hour_cdf, rng.random(m), side="right")
    sec = hour * 3600 + rng.integers(0, 3600, m)
    return np.minimum(sec, latest).astype(np.int64)


def session_offsets(gaps: IntArr, sizes: IntArr) -> IntArr:
    """Seconds from each session's first touchpoint to each of its touchpoints: sessions of
    ``sizes`` touchpoints laid end to end, ``gaps`` seconds before each touchpoint (the first
    one's gap is not counted)."""
    total = np.cumsum(gaps)
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return total - total[first]


class EventLog:
    """Event columns collected day by day (customer, touchpoint, channel, second from the
    start, value), concatenated once at the end. A world that draws channels afterwards
    leaves ``ch`` out on every call."""

    def __init__(self) -> None:
        self.parts: list[tuple[IntArr, IntArr, IntArr | None, IntArr, FloatArr]] = []

    def add(
        self,
        cust: IntArr,
        tp: IntArr,
        sec: IntArr,
        value: FloatArr | None = None,
        ch: IntArr | None = None,
    ) -> None:
        if len(cust) == 0:
            return
        val = np.full(len(cust), np.nan) if value is None else value
        self.parts.append((cust, tp, ch, sec, val))

    def arrays(self) -> tuple[IntArr, IntArr, IntArr, IntArr, FloatArr]:
        """``cust, tp, ch, sec, value``; ``ch`` is empty when no call gave channels."""
        empty = np.zeros(0, dtype=np.int64)
        if not self.parts:
            return empty, empty, empty, empty, np.zeros(0)
        cust, tp, ch, sec, value = zip(*self.parts, strict=True)
        channels = empty if ch[0] is None else np.concatenate(ch)
        return (
            np.concatenate(cust),
            np.concatenate(tp),
            channels,
            np.concatenate(sec),
            np.concatenate(value),
        )


def canonical_order(
    cust: IntArr, sec: IntArr, tp: IntArr, touchpoints: Sequence[str], n: int, days: int
) -> IntArr:
    """The permutation that sorts events by customer, time, then touchpoint name (stable)."""
    tp_rank = np.argsort(np.argsort(np.array(touchpoints)))
    n_tp = len(touchpoints)
    span = days * DAY
    if n * span * n_tp < 2**62:
        key = (cust * span + sec) * n_tp + tp_rank[tp]
        return np.argsort(key, kind="stable")
    return np.lexsort((tp_rank[tp], sec, cust))  # pragma: no cover - astronomically large runs


def events_frame(
    ids: np.ndarray,
    cust: IntArr,
    ts_ns: IntArr,
    touchpoints: Sequence[str],
    tp: IntArr,
    channel: np.ndarray,
    stage_of: Mapping[str, str],
    value: FloatArr,
    attributes: Mapping[str, tuple[Sequence[str], IntArr]],
) -> pd.DataFrame:
    """A simulated world's event log in the canonical columns: customer ids ``ids[cust]``, UTC
    times of ``ts_ns``, touchpoint names, the events' ``channel``, each touchpoint's stage,
    ``value``, and per customer attribute the name of its code (``names``, ``codes`` per
    customer)."""
    names = np.array(touchpoints, dtype=object)
    frame: dict[str, Any] = {
        "customer_id": pd.Series(ids[cust], dtype=object),
        "timestamp": pd.DatetimeIndex(ts_ns.view("datetime64[ns]")).tz_localize("UTC"),
        "touchpoint": pd.Series(names[tp], dtype=object),
        "channel": pd.Series(channel, dtype=object),
        "stage": pd.Series(np.array([stage_of[t] for t in names], dtype=object)[tp], dtype=object),
        "value": value.astype(np.float64),
    }
    for column, (labels, codes) in attributes.items():
        frame[column] = pd.Series(np.array(labels, dtype=object)[codes[cust]], dtype=object)
    return pd.DataFrame(frame)


def first_of(cust: IntArr, ts_ns: IntArr, mask: BoolArr, n: int) -> FloatArr:
    """ns timestamp of each customer's first event in ``mask`` (NaN if none); events sorted."""
    out = np.full(n, np.nan)
    uniq, first = np.unique(cust[mask], return_index=True)
    out[uniq] = ts_ns[mask][first]
    return out


def last_of(cust: IntArr, ts_ns: IntArr, n: int) -> FloatArr:
    """ns timestamp of each customer's last event (NaN if none); events sorted."""
    out = np.full(n, np.nan)
    if len(cust):
        ends = np.flatnonzero(np.r_[cust[1:] != cust[:-1], True])
        out[cust[ends]] = ts_ns[ends]
    return out


def to_timestamps(ns: FloatArr) -> pd.DatetimeIndex:
    """UTC timestamps of ns values (NaN → NaT)."""
    vals = np.where(np.isnan(ns), np.iinfo(np.int64).min, ns).astype(np.int64)
    return pd.DatetimeIndex(vals.view("datetime64[ns]")).tz_localize("UTC")


def exposure_columns(
    cust: IntArr, tp: IntArr, causes: Sequence[Any], tp_index: dict[str, int], n: int
) -> pd.DataFrame:
    """Per customer and planted cause: ``exposed_<name>`` (any event of its touchpoint) and
    ``n_<name>`` (how many)."""
    extra: dict[str, Any] = {}
    for cause in causes:
        counts = np.bincount(cust[tp == tp_index[cause.touchpoint]], minlength=n)
        extra[f"exposed_{cause.name}"] = counts > 0
        extra[f"n_{cause.name}"] = counts.astype(np.int64)
    return pd.DataFrame(extra)
