"""Point-in-time index math: which events lie strictly before a moment, per customer.

Events are sorted by (customer code, timestamp). For a query (customer ``c``, time ``t``) we
want the index of the first event of ``c`` at or after ``t``: every event in
``[offsets[c], that index)`` happened strictly before ``t``. One vectorised ``searchsorted`` on a
composite key answers all queries at once: timestamps are replaced by their rank among the
distinct event timestamps, so (customer, rank) packs exactly into one int64.

>>> import numpy as np
>>> cust = np.array([0, 0, 0, 1, 1]); ts = np.array([10, 20, 30, 5, 20])
>>> idx = TimeIndex(cust, ts)
>>> idx.first_at_or_after(np.array([0, 0, 1, 1]), np.array([20, 31, 5, 100]))
array([1, 3, 3, 5])
"""

from __future__ import annotations

import numpy as np


class TimeIndex:
    """Answers "first event of customer c at or after time t" for many (c, t) at once."""

    def __init__(self, cust: np.ndarray, ts: np.ndarray) -> None:
        self._uniq = np.unique(ts)
        self._base = np.int64(len(self._uniq) + 1)
        rank = np.searchsorted(self._uniq, ts, side="left").astype(np.int64)
        self._key = cust.astype(np.int64) * self._base + rank

    def first_at_or_after(self, cust: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Global index of the first event of ``cust`` with timestamp >= ``t``.

        For a customer with no event at or after ``t`` this is the index just past its last
        event (so a half-open range ``[offsets[c], result)`` always holds the events before t).
        """
        rank = np.searchsorted(self._uniq, t, side="left").astype(np.int64)
        key = cust.astype(np.int64) * self._base + rank
        return np.searchsorted(self._key, key, side="left").astype(np.int64)
