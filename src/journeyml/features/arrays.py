"""Encoded events as plain numpy arrays: what the feature families compute on.

Two ways in, one representation out: :func:`encode_frame` (a canonical pandas frame, for
training and batch scoring) and :func:`encode_records` (a list of event dicts of one journey,
for the API, with no pandas on the way). Both sort events the same way (customer, timestamp,
touchpoint, stable) and encode categories with the spec's vocabularies, so the same journey
gives the same arrays either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from journeyml.events.schema import CHANNEL, CUSTOMER_ID, STAGE, TIMESTAMP, TOUCHPOINT, VALUE
from journeyml.features.spec import FeatureSpec

NS_PER_DAY = 86_400 * 10**9


@dataclass
class EventArrays:
    """Events of one or more customers, sorted by (customer, time), encoded as numbers.

    ``cust`` holds dense customer codes (0..n_customers-1, non-decreasing); ``offsets[c]`` is
    the index of customer ``c``'s first event and ``offsets[-1] == n``.
    """

    customer_ids: np.ndarray  # object, code -> id
    cust: np.ndarray  # int64
    ts: np.ndarray  # int64 ns UTC
    touchpoint: np.ndarray  # int32 code into spec.touchpoints + [other]
    channel: np.ndarray  # int32 code into spec.channels + [other]
    stage: np.ndarray  # int32 code into spec.stages + [other]; -1 missing
    value: np.ndarray  # float64, NaN missing
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    _offsets: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.ts.shape[0])

    @property
    def offsets(self) -> np.ndarray:
        if self._offsets is None:
            self._offsets = np.searchsorted(
                self.cust, np.arange(len(self.customer_ids) + 1), side="left"
            ).astype(np.int64)
        return self._offsets

    def customer_codes(self, ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Codes of the given customer ids; -1 for customers with no events."""
        idx = pd.Index(self.customer_ids)
        return np.asarray(idx.get_indexer(pd.Index(np.asarray(ids, dtype=object))), np.int64)


def _codes(values: np.ndarray | pd.Series, vocab: Sequence[str], *, missing: int) -> np.ndarray:
    """Vocabulary codes; unseen values -> len(vocab) ("other"); missing -> ``missing``."""
    index = pd.Index(list(vocab), dtype=object)
    vals = pd.Series(values, dtype=object)
    codes = index.get_indexer(vals)
    codes = np.where(codes < 0, len(vocab), codes)
    if missing != len(vocab):
        codes = np.where(vals.isna().to_numpy(), missing, codes)
    return codes.astype(np.int32)


def _attribute_array(values: Any, spec: FeatureSpec, name: str) -> np.ndarray:
    if spec.attribute_kinds.get(name) == "numeric":
        return np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), float)
    return _codes(np.asarray(values, dtype=object), spec.attribute_levels.get(name, ()), missing=-1)


def encode_frame(events: pd.DataFrame, spec: FeatureSpec) -> EventArrays:
    """Encode a canonical event frame (any row order) for :func:`compute_features`."""
    order = np.lexsort(
        (
            events[TOUCHPOINT].to_numpy(dtype=object).astype(str),
            events[TIMESTAMP].to_numpy(dtype="datetime64[ns]").view(np.int64)
            if len(events)
            else np.zeros(0, np.int64),
            events[CUSTOMER_ID].to_numpy(dtype=object).astype(str),
        )
    )
    ev = events.iloc[order]
    cust_codes, uniques = pd.factorize(ev[CUSTOMER_ID].astype(str), sort=True)
    ts = ev[TIMESTAMP].to_numpy(dtype="datetime64[ns]").view(np.int64)
    stage = ev[STAGE] if STAGE in ev.columns else pd.Series([None] * len(ev), dtype=object)
    value = ev[VALUE] if VALUE in ev.columns else pd.Series(np.nan, index=ev.index)
    attrs = {
        a: _attribute_array(ev[a].to_numpy(dtype=object), spec, a)
        for a in spec.params.attributes
        if a in ev.columns
    }
    return EventArrays(
        customer_ids=np.asarray(uniques, dtype=object),
        cust=cust_codes.astype(np.int64),
        ts=np.ascontiguousarray(ts, dtype=np.int64),
        touchpoint=_codes(ev[TOUCHPOINT].to_numpy(dtype=object), spec.touchpoints, missing=-1),
        channel=_codes(ev[CHANNEL].to_numpy(dtype=object), spec.channels, missing=-1),
        stage=_codes(stage.to_numpy(dtype=object), spec.stages, missing=-1),
        value=np.asarray(pd.to_numeric(value, errors="coerce"), dtype=np.float64),
        attributes=attrs,
    )


def _to_ns(ts: Any) -> int:
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    return int(t.tz_convert("UTC").value)


def encode_records(
    customer_id: str, records: Sequence[Mapping[str, Any]], spec: FeatureSpec
) -> EventArrays:
    """Encode one journey given as event dicts (the API path; no pandas frames).

    Each record has ``timestamp`` (datetime, pandas Timestamp or ISO string; naive = UTC),
    ``touchpoint``, and optionally ``channel``, ``stage``, ``value`` and attribute keys.
    """
    n = len(records)
    ts = np.fromiter((_to_ns(r["timestamp"]) for r in records), dtype=np.int64, count=n)
    tps = np.array([str(r["touchpoint"]) for r in records], dtype=object)
    order = np.lexsort((tps.astype(str), ts)) if n else np.zeros(0, np.int64)
    recs = [records[i] for i in order]
    ch = np.array([r.get("channel") or "unknown" for r in recs], dtype=object)
    st = np.array([r.get("stage") for r in recs], dtype=object)
    val = np.array(
        [np.nan if r.get("value") is None else float(r["value"]) for r in recs], dtype=np.float64
    )
    attrs: dict[str, np.ndarray] = {}
    for a in spec.params.attributes:
        attrs[a] = _attribute_array(np.array([r.get(a) for r in recs], dtype=object), spec, a)
    return EventArrays(
        customer_ids=np.array([str(customer_id)], dtype=object),
        cust=np.zeros(n, np.int64),
        ts=ts[order],
        touchpoint=_codes(tps[order], spec.touchpoints, missing=-1),
        channel=_codes(ch, spec.channels, missing=-1),
        stage=_codes(st, spec.stages, missing=-1),
        value=val,
        attributes=attrs,
    )
