"""``build_features``: the one feature code path for training, batch scoring and the API.

Features for a cutoff ``(customer_id, as_of)`` use only that customer's events strictly before
``as_of``. :class:`FeatureBuilder` learns the vocabularies (a :class:`FeatureSpec`) from
training events; :func:`build_features` (frames) and :func:`journey_features` (one journey as
event dicts, no pandas) both encode into :class:`EventArrays` and call :func:`compute_features`.

A tiny example, checkable by eye (one customer, three events):

>>> import pandas as pd
>>> ev = pd.DataFrame({
...     "customer_id": ["a", "a", "a"],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-09"], utc=True),
...     "touchpoint": ["visit", "support_call", "support_call"],
...     "channel": ["web", "phone", "phone"],
... })
>>> spec = FeatureBuilder(windows_days=(7,)).fit(ev).spec_
>>> cut = pd.DataFrame({"customer_id": ["a"], "as_of": pd.to_datetime(["2024-01-09"], utc=True)})
>>> X = build_features(ev, cut, spec)
>>> X.loc[0, ["count_events_all", "count_touchpoint_support_call_7d", "days_since_last_event"]]
... # the event at 2024-01-09 is not before as_of
count_events_all                    2.0
count_touchpoint_support_call_7d    1.0
days_since_last_event               4.0
Name: 0, dtype: float64
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError, DataError, MissingColumnError, NotFittedError
from journeyml.events import (
    CANONICAL_STAGES,
    CHANNEL,
    CUSTOMER_ID,
    STAGE,
    TOUCHPOINT,
    is_canonical,
    to_canonical,
)
from journeyml.features import attributes, counts, own, recency, sequence, sessions, values
from journeyml.features.arrays import EventArrays, encode_frame, encode_records, to_ns
from journeyml.features.context import Context
from journeyml.features.spec import FeatureDef, FeatureParams, FeatureSpec, slug, spec_cache

AS_OF = "as_of"
N_EVENTS = "n_events"

#: feature families in column order
FAMILIES = (counts, recency, sessions, sequence, values, attributes)


def _top(values: pd.Series, k: int) -> tuple[str, ...]:
    counts_ = values.dropna().astype(str).value_counts()
    ranked = sorted(counts_.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(v for v, _ in ranked[:k])


def _check_unique_slugs(name: str, vocab: Sequence[str]) -> None:
    seen: dict[str, str] = {}
    for v in vocab:
        s = slug(v)
        if s in seen:
            raise ConfigError(
                f"expected {name} values with distinct feature-name forms, got {seen[s]!r} and "
                f"{v!r} (both '{s}'). Rename one in the mapping file.",
                field=name,
            )
        seen[s] = v


class FeatureBuilder:
    """Learns a :class:`FeatureSpec` from training events (scikit-learn style).

    Parameters are stored as given; :meth:`fit` sets ``spec_``.

    >>> from journeyml import FeatureBuilder, toy
    >>> spec = FeatureBuilder(windows_days=(7,)).fit(toy.journeys()).spec_
    >>> spec.names[:3]
    ['count_events_7d', 'count_touchpoint_ad_impression_7d', 'count_touchpoint_site_visit_7d']
    """

    def __init__(
        self,
        windows_days: Sequence[float] = (1, 7, 30, 90),
        last_k: int = 3,
        session_gap_minutes: float = 30.0,
        top_n_transitions: int = 20,
        max_touchpoints: int = 60,
        max_channels: int = 20,
        max_attribute_levels: int = 20,
        trend_days: float = 7.0,
        attributes: Sequence[str] = (),
        stage_order: Sequence[str] | None = None,
        company_sent: Sequence[str] = (),
    ) -> None:
        self.windows_days = windows_days
        self.last_k = last_k
        self.session_gap_minutes = session_gap_minutes
        self.top_n_transitions = top_n_transitions
        self.max_touchpoints = max_touchpoints
        self.max_channels = max_channels
        self.max_attribute_levels = max_attribute_levels
        self.trend_days = trend_days
        self.attributes = attributes
        self.stage_order = stage_order
        #: the touchpoints the company sends (a mapping's ``company_sent``): see
        #: ``FeatureSpec.company_sent``
        self.company_sent = company_sent

    def params(self) -> FeatureParams:
        return FeatureParams(
            windows_days=tuple(float(w) if w != int(w) else int(w) for w in self.windows_days),
            last_k=self.last_k,
            session_gap_minutes=self.session_gap_minutes,
            top_n_transitions=self.top_n_transitions,
            max_touchpoints=self.max_touchpoints,
            max_channels=self.max_channels,
            max_attribute_levels=self.max_attribute_levels,
            trend_days=self.trend_days,
            attributes=tuple(self.attributes),
            stage_order=None if self.stage_order is None else tuple(self.stage_order),
        )

    def fit(self, events: pd.DataFrame) -> FeatureBuilder:
        params = self.params()
        ev = events if is_canonical(events) else to_canonical(events)
        touchpoints = _top(ev[TOUCHPOINT], params.max_touchpoints)
        channels = _top(ev[CHANNEL], params.max_channels)
        observed = set(ev[STAGE].dropna().astype(str))
        if params.stage_order is not None:
            stages = tuple(s for s in params.stage_order if s in observed) + tuple(
                sorted(observed - set(params.stage_order))
            )
        elif observed and observed <= set(CANONICAL_STAGES):
            stages = tuple(s for s in CANONICAL_STAGES if s in observed)
        else:  # stages of the data's own (a process log's activities): capped as touchpoints
            stages = _top(ev[STAGE], params.max_touchpoints)
        kinds: dict[str, str] = {}
        levels: dict[str, tuple[str, ...]] = {}
        for a in params.attributes:
            if a not in ev.columns:
                raise MissingColumnError(
                    a, available=ev.columns, hint="Remove it from features.attributes or map it."
                )
            col = ev[a]
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                kinds[a] = "numeric"
            else:
                kinds[a] = "categorical"
                levels[a] = _top(col, params.max_attribute_levels)
        for name, vocab in (("touchpoint", touchpoints), ("channel", channels), ("stage", stages)):
            _check_unique_slugs(name, vocab)
        base = FeatureSpec(
            params=params,
            touchpoints=touchpoints,
            channels=channels,
            stages=stages,
            features=(),
            attribute_kinds=kinds,
            attribute_levels=levels,
        )
        transitions: tuple[tuple[str, str], ...] = ()
        arr = encode_frame(ev, base)
        coupled = sequence.learn_coupled(base, arr.touchpoint, arr.cust)
        if params.top_n_transitions > 0:
            transitions = sequence.learn_transitions(
                base,
                {"touchpoint": arr.touchpoint, "stage": arr.stage},
                arr.cust,
                params.top_n_transitions,
            )
        sent = tuple(t for t in touchpoints if t in set(map(str, self.company_sent)))
        share, rate = own.shares_and_rates(replace(base, company_sent=sent), arr)
        base = replace(
            base,
            transitions=transitions,
            coupled=coupled,
            touchpoint_share=share,
            company_sent=sent,
            sent_rate=rate if sent else (),
        )
        defs: list[FeatureDef] = []
        for fam in FAMILIES:
            defs.extend(fam.define(base))
        names = [d.name for d in defs]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ConfigError(f"expected unique feature names, got duplicates {dup[:5]}")
        self.spec_ = replace(base, features=tuple(defs))
        return self

    def transform(self, events: pd.DataFrame, cutoffs: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "spec_"):
            raise NotFittedError("FeatureBuilder is not fitted: call fit(events) first.")
        return build_features(events, cutoffs, self.spec_)


#: events per chunk of :func:`compute_features` (large inputs)
CHUNK_EVENTS = 100_000


@dataclass(frozen=True)
class CustomerChunk:
    """A run of whole customers and the cutoffs that belong to them.

    ``events`` holds customers ``first .. stop-1`` (codes renumbered from 0), ``rows`` the
    positions of their cutoffs in the caller's cutoff arrays (ascending), ``q_cust`` those
    cutoffs' customer codes within the chunk (-1: a customer without events)."""

    first: int
    stop: int
    events: EventArrays
    rows: np.ndarray
    q_cust: np.ndarray


