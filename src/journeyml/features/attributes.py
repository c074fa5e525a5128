"""Event and customer attributes: the latest known (non-missing) value before ``as_of``.

Numeric attributes stay numbers; text attributes become codes into a vocabulary learned at fit
time (top levels, the rest "other")."""

from __future__ import annotations

import numpy as np

from journeyml.features.categories import clamp, last_index_where
from journeyml.features.context import Context
from journeyml.features.spec import FeatureDef, FeatureSpec, slug

FAMILY = "attribute"


def define(spec: FeatureSpec) -> list[FeatureDef]:
    defs: list[FeatureDef] = []
    for a in spec.params.attributes:
        if spec.attribute_kinds.get(a) == "numeric":
            defs.append(
                FeatureDef(
                    f"attr_{slug(a)}",
                    FAMILY,
                    "numeric",
                    "attribute",
                    a,
                    template=f"{a} = {{value:g}}",
                )
            )
        else:
            defs.append(
                FeatureDef(
                    f"attr_{slug(a)}",
                    FAMILY,
                    "categorical",
                    "attribute",
                    a,
                    vocabulary=f"attribute:{a}",
                    template=f"{a} is {{label}}",
                )
            )
    return defs


def compute(ctx: Context) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    n = ctx.ev.n
    for a in ctx.spec.params.attributes:
        arr = ctx.ev.attributes.get(a)
        if arr is None or n == 0:
            out[f"attr_{slug(a)}"] = np.full(ctx.n_queries, np.nan)
            continue
        known = ~np.isnan(arr) if arr.dtype.kind == "f" else arr >= 0
        idx = last_index_where(known, ctx.end, ctx.start)
        vals = arr[clamp(idx, 0, n - 1)].astype(np.float64)
        out[f"attr_{slug(a)}"] = np.where(idx >= 0, vals, np.nan)
    return out
