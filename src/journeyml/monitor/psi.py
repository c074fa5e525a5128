"""Population stability index (PSI): how far a distribution moved from a reference.

Bins are the reference's deciles (quantiles, so every bin holds about a tenth of the
reference); empty bins get a small floor so the logarithm stays finite. A constant feature
(one bin) has PSI 0. Rule of thumb: < 0.1 stable, 0.1–0.25 moderate, > 0.25 a real shift.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = rng.normal(size=5000)
>>> round(psi(ref, rng.normal(size=5000)), 2) < 0.02
True
>>> psi(ref, rng.normal(loc=1.0, size=5000)) > 0.25
True
"""

from __future__ import annotations

import numpy as np

_FLOOR = 1e-4


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of ``current`` against ``reference`` (NaN when either is empty); missing values
    form a bin of their own."""
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    if len(ref) == 0 or len(cur) == 0:
        return float("nan")
    ref_ok, cur_ok = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    edges: np.ndarray = np.unique(np.quantile(ref_ok, qs)) if len(ref_ok) else np.empty(0)
    rn = np.bincount(np.searchsorted(edges, ref_ok, side="right"), minlength=len(edges) + 1)
    cn = np.bincount(np.searchsorted(edges, cur_ok, side="right"), minlength=len(edges) + 1)
    r = np.maximum(np.append(rn, np.isnan(ref).sum()) / len(ref), _FLOOR)
    c = np.maximum(np.append(cn, np.isnan(cur).sum()) / len(cur), _FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))
