"""Encoded events as plain numpy arrays: what the feature families compute on.

Two ways in, one representation out: :func:`encode_frame` (a canonical pandas frame, for
training and batch scoring) and :func:`encode_records` (a list of event dicts of one journey,
for the API, with no pandas on the way). Both put events in the same total order —
customer, timestamp, touchpoint (as text), then the encoded channel, stage, value and attributes
to break exact ties — so the same journey gives the same arrays either way, whatever the order
of the input rows.

>>> import pandas as pd
>>> from journeyml.features.spec import FeatureParams, FeatureSpec
>>> spec = FeatureSpec(FeatureParams(), ("visit", "ad"), ("web",), ("awareness",), ())
>>> ev = pd.DataFrame({"customer_id": ["b", "a", "a"],
...     "timestamp": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-01"], utc=True),
...     "touchpoint": ["ad", "visit", "call"], "channel": ["web", "web", "fax"],
...     "stage": [None, "awareness", None], "value": [1.0, None, 2.0]})
>>> arr = encode_frame(ev, spec)
>>> arr.customer_ids.tolist(), arr.cust.tolist(), arr.touchpoint.tolist(), arr.channel.tolist()
(['a', 'b'], [0, 0, 1], [2, 0, 1], [1, 0, 0])
>>> one = encode_records("a", [{"timestamp": "2024-01-03", "touchpoint": "visit",
...     "channel": "web", "stage": "awareness"}, {"timestamp": "2024-01-01T00:00:00Z",
...     "touchpoint": "call", "channel": "fax", "value": 2.0}], spec)
>>> one.touchpoint.tolist(), one.stage.tolist(), one.value.tolist()
([2, 0], [-1, 0], [2.0, nan])
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from journeyml.events import (
    CHANNEL,
    CUSTOMER_ID,
    DEFAULT_CHANNEL,
    STAGE,
    TIMESTAMP,
    TOUCHPOINT,
    VALUE,
)
from journeyml.features.spec import FeatureSpec, spec_cache

NS_PER_DAY = 86_400 * 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    def customers(self, first: int, stop: int) -> EventArrays:
        """The events of customers ``first .. stop-1`` (views, codes renumbered from 0)."""
        lo, hi = int(self.offsets[first]), int(self.offsets[stop])
        return EventArrays(
            customer_ids=self.customer_ids[first:stop],
            cust=self.cust[lo:hi] - first,
            ts=self.ts[lo:hi],
            touchpoint=self.touchpoint[lo:hi],
            channel=self.channel[lo:hi],
            stage=self.stage[lo:hi],
            value=self.value[lo:hi],
            attributes={k: v[lo:hi] for k, v in self.attributes.items()},
            _offsets=self.offsets[first : stop + 1] - lo,
        )

    def select(self, keep: np.ndarray) -> EventArrays:
        """The events where ``keep`` holds (the same customers and codes; order kept)."""
        return EventArrays(
            customer_ids=self.customer_ids,
            cust=self.cust[keep],
            ts=self.ts[keep],
            touchpoint=self.touchpoint[keep],
            channel=self.channel[keep],
            stage=self.stage[keep],
            value=self.value[keep],
            attributes={k: v[keep] for k, v in self.attributes.items()},
        )

    def customer_codes(self, ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Codes of the given customer ids; -1 for customers with no events."""
        idx = pd.Index(self.customer_ids)
        return np.asarray(idx.get_indexer(pd.Index(np.asarray(ids, dtype=object))), np.int64)


# --- vocabulary lookups (cached per spec) ------------------------------------------------
def vocab_map(spec: FeatureSpec, name: str) -> dict[str, int]:
    """``{value: code}`` for a vocabulary (without "other"), cached on the spec."""

    def make() -> dict[str, int]:
        vocab = spec.vocabulary(name)[:-1]
        return {v: i for i, v in enumerate(vocab)}

    out: dict[str, int] = spec_cache(spec, f"vocab:{name}", make)
    return out


def _lookup(values: np.ndarray, mapping: dict[str, int], *, missing: int) -> np.ndarray:
    """Codes of a (small) array of values: unseen -> len(mapping) ("other"); missing ->
    ``missing``."""
    other = len(mapping)
    out = np.empty(len(values), np.int32)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT:
            out[i] = missing
        else:
            out[i] = mapping.get(str(v), other)
    return out


