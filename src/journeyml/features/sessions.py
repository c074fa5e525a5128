"""Sessions (a new one starts after a gap longer than ``session_gap_minutes``): count, mean
events and minutes per session, and events per active (UTC) day, all over the customer's own
events (:attr:`Context.own`: company-sent touchpoints left out)."""

from __future__ import annotations

import numpy as np

from journeyml.features.arrays import NS_PER_DAY
from journeyml.features.categories import clamp, prefix_sum
from journeyml.features.context import Context
from journeyml.features.spec import FeatureDef, FeatureSpec, window_label

FAMILY = "session"


def define(spec: FeatureSpec) -> list[FeatureDef]:
    defs = [
        FeatureDef(
            f"session_count_{window_label(w)}",
            FAMILY,
            window_days=w,
            template="{value:g} sessions" + ("" if w is None else f" in the last {w:g} days"),
        )
        for w in (*spec.params.windows_days, None)
    ]
    defs += [
        FeatureDef("session_mean_events", FAMILY, template="{value:.1f} events per session"),
        FeatureDef("session_mean_minutes", FAMILY, template="sessions last {value:.0f} minutes"),
        FeatureDef("events_per_active_day", FAMILY, template="{value:.1f} events per active day"),
        FeatureDef("active_days", FAMILY, template="active on {value:g} days"),
    ]
    return defs


def compute(ctx: Context) -> dict[str, np.ndarray]:
    ctx = ctx.own  # sessions of the customer's own events
    ev = ctx.ev
    first = ctx.first
    gap_ns = np.int64(round(ctx.spec.params.session_gap_minutes * 60 * 10**9))
    diff = np.zeros(ev.n, np.int64)
    if ev.n > 1:
        diff[1:] = ev.ts[1:] - ev.ts[:-1]
    new_session = first | (diff > gap_ns)
    in_session_gap = np.where(new_session, 0, diff).astype(np.int64)
    day = ev.ts // NS_PER_DAY
    new_day = first.copy()
    if ev.n > 1:
        new_day[1:] |= day[1:] != day[:-1]
    cs = prefix_sum(new_session.astype(np.int64))
    cd = prefix_sum(in_session_gap)
    cday = prefix_sum(new_day.astype(np.int64))
    out: dict[str, np.ndarray] = {}
    for w in (*ctx.spec.params.windows_days, None):
        lo = ctx.window_start(w)
        # a window can open in the middle of a session: count that session too
        partial = (lo < ctx.end) & ~new_session[clamp(lo, 0, max(ev.n - 1, 0))] if ev.n else lo < 0
        out[f"session_count_{window_label(w)}"] = (cs[ctx.end] - cs[lo] + partial).astype(float)
    n_ev = (ctx.end - ctx.start).astype(np.float64)
    n_sess = (cs[ctx.end] - cs[ctx.start]).astype(np.float64)
    dur_min = (cd[ctx.end] - cd[ctx.start]) / (60 * 10**9)
    n_days = (cday[ctx.end] - cday[ctx.start]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["session_mean_events"] = np.where(n_sess > 0, n_ev / n_sess, np.nan)
        out["session_mean_minutes"] = np.where(n_sess > 0, dur_min / n_sess, np.nan)
        out["events_per_active_day"] = np.where(n_days > 0, n_ev / n_days, np.nan)
    out["active_days"] = n_days
    return out
