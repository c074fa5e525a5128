"""Timing: the rhythm of a journey — the gaps between its last events and the mean gap.

These matter most where ``as_of`` sits right after the last event (prefix mode, process logs,
the API answering right after a touchpoint), where "days since the last event" is ~0 and says
nothing. Calendar features were tried and removed: the hour and weekday of the last event cost
0.04 accuracy on BPIC 2013 under a chronological split (the working patterns of the training
period do not hold in the test period), and the hour of ``as_of`` would skew serving (training
snapshots sit at midnight, requests come at any time).

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
    last = ts[np.clip(ctx.end - 1, 0, max(n - 1, 0))] if n else np.zeros(count.shape, np.int64)
    first = ts[np.clip(ctx.start, 0, max(n - 1, 0))] if n else np.zeros(count.shape, np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["gap_days_mean"] = np.where(
            count >= 2, (last - first) / NS_PER_DAY / (count - 1), np.nan
        )
    return out
