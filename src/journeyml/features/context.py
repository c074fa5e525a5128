"""The query context the feature families compute on: events, cutoffs and their ranges."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from journeyml.features.arrays import NS_PER_DAY, EventArrays
from journeyml.features.categories import first_of_customer, prefix_sum
from journeyml.features.pit import TimeIndex
from journeyml.features.spec import FeatureSpec, spec_cache


def sent_codes(spec: FeatureSpec) -> np.ndarray:
    """The touchpoint codes of ``spec.company_sent`` (touchpoints outside the vocabulary are
    "other", which also holds own touchpoints: never left out)."""
    vocab = spec.touchpoints
    return np.array([vocab.index(t) for t in spec.company_sent if t in vocab], np.int32)


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
    #: for the context of the customer's own events (:attr:`own`): the context of all events
    #: and, per index into its events, how many own events come before it (length n + 1)
    parent: Context | None = None
    own_before: np.ndarray | None = None

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
    def own(self) -> Context:
        """The same cutoffs over the customer's own events: those of the touchpoints the
        company sends (``spec.company_sent``) left out. The generic activity features read it
        (a campaign e-mail to a customer who stopped acting is not activity). Without
        company-sent touchpoints it is this context itself.

        Its ranges are the full context's, renumbered: an own event is before ``as_of`` (and
        in a window) exactly when it is in the full context's range, so the point-in-time
        rule and a prefix's ``n_events`` carry over as they are."""
        if not self.spec.company_sent or self.parent is not None:
            return self
        out = self.cache.get("own")
        if isinstance(out, Context):
            return out
        sent = spec_cache(self.spec, "sent_codes", lambda: sent_codes(self.spec))
        keep = ~np.isin(self.ev.touchpoint, sent)
        before = prefix_sum(keep.astype(np.int64))
        ev = self.ev.select(keep)
        out = Context(
            ev=ev,
            spec=self.spec,
            as_of=self.as_of,
            q_cust=self.q_cust,
            start=before[self.start],
            end=before[self.end],
            index=TimeIndex(ev.cust, ev.ts),
            parent=self,
            own_before=before,
        )
        self.cache["own"] = out
        return out

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
        if self.parent is not None and self.own_before is not None:  # the own events' context
            for d in todo:
                self.cache[f"window:{d:g}"] = self.own_before[self.parent.window_start(d)]
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