def customer_chunks(
    ev: EventArrays, q_cust: np.ndarray, chunk_events: int = CHUNK_EVENTS
) -> Iterator[CustomerChunk]:
    """Split events and cutoffs into chunks of whole customers of about ``chunk_events``
    events each (a customer with more events is a chunk of its own); chunks without cutoffs
    are skipped. Every feature depends on one customer's events only, so computing chunk by
    chunk gives the same features bit for bit; cutoffs of customers without events
    (``q_cust`` -1) go with the first chunk.

    >>> import numpy as np
    >>> ev = EventArrays(np.array(["a", "b", "c"], dtype=object), np.array([0, 0, 1, 2, 2]),
    ...     np.arange(5), *(np.zeros(5, np.int32),) * 3, np.zeros(5))
    >>> [(c.first, c.stop, c.rows.tolist()) for c in customer_chunks(ev, np.array([2, 0, -1]), 2)]
    [(0, 1, [1, 2]), (1, 3, [0])]
    """
    if chunk_events < 1:
        raise ValueError(f"expected chunk_events >= 1, got {chunk_events}")
    n_cust = len(ev.customer_ids)
    cuts = np.searchsorted(ev.offsets, np.arange(chunk_events, ev.n, chunk_events))
    bounds = np.unique(np.r_[0, np.clip(cuts, 0, n_cust), n_cust])
    if bounds.size < 2:  # no customers: only cutoffs of customers without events
        bounds = np.array([0, 0])
    for i, (c0, c1) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)):
        mine = (q_cust >= c0) & (q_cust < c1)
        if i == 0:
            mine |= q_cust < 0  # cutoffs of customers without events
        rows = np.flatnonzero(mine)
        if rows.size == 0:
            continue
        qc = np.where(q_cust[rows] >= 0, q_cust[rows] - c0, -1)
        yield CustomerChunk(c0, c1, ev.customers(c0, c1), rows, qc)


