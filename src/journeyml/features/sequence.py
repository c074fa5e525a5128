"""Sequence: the last k touchpoints and stages (categorical codes), current and furthest
stage, time in the current stage, regressions to an earlier stage, channel switches, and counts
of the top-N touchpoint→touchpoint and stage→stage transitions learned at fit time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from journeyml.features.categories import (
    clamp,
    first_of_customer,
    last_index_where,
    prefix_sum,
    range_counts_and_last,
)
from journeyml.features.context import Context
from journeyml.features.spec import FeatureDef, FeatureSpec, slug, spec_cache

FAMILY = "sequence"
TRANSITION = "transition"


def stage_rank(spec: FeatureSpec) -> np.ndarray:
    """Funnel rank of each stage code (other/unknown stages rank -1)."""
    order = list(spec.params.stage_order or spec.stages)
    ranks = [order.index(s) if s in order else -1 for s in spec.stages]
    return np.array([*ranks, -1], dtype=np.int64)


def define(spec: FeatureSpec) -> list[FeatureDef]:
    k = spec.params.last_k
    defs: list[FeatureDef] = []
    for j in range(1, k + 1):
        nth = "last" if j == 1 else f"{j}th-last"
        defs.append(
            FeatureDef(
                f"last_touchpoint_{j}",
                FAMILY,
                "categorical",
                "touchpoint",
                vocabulary="touchpoint",
                template=f"{nth} touchpoint was {{label}}",
            )
        )
        defs.append(
            FeatureDef(
                f"last_stage_{j}",
                FAMILY,
                "categorical",
                "stage",
                vocabulary="stage",
                template=f"{nth} stage was {{label}}",
            )
        )
    defs += [
        FeatureDef(
            "last_channel_1",
            FAMILY,
            "categorical",
            "channel",
            vocabulary="channel",
            template="last channel was {label}",
        ),
        FeatureDef(
            "current_stage",
            FAMILY,
            "categorical",
            "stage",
            vocabulary="stage",
            template="currently in {label}",
        ),
        FeatureDef("furthest_stage_rank", FAMILY, template="furthest stage reached: {value:g}"),
        FeatureDef("days_in_current_stage", FAMILY, template="{value:.1f} days in current stage"),
        FeatureDef("stage_regressions_all", FAMILY, template="fell back {value:g} times"),
        FeatureDef("channel_switches_all", FAMILY, template="{value:g} channel switches"),
    ]
    for a, b in spec.transitions:
        dim, a_, b_ = _split_transition(a, b)
        defs.append(
            FeatureDef(
                f"transition_{dim}_{slug(a_)}__{slug(b_)}_all",
                TRANSITION,
                source_type="transition",
                source=f"{a_} → {b_}",
                template=f"{{value:g}} times {a_} → {b_}",
            )
        )
    return defs


def _split_transition(a: str, b: str) -> tuple[str, str, str]:
    """Transitions are stored as ("touchpoint:x", "touchpoint:y") or ("stage:x", "stage:y")."""
    dim, a_ = a.split(":", 1)
    _, b_ = b.split(":", 1)
    return dim, a_, b_


def pair_codes(prev: np.ndarray, cur: np.ndarray, first: np.ndarray, n_cat: int) -> np.ndarray:
    """A code per event for the (previous, current) pair within a customer; -1 on first."""
    code = prev.astype(np.int64) * (n_cat + 1) + cur.astype(np.int64)
    return np.where(first | (prev < 0) | (cur < 0), -1, code)


#: a pair is coupled when at least this share of ``b`` events come right after an ``a``
COUPLED_SHARE = 0.75
#: … and ``b`` occurs at least this often in the training events
COUPLED_MIN_EVENTS = 20


def learn_coupled(
    spec: FeatureSpec, touchpoint: np.ndarray, cust: np.ndarray
) -> tuple[tuple[str, str], ...]:
    """Touchpoint pairs ``(a, b)``, ``a ≠ b``, where at least :data:`COUPLED_SHARE` of the
    ``b`` events come right after an ``a`` event of the same customer.

    >>> from journeyml.features.spec import FeatureParams
    >>> spec = FeatureSpec(FeatureParams(windows_days=(7,)), ("checkout", "error"), (), (), ())
    >>> tp = np.array([0, 1] * 30 + [0] * 5)
    >>> learn_coupled(spec, tp, np.repeat(np.arange(35), [2] * 30 + [1] * 5))
    (('checkout', 'error'),)
    """
    vocab = spec.vocabulary("touchpoint")
    n_tp = len(vocab)
    if touchpoint.shape[0] < 2:
        return ()
    same = (cust[1:] == cust[:-1]) & (touchpoint[1:] >= 0) & (touchpoint[:-1] >= 0)
    m = np.zeros((n_tp, n_tp))
    np.add.at(
        m, (touchpoint[:-1][same].astype(np.int64), touchpoint[1:][same].astype(np.int64)), 1.0
    )
    tot = np.bincount(touchpoint[touchpoint >= 0].astype(np.int64), minlength=n_tp).astype(float)
    share = np.divide(m, tot[None, :], out=np.zeros_like(m), where=tot[None, :] > 0)
    np.fill_diagonal(share, 0.0)
    a_idx, b_idx = np.nonzero((share >= COUPLED_SHARE) & (tot[None, :] >= COUPLED_MIN_EVENTS))
    return tuple(sorted((vocab[a], vocab[b]) for a, b in zip(a_idx, b_idx, strict=True)))


def learn_transitions(
    spec: FeatureSpec, codes: dict[str, np.ndarray], cust: np.ndarray, top_n: int
) -> tuple[tuple[str, str], ...]:
    """The top-N most frequent touchpoint and stage transitions (stage ones: a ≠ b)."""
    first = first_of_customer(cust)
    out: list[tuple[str, str]] = []
    for dim in ("touchpoint", "stage"):
        vocab = spec.vocabulary(dim)
        c = codes[dim]
        if c.shape[0] < 2:
            continue
        prev = np.r_[-1, c[:-1]]
        pc = pair_codes(prev, c, first, len(vocab))
        if dim == "stage":
            pc = np.where(prev == c, -1, pc)
        pc = pc[pc >= 0]
        if pc.size == 0:
            continue
        counts = pd.Series(pc).value_counts()
        top = sorted(counts.index[:top_n].tolist(), key=lambda v: (-counts[v], v))
        for v in top:
            a, b = divmod(int(v), len(vocab) + 1)
            out.append((f"{dim}:{vocab[a]}", f"{dim}:{vocab[b]}"))
    return tuple(out)


def _at(arr: np.ndarray, idx: np.ndarray, valid: np.ndarray, n: int) -> np.ndarray:
    """``arr[idx]`` as floats where ``valid`` and non-negative, NaN elsewhere."""
    if n == 0:
        return np.full(idx.shape[0], np.nan)
    v = arr[np.minimum(np.maximum(idx, 0), n - 1)].astype(np.float64)
    return np.where(valid & (v >= 0), v, np.nan)


def compute(ctx: Context) -> dict[str, np.ndarray]:
    ev, spec = ctx.ev, ctx.spec
    has = ctx.end > ctx.start
    out: dict[str, np.ndarray] = {}
    n = ev.n

    def at(arr: np.ndarray, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
        return _at(arr, idx, valid, n)

    for j in range(1, spec.params.last_k + 1):
        idx = ctx.end - j
        ok = idx >= ctx.start
        out[f"last_touchpoint_{j}"] = at(ev.touchpoint, idx, ok)
        out[f"last_stage_{j}"] = at(ev.stage, idx, ok)
    out["last_channel_1"] = at(ev.channel, ctx.end - 1, has)

    has_stage = ev.stage >= 0
    cur_idx = last_index_where(has_stage, ctx.end, ctx.start)
    out["current_stage"] = at(ev.stage, cur_idx, cur_idx >= 0)

    out.update(_position(ctx.own))
    if spec.transitions:
        out.update(_transition_counts(ctx, ctx.first))
    return out


def _position(ctx: Context) -> dict[str, np.ndarray]:
    """Journey position: furthest stage, days in the current stage, regressions to an earlier
    stage, channel switches (on the context given: the customer's own events, see
    :func:`compute`)."""
    ev, spec = ctx.ev, ctx.spec
    has = ctx.end > ctx.start
    n = ev.n
    out: dict[str, np.ndarray] = {}
    has_stage = ev.stage >= 0
    ranks = stage_rank(spec)
    first = ctx.first
    ev_rank = np.where(has_stage, ranks[np.where(has_stage, ev.stage, len(ranks) - 1)], -1)
    # running max of rank within customer: pack (customer, rank+1) so one cummax suffices
    base = np.int64(len(ranks) + 2)
    packed = ev.cust * base + (ev_rank + 1)
    run_max = np.maximum.accumulate(packed) - ev.cust * base - 1 if n else packed
    furthest = _at(run_max, ctx.end - 1, has, n)
    out["furthest_stage_rank"] = np.where(np.isnan(furthest), np.nan, furthest)

    # previous stage-bearing event's stage, within the customer
    stage_idx = np.where(has_stage, np.arange(n), -1)
    last_stage_idx = np.maximum.accumulate(stage_idx) if n else stage_idx
    prev_idx = np.concatenate(([-1], last_stage_idx[:-1])) if n else last_stage_idx
    same_cust = prev_idx >= 0
    same_cust[same_cust] = ev.cust[prev_idx[same_cust]] == ev.cust[same_cust]
    prev_stage = np.where(same_cust, ev.stage[clamp(prev_idx, 0, max(n - 1, 0))], -1)
    change = has_stage & (ev.stage != prev_stage)
    entered = last_index_where(change, ctx.end, ctx.start)
    out["days_in_current_stage"] = ctx.days_before_as_of(entered, entered >= 0)
    prev_rank = np.where(prev_stage >= 0, ranks[clamp(prev_stage, 0, len(ranks) - 1)], -1)
    regress = change & (prev_stage >= 0) & (ev_rank >= 0) & (prev_rank >= 0) & (ev_rank < prev_rank)
    cr = prefix_sum(regress.astype(np.int64))
    out["stage_regressions_all"] = (cr[ctx.end] - cr[ctx.start]).astype(np.float64)

    switch = np.zeros(n, dtype=bool)
    if n > 1:
        switch[1:] = (ev.channel[1:] != ev.channel[:-1]) & ~first[1:]
    cw = prefix_sum(switch.astype(np.int64))
    out["channel_switches_all"] = (cw[ctx.end] - cw[ctx.start]).astype(np.float64)

    return out


def _transition_names(spec: FeatureSpec, dim: str) -> list[str]:
    def make() -> list[str]:
        out = []
        for a, b in spec.transitions:
            d, a_, b_ = _split_transition(a, b)
            if d == dim:
                out.append(f"transition_{dim}_{slug(a_)}__{slug(b_)}_all")
        return out

    names: list[str] = spec_cache(spec, f"transition_names:{dim}", make)
    return names


def blocks(spec: FeatureSpec) -> dict[str, list[str]]:
    return {
        f"block:transition_{dim}": names
        for dim in ("touchpoint", "stage")
        if (names := _transition_names(spec, dim))
    }


def _pair_table(spec: FeatureSpec, dim: str) -> np.ndarray:
    """Pair code (prev * (V+1) + cur) → column of the wanted transition, -1 otherwise."""
    vocab = list(spec.vocabulary(dim))
    width = len(vocab) + 1
    table = np.full(width * width, -1, np.int64)
    pairs = [(a, b) for a, b in spec.transitions if a.startswith(dim + ":")]
    for j, (a, b) in enumerate(pairs):
        table[vocab.index(a.split(":", 1)[1]) * width + vocab.index(b.split(":", 1)[1])] = j
    return table


def _transition_counts(ctx: Context, first: np.ndarray) -> dict[str, np.ndarray]:
    ev, spec = ctx.ev, ctx.spec
    out: dict[str, np.ndarray] = {}
    for dim, codes in (("touchpoint", ev.touchpoint), ("stage", ev.stage)):
        n_pairs = len(_transition_names(spec, dim))
        if not n_pairs:
            continue
        table = spec_cache(spec, f"pairs:{dim}", lambda d=dim: _pair_table(spec, d))  # type: ignore[misc]
        prev = np.concatenate(([-1], codes[:-1])) if ev.n else codes
        pc = pair_codes(prev, codes, first, len(spec.vocabulary(dim)))
        lookup = np.where(pc >= 0, table[np.maximum(pc, 0)], -1)
        counts, _ = range_counts_and_last(lookup, n_pairs, [ctx.start], ctx.end)
        out[f"block:transition_{dim}"] = counts[0]
    return out
