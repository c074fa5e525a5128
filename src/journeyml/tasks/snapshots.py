"""Cutoffs to learn from: snapshot sampling, and the temporal split with a gap.

>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-05"], utc=True),
...     "touchpoint": ["visit"] * 3})
>>> every_n_days(ev, 7, end=pd.Timestamp("2024-01-20", tz="UTC"))
  customer_id                     as_of
0           a 2024-01-08 00:00:00+00:00
1           a 2024-01-15 00:00:00+00:00
2           b 2024-01-08 00:00:00+00:00
3           b 2024-01-15 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError, EmptyDataError
from journeyml.events import CUSTOMER_ID, TIMESTAMP, is_canonical, to_canonical
from journeyml.features import AS_OF, N_EVENTS


def _canon(events: pd.DataFrame) -> pd.DataFrame:
    ev = events if is_canonical(events) else to_canonical(events)
    if ev.empty:
        raise EmptyDataError("expected events to sample cutoffs from, got none.")
    return ev


def every_n_days(
    events: pd.DataFrame,
    every_days: float,
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """A cutoff every ``every_days`` (UTC midnights from the first event's day + step) for
    each customer already seen before it. ``end`` (exclusive) defaults to the last event.

    >>> from journeyml import every_n_days, toy
    >>> every_n_days(toy.journeys(), every_days=7)   # each customer seen before the cutoff
      customer_id                     as_of
    0         ann 2024-01-08 00:00:00+00:00
    1         ann 2024-01-15 00:00:00+00:00
    2         bob 2024-01-08 00:00:00+00:00
    3         bob 2024-01-15 00:00:00+00:00
    4         cat 2024-01-08 00:00:00+00:00
    5         cat 2024-01-15 00:00:00+00:00
    """
    ev = _canon(events)
    if every_days <= 0:
        raise ConfigError(f"expected every_days > 0, got {every_days}", field="every_days")
    t0 = start if start is not None else ev[TIMESTAMP].min().floor("D")
    t1 = end if end is not None else ev[TIMESTAMP].max()
    grid = pd.date_range(
        t0 + pd.Timedelta(days=every_days), t1, freq=pd.Timedelta(days=every_days), inclusive="left"
    )
    first = ev.groupby(CUSTOMER_ID, sort=True)[TIMESTAMP].min()
    ids = first.index.to_numpy(dtype=object)
    f = first.to_numpy("datetime64[ns]")
    g = grid.to_numpy("datetime64[ns]")
    ci, gi = np.nonzero(f[:, None] < g[None, :])
    # object dtype from the start: the column shares the customers' string objects (a
    # string column converted to object afterwards makes one new string per cutoff: 64
    # bytes each, hundreds of megabytes at millions of cutoffs)
    out = pd.DataFrame({CUSTOMER_ID: pd.Series(ids[ci], dtype=object), AS_OF: grid[gi]})
    return out.sort_values([CUSTOMER_ID, AS_OF], kind="stable").reset_index(drop=True)


def fixed_dates(events: pd.DataFrame, dates: Sequence[str | pd.Timestamp]) -> pd.DataFrame:
    """A cutoff at each given date for each customer seen before it."""
    ev = _canon(events)
    first = ev.groupby(CUSTOMER_ID, sort=True)[TIMESTAMP].min()
    rows = []
    for d in dates:
        t = pd.Timestamp(d)
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        ids = first.index[first < t]
        rows.append(pd.DataFrame({CUSTOMER_ID: ids.to_numpy(dtype=object), AS_OF: t}))
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values([CUSTOMER_ID, AS_OF], kind="stable").reset_index(drop=True)


def at_each_event(
    events: pd.DataFrame, *, min_prefix: int = 1, max_prefix: int | None = None
) -> pd.DataFrame:
    """Prefix mode (process monitoring): a cutoff after each event, ``n_events`` = k for the
    prefix of the first k events; ``as_of`` is just after the k-th event's time. Prefixes
    longer than ``max_prefix`` (if given) are left out.

    >>> from journeyml import at_each_event, toy
    >>> prefixes = at_each_event(toy.journeys())     # just after each event
    >>> prefixes[prefixes.customer_id == "bob"]
      customer_id                               as_of  n_events
    4         bob 2024-01-02 08:00:00.000000001+00:00         1
    5         bob 2024-01-20 18:00:00.000000001+00:00         2
    """
    ev = _canon(events)
    k = ev.groupby(CUSTOMER_ID, sort=False).cumcount().to_numpy() + 1
    out = pd.DataFrame(
        {
            CUSTOMER_ID: ev[CUSTOMER_ID].to_numpy(dtype=object),
            AS_OF: ev[TIMESTAMP] + pd.Timedelta(1, "ns"),
            N_EVENTS: k,
        }
    )
    keep = out[N_EVENTS] >= min_prefix
    if max_prefix is not None:
        keep &= out[N_EVENTS] <= max_prefix
    return out[keep].reset_index(drop=True)


@dataclass(frozen=True)
class TemporalSplit:
    """Boolean masks over cutoffs, and the dates that define them. ``by``: ``"time"`` (the
    cutoffs' own times, with a gap) or ``"case_start"`` (whole cases, by when they started)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    valid_start: pd.Timestamp
    test_start: pd.Timestamp
    by: str = "time"


def temporal_split(
    cutoffs: pd.DataFrame,
    *,
    horizon_days: float,
    test_fraction: float = 0.2,
    valid_fraction: float = 0.2,
    gap_days: float | None = None,
) -> TemporalSplit:
    """Split cutoffs by time: train | gap | valid | gap | test.

    The gap (default and minimum: the horizon) makes every training label window end before
    the first validation cutoff, and every validation label window before the first test
    cutoff, so no outcome seen in training overlaps a period it is evaluated on.

    >>> from journeyml import every_n_days, simulate, temporal_split
    >>> cutoffs = every_n_days(simulate(200, seed=1, days=120).events, every_days=7)
    >>> split = temporal_split(cutoffs, horizon_days=14)
    >>> str(split.valid_start.date()), str(split.test_start.date())
    ('2024-03-11', '2024-04-08')
    >>> bool((cutoffs.as_of[split.train] < split.valid_start).all())
    True
    """
    gap = horizon_days if gap_days is None else gap_days
    if gap < horizon_days:
        raise ConfigError(
            f"expected a gap of at least the horizon ({horizon_days} days), got {gap}",
            field="gap_days",
        )
    _check_fractions(test_fraction, valid_fraction)
    tv = pd.to_datetime(cutoffs[AS_OF], utc=True).to_numpy("datetime64[ns]")
    dates = np.unique(tv)
    if len(dates) < 3:
        raise EmptyDataError(
            f"expected cutoffs at 3 or more distinct times for a temporal split, got {len(dates)}."
            " Sample snapshots more often or use a longer log."
        )
    g = pd.Timedelta(days=gap).to_timedelta64()
    ts_ = dates[int(np.floor(len(dates) * (1 - test_fraction)))]
    # the validation window is the tail of the dates whose label window ends before ts_
    before = dates[dates + g <= ts_]
    share = valid_fraction / (1 - test_fraction)
    if len(before) < 2:
        raise EmptyDataError(
            f"expected cutoffs more than the gap ({gap} days) before the test window "
            f"({pd.Timestamp(ts_).date()}), got {len(before)} dates. Use a longer log, a shorter "
            "horizon, or a smaller test_fraction."
        )
    vs_ = before[min(len(before) - 1, int(np.floor(len(before) * (1 - share))))]
    train = tv + g <= vs_
    valid = (tv >= vs_) & (tv + g <= ts_)
    test = tv >= ts_
    return TemporalSplit(
        train, valid, test, pd.Timestamp(vs_, tz="UTC"), pd.Timestamp(ts_, tz="UTC")
    )


def held_out(split: TemporalSplit, cutoffs: pd.DataFrame) -> dict[str, str | float]:
    """What a model trained on ``split`` records of the time it was not fitted to, so that
    evidence can later be read on cutoffs it never learnt from (the report's pooled evidence):
    ``held_out_from``, the validation start (every training label window ends by then: the
    trees and the linear part were fitted to no outcome after it; the validation window only
    chose the number of rounds, the blend and the calibration), and ``snapshot_days``, the
    median days between the cutoff dates learnt from. For a split by case start (a case's
    outcome may lie anywhere after its start): ``held_out_cases_from``, the validation cases'
    first start (every case that started after it was validation or test: the trees and the
    linear part never saw it).

    >>> from journeyml import every_n_days, simulate, temporal_split
    >>> cutoffs = every_n_days(simulate(200, seed=1, days=120).events, every_days=7)
    >>> held_out(temporal_split(cutoffs, horizon_days=14), cutoffs)
    {'held_out_from': '2024-03-11 00:00:00+00:00', 'snapshot_days': 7.0}
    >>> ev = simulate(50, seed=1, days=60).events
    >>> prefixes = at_each_event(ev)
    >>> held_out(case_split(ev, prefixes), prefixes)
    {'held_out_cases_from': '2024-02-04 19:20:27+00:00'}
    """
    if split.by != "time":
        return {"held_out_cases_from": str(split.valid_start)}
    dates = np.unique(pd.to_datetime(cutoffs[AS_OF], utc=True).to_numpy("datetime64[ns]"))
    step = np.diff(dates) / np.timedelta64(1, "D") if len(dates) > 1 else np.array([])
    out: dict[str, str | float] = {"held_out_from": str(split.valid_start)}
    if len(step):
        out["snapshot_days"] = float(np.median(step))
    return out


def case_split(
    events: pd.DataFrame,
    cutoffs: pd.DataFrame,
    *,
    test_fraction: float = 0.2,
    valid_fraction: float = 0.2,
    eligible: np.ndarray | None = None,
) -> TemporalSplit:
    """Split whole cases by their start: the earliest-starting cases train, the next
    validate, the latest test (prefix and case-outcome tasks, whose labels may lie far after
    ``as_of``: no gap of a horizon is needed, and every prefix of a case stays on one side).
    ``eligible`` (a mask over cutoffs): only cases with an eligible cutoff are shared out.

    Training and validation prefixes that end at or after the first test case's start are
    left out, so nothing the model learns from happened in the test period's time.

    >>> ev = pd.DataFrame({"customer_id": list("abcde"), "touchpoint": "x",
    ...     "timestamp": pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")})
    >>> s = case_split(ev, at_each_event(ev), test_fraction=0.2, valid_fraction=0.2)
    >>> s.train.tolist(), s.valid.tolist(), s.test.tolist()
    ([True, True, True, False, False], [False, False, False, True, False], \
[False, False, False, False, True])
    >>> str(s.valid_start.date()), str(s.test_start.date())
    ('2024-01-04', '2024-01-05')
    """
    _check_fractions(test_fraction, valid_fraction)
    ev = _canon(events)
    first = ev.groupby(CUSTOMER_ID, sort=True)[TIMESTAMP].min().sort_values(kind="stable")
    if eligible is not None:
        used = pd.unique(cutoffs[CUSTOMER_ID].astype(str).to_numpy()[np.asarray(eligible, bool)])
        first = first[first.index.astype(str).isin(used)]
    n = len(first)
    if n < 3:
        raise EmptyDataError(
            f"expected 3 or more cases to split by case start, got {n}. Use a longer log."
        )
    n_test = max(1, round(n * test_fraction))
    n_valid = max(1, round(n * valid_fraction))
    n_train = n - n_test - n_valid
    if n_train < 1:
        raise EmptyDataError(
            f"expected cases left for training after {n_test} test and {n_valid} validation "
            f"cases, got {n_train} of {n}. Use a longer log or smaller fractions."
        )
    part = pd.Series(
        np.repeat(np.array([0, 1, 2]), [n_train, n_valid, n_test]), index=first.index.astype(str)
    )
    where = part.reindex(cutoffs[CUSTOMER_ID].astype(str)).fillna(-1).to_numpy()
    valid_start = pd.Timestamp(first.iloc[n_train])
    test_start = pd.Timestamp(first.iloc[n_train + n_valid])
    as_of = pd.to_datetime(cutoffs[AS_OF], utc=True)
    before_test = (as_of <= test_start).to_numpy()
    return TemporalSplit(
        (where == 0) & before_test,
        (where == 1) & before_test,
        where == 2,
        valid_start,
        test_start,
        by="case_start",
    )


def _check_fractions(test_fraction: float, valid_fraction: float) -> None:
    if not (
        0 < test_fraction < 1 and 0 < valid_fraction < 1 and test_fraction + valid_fraction < 1
    ):
        raise ConfigError(
            "expected 0 < test_fraction, valid_fraction and their sum < 1, got "
            f"{test_fraction} and {valid_fraction}",
            field="test_fraction",
        )