def chunk_context(
    chunk: CustomerChunk, spec: FeatureSpec, as_of: np.ndarray, n_events: np.ndarray | None
) -> Context:
    """The :class:`Context` of one chunk's cutoffs (``as_of`` and ``n_events`` over every
    cutoff the chunks were made from)."""
    rows = chunk.rows
    n_ev = None if n_events is None else n_events[rows]
    return Context.build(chunk.events, spec, chunk.q_cust, as_of[rows], n_ev)


def compute_features(
    ev: EventArrays,
    spec: FeatureSpec,
    q_cust: np.ndarray,
    as_of: np.ndarray,
    n_events: np.ndarray | None = None,
    *,
    dtype: type[np.floating[Any]] = np.float64,
) -> np.ndarray:
    """The feature matrix (n_cutoffs × n_features, float64; categorical codes as floats,
    NaN for missing), columns in ``spec.names`` order. ``dtype=np.float32`` stores it in half
    the memory (training: see :func:`build_features`); the values are computed in float64
    either way and rounded once, when stored.

    Large inputs are computed in chunks of whole customers of about :data:`CHUNK_EVENTS`
    events each: every feature depends on one customer's events only, so the result is the
    same bit for bit, and the working arrays of a chunk stay in the CPU caches (one pass over
    10 M events at once runs at two thirds of the speed, and needs gigabytes).
    """
    out = np.empty((q_cust.shape[0], len(spec.features)), dtype=dtype, order="F")
    if ev.n <= CHUNK_EVENTS + CHUNK_EVENTS // 2:
        return features_from_context(Context.build(ev, spec, q_cust, as_of, n_events), out)
    for chunk in customer_chunks(ev, q_cust, CHUNK_EVENTS):
        rows = chunk.rows
        ctx = chunk_context(chunk, spec, as_of, n_events)
        if rows[-1] - rows[0] + 1 == rows.size:  # the usual case: cutoffs sorted by customer
            features_from_context(ctx, out[rows[0] : rows[-1] + 1])  # in place: no fresh memory
        else:  # one column at a time: a 2-D scatter into column-major memory is slow
            X = features_from_context(ctx)
            for j in range(X.shape[1]):
                out[rows, j] = X[:, j]
    return out


