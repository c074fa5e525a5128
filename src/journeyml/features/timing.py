"""Timing: the rhythm of a journey — the gaps between its last events, the mean gap, and when
(UTC hour of day, day of week) the last event happened.

These matter most where ``as_of`` sits right after the last event (prefix mode, process logs,
the API answering right after a touchpoint), where "days since the last event" is ~0 and says
nothing. The hour and weekday of ``as_of`` itself are deliberately not features: training
snapshots sit at midnight while requests come at any time, which would skew serving.

>>> import numpy as np
>>> from journeyml.features.arrays import NS_PER_DAY
>>> ts = np.array([0, 2, 3]) * NS_PER_DAY + 6 * 3_600 * 10**9   # days 0, 2, 3 at 06:00 UTC
>>> _gaps(ts, np.array([0]), np.array([3]), k=2)
[array([1.]), array([2.])]
"""

from __future__ import annotations

import numpy as np

from journeyml.features.arrays import NS_PER_DAY
from journeyml.features.context import Context
from journeyml.features.spec import FeatureDef, FeatureSpec

FAMILY = "timing"
N_GAPS = 2
_NS_PER_HOUR = 3_600 * 10**9


def define(spec: FeatureSpec) -> list[FeatureDef]:
    defs = [
        FeatureDef(
            f"gap_days_last_{j}",
            FAMILY,
            template=(
                "{value:.1f} days between the last two events"
                if j == 1
                else f"{{value:.1f}} days between events {j + 1} and {j} from the end"
            ),
        )
        for j in range(1, N_GAPS + 1)
    ]
    defs += [
        FeatureDef("gap_days_mean", FAMILY, template="{value:.1f} days between events on average"),
        FeatureDef("last_event_hour_utc", FAMILY, template="last event at {value:.0f}h (UTC)"),
        FeatureDef("last_event_weekday", FAMILY, template="last event on weekday {value:.0f}"),
    ]
    return defs


def _gaps(ts: np.ndarray, start: np.ndarray, end: np.ndarray, *, k: int) -> list[np.ndarray]:
    """Days between consecutive events counted from the end: gap j is ts[end-j] - ts[end-j-1]."""
    n = ts.shape[0]
    out = []
    for j in range(1, k + 1):
        ok = end - j - 1 >= start
        a = ts[np.clip(end - j, 0, max(n - 1, 0))] if n else np.zeros(end.shape, np.int64)
        b = ts[np.clip(end - j - 1, 0, max(n - 1, 0))] if n else np.zeros(end.shape, np.int64)
        out.append(np.where(ok, (a - b) / NS_PER_DAY, np.nan))
    return out


def compute(ctx: Context) -> dict[str, np.ndarray]:
    ts = ctx.ev.ts
    n = ctx.ev.n
    out: dict[str, np.ndarray] = {}
    for j, g in enumerate(_gaps(ts, ctx.start, ctx.end, k=N_GAPS), start=1):
        out[f"gap_days_last_{j}"] = g
    count = ctx.end - ctx.start
    has = count > 0
    last = ts[np.clip(ctx.end - 1, 0, max(n - 1, 0))] if n else np.zeros(count.shape, np.int64)
    first = ts[np.clip(ctx.start, 0, max(n - 1, 0))] if n else np.zeros(count.shape, np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["gap_days_mean"] = np.where(
            count >= 2, (last - first) / NS_PER_DAY / (count - 1), np.nan
        )
    hour = (last % NS_PER_DAY) / _NS_PER_HOUR
    # 1970-01-01 was a Thursday: shift so that Monday is 0
    weekday = ((last // NS_PER_DAY) + 3) % 7
    out["last_event_hour_utc"] = np.where(has, np.floor(hour), np.nan)
    out["last_event_weekday"] = np.where(has, weekday, np.nan).astype(np.float64)
    return out
