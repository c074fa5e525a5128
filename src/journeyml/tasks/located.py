"""Where each cutoff sits among its customer's events: the positions labels and eligibility
are computed from, for a frame of many journeys (training) or one journey (the API), through
the same arrays.

Events are put in one total order — customer, time, touchpoint — so the order of input rows
never matters. A cutoff's *history* is ``[start, pos0)``: the events strictly before
``as_of`` and, for prefix cutoffs (``n_events`` = k), only the first k of them — exactly the
events the features see.

>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a", "a", "a"], "touchpoint": ["x", "y", "z"],
...     "timestamp": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-02"], utc=True)})
>>> as_of = pd.to_datetime(["2024-01-02 12:00", "2024-01-02 00:00"], utc=True)
>>> cut = pd.DataFrame({"customer_id": ["a", "b"], "as_of": as_of})
>>> loc = Located.from_frame(ev, cut)
>>> loc.touchpoint.tolist(), loc.known.tolist(), loc.n_history.tolist()
(['y', 'z', 'x'], [True, False], [2, 0])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from journeyml.events import CUSTOMER_ID, STAGE, TIMESTAMP, TOUCHPOINT, is_canonical, to_canonical
from journeyml.features import AS_OF, N_EVENTS, TimeIndex, prefix_sum, to_ns
from journeyml.tasks.definition import EventMatch

#: "no such event": earlier than any time
NEVER = int(np.iinfo(np.int64).min)


@dataclass
class Located:
    """Events (sorted) and, per cutoff, its customer's range and history end."""

    ts: np.ndarray  # int64 ns, sorted by (customer, time, touchpoint)
    touchpoint: np.ndarray  # object
    stage: np.ndarray  # object, None where missing
    attributes: dict[str, np.ndarray]
    cust: np.ndarray  # int64 customer code of each event
    qc: np.ndarray  # customer code of each cutoff (0 where unknown)
    known: np.ndarray  # the cutoff's customer has events
    as_of: np.ndarray  # int64 ns per cutoff
    start: np.ndarray  # first event of the cutoff's customer
    end: np.ndarray  # one past its last event
    pos0: np.ndarray  # one past the history's last event
    prefix: bool = False
    _index: TimeIndex | None = field(default=None, repr=False)

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        cust: np.ndarray,
        ts: np.ndarray,
        touchpoint: np.ndarray,
        stage: np.ndarray,
        attributes: Mapping[str, np.ndarray],
        *,
        n_customers: int,
        q: np.ndarray,
        as_of: np.ndarray,
        n_events: np.ndarray | None,
        order: np.ndarray | None = None,
    ) -> Located:
        """``q``: each cutoff's customer code (-1: unknown customer); ``order``: the events'
        order by (customer, time, touchpoint) when already known."""
        if order is None:
            order = _order(cust, ts, touchpoint)
        if order is not None:
            cust, ts, touchpoint, stage = cust[order], ts[order], touchpoint[order], stage[order]
            attributes = {k: np.asarray(v, dtype=object)[order] for k, v in attributes.items()}
        offsets = np.searchsorted(cust, np.arange(n_customers + 1)).astype(np.int64)
        known = q >= 0
        qc = np.where(known, q, 0).astype(np.int64)
        start = np.where(known, offsets[qc], 0)
        end = np.where(known, offsets[np.minimum(qc + 1, n_customers)], 0)
        loc = cls(
            ts=ts,
            touchpoint=touchpoint,
            stage=stage,
            attributes={k: np.asarray(v, dtype=object) for k, v in attributes.items()},
            cust=cust,
            qc=qc,
            known=known,
            as_of=as_of.astype(np.int64),
            start=start,
            end=end,
            pos0=start,
            prefix=n_events is not None,
        )
        pos0 = np.where(known, loc.first_at_or_after(as_of), start)
        if n_events is not None:
            pos0 = np.minimum(pos0, start + np.maximum(n_events.astype(np.int64), 0))
        loc.pos0 = pos0
        return loc

    @classmethod
    def from_frame(
        cls, events: pd.DataFrame, cutoffs: pd.DataFrame, attributes: Iterable[str] = ()
    ) -> Located:
        """Many journeys: events (canonical or not) and cutoffs ``customer_id, as_of[,
        n_events]``; ``attributes``: the attribute columns the task reads."""
        ev = events if is_canonical(events) else to_canonical(events)
        codes, uniques = pd.factorize(ev[CUSTOMER_ID].astype(str), sort=True)
        q = pd.Index(uniques).get_indexer(cutoffs[CUSTOMER_ID].astype(str))
        as_of = pd.to_datetime(cutoffs[AS_OF], utc=True).to_numpy("datetime64[ns]").view(np.int64)
        n_ev = cutoffs[N_EVENTS].to_numpy(np.int64) if N_EVENTS in cutoffs.columns else None
        return cls.from_arrays(
            codes.astype(np.int64),
            ev[TIMESTAMP].to_numpy("datetime64[ns]").view(np.int64),
            ev[TOUCHPOINT].to_numpy(dtype=object),
            ev[STAGE].to_numpy(dtype=object),
            {a: ev[a].to_numpy(dtype=object) for a in attributes if a in ev.columns},
            n_customers=len(uniques),
            q=np.asarray(q, dtype=np.int64),
            as_of=as_of,
            n_events=n_ev,
        )

    @classmethod
    def from_records(
        cls,
        records: Sequence[Mapping[str, Any]],
        as_of: Any,
        attributes: Iterable[str] = (),
        *,
        n_events: int | None = None,
    ) -> Located:
        """One journey given as event dicts (the API path): one cutoff at ``as_of``."""
        n = len(records)
        ts = np.fromiter((to_ns(r["timestamp"]) for r in records), dtype=np.int64, count=n)
        tps = np.array([str(r[TOUCHPOINT]) for r in records], dtype=object)
        stages = np.array([_text(r.get(STAGE)) for r in records], dtype=object)
        attrs = {a: np.array([r.get(a) for r in records], dtype=object) for a in attributes}
        return cls.from_arrays(
            np.zeros(n, dtype=np.int64),
            ts,
            tps,
            stages,
            attrs,
            n_customers=1,
            q=np.array([0 if n else -1], dtype=np.int64),
            as_of=np.array([to_ns(as_of)], dtype=np.int64),
            n_events=None if n_events is None else np.array([n_events]),
        )  # ordered by (time, touchpoint) there: a check when they are already (stable)

    # --- queries ---------------------------------------------------------------------------
    @property
    def n_history(self) -> np.ndarray:
        """Events in each cutoff's history."""
        return self.pos0 - self.start

    def first_at_or_after(self, t: np.ndarray) -> np.ndarray:
        """Per cutoff: index of its customer's first event at or after ``t`` (ns)."""
        if self.cust.shape[0] == 0 or self.cust[-1] == 0:  # one customer (the API path)
            return np.where(self.known, np.searchsorted(self.ts, t, side="left"), self.start)
        if self._index is None:
            self._index = TimeIndex(self.cust, self.ts)
        return np.where(self.known, self._index.first_at_or_after(self.qc, t), self.start)

    def window_end(self, horizon_ns: int) -> np.ndarray:
        """Per cutoff: one past the last event in ``[as_of, as_of + horizon)`` after the
        history (so ``[pos0, window_end)`` is the label window)."""
        return np.maximum(self.first_at_or_after(self.as_of + np.int64(horizon_ns)), self.pos0)

    def match(self, m: EventMatch) -> np.ndarray:
        return m.mask(self.touchpoint, self.stage, self.attributes)

    def count(self, mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Per cutoff: matching events in ``[lo, hi)``."""
        c = prefix_sum(mask.astype(np.int64))
        return c[hi] - c[lo]

    def last_in_history(self, mask: np.ndarray) -> np.ndarray:
        """Per cutoff: time (ns) of the last matching event in its history, or a very early
        time when there is none."""
        idx = np.where(mask, np.arange(mask.shape[0]), -1)
        last = np.maximum.accumulate(idx) if idx.shape[0] else idx
        j = np.clip(self.pos0 - 1, 0, max(mask.shape[0] - 1, 0))
        found = last[j] if last.shape[0] else np.full(self.pos0.shape[0], -1)
        ok = (self.pos0 > self.start) & (found >= self.start)
        return np.where(ok, self.ts[np.maximum(found, 0)] if self.ts.shape[0] else 0, NEVER)

    def first_in(self, mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Per cutoff: index of the first matching event in ``[lo, hi)``, or -1."""
        nxt = np.where(mask, np.arange(mask.shape[0]), mask.shape[0])
        following = np.minimum.accumulate(nxt[::-1])[::-1] if nxt.shape[0] else nxt
        pad = np.append(following, mask.shape[0])
        f = pad[np.minimum(lo, mask.shape[0])]
        return np.where(f < hi, f, -1)


def _order(cust: np.ndarray, ts: np.ndarray, touchpoint: np.ndarray) -> np.ndarray | None:
    """The order by (customer, time, touchpoint), or None when the events are in it already
    (canonical frames are: checking costs one pass, sorting many)."""
    if ts.shape[0] < 2:
        return None
    dc, dt = np.diff(cust), np.diff(ts)
    tie = (dc == 0) & (dt == 0)
    if ((dc > 0) | ((dc == 0) & (dt > 0)) | tie).all():
        i = np.flatnonzero(tie)
        if i.size == 0 or bool(np.all(touchpoint[i] <= touchpoint[i + 1])):
            return None
    codes = pd.factorize(touchpoint, sort=True)[0]
    return np.lexsort((codes, ts, cust))


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return str(v)