def _blocks(family: Any, spec: FeatureSpec) -> dict[str, list[str]]:
    fn = getattr(family, "blocks", None)
    out: dict[str, list[str]] = fn(spec) if fn is not None else {}
    return out


def compute_family(family: Any, ctx: Context) -> dict[str, np.ndarray]:
    """One family's columns by feature name (1-D arrays), for tests and debugging."""
    blocks = _blocks(family, ctx.spec)
    out: dict[str, np.ndarray] = {}
    for key, col in family.compute(ctx).items():
        if key in blocks:
            for j, name in enumerate(blocks[key]):
                out[name] = np.ascontiguousarray(col[:, j])
        else:
            out[key] = col
    return out


Where = np.ndarray | slice | int


def _plan(spec: FeatureSpec) -> dict[str, Where]:
    """Where each output of the families goes in the matrix: a column index (one feature), a
    slice (a block of adjacent columns) or an index array (any other block); cached per spec."""

    def make() -> dict[str, Where]:
        pos = {name: j for j, name in enumerate(spec.names)}
        plan: dict[str, Where] = {}
        for fam in FAMILIES:
            for key, names in _blocks(fam, spec).items():
                idx = np.array([pos.get(n, -1) for n in names], dtype=np.int64)
                contiguous = len(idx) > 0 and (idx >= 0).all() and (np.diff(idx) == 1).all()
                plan[key] = slice(int(idx[0]), int(idx[-1]) + 1) if contiguous else idx
        for name, j in pos.items():
            plan.setdefault(name, j)
        return plan

    out: dict[str, Where] = spec_cache(spec, "plan", make)
    return out


def features_from_context(ctx: Context, out: np.ndarray | None = None) -> np.ndarray:
    """The feature matrix for a built :class:`Context` (its bounds stay usable afterwards),
    written into ``out`` when given (rows × features, e.g. a slice of a larger matrix)."""
    spec = ctx.spec
    plan = _plan(spec)
    p = spec.params
    ctx.prepare_windows([*p.windows_days, p.trend_days, 2 * p.trend_days])
    n_feat = len(spec.features)
    if out is None:
        # column-major: every family writes whole columns, which are then contiguous
        out = np.empty((ctx.n_queries, n_feat), dtype=np.float64, order="F")
    elif out.shape != (ctx.n_queries, n_feat):
        raise ValueError(f"expected out of shape {(ctx.n_queries, n_feat)}, got {out.shape}")
    filled = np.zeros(n_feat, dtype=bool)
    for fam in FAMILIES:
        for key, col in fam.compute(ctx).items():
            where = plan.get(key)
            if where is None:
                continue
            if isinstance(where, slice):
                out[:, where] = col
                filled[where] = True
            elif isinstance(where, np.ndarray):
                keep = where >= 0
                if keep.all():
                    out[:, where] = col
                else:
                    out[:, where[keep]] = col[:, keep]
                filled[where[keep]] = True
            else:
                out[:, where] = col
                filled[where] = True
    if not filled.all():  # a spec from other code
        name = spec.names[int(np.flatnonzero(~filled)[0])]
        raise DataError(
            f"expected the feature engine to produce {name!r}, but it does not. The model "
            "was built by another version of journeyml: retrain it.",
            field=name,
        )
    return out


