"""The range of every probability journeyml serves: no outcome and no class is ever below
:data:`PROBABILITY_FLOOR` (one in a million) or above ``1 - PROBABILITY_FLOOR``.

A softmax or a sigmoid far out in its tail gives values such as ``1e-16``: they say "far
below anything the validation data could measure", not a probability worth 16 digits. The
floor keeps them out of answers, base rates and explanations. Binary probabilities are
clipped; a multiclass distribution lifts its small classes to the floor and takes that mass
from the others in proportion to their excess over it, so each row still sums to 1 and the
order of the classes (the predicted class) is unchanged.

>>> p = np.array([[0.7, 0.3 - 1e-16, 1e-16]])
>>> q = floor_distribution(p)
>>> q.round(7).tolist(), bool(q.min() == PROBABILITY_FLOOR), round(float(q.sum()), 12)
([[0.6999993, 0.2999997, 1e-06]], True, 1.0)
>>> bounded(np.array([0.0, 0.5, 1.0])).tolist()
[1e-06, 0.5, 0.999999]
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: the smallest probability journeyml serves (and 1 − it, the largest)
PROBABILITY_FLOOR: Final = 1e-6


def bounded(p: np.ndarray) -> np.ndarray:
    """Binary probabilities within ``[PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR]``."""
    return np.clip(np.asarray(p, dtype=np.float64), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)


def floor_distribution(p: np.ndarray) -> np.ndarray:
    """Rows of class probabilities (rows × K, or one row of K) with every class at least
    :data:`PROBABILITY_FLOOR`, still summing to 1 (see the module docstring)."""
    p = np.asarray(p, dtype=np.float64)
    one = p.ndim == 1
    rows = np.atleast_2d(p)
    low = rows < PROBABILITY_FLOOR
    if not low.any():
        return p
    excess = np.where(low, 0.0, rows - PROBABILITY_FLOOR)
    deficit = np.where(low, PROBABILITY_FLOOR - rows, 0.0).sum(axis=1, keepdims=True)
    share = excess / np.maximum(excess.sum(axis=1, keepdims=True), np.finfo(float).tiny)
    out = np.where(low, PROBABILITY_FLOOR, rows - deficit * share)
    return out[0] if one else out
