"""Per-category range statistics: counts in windows and the last occurrence, vectorised.

For a coded column (codes in ``0..n_cat-1``; negative = none) and many index ranges, count the
events of every category in each range, and find each category's last index before ``end``.

Only the prefix counts *at the range boundaries* are needed, so events are binned into the
segments between consecutive boundaries (one ``bincount``), and a cumulative sum over the
segments gives every boundary's prefix counts. Work and memory scale with the events plus the
boundaries × categories (the size of the output), never with events × categories.
"""

from __future__ import annotations

import numpy as np


def range_counts_and_last(
    codes: np.ndarray,
    n_cat: int,
    los: list[np.ndarray],
    end: np.ndarray,
    *,
    want_last: bool = False,
    start: np.ndarray | None = None,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Counts per category in ``[lo, end)`` for each ``lo`` in ``los`` (float64, q × n_cat);
    and the last index ``< end`` of each category (int64, -1 if none at or after the smallest
    boundary, so pass ``start`` to cover the whole history).

    >>> import numpy as np
    >>> codes = np.array([0, 1, 0, -1, 1])
    >>> counts, last = range_counts_and_last(codes, 2, [np.array([0, 2])], np.array([5, 4]),
    ...                                      want_last=True, start=np.array([0, 0]))
    >>> counts[0].tolist(), last.tolist()
    ([[2.0, 2.0], [1.0, 0.0]], [[2, 4], [2, 1]])
    """
    outs_, last_ = multi_range_counts([codes], [n_cat], los, end, want_last=want_last, start=start)
    return outs_[0], last_[0]


def multi_range_counts(
    codes_list: list[np.ndarray],
    n_cats: list[int],
    los: list[np.ndarray],
    end: np.ndarray,
    *,
    want_last: bool = False,
    start: np.ndarray | None = None,
) -> tuple[list[list[np.ndarray]], list[np.ndarray | None]]:
    """:func:`range_counts_and_last` for several coded columns of the same events at once
    (one pass; fewer calls on the single-journey path). Returns per column its window counts
    and last indices."""
    n_cat = int(sum(n_cats))
    k = len(codes_list)
    offs = np.cumsum([0, *n_cats])
    if k == 1:
        codes = codes_list[0]
    else:
        codes = np.concatenate(
            [np.where(c >= 0, c.astype(np.int64) + offs[i], -1) for i, c in enumerate(codes_list)]
        )
    outs, last = _range_counts(codes, k, n_cat, los, end, want_last=want_last, start=start)

    def split(m: np.ndarray) -> list[np.ndarray]:
        return [m[:, offs[i] : offs[i + 1]] for i in range(k)]

    per_outs = [split(m) for m in outs]
    counts = [[per_outs[w][i] for w in range(len(los))] for i in range(k)]
    lasts: list[np.ndarray | None] = [*split(last)] if last is not None else [None] * k
    return counts, lasts


def _range_counts(
    codes: np.ndarray,
    k: int,
    n_cat: int,
    los: list[np.ndarray],
    end: np.ndarray,
    *,
    want_last: bool,
    start: np.ndarray | None,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """``codes`` holds ``k`` stacked columns of the same ``n`` events."""
    n = int(codes.shape[0]) // max(k, 1)
    q = int(end.shape[0])
    if n_cat == 0 or n == 0:
        outs = [np.zeros((q, n_cat), np.float64) for _ in los]
        last = np.full((q, n_cat), -1, np.int64) if want_last else None
        return outs, last
    points = [*los, end] if start is None else [*los, end, start]
    mark = np.zeros(n + 1, np.bool_)
    for p in points:
        mark[p] = True
    rank = np.cumsum(mark, dtype=np.int64)  # boundaries <= i; a boundary p has row rank[p]-1
    n_rows = int(rank[-1]) + 1
    seg_row = rank[:n]  # = 1 + segment of event i (0: before the first boundary)
    if k > 1:
        seg_row = np.tile(seg_row, k)
    ok = codes >= 0
    if not ok.all():
        seg_row = seg_row[ok]
    key = seg_row * n_cat + (codes[ok] if not ok.all() else codes)
    # row r holds the counts of the events before the r-th boundary
    cnt = np.bincount(key, minlength=n_rows * n_cat).reshape(n_rows, n_cat)
    np.cumsum(cnt, axis=0, out=cnt)
    r_end = rank[end] - 1
    hi = cnt[r_end]
    # column-major, as the feature matrix is: its blocks are then copied column by column
    outs = [(hi - cnt[rank[lo] - 1]).astype(np.float64, order="F") for lo in los]
    last = None
    if want_last:
        idx = np.tile(np.arange(n, dtype=np.int64), k) if k > 1 else np.arange(n, dtype=np.int64)
        lastm: np.ndarray = np.full(n_rows * n_cat, -1, np.int64)
        np.maximum.at(lastm, key, idx if ok.all() else idx[ok])
        lastm = lastm.reshape(n_rows, n_cat)
        np.maximum.accumulate(lastm, axis=0, out=lastm)
        last = lastm[r_end]
    return outs, last


def clamp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``np.clip`` without its per-call overhead (it dominates on one journey's tiny arrays).

    >>> clamp(np.array([-3, 0, 9]), 0, 5).tolist()
    [0, 0, 5]
    """
    return np.minimum(np.maximum(x, lo), hi)


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
    if n:
        np.maximum.accumulate(marks, out=acc[1:])
    idx = acc[end]
    return np.where(idx >= start, idx, -1)