def cutoff_arrays(cutoffs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    for col in (CUSTOMER_ID, AS_OF):
        if col not in cutoffs.columns:
            raise MissingColumnError(
                col, available=cutoffs.columns, hint="Cutoffs need customer_id and as_of columns."
            )
    as_of = pd.to_datetime(cutoffs[AS_OF], utc=True)
    if as_of.isna().any():
        raise DataError("expected an as_of time on every cutoff, got missing values.", field=AS_OF)
    ns = as_of.to_numpy(dtype="datetime64[ns]").view(np.int64)
    n_ev = cutoffs[N_EVENTS].to_numpy(np.int64) if N_EVENTS in cutoffs.columns else None
    return cutoffs[CUSTOMER_ID].astype(str).to_numpy(dtype=object), ns, n_ev


def encode_events(events: pd.DataFrame, spec: FeatureSpec) -> EventArrays:
    """The events as the feature engine reads them (canonical columns, codes of ``spec``)."""
    return encode_frame(events if is_canonical(events) else to_canonical(events), spec)


def cutoff_codes(
    arr: EventArrays, cutoffs: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Each cutoff's customer code in ``arr`` (-1: no events), ``as_of`` in ns, and
    ``n_events`` where the cutoffs have them."""
    ids, as_of, n_ev = cutoff_arrays(cutoffs)
    return arr.customer_codes(ids), as_of, n_ev


def build_features(
    events: pd.DataFrame,
    cutoffs: pd.DataFrame,
    spec: FeatureSpec,
    *,
    dtype: type[np.floating[Any]] = np.float64,
) -> pd.DataFrame:
    """Features for each cutoff row (same index as ``cutoffs``), from events before ``as_of``.

    >>> import pandas as pd
    >>> from journeyml import FeatureBuilder, build_features, toy
    >>> events = toy.journeys()
    >>> spec = FeatureBuilder(windows_days=(7,)).fit(events).spec_
    >>> cutoffs = pd.DataFrame({"customer_id": ["ann", "ann"],
    ...                         "as_of": pd.to_datetime(["2024-01-04", "2024-01-11"], utc=True)})
    >>> build_features(events, cutoffs, spec)[["count_events_7d", "count_touchpoint_purchase_7d"]]
       count_events_7d  count_touchpoint_purchase_7d
    0              3.0                           0.0
    1              1.0                           1.0

    (ann's three events of the 1st and 3rd are before the 4th; by the 11th, only the purchase
    of the 10th is within 7 days.)

    ``dtype=np.float32`` halves the memory of a training matrix. Counts, flags and category
    codes (most columns) are exact in float32; times and amounts keep 7 significant digits.
    A LightGBM split threshold lies midway between two adjacent training values, so a tree
    trained on the float32 values routes the float64 values of serving exactly as it routes
    their float32 roundings.
    """
    arr = encode_events(events, spec)
    q_cust, as_of, n_ev = cutoff_codes(arr, cutoffs)
    X = compute_features(arr, spec, q_cust, as_of, n_ev, dtype=dtype)
    # X is ours and column-major: the frame takes it as it is, without a transposing copy
    return pd.DataFrame(X, index=cutoffs.index, columns=spec.names, copy=False)


def journey_features(
    customer_id: str,
    records: Sequence[Mapping[str, Any]],
    as_of: Any,
    spec: FeatureSpec,
) -> np.ndarray:
    """Features of one journey given as event dicts (1 × n_features), for the serving path.

    >>> import numpy as np, pandas as pd
    >>> from journeyml import FeatureBuilder, build_features, journey_features, toy
    >>> events = toy.journeys()
    >>> spec = FeatureBuilder(windows_days=(7,)).fit(events).spec_
    >>> as_of = pd.Timestamp("2024-01-04", tz="UTC")
    >>> one = journey_features("ann", events[events.customer_id == "ann"].to_dict("records"),
    ...                        as_of, spec)
    >>> cutoff = pd.DataFrame({"customer_id": ["ann"], "as_of": [as_of]})
    >>> frame = build_features(events, cutoff, spec)
    >>> one.shape == frame.shape, np.array_equal(one, frame.to_numpy(), equal_nan=True)
    (True, True)
    """
    arr = encode_records(customer_id, records, spec)
    return compute_features(
        arr, spec, np.zeros(1, np.int64), np.array([to_ns(as_of)], dtype=np.int64)
    )
