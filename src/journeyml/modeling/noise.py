"""How far a difference measured on the validation window is from noise: the standard error of a
mean per-row difference, by customer where the rows have customers.

A customer's cutoffs are not independent rows: weekly snapshots with a 30-day horizon share
their outcome (one cancellation labels four or five of them), and all of them come from one
journey. Their standard error is that of a mean over customers (the clustered, "sandwich"
estimate): with ``groups`` each customer's summed residuals count once. Without groups it is the
plain per-row standard error.

>>> d = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])
>>> round(float(standard_error(d)), 3)
0.447
>>> round(float(standard_error(d, np.array(["a", "a", "a", "b", "b", "b"]))), 3)
1.0
"""

from __future__ import annotations

import numpy as np


def standard_error(d: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Standard error of the mean of ``d`` along its last axis (rows); ``groups`` (one label
    per row) clusters the rows. Fewer than two rows (or groups): 0."""
    n = d.shape[-1]
    if groups is None:
        if n < 2:
            return np.zeros(d.shape[:-1])
        return np.asarray(d.std(axis=-1, ddof=1) / np.sqrt(n))
    _, inverse = np.unique(groups, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    sorted_groups = inverse[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    g = len(starts)
    if g < 2:
        return np.zeros(d.shape[:-1])
    resid = d - d.mean(axis=-1, keepdims=True)
    sums = np.add.reduceat(resid[..., order], starts, axis=-1)
    return np.asarray(np.sqrt(g / (g - 1) * (sums**2).sum(axis=-1)) / n)


def beats(
    losses: np.ndarray, reference: np.ndarray, groups: np.ndarray | None = None, *, z: float = 1.0
) -> np.ndarray:
    """Which candidates' per-row ``losses`` (any leading shape × rows) lie more than ``z``
    standard errors (:func:`standard_error`) of the per-row difference below the
    ``reference`` row losses: the window tells them apart from it, in their favour.

    >>> ref = np.array([0.7, 0.5, 0.6, 0.4])
    >>> beats(np.array([ref - 0.1, ref - [0.3, -0.2, 0.1, -0.1], ref]), ref).tolist()
    [True, False, False]
    """
    d = reference - losses
    if d.shape[-1] < 2:
        return np.zeros(losses.shape[:-1], bool)
    return np.asarray(d.mean(axis=-1) > z * standard_error(d, groups))
