"""Counts of events by touchpoint, channel and stage over windows (and all history).

Names: ``count_events_7d``, ``count_touchpoint_support_call_30d``, ``count_channel_web_all``,
``count_stage_consideration_1d``. ``count_events_*`` counts the customer's own events (those of
company-sent touchpoints left out, :attr:`Context.own`); the touchpoint, channel and stage
counts count every event.
"""

from __future__ import annotations

import numpy as np

from journeyml.features.categories import multi_range_counts
from journeyml.features.context import Context
from journeyml.features.spec import OTHER, FeatureDef, FeatureSpec, slug, window_label

FAMILY = "count"
_DIMENSIONS = ("touchpoint", "channel", "stage")


def windows(spec: FeatureSpec) -> list[float | None]:
    return [*spec.params.windows_days, None]


def _span(w: float | None) -> str:
    return "in all history" if w is None else f"in the last {w:g} days"


def define(spec: FeatureSpec) -> list[FeatureDef]:
    defs: list[FeatureDef] = []
    for w in windows(spec):
        wl = window_label(w)
        defs.append(
            FeatureDef(
                f"count_events_{wl}",
                FAMILY,
                window_days=w,
                template=f"{{value:g}} events {_span(w)}",
            )
        )
        for dim in _DIMENSIONS:
            for value in spec.vocabulary(dim):
                defs.append(
                    FeatureDef(
                        f"count_{dim}_{slug(value)}_{wl}",
                        FAMILY,
                        source_type=dim,  # type: ignore[arg-type]
                        source=value,
                        window_days=w,
                        template=f"{{value:g}} {value} {'' if dim == 'touchpoint' else dim + ' '}"
                        f"events {_span(w)}",
                    )
                )
    return defs


def blocks(spec: FeatureSpec) -> dict[str, list[str]]:
    """Block key → the feature names of its columns (one block per dimension and window)."""
    return {
        f"block:count_{dim}_{window_label(w)}": [
            f"count_{dim}_{slug(v)}_{window_label(w)}" for v in spec.vocabulary(dim)
        ]
        for dim in _DIMENSIONS
        for w in windows(spec)
    }


def compute(ctx: Context) -> dict[str, np.ndarray]:
    spec = ctx.spec
    ws = windows(spec)
    los = [ctx.window_start(w) for w in ws]
    out: dict[str, np.ndarray] = {}
    own = ctx.own  # activity volume: the customer's own events (all of them without company_sent)
    for w in ws:
        out[f"count_events_{window_label(w)}"] = (own.end - own.window_start(w)).astype(np.float64)
    arrays = [ctx.ev.touchpoint, ctx.ev.channel, ctx.ev.stage]
    counts, lasts = multi_range_counts(
        arrays,
        [len(spec.vocabulary(d)) for d in _DIMENSIONS],
        los,
        ctx.end,
        want_last=True,  # recency needs the last touchpoint and stage events
        start=ctx.start,
    )
    for dim, per_window, last in zip(_DIMENSIONS, counts, lasts, strict=True):
        for w, mat in zip(ws, per_window, strict=True):
            out[f"block:count_{dim}_{window_label(w)}"] = mat
        ctx.cache[f"last:{dim}"] = last
    return out


__all__ = ["FAMILY", "OTHER", "blocks", "compute", "define"]
