"""Per-category range statistics: counts in windows and the last occurrence, vectorised.

For a coded column (codes in ``0..n_cat-1``; negative = none) and many index ranges, count the
events of every category in each range, and find each category's last index before ``end``.
One-hot prefix sums are built in column blocks so memory stays bounded on 10 M events.
"""

from __future__ import annotations

import numpy as np

_BUDGET = 150_000_000  # cells of int32 per block (~600 MB)


def range_counts_and_last(
    codes: np.ndarray,
    n_cat: int,
    los: list[np.ndarray],
    end: np.ndarray,
    *,
    want_last: bool = False,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Counts per category in ``[lo, end)`` for each ``lo`` in ``los``; last index < end.

    >>> import numpy as np
    >>> codes = np.array([0, 1, 0, -1, 1])
    >>> counts, last = range_counts_and_last(codes, 2, [np.array([0, 2])], np.array([5, 4]),
    ...                                      want_last=True)
    >>> counts[0].tolist(), last.tolist()
    ([[2.0, 2.0], [1.0, 0.0]], [[2, 4], [2, 1]])
    """
    n = int(codes.shape[0])
    q = int(end.shape[0])
    outs = [np.zeros((q, n_cat), np.float64) for _ in los]
    last = np.full((q, n_cat), -1, np.int64) if want_last else None
    if n_cat == 0 or n == 0:
        return outs, last
    block = max(1, min(n_cat, _BUDGET // max(n + 1, 1)))
    rows_all = np.arange(n, dtype=np.int64)
    for b0 in range(0, n_cat, block):
        b1 = min(n_cat, b0 + block)
        sel = (codes >= b0) & (codes < b1)
        rows = rows_all[sel]
        cols = codes[sel].astype(np.int64) - b0
        cum = np.zeros((n + 1, b1 - b0), np.int32)
        cum[rows + 1, cols] = 1
        np.cumsum(cum, axis=0, out=cum)
        hi = cum[end]
        for out, lo in zip(outs, los, strict=True):
            out[:, b0:b1] = hi - cum[lo]
        if last is not None:
            lastm = np.full((n + 1, b1 - b0), -1, np.int64)
            lastm[rows + 1, cols] = rows
            np.maximum.accumulate(lastm, axis=0, out=lastm)
            last[:, b0:b1] = lastm[end]
    return outs, last


def prefix_sum(x: np.ndarray) -> np.ndarray:
    """``out[k] = x[:k].sum()`` (length n+1), so a range sum is ``out[hi] - out[lo]``."""
    out = np.zeros(x.shape[0] + 1, dtype=np.float64 if x.dtype.kind == "f" else np.int64)
    np.cumsum(x, out=out[1:])
    return out


def first_of_customer(cust: np.ndarray) -> np.ndarray:
    """True at each customer's first event (events sorted by customer)."""
    first = np.ones(cust.shape[0], dtype=bool)
    if cust.shape[0] > 1:
        first[1:] = cust[1:] != cust[:-1]
    return first


def last_index_where(flag: np.ndarray, end: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Last index ``i < end`` with ``flag[i]`` and ``i >= start``; -1 if none."""
    n = flag.shape[0]
    marks = np.where(flag, np.arange(n, dtype=np.int64), -1)
    acc = np.full(n + 1, -1, np.int64)
    np.maximum.accumulate(marks, out=acc[1:]) if n else None
    idx = acc[end]
    return np.where(idx >= start, idx, -1)
