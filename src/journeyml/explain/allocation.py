"""Allocation: which root cause each feature contribution belongs to, and how much of it.

Every feature names what it is about in its FeatureSpec (``source_type`` / ``source``): all
features about support calls (their counts in every window, time since the last one, support
call as the last touchpoint…) form the root cause ``touchpoint:support_call``. Categorical
sequence features are grouped by the value they hold in the row.

Aggregates are credited to the touchpoints they are made of, so that one touchpoint's signal is
not scattered over the stage and channel it belongs to:

* a stage or channel **count** (``count_stage_retention_30d``) is split over the touchpoints
  counted in it, in proportion to the row's own touchpoint counts in the same window times the
  share of each touchpoint's events in that stage/channel (a :class:`Composition`, from the
  customer's events or a population); nothing is split when the count is zero (an absence is
  about the stage itself);
* "time since the last <stage> event" goes to the touchpoint of that last event;
* the last stage / last channel / current stage go to the touchpoint of the same event
  (``last_stage_2`` ↔ ``last_touchpoint_2``);
* a touchpoint transition ``a → b`` is shared half and half by ``a`` and ``b``.

Stage transitions stay causes of their own (they are moments of truth), as do journey-level
features, each named for what it is: "activity" (how many events, in a window or so far),
"recency" (time since the last event), "tenure" (time since first contact), "sessions",
"spend", "funnel progress".

**Volume is not a touchpoint's own signal.** A touchpoint's counts and recency also measure how
active the customer is and for how long they have been around: 12 logins in 30 days mostly say
"an active customer", and the days since an ad that was the customer's first touch are the
customer's tenure. So, per row, the part of a touchpoint feature that volume and tenure explain
goes to those journey causes, and the touchpoint keeps only what it adds beyond them
(:func:`generic_share`):

* a count ``c`` of touchpoint X in a window holding ``n`` events is what volume predicts up to
  ``e = s_X · n`` (``s_X``: X's share of the training events, ``FeatureSpec.touchpoint_share``);
  the share ``min(1, e / c)`` of its contribution goes to "activity"; a zero count goes to
  "activity" only when the window holds no event at all. With company-sent touchpoints
  declared (``FeatureSpec.company_sent``), ``n`` and ``s_X`` are over the customer's own
  events, and a company-sent count is what the company's schedule delivers over the
  customer's time, ``e = r_X · min(window, tenure)`` (``r_X``: ``FeatureSpec.sent_rate``, per
  customer-day since first contact): that part, ``min(1, e / c)`` (``max(0, 1 − e)`` for a
  zero count, as transitions below), goes to "tenure";
* the time since the last X goes to "tenure" when that X was in the customer's first day (a
  first touch: its recency *is* tenure); otherwise it stays with X (how recent X is, is X's
  own signal: splitting it like the counts was measured to help neither world);
* a transition count ``a → b`` (so far) is what the journey's own counts predict up to
  ``e = c_a · c_b / n`` (many ads and many newsletters make many "ad → newsletter"); a zero
  transition count is volume's for the share ``max(0, 1 − e)`` (its absence is about ``a``
  and ``b`` only where their counts predict at least one; measured on the B2B world, the
  no-effect ad reached the churn top 3 for 15 % of exposed predictions through "no ad right
  after sign-up", a stand-in for an active persona, and 3–5 % with this rule). Zero touchpoint
  counts keep the rule above: splitting them the same way freed top-3 slots that the
  retail no-effect touchpoint took (1.5 → 4.3 % in conversion). A transition between two
  company-sent touchpoints (two sends with nothing of the customer's own between them) is
  all activity's;
* likewise a sequence feature (last touchpoints, their stage and channel, the current stage)
  whose event is a send with nothing of the customer's own after it (:func:`quiet_sends`):
  "the last touchpoint was a push" says how long the customer has done nothing, not what the
  push does, so it is activity's (measured on a fourth world, a bank whose no-effect push
  reaches customers who went quiet: the push was in the churn top 3 for 22 % of exposed
  predictions, 1.3 % with this rule; docs/explanations.md);
* "time since the last event" and the recency of a touchpoint whose last event is in the
  customer's last own session (within the session gap of the last own event) describe one
  moment: the generic recency's contribution is shared with such a touchpoint as the model
  shares that moment, ``|ψ_X| / (|ψ_g| + Σ|ψ_X|)`` for a touchpoint recency ``ψ_X`` of the
  same sign as the generic ``ψ_g`` (a touchpoint the model ignores gets nothing). This one
  step reads the contributions, so it is applied with them (:meth:`Plan.apply`).

The parts of each feature still add up to its contribution, so causes add up to p − p₀.

The work is vectorised: most features map to a cause fixed by the spec (computed once per
spec), stage/channel counts are split with one matrix product per window, and only the few
features whose cause depends on the row's values (last touchpoints, recency of a stage) go
through Python one by one. Serving explains three tasks per request, so this matters.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from journeyml.features import FeatureDef, FeatureSpec, spec_cache, window_label
from journeyml.modeling import PROBABILITY_FLOOR

Key = tuple[str, str]

# journey-level features (no touchpoint/channel/stage of their own) grouped by what they say
_JOURNEY_GROUP = {
    "count": "activity",
    "session": "activity",
    "recency": "activity",
    "value": "spend",
}
#: plain-words labels of journey causes
JOURNEY_LABELS = {
    "activity": "activity level",
    "recency": "time since last event",
    "tenure": "time since first contact",
    "sessions": "sessions",
    "spend": "spend",
    "funnel progress": "funnel progress",
    "channel switching": "channel switching",
    "history": "journey history",
}
#: a touchpoint whose last event is within this many days of the customer's first event is a
#: first touch: its recency is the customer's tenure
FIRST_TOUCH_DAYS = 1.0
_JOURNEY_NAMED = {
    "tenure_days": "tenure",
    "furthest_stage_rank": "funnel progress",
    "days_in_current_stage": "funnel progress",
    "stage_regressions_all": "funnel progress",
    "channel_switches_all": "channel switching",
}
_EVENT_OF = {"current_stage": 1, "last_channel_1": 1}
_LAST_J = re.compile(r"^last_(?:stage|channel)_(\d+)$")


@dataclass(frozen=True)
class Composition:
    """What stage and channel aggregates are made of: for each touchpoint code (rows, the
    spec's touchpoint vocabulary with "other"), the share of its events in each stage and on
    each channel (columns: the spec's stage / channel vocabularies with "other").

    >>> from journeyml.features.spec import FeatureParams
    >>> spec = FeatureSpec(params=FeatureParams(windows_days=(7,)), touchpoints=("visit", "call"),
    ...                    channels=("web", "phone"), stages=("awareness",), features=())
    >>> c = Composition.from_codes(spec, np.array([0, 1, 1]), np.array([0, 1, 0]),
    ...                            np.array([0, 0, 0]))
    >>> c.channel_share[1].tolist()
    [0.5, 0.5, 0.0]
    """

    stage_share: np.ndarray
    channel_share: np.ndarray

    @classmethod
    def from_codes(
        cls,
        spec: FeatureSpec,
        touchpoint: np.ndarray,
        channel: np.ndarray,
        stage: np.ndarray,
    ) -> Composition:
        n_tp = len(spec.vocabulary("touchpoint"))
        shares = []
        for codes, n_cat in (
            (stage, len(spec.vocabulary("stage"))),
            (channel, len(spec.vocabulary("channel"))),
        ):
            ok = (codes >= 0) & (touchpoint >= 0)
            flat = touchpoint[ok].astype(np.int64) * n_cat + codes[ok].astype(np.int64)
            m = np.bincount(flat, minlength=n_tp * n_cat).astype(float).reshape(n_tp, n_cat)
            tot = m.sum(axis=1, keepdims=True)
            shares.append(np.divide(m, tot, out=np.zeros_like(m), where=tot > 0))
        return cls(stage_share=shares[0], channel_share=shares[1])

    def columns(self) -> np.ndarray:
        """Stage shares then channel shares side by side (touchpoints × (stages + channels)),
        the layout of :attr:`_Index.share_col`."""
        return np.hstack([self.stage_share, self.channel_share])


class Allocation(Mapping[Key, dict[int, float]]):
    """One row's contributions by root cause: a mapping cause → {feature index: amount}.

    Stored as parallel arrays (one entry per part of a feature given to a cause); the parts of
    one feature add up to its contribution. :meth:`totals` is what rankings need.
    """

    def __init__(
        self, keys: list[Key], key: np.ndarray, feature: np.ndarray, amount: np.ndarray
    ) -> None:
        self._keys = keys
        self.key, self.feature, self.amount = key, feature, amount

    @cached_property
    def _ids(self) -> np.ndarray:
        """Ids of the causes present, in order of first appearance."""
        ids, first = np.unique(self.key, return_index=True)
        return np.asarray(ids[np.argsort(first, kind="stable")])

    @cached_property
    def _sums(self) -> np.ndarray:
        return np.bincount(self.key, weights=self.amount, minlength=len(self._keys))

    def totals(self) -> dict[Key, float]:
        """Cause → total contribution (the sum of its parts)."""
        sums = self._sums
        return {self._keys[k]: float(sums[k]) for k in self._ids.tolist()}

    def top(self, k: int) -> list[tuple[Key, float, dict[int, float]]]:
        """The ``k`` causes of largest absolute total: (cause, total, its parts). A cause that
        moves the probability by less than :data:`~journeyml.modeling.PROBABILITY_FLOOR` (a
        class at the floor, a feature the trees never split on) is not ranked at all."""
        ids = self._ids
        ids = ids[np.abs(self._sums[ids]) >= PROBABILITY_FLOOR]
        order = np.argsort(-np.abs(self._sums[ids]), kind="stable")[:k]
        return [(self._keys[c], float(self._sums[c]), self._parts(c)) for c in ids[order].tolist()]

    def _parts(self, kid: int) -> dict[int, float]:
        m = self.key == kid
        out: dict[int, float] = {}
        for i, a in zip(self.feature[m].tolist(), self.amount[m].tolist(), strict=True):
            out[i] = out.get(i, 0.0) + a
        return out

    def __getitem__(self, cause: Key) -> dict[int, float]:
        sel = [k for k in self._ids.tolist() if self._keys[k] == cause]
        if not sel:
            raise KeyError(cause)
        return self._parts(sel[0])

    def __iter__(self) -> Iterator[Key]:
        return (self._keys[k] for k in self._ids.tolist())

    def __len__(self) -> int:
        return len(self._ids)


class _Index:
    """Lookups of one spec, built once per spec (see :func:`_index`) and reused by every
    explanation: the serving path explains three tasks per request."""

    def __init__(self, spec: FeatureSpec) -> None:
        from journeyml.features import slug

        self.pos = {f.name: i for i, f in enumerate(spec.features)}
        self.touchpoints = spec.vocabulary("touchpoint")
        self.vocab_pos = {
            d: {v: j for j, v in enumerate(spec.vocabulary(d))} for d in ("stage", "channel")
        }
        self.slugs = [slug(t) for t in self.touchpoints]
        self._count_idx: dict[str, np.ndarray] = {}
        self._days_idx = self._positions("days_since_touchpoint_{}")
        tp_pos = {t: j for j, t in enumerate(self.touchpoints)}
        self.coupled = [
            (tp_pos[a], tp_pos[b]) for a, b in spec.coupled if a in tp_pos and b in tp_pos
        ]
        self.keys: list[Key] = []
        self._key_ids: dict[Key, int] = {}
        self._lock = threading.Lock()
        self.tp_kid = np.array([self.kid(("touchpoint", t)) for t in self.touchpoints], np.int64)
        n = len(spec.features)
        # features whose cause never depends on the row: their cause, computed once
        self.static_kid = np.full(n, -1, np.int64)
        # touchpoint transitions a → b: half to each
        self.trans_kid = np.full((2, n), -1, np.int64)
        # stage/channel counts split over touchpoints: column in Composition.columns()
        self.share_col = np.full(n, -1, np.int64)
        self.window_code = np.full(n, -1, np.int64)
        self.windows: list[float | None] = []
        # stage/channel features whose cause depends on the row (through the touchpoint of the
        # event they read, or of the latest event of the stage): one by one
        self.dynamic = np.zeros(n, bool)
        self.fallback_kid = np.full(n, -1, np.int64)
        # "time since the last <stage> event": column in Composition.columns()
        self.recency_col = np.full(n, -1, np.int64)
        n_stage = len(spec.vocabulary("stage"))
        for i, f in enumerate(spec.features):
            if f.kind == "numeric" and (
                f.source_type in ("touchpoint", "journey")
                or (
                    f.source_type == "transition"
                    and not f.name.startswith("transition_touchpoint_")
                )
            ):
                self.static_kid[i] = self.kid(group_key(spec, f, 0.0))
            elif f.source_type == "transition":
                a, _, b = str(f.source).partition(" → ")
                self.trans_kid[:, i] = (self.kid(("touchpoint", a)), self.kid(("touchpoint", b)))
            else:
                self.dynamic[i] = True
                if f.kind == "numeric":  # the cause when it is not credited to touchpoints
                    self.fallback_kid[i] = self.kid(group_key(spec, f, 0.0))
                col = self.vocab_pos.get(f.source_type, {}).get(f.source or "")
                if col is None or f.kind != "numeric":
                    continue
                col += n_stage if f.source_type == "channel" else 0
                if f.family == "count":
                    self.share_col[i] = col
                    if f.window_days not in self.windows:
                        self.windows.append(f.window_days)
                    self.window_code[i] = self.windows.index(f.window_days)
                elif f.family == "recency":
                    self.recency_col[i] = col
        self.static = np.flatnonzero(self.static_kid >= 0)
        self.trans = np.flatnonzero(self.trans_kid[0] >= 0)
        # volume vs a touchpoint's own signal (see the module docstring)
        share = np.asarray(spec.touchpoint_share, float)
        self.share = share if len(share) == len(self.touchpoints) else None
        # company-sent touchpoints: their counts' volume is the company's schedule over the
        # customer's time (rate × days since first contact), tenure's (module docstring)
        rate = np.asarray(spec.sent_rate, float)
        self.rate = rate if len(rate) == len(self.touchpoints) else np.zeros(len(self.touchpoints))
        self.sent = np.isin(np.array(self.touchpoints, object), list(spec.company_sent))
        self.gwindows: list[float | None] = [*spec.params.windows_days, None]
        self.count_window = np.full(n, -1, np.int64)
        self.tp_recency = np.zeros(n, bool)
        for i, f in enumerate(spec.features):
            if f.kind != "numeric" or f.source_type not in ("touchpoint", "stage", "channel"):
                continue
            if f.family == "count" and f.window_days in self.gwindows:
                self.count_window[i] = self.gwindows.index(f.window_days)
            elif f.family == "recency":
                self.tp_recency[i] = True
        self.events_pos = np.array(
            [self.pos.get(f"count_events_{window_label(w)}", -1) for w in self.gwindows], np.int64
        )
        self.tenure_pos = self.pos.get("tenure_days", -1)
        # the last k touchpoints (categorical codes), most recent first
        self.last_tp_pos = np.array(
            [self.pos.get(f"last_touchpoint_{j}", -1) for j in range(1, spec.params.last_k + 1)],
            np.int64,
        )
        self.last_event_pos = self.pos.get("days_since_last_event", -1)
        # touchpoint transitions a → b (counts so far): the touchpoint codes of a and b
        self.pair = np.full((2, n), -1, np.int64)
        if self.share is not None:
            tp_pos = {t: j for j, t in enumerate(self.touchpoints)}
            for i in self.trans.tolist():
                a, _, b = str(spec.features[i].source).partition(" → ")
                if a in tp_pos and b in tp_pos:
                    self.pair[:, i] = (tp_pos[a], tp_pos[b])
        # touchpoint count positions, windows × touchpoints (-1: absent): one gather per row
        self.count_pos = np.stack(
            [self._positions("count_touchpoint_{}_" + window_label(w)) for w in self.gwindows]
        )
        self._tp_of = np.zeros(0, np.int64)
        self.generic_kid = {g: self.kid(("journey", g)) for g in ("activity", "recency", "tenure")}

    def kid(self, key: Key) -> int:
        """The id of a cause (registered on first sight; thread-safe)."""
        k = self._key_ids.get(key)
        if k is None:
            with self._lock:
                k = self._key_ids.get(key)
                if k is None:
                    k = len(self.keys)
                    self.keys.append(key)
                    self._key_ids[key] = k
        return k

    def _positions(self, pattern: str) -> np.ndarray:
        return np.array([self.pos.get(pattern.format(s), -1) for s in self.slugs], dtype=np.int64)

    @staticmethod
    def _gather(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.where(idx >= 0, x[np.maximum(idx, 0)], np.nan) if len(x) else idx * np.nan

    def tp_count(self, x: np.ndarray, w: float | None) -> np.ndarray:
        """The row's touchpoint counts in window ``w`` (NaN where the feature is absent)."""
        wl = window_label(w)
        idx = self._count_idx.get(wl)
        if idx is None:
            idx = self._count_idx[wl] = self._positions("count_touchpoint_{}_" + wl)
        return self._gather(x, idx)

    def tp_days_since(self, x: np.ndarray) -> np.ndarray:
        return self._gather(x, self._days_idx)


def _index(spec: FeatureSpec) -> _Index:
    return spec_cache(spec, "explain_index", lambda: _Index(spec))


def _label(spec: FeatureSpec, f: FeatureDef, x: float) -> str | None:
    if f.vocabulary is None or not np.isfinite(x):
        return None
    vocab = spec.vocabulary(f.vocabulary)
    i = int(x)
    return vocab[i] if 0 <= i < len(vocab) else None


def group_key(spec: FeatureSpec, f: FeatureDef, x: float) -> Key:
    """(kind, name) of the root cause a feature value belongs to (before aggregates are split
    over touchpoints, see :func:`allocate`)."""
    if f.kind == "categorical" and f.source_type in ("touchpoint", "channel", "stage"):
        lab = _label(spec, f, x)
        return (f.source_type, lab) if lab is not None else ("journey", "history")
    if f.source_type == "attribute":
        lab = _label(spec, f, x) if f.kind == "categorical" else None
        return ("attribute", f"{f.source} = {lab}" if lab is not None else str(f.source))
    if f.source is not None:
        return (f.source_type, f.source)
    return ("journey", _JOURNEY_NAMED.get(f.name, _JOURNEY_GROUP.get(f.family, f.family)))


def _same_event_touchpoint(spec: FeatureSpec, ix: _Index, f: FeatureDef, x: np.ndarray) -> str:
    """The touchpoint of the event a last-stage / last-channel / current-stage feature reads."""
    m = _LAST_J.match(f.name)
    j = int(m.group(1)) if m else _EVENT_OF.get(f.name)
    if j is None:
        return ""
    i = ix.pos.get(f"last_touchpoint_{j}")
    if i is None:
        return ""
    return _label(spec, spec.features[i], float(x[i])) or ""


_LAST_TP = re.compile(r"^last_touchpoint_(\d+)$")


def _event_of(f: FeatureDef) -> int:
    """Which of the last events a sequence feature reads (1: the last), 0 for none."""
    m = _LAST_J.match(f.name) or _LAST_TP.match(f.name)
    return int(m.group(1)) if m else _EVENT_OF.get(f.name, 0)


def quiet_sends(ix: _Index, x: np.ndarray) -> int:
    """How many of the row's last events are company-sent with nothing of the customer's own
    after them (0 without company-sent touchpoints)."""
    if not ix.sent.any():
        return 0
    q = 0
    for p in ix.last_tp_pos.tolist():
        code = x[p] if p >= 0 else np.nan
        if not np.isfinite(code) or not 0 <= int(code) < len(ix.sent) or not ix.sent[int(code)]:
            break
        q += 1
    return q


def allocate(
    spec: FeatureSpec,
    x: np.ndarray,
    psi: np.ndarray,
    composition: Composition | None = None,
) -> Allocation:
    """Each root cause → {feature index: the part of that feature's contribution it gets}.

    The parts of one feature add up to its contribution (nothing is lost or double-counted).
    """
    return Plan.for_row(spec, x, composition).apply(psi)


@dataclass(frozen=True)
class Plan:
    """How one row's feature contributions are shared out to causes, whatever the task: the
    entries (cause, feature, weight) depend on the row's values only, so one plan serves every
    task explained for the row; the weights of one feature add up to 1. Only the share of the
    generic recency with the last session's touchpoints (``overlap``) reads the task's
    contributions, in :meth:`apply`."""

    keys: list[Key]
    key: np.ndarray
    feature: np.ndarray
    weight: np.ndarray
    #: (the generic recency feature, the recency features of the own touchpoints of the last
    #: own session, their cause ids): the moment they share (:func:`last_session_touchpoints`)
    overlap: tuple[int, np.ndarray, np.ndarray] | None = None

    def apply(self, psi: np.ndarray) -> Allocation:
        amount = self.weight * psi[self.feature]
        key, feature = self.key, self.feature
        if self.overlap is not None:
            key, feature, amount = _share_last_session(self.overlap, psi, key, feature, amount)
        keep = amount != 0
        return Allocation(self.keys, key[keep], feature[keep], amount[keep])

    @classmethod
    def for_row(
        cls, spec: FeatureSpec, x: np.ndarray, composition: Composition | None = None
    ) -> Plan:
        ix = _index(spec)
        keys = [ix.static_kid[ix.static], ix.trans_kid[0, ix.trans], ix.trans_kid[1, ix.trans]]
        feats = [ix.static, ix.trans, ix.trans]
        weights = [np.ones(len(ix.static)), np.full(2 * len(ix.trans), 0.5)]
        one_by_one = ix.dynamic.copy()
        if composition is not None:
            shares = composition.columns()  # touchpoints × (stages + channels)
            # a stage/channel count → the touchpoints counted in it
            split = np.flatnonzero(one_by_one & (ix.share_col >= 0) & (x > 0))
            for w in np.unique(ix.window_code[split]).tolist():
                sel = split[ix.window_code[split] == w]
                c = ix.tp_count(x, ix.windows[w])
                c = np.where(np.isnan(c), 0.0, c)
                weight = c[:, None] * shares[:, ix.share_col[sel]]  # touchpoints × features
                total = weight.sum(axis=0)
                ok = total > 0
                one_by_one[sel[ok]] = False  # split here; the others fall through
                r, j = np.nonzero(weight[:, ok] > 0)
                keys.append(ix.tp_kid[r])
                feats.append(sel[ok][j])
                weights.append((weight[:, ok] / total[ok])[r, j])
            # time since a stage/channel → the touchpoint of that latest event
            rec = np.flatnonzero(one_by_one & (ix.recency_col >= 0) & np.isfinite(x))
            if len(rec):
                days = ix.tp_days_since(x)
                in_it = shares[:, ix.recency_col[rec]] > 0  # touchpoints × features
                d = np.where(in_it & np.isfinite(days)[:, None], days[:, None], np.inf)
                latest = d.argmin(axis=0)
                ok = np.isfinite(d[latest, np.arange(len(rec))])
                one_by_one[rec[ok]] = False
                keys.append(ix.tp_kid[latest[ok]])
                feats.append(rec[ok])
                weights.append(np.ones(int(ok.sum())))
        fixed = np.flatnonzero(one_by_one & (ix.fallback_kid >= 0))  # numeric: fixed cause
        keys.append(ix.fallback_kid[fixed])
        feats.append(fixed)
        weights.append(np.ones(len(fixed)))
        more_k: list[int] = []
        more_f: list[int] = []
        quiet = quiet_sends(ix, x)
        for i in np.flatnonzero(one_by_one & (ix.fallback_kid < 0)).tolist():  # categorical
            f = spec.features[i]
            if quiet and _event_of(f) <= quiet:  # a send with nothing of the customer's since
                more_k.append(ix.generic_kid["activity"])
                more_f.append(i)
                continue
            tp = (
                _same_event_touchpoint(spec, ix, f, x)
                if f.source_type in ("stage", "channel")
                else ""
            )
            key = ("touchpoint", tp) if tp else group_key(spec, f, float(x[i]))
            more_k.append(ix.kid(key))
            more_f.append(i)
        keys.append(np.array(more_k, np.int64))
        feats.append(np.array(more_f, np.int64))
        weights.append(np.ones(len(more_f)))
        key_arr = np.concatenate(keys)
        for a, b in coupled_touchpoints(ix, x):
            key_arr[key_arr == ix.kid(("touchpoint", a))] = ix.kid(("touchpoint", b))
        feat_arr, w_arr = np.concatenate(feats), np.concatenate(weights)
        if ix.share is not None:
            key_arr, feat_arr, w_arr = _split_generic(ix, x, key_arr, feat_arr, w_arr)
            tps = last_session_touchpoints(ix, x, spec.params.session_gap_minutes)
            if len(tps):
                ov = (ix.last_event_pos, ix._days_idx[tps], ix.tp_kid[tps])
                return cls(ix.keys, key_arr, feat_arr, w_arr, ov)
        return cls(ix.keys, key_arr, feat_arr, w_arr)


def generic_share(ix: _Index, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For one row: (``G`` windows × touchpoints, the share of a touchpoint count's contribution
    that volume explains; ``first_touch`` per touchpoint, its last event was on the customer's
    first day, so its recency is tenure). Windows are ``ix.gwindows``; see the module
    docstring."""
    assert ix.share is not None
    n_w = _Index._gather(x, ix.events_pos)
    counts = np.nan_to_num(_Index._gather(x, ix.count_pos))
    expected = ix.share[None, :] * np.where(np.isnan(n_w), 0.0, n_w)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(counts > 0, np.minimum(1.0, expected / counts), 0.0)
    g = np.where((np.nan_to_num(n_w) <= 0)[:, None], 1.0, g)
    days = ix.tp_days_since(x)
    tenure = float(x[ix.tenure_pos]) if ix.tenure_pos >= 0 else np.nan
    if ix.sent.any():  # what the company's schedule delivers over the customer's time
        span = np.array([np.inf if w is None else w for w in ix.gwindows], float)
        around = np.minimum(span, tenure if np.isfinite(tenure) else 0.0)
        sent_g = _volume_part(counts[:, ix.sent], ix.rate[None, ix.sent] * around[:, None])
        g[:, ix.sent] = sent_g
    seen = np.isfinite(days)
    return g, seen & (days >= tenure - FIRST_TOUCH_DAYS)


def _volume_part(count: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """The share of a transition count's contribution that the journey's volume explains,
    given the count its touchpoint counts predict (``expected``): ``min(1, e / c)`` for a
    count ``c`` > 0; for a zero count, ``max(0, 1 − e)``: the absence of ``a → b`` says
    something about ``a`` and ``b`` only in so far as their counts predict at least one (no ad
    right after sign-up, in a journey of 19 events holding one sign-up and 2 ads, is what
    chance predicts: it describes the journey, not the ad).

    >>> _volume_part(np.array([4.0, 1.0, 0.0, 0.0, 0.0]), np.array([1.0, 3.0, 0.0, 0.25, 2.0]))
    array([0.25, 1.  , 1.  , 0.75, 0.  ])
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            count > 0,
            np.minimum(1.0, expected / count),
            np.maximum(0.0, 1.0 - expected),
        )


def _split_generic(
    ix: _Index, x: np.ndarray, key: np.ndarray, feat: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move the part of each touchpoint count, transition or first-touch recency entry that
    volume and tenure explain to the journey causes "activity" and "tenure" (the weights of a
    feature still add up to 1)."""
    tp_of = ix._tp_of
    if len(tp_of) < len(ix.keys):  # causes registered since: extend the lookup once
        tp_of = np.full(len(ix.keys), -1, np.int64)
        tp_of[ix.tp_kid] = np.arange(len(ix.tp_kid))
        ix._tp_of = tp_of
    tp = tp_of[key]
    win = ix.count_window[feat]
    is_pair = ix.pair[0, feat] >= 0
    sel = np.flatnonzero((tp >= 0) & ((win >= 0) | ix.tp_recency[feat] | is_pair))
    if not len(sel):
        return key, feat, weight
    g, first_touch = generic_share(ix, x)
    t, w, is_pair = tp[sel], win[sel], is_pair[sel]
    frac = np.where(w >= 0, g[np.maximum(w, 0), t], first_touch[t].astype(float))
    if is_pair.any():  # a transition count: what this journey's counts of a and b predict
        c_all = np.nan_to_num(_Index._gather(x, ix.count_pos[-1]))
        n_all = float(c_all.sum())
        fa, fb = ix.pair[0, feat[sel]], ix.pair[1, feat[sel]]
        expected = c_all[np.maximum(fa, 0)] * c_all[np.maximum(fb, 0)] / max(n_all, 1.0)
        g_pair = _volume_part(np.nan_to_num(x[feat[sel]]), expected)
        # two sends in a row: nothing of the customer's own between them (activity's, whole)
        both_sent = ix.sent[np.maximum(fa, 0)] & ix.sent[np.maximum(fb, 0)]
        g_pair = np.where(both_sent, 1.0, g_pair)
        frac = np.where(is_pair, g_pair, frac)
        w = np.where(is_pair, 0, w)  # its volume part is activity
    # a count's volume part is activity, a company-sent count's and a first touch's tenure
    to_activity = (w >= 0) & (is_pair | ~ix.sent[t])
    target = np.where(to_activity, ix.generic_kid["activity"], ix.generic_kid["tenure"])
    move = frac > 0
    weight = weight.copy()
    moved = weight[sel] * frac
    weight[sel] -= moved
    return (
        np.concatenate([key, target[move]]),
        np.concatenate([feat, feat[sel][move]]),
        np.concatenate([weight, moved[move]]),
    )


#: a touchpoint's last event "is" the last own event when it is at most this much later (the
#: recencies are stored in float32 for training: a few seconds of rounding)
SAME_EVENT_DAYS = 1e-4


def last_session_touchpoints(ix: _Index, x: np.ndarray, gap_minutes: float) -> np.ndarray:
    """Codes of the customer's own touchpoints (not company-sent) whose last event is in the
    customer's last own session: within ``gap_minutes`` (the spec's session gap) before the
    last own event, whose recency is "time since the last event". Their recency and the
    generic recency then describe one moment (see :func:`_share_last_session`)."""
    if ix.last_event_pos < 0:
        return np.zeros(0, np.int64)
    r = float(x[ix.last_event_pos])
    if not np.isfinite(r):
        return np.zeros(0, np.int64)
    days = ix.tp_days_since(x)
    with np.errstate(invalid="ignore"):
        late = days - r
        ok = ~ix.sent & (ix._days_idx >= 0) & (late > -SAME_EVENT_DAYS)
        ok &= late < gap_minutes / 1440.0
    return np.flatnonzero(ok)


def _share_last_session(
    overlap: tuple[int, np.ndarray, np.ndarray],
    psi: np.ndarray,
    key: np.ndarray,
    feature: np.ndarray,
    amount: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share the generic recency's contribution with the touchpoints of the last own session,
    as the model shares that moment between them: a touchpoint whose own recency moves the
    prediction the same way (``ψ_X`` of the sign of ``ψ_g``) gets ``|ψ_X| / (|ψ_g| + Σ|ψ_X|)``
    of it. A touchpoint the model gives no weight gets nothing; the parts still add up.

    >>> key, feat, amt = _share_last_session(
    ...     (0, np.array([1, 2]), np.array([7, 8])), np.array([0.3, 0.1, -0.2]),
    ...     np.array([5, 7, 8]), np.array([0, 1, 2]), np.array([0.3, 0.1, -0.2]))
    >>> key.tolist(), [round(v, 3) for v in amt.tolist()]
    ([5, 7, 8, 7], [0.225, 0.1, -0.2, 0.075])
    """
    g, recency, kids = overlap
    a = float(psi[g])
    b = psi[recency]
    same = b * a > 0
    if not same.any():
        return key, feature, amount
    frac = np.abs(b[same]) / (abs(a) + float(np.abs(b[same]).sum()))
    at = np.flatnonzero(feature == g)
    amount = amount.copy()
    part = amount[at].copy()
    amount[at] -= part * float(frac.sum())
    return (
        np.concatenate([key, np.repeat(kids[same], len(at))]),
        np.concatenate([feature, np.tile(feature[at], int(same.sum()))]),
        np.concatenate([amount, np.outer(frac, part).ravel()]),
    )


def coupled_touchpoints(ix: _Index, x: np.ndarray) -> list[tuple[str, str]]:
    """Touchpoint pairs ``(a, b)`` that are one moment of this journey: the pair is coupled in
    the training population (``FeatureSpec.coupled``: at least 75 % of the ``b`` events come
    right after an ``a``, like a payment error right after a checkout), and the row has no
    more ``a`` than ``b`` events (every checkout of this journey ended in a payment error). The
    features cannot tell such a pair apart, so ``a``'s contributions are credited to ``b``,
    what the customer ended with. Never learned from the journey being explained."""
    if not ix.coupled:
        return []
    counts = ix.tp_count(x, None)
    counts = np.where(np.isnan(counts), 0.0, counts)
    best: dict[int, int] = {}
    for a, b in ix.coupled:
        if (
            counts[a] > 0
            and counts[b] >= counts[a]
            and (a not in best or counts[b] > counts[best[a]])
        ):
            best[a] = b
    return [(ix.touchpoints[a], ix.touchpoints[b]) for a, b in best.items()]
