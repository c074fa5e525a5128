"""Value: sums and means of ``value`` by window, and trend ratios (the last ``trend_days`` vs
the ``trend_days`` before) of event counts (the customer's own events, :attr:`Context.own`) and
of value."""

from __future__ import annotations

import numpy as np

from journeyml.features.categories import clamp, prefix_sum
from journeyml.features.context import Context
from journeyml.features.spec import FeatureDef, FeatureSpec, window_label

FAMILY = "value"
#: values are clipped to this magnitude (sums stay exact in int64 micro-units)
MAX_ABS_VALUE = 1e9


def define(spec: FeatureSpec) -> list[FeatureDef]:
    defs: list[FeatureDef] = []
    for w in (*spec.params.windows_days, None):
        wl = window_label(w)
        span = "in all history" if w is None else f"in the last {w:g} days"
        defs.append(
            FeatureDef(
                f"value_sum_{wl}", FAMILY, window_days=w, template=f"spent {{value:.2f}} {span}"
            )
        )
        defs.append(
            FeatureDef(
                f"value_mean_{wl}",
                FAMILY,
                window_days=w,
                template=f"{{value:.2f}} per valued event {span}",
            )
        )
    t = window_label(spec.params.trend_days)
    defs.append(
        FeatureDef(
            f"events_trend_{t}_vs_prev_{t}",
            FAMILY,
            window_days=spec.params.trend_days,
            template=f"activity trend {{value:.2f}}× (last {t} vs the {t} before)",
        )
    )
    defs.append(
        FeatureDef(
            f"value_trend_{t}_vs_prev_{t}",
            FAMILY,
            window_days=spec.params.trend_days,
            template=f"value trend {{value:.2f}}× (last {t} vs the {t} before)",
        )
    )
    return defs


def compute(ctx: Context) -> dict[str, np.ndarray]:
    v = ctx.ev.value
    has = ~np.isnan(v)
    # exact integer arithmetic in micro-units: range sums are then identical, bit for bit,
    # whether a journey is scored alone or inside a batch of millions
    units = np.round(clamp(np.where(has, v, 0.0), -MAX_ABS_VALUE, MAX_ABS_VALUE) * 1e6)
    cv = prefix_sum(units.astype(np.int64))
    cn = prefix_sum(has.astype(np.int64))

    def vsum(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return (cv[hi] - cv[lo]) / 1e6

    out: dict[str, np.ndarray] = {}
    for w in (*ctx.spec.params.windows_days, None):
        lo = ctx.window_start(w)
        wl = window_label(w)
        s = vsum(lo, ctx.end)
        c = (cn[ctx.end] - cn[lo]).astype(np.float64)
        out[f"value_sum_{wl}"] = s
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"value_mean_{wl}"] = np.where(c > 0, s / np.where(c > 0, c, 1), np.nan)
    d = ctx.spec.params.trend_days
    t = window_label(d)
    own = ctx.own  # the activity trend: the customer's own events
    own_lo1 = own.window_start(d)
    recent_n = (own.end - own_lo1).astype(np.float64)
    prior_n = (own_lo1 - own.window_start(2 * d)).astype(np.float64)
    out[f"events_trend_{t}_vs_prev_{t}"] = (recent_n + 1.0) / (prior_n + 1.0)
    lo1 = ctx.window_start(d)
    lo2 = ctx.window_start(2 * d)
    recent_v = vsum(lo1, ctx.end)
    prior_v = vsum(lo2, lo1)
    out[f"value_trend_{t}_vs_prev_{t}"] = (recent_v + 1.0) / (np.abs(prior_v) + 1.0)
    return out