def _factor(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes ordered by the text of the values (-1 missing) and the sorted texts.

    Cheap for categorical and arrow-backed columns; object columns are hashed once."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _factor_categorical(col)
    codes, uniques = pd.factorize(col, sort=False)
    return _rank_codes(np.asarray(codes), uniques)


def _factor_categorical(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_factor` of a categorical column from its codes (no hashing; unused categories
    dropped, as factorizing would)."""
    codes = np.asarray(col.cat.codes.to_numpy())
    cats = col.cat.categories
    used = np.bincount(codes.astype(np.intp) + 1, minlength=len(cats) + 1)[1:] > 0
    dense = np.cumsum(used) - 1  # category → code among the used ones
    values = cats[used]
    if pd.api.types.is_string_dtype(values.dtype):  # texts already: no per-value str()
        values = values.to_numpy(dtype=object)
    ranks, texts = _rank_codes(np.arange(int(used.sum())), values)
    lut = np.r_[np.where(used, ranks[np.maximum(dense, 0)] if len(ranks) else -1, -1), -1]
    return lut.astype(np.int64)[codes], texts  # code -1 reads the trailing -1


def _rank_codes(codes: np.ndarray, uniques: Any) -> tuple[np.ndarray, np.ndarray]:
    """Factor codes (-1 missing) and their values → codes ordered by text, sorted texts."""
    if (
        isinstance(uniques, np.ndarray)
        and uniques.dtype == object
        and all(type(u) is str for u in uniques)
    ):
        texts = uniques
    else:
        texts = np.asarray([str(u) for u in uniques], dtype=object)
    order = np.argsort(texts, kind="stable") if len(texts) else np.zeros(0, np.int64)
    rank = np.empty(len(texts), np.int64)
    rank[order] = np.arange(len(texts))
    sorted_texts = texts[order]
    # distinct values with one text (1 and "1") share a rank
    if len(sorted_texts) > 1:
        same = np.r_[False, sorted_texts[1:] == sorted_texts[:-1]]
        if same.any():
            dense = np.cumsum(~same) - 1
            rank = dense[rank]
            sorted_texts = sorted_texts[~same]
    codes = np.asarray(codes, dtype=np.int64)
    out = np.where(codes >= 0, rank[np.maximum(codes, 0)] if len(rank) else -1, -1)
    return out.astype(np.int64), sorted_texts


def _encode_column(col: pd.Series, spec: FeatureSpec, name: str, missing: int = -1) -> np.ndarray:
    if isinstance(col.dtype, pd.CategoricalDtype):  # one gather from the category codes
        cats = col.cat.categories
        texts = (
            cats.to_numpy(dtype=object)
            if pd.api.types.is_string_dtype(cats.dtype)
            else np.asarray([str(c) for c in cats], dtype=object)
        )
        lut = _lookup(texts, vocab_map(spec, name), missing=-1)
        return np.r_[lut, missing].astype(np.int32)[np.asarray(col.cat.codes.to_numpy())]
    codes, texts = _factor(col)
    lut = _lookup(texts, vocab_map(spec, name), missing=-1)
    return np.r_[lut, missing].astype(np.int32)[codes]


def stages_of_touchpoints(
    spec: FeatureSpec, stage: np.ndarray, touchpoint: np.ndarray
) -> np.ndarray:
    """``stage`` codes with the missing ones (-1) filled from the touchpoint codes when the
    spec's stages are its touchpoints (:attr:`FeatureSpec.stages_are_touchpoints`: a process
    log); unchanged otherwise."""
    missing = stage < 0
    if not spec.stages_are_touchpoints or not missing.any():
        return stage

    def make() -> np.ndarray:
        st = vocab_map(spec, STAGE)
        return np.array([*(st[t] for t in spec.touchpoints), len(st)], dtype=np.int32)

    lut: np.ndarray = spec_cache(spec, "stage_of_touchpoint", make)
    out = stage.copy()
    known = missing & (touchpoint >= 0)
    out[known] = lut[np.minimum(touchpoint[known], len(lut) - 1)]
    return out


def _numeric(values: Any) -> np.ndarray:
    return np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64)


def _tie_keys(
    channel: np.ndarray, stage: np.ndarray, value: np.ndarray, attrs: dict[str, np.ndarray]
) -> list[np.ndarray]:
    """Secondary sort keys, least significant first (for ``np.lexsort``)."""
    return [*(attrs[a] for a in sorted(attrs, reverse=True)), value, stage, channel]


def _reorder(
    order: np.ndarray,
    touchpoint: np.ndarray,
    channel: np.ndarray,
    stage: np.ndarray,
    value: np.ndarray,
    attrs: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The encoded event columns put in ``order``."""
    return (
        touchpoint[order],
        channel[order],
        stage[order],
        value[order],
        {a: v[order] for a, v in attrs.items()},
    )


def encode_frame(events: pd.DataFrame, spec: FeatureSpec) -> EventArrays:
    """Encode a canonical event frame (any row order) for :func:`compute_features`."""
    n = len(events)
    cust_rank, cust_texts = _factor(events[CUSTOMER_ID])
    ts = (
        events[TIMESTAMP].to_numpy(dtype="datetime64[ns]").view(np.int64)
        if n
        else np.zeros(0, np.int64)
    )
    tp_rank, tp_texts = _factor(events[TOUCHPOINT])
    tp_lut = np.r_[_lookup(tp_texts, vocab_map(spec, TOUCHPOINT), missing=-1), -1]
    touchpoint = tp_lut[tp_rank].astype(np.int32)
    unknown = vocab_map(spec, CHANNEL).get(DEFAULT_CHANNEL, len(spec.channels))
    if CHANNEL in events.columns:
        channel = _encode_column(events[CHANNEL], spec, CHANNEL, missing=unknown)
    else:
        channel = np.full(n, unknown, np.int32)
    stage = (
        _encode_column(events[STAGE], spec, STAGE) if STAGE in events.columns else np.full(n, -1)
    ).astype(np.int32)
    stage = stages_of_touchpoints(spec, stage, touchpoint)
    value = _numeric(events[VALUE]) if VALUE in events.columns else np.full(n, np.nan)
    attrs: dict[str, np.ndarray] = {}
    for a in spec.params.attributes:
        if a not in events.columns:
            continue
        if spec.attribute_kinds.get(a) == "numeric":
            attrs[a] = _numeric(events[a])
        else:
            attrs[a] = _encode_column(events[a], spec, f"attribute:{a}")

    # total order: (customer, time, touchpoint text), exact ties by the encoded rest
    order: np.ndarray | None = None
    if n > 1:
        dc, dt, dp = np.diff(cust_rank), np.diff(ts), np.diff(tp_rank)
        if not np.all((dc > 0) | ((dc == 0) & ((dt > 0) | ((dt == 0) & (dp >= 0))))):
            order = np.lexsort((tp_rank, ts, cust_rank))
            cust_rank, ts, tp_rank = cust_rank[order], ts[order], tp_rank[order]
            dc, dt, dp = np.diff(cust_rank), np.diff(ts), np.diff(tp_rank)
        tie = (dc == 0) & (dt == 0) & (dp == 0)
        if tie.any():
            rows = np.flatnonzero(np.r_[tie, False] | np.r_[False, tie])
            group = np.cumsum(~np.r_[False, tie])[rows]
            src = rows if order is None else order[rows]
            keys = _tie_keys(
                channel[src], stage[src], value[src], {a: v[src] for a, v in attrs.items()}
            )
            sub = np.lexsort((*keys, group))
            base = np.arange(n) if order is None else order
            base = base.copy()
            base[rows] = src[sub]
            order = base
    if order is not None:
        touchpoint, channel, stage, value, attrs = _reorder(
            order, touchpoint, channel, stage, value, attrs
        )
    return EventArrays(
        customer_ids=cust_texts,
        cust=cust_rank.astype(np.int64),
        ts=np.ascontiguousarray(ts, dtype=np.int64),
        touchpoint=touchpoint,
        channel=channel,
        stage=stage,
        value=value,
        attributes=attrs,
    )


def _micro_at_most(text: str) -> bool:
    """True unless an ISO text has more than 6 fractional digits (``datetime.fromisoformat``
    would drop the nanoseconds without a word)."""
    dot = text.find(".")
    if dot < 0:
        return True
    end = dot + 1
    while end < len(text) and text[end].isdigit():
        end += 1
    return end - dot - 1 <= 6


def to_ns(ts: Any) -> int:
    """Nanoseconds since the epoch (UTC) of a datetime, Timestamp or ISO string; naive = UTC.

    >>> to_ns("2024-01-01T01:00:00+01:00") == to_ns("2024-01-01") == to_ns("2024-01-01T00:00Z")
    True
    >>> to_ns("2024-01-01T00:00:00.000000001Z") - to_ns("2024-01-01")  # nanoseconds are kept
    1
    >>> to_ns(pd.Timestamp("2024-01-01T01:00:00+01:00").as_unit("s")) == to_ns("2024-01-01")
    True
    """
    if isinstance(ts, pd.Timestamp):  # ns since the epoch, UTC (naive ones read as UTC)
        return int(ts.value)
    if isinstance(ts, str) and len(ts) <= 32 and _micro_at_most(ts):
        with contextlib.suppress(ValueError):
            ts = datetime.fromisoformat(ts)
    if isinstance(ts, datetime) and not isinstance(ts, pd.Timestamp):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        delta = ts - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    return int(t.tz_convert("UTC").as_unit("ns").value)


def _float(v: Any) -> float:
    try:
        return np.nan if v is None else float(v)
    except (TypeError, ValueError):
        return np.nan


def encode_records(
    customer_id: str, records: Sequence[Mapping[str, Any]], spec: FeatureSpec
) -> EventArrays:
    """Encode one journey given as event dicts (the API path; no pandas frames).

    Each record has ``timestamp`` (datetime, pandas Timestamp or ISO string; naive = UTC),
    ``touchpoint``, and optionally ``channel``, ``stage``, ``value`` and attribute keys.
    """
    n = len(records)
    ts = np.fromiter((to_ns(r["timestamp"]) for r in records), dtype=np.int64, count=n)
    tps = [str(r[TOUCHPOINT]) for r in records]
    tp_map = vocab_map(spec, TOUCHPOINT)
    ch_map = vocab_map(spec, CHANNEL)
    st_map = vocab_map(spec, STAGE)
    other_tp, other_ch, other_st = len(tp_map), len(ch_map), len(st_map)
    touchpoint = np.fromiter((tp_map.get(t, other_tp) for t in tps), np.int32, count=n)
    channel = np.fromiter(
        (
            ch_map.get(
                DEFAULT_CHANNEL if (c := r.get(CHANNEL)) is None or c != c else str(c), other_ch
            )
            for r in records
        ),
        np.int32,
        count=n,
    )
    stage = np.fromiter(
        (
            -1 if (s := r.get(STAGE)) is None or s != s else st_map.get(str(s), other_st)
            for r in records
        ),
        np.int32,
        count=n,
    )
    stage = stages_of_touchpoints(spec, stage, touchpoint)
    value = np.fromiter(
        (np.nan if (v := r.get(VALUE)) is None else float(v) for r in records), np.float64, n
    )
    attrs: dict[str, np.ndarray] = {}
    for a in spec.params.attributes:
        vals = [r.get(a) for r in records]
        if spec.attribute_kinds.get(a) == "numeric":
            attrs[a] = np.fromiter((_float(v) for v in vals), np.float64, count=n)
        else:
            attrs[a] = _lookup(
                np.asarray(vals, dtype=object), vocab_map(spec, f"attribute:{a}"), missing=-1
            )
    if n > 1:
        tp_rank = np.unique(np.asarray(tps, dtype=object), return_inverse=True)[1]
        order = np.lexsort((*_tie_keys(channel, stage, value, attrs), tp_rank, ts))
        ts = ts[order]
        touchpoint, channel, stage, value, attrs = _reorder(
            order, touchpoint, channel, stage, value, attrs
        )
    return EventArrays(
        customer_ids=np.array([str(customer_id)], dtype=object),
        cust=np.zeros(n, np.int64),
        ts=ts,
        touchpoint=touchpoint,
        channel=channel,
        stage=stage,
        value=value,
        attributes=attrs,
    )
