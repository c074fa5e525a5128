"""The query context the feature families compute on: events, cutoffs and their ranges."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from journeyml.features.arrays import NS_PER_DAY, EventArrays
from journeyml.features.categories import first_of_customer
from journeyml.features.pit import TimeIndex
from journeyml.features.spec import FeatureSpec


@dataclass
class Context:
    """Events plus cutoffs. For cutoff ``q`` the events strictly before ``as_of[q]`` are the
    half-open index range ``[start[q], end[q])`` of ``ev``."""

    ev: EventArrays
    spec: FeatureSpec
    as_of: np.ndarray  # int64 ns
    q_cust: np.ndarray  # int64 customer code, -1 for customers with no events
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    index: TimeIndex
    cache: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        ev: EventArrays,
        spec: FeatureSpec,
        q_cust: np.ndarray,
        as_of: np.ndarray,
        n_events: np.ndarray | None = None,
    ) -> Context:
        """``n_events`` (optional) caps each cutoff's history to its first n events (prefix
        mode, for process logs whose timestamps tie); events at or after ``as_of`` are always
        excluded."""
        index = TimeIndex(ev.cust, ev.ts)
        known = q_cust >= 0
        qc = np.where(known, q_cust, 0)
        offsets = ev.offsets
        start = np.where(known, offsets[qc], 0).astype(np.int64)
        end = np.where(known, index.first_at_or_after(qc, as_of), 0).astype(np.int64)
        if n_events is not None:
            end = np.minimum(end, start + np.maximum(n_events.astype(np.int64), 0))
        return cls(ev=ev, spec=spec, as_of=as_of, q_cust=q_cust, start=start, end=end, index=index)

    @property
    def first(self) -> np.ndarray:
        """True at each customer's first event (shared by the families)."""
        out = self.cache.get("first")
        if not isinstance(out, np.ndarray):
            out = first_of_customer(self.ev.cust)
            self.cache["first"] = out
        return out

    @property
    def n_queries(self) -> int:
        return int(self.as_of.shape[0])

    def window_start(self, days: float | None) -> np.ndarray:
        """First index of the events in ``[as_of - days, as_of)`` (all history for None)."""
        if days is None:
            return self.start
        key = f"window:{days:g}"
        out = self.cache.get(key)
        if not isinstance(out, np.ndarray):
            self.prepare_windows([days])
            out = self.cache[key]
        assert isinstance(out, np.ndarray)
        return out

    def prepare_windows(self, days: list[float]) -> None:
        """Compute the starts of several windows with one search (cached)."""
        todo = sorted({float(d) for d in days if f"window:{d:g}" not in self.cache})
        if not todo:
            return
        q = self.n_queries
        t = np.concatenate([self.as_of - np.int64(round(d * NS_PER_DAY)) for d in todo])
        qc = np.tile(np.where(self.q_cust >= 0, self.q_cust, 0), len(todo))
        lo = self.index.first_at_or_after(qc, t)
        for k, d in enumerate(todo):
            part = lo[k * q : (k + 1) * q]
            self.cache[f"window:{d:g}"] = np.minimum(np.maximum(part, self.start), self.end)

    def days_before_as_of(self, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """``as_of - ts[idx]`` in days where ``valid``, NaN elsewhere."""
        if self.ev.n == 0:
            return np.full(self.n_queries, np.nan)
        safe = np.minimum(np.maximum(idx, 0), self.ev.n - 1)
        days = (self.as_of - self.ev.ts[safe]) / NS_PER_DAY
        return np.where(valid, days, np.nan)
