"""Recency: days since the last event, since the last event of each touchpoint and stage, and
tenure (days since the first event). NaN when there is no such event before ``as_of``.

"The last event" is the customer's own (:attr:`Context.own`: what the company sends is left
out); tenure counts from the first contact of any kind."""

from __future__ import annotations

import numpy as np

from journeyml.features.arrays import NS_PER_DAY
from journeyml.features.categories import clamp, range_counts_and_last
from journeyml.features.context import Context
from journeyml.features.spec import FeatureDef, FeatureSpec, slug

FAMILY = "recency"


def define(spec: FeatureSpec) -> list[FeatureDef]:
    defs = [
        FeatureDef("days_since_last_event", FAMILY, template="last event {value:.1f} days before"),
        FeatureDef("tenure_days", FAMILY, template="first seen {value:.0f} days before"),
    ]
    for dim in ("touchpoint", "stage"):
        for value in spec.vocabulary(dim):
            defs.append(
                FeatureDef(
                    f"days_since_{dim}_{slug(value)}",
                    FAMILY,
                    source_type=dim,
                    source=value,
                    template=f"last {value}{'' if dim == 'touchpoint' else ' stage event'} "
                    "{value:.1f} days before",
                )
            )
    return defs


def blocks(spec: FeatureSpec) -> dict[str, list[str]]:
    return {
        f"block:days_since_{dim}": [f"days_since_{dim}_{slug(v)}" for v in spec.vocabulary(dim)]
        for dim in ("touchpoint", "stage")
    }


def compute(ctx: Context) -> dict[str, np.ndarray]:
    has = ctx.end > ctx.start
    own = ctx.own
    out = {
        "days_since_last_event": own.days_before_as_of(own.end - 1, own.end > own.start),
        "tenure_days": ctx.days_before_as_of(ctx.start, has),
    }
    arrays = {"touchpoint": ctx.ev.touchpoint, "stage": ctx.ev.stage}
    n = ctx.ev.n
    for dim in ("touchpoint", "stage"):
        last = ctx.cache.get(f"last:{dim}")
        if not isinstance(last, np.ndarray):
            _, last = range_counts_and_last(
                arrays[dim],
                len(ctx.spec.vocabulary(dim)),
                [],
                ctx.end,
                want_last=True,
                start=ctx.start,
            )
            assert last is not None
        if n == 0:
            out[f"block:days_since_{dim}"] = np.full(last.shape, np.nan)
            continue
        ts = ctx.ev.ts[clamp(last, 0, n - 1)]
        days = (ctx.as_of[:, None] - ts) / NS_PER_DAY
        out[f"block:days_since_{dim}"] = np.where(last >= ctx.start[:, None], days, np.nan)
    return out
