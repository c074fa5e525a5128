"""``calibration_holdout``: purchases up to ``calibration_end`` (inclusive day) describe each
customer; the label is any purchase in the holdout (the next day … ``holdout_end`` inclusive).

The model never sees the holdout: it learns from snapshots inside the calibration period and
early-stops on a random 20 % of customers. Its label window (the *step*) is the holdout cut into
the fewest equal steps of at most a quarter of the calibration span (:func:`chain_steps`), so
that snapshots reach close to the evaluation date, where customers are as old as the ones
scored. A holdout longer than one step is covered by chaining: no purchase in the holdout is no
purchase in each step, and step s is scored on the journey as of ``s`` steps after the
calibration end with no new purchase (its recency and tenure aged, its events unchanged: the
condition under which step s matters). The first step ranks (aged journeys lie beyond the
training range, where trees are flat); the chain sets the level: :func:`chained_probability`.
The BG/NBD baseline is fitted on the calibration RFM summary of the same customers.

>>> chain_steps(pd.Timedelta(days=273), pd.Timedelta(days=273))  # CDNOW: 4 steps of 68 days
(4, Timedelta('68 days 00:00:00'))
>>> chain_steps(pd.Timedelta(days=30), pd.Timedelta(days=365))
(1, Timedelta('30 days 00:00:00'))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from journeyml.bench.binary import fit_binary
from journeyml.events import CUSTOMER_ID, TIMESTAMP
from journeyml.features import AS_OF, FeatureBuilder, build_features
from journeyml.modeling import baselines, bgnbd, binary_metrics, lgb_params

#: the longest label window, as a share of the calibration period
STEP_SHARE = 0.25
_EPS = 1e-6


def chain_steps(holdout: pd.Timedelta, span: pd.Timedelta) -> tuple[int, pd.Timedelta]:
    """The fewest equal steps of at most ``STEP_SHARE`` of ``span`` that cover ``holdout``,
    and their length in whole days (at least one)."""
    n = max(1, math.ceil(holdout / (span * STEP_SHARE)))
    return n, max(pd.Timedelta(days=1), (holdout / n).round("D"))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.asarray(np.log(p / (1 - p)))


def chained_probability(
    step_probability: Callable[[pd.Timestamp], np.ndarray],
    start: pd.Timestamp,
    step: pd.Timedelta,
    n_steps: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(a purchase within ``n_steps`` steps from ``start``) for every customer scored.

    ``step_probability(t)`` is the model's probability of a purchase within one step, on the
    journeys as of ``t`` built from events before ``start`` only. The chain is
    1 − Π_s (1 − p_s) with p_s scored as of ``start + s·step``. The result keeps the first
    step's ranking: logit(result) = a·logit(p_0) + b, fitted to the chain's logits by least
    squares over the customers scored (no label used), the chain's own values where the fit
    is not increasing. Returns (result, p_0, the chain).

    >>> ps = {0: np.array([0.1, 0.2, 0.4]), 1: np.array([0.1, 0.15, 0.3])}
    >>> t0, day = pd.Timestamp("2020-01-01"), pd.Timedelta(days=1)
    >>> out, p0, chain = chained_probability(lambda t: ps[(t - t0).days], t0, day, 2)
    >>> [round(float(v), 3) for v in chain]  # 1 − (1 − p_0)(1 − p_1)
    [0.19, 0.32, 0.58]
    >>> bool(np.all(np.diff(out) > 0))  # the first step's order
    True
    """
    p0 = step_probability(start)
    survive = 1 - p0
    for s in range(1, n_steps):
        survive = survive * (1 - step_probability(start + s * step))
    chain = 1 - survive
    if n_steps == 1 or len(p0) < 2:
        return chain, p0, chain
    A = np.c_[_logit(p0), np.ones(len(p0))]
    a, b = np.linalg.lstsq(A, _logit(chain), rcond=None)[0]
    if not a > 0:
        return chain, p0, chain
    return np.asarray(1 / (1 + np.exp(-(a * A[:, 0] + b)))), p0, chain


@dataclass
class HoldoutResult:
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    info: dict[str, Any]
    variants: dict[str, dict[str, float]] = field(default_factory=dict)


def _day(s: str) -> pd.Timestamp:
    t = pd.Timestamp(s)
    return (t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")).floor("D")


def holdout_labels(
    events: pd.DataFrame, customers: pd.Index, start: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    """1 if the customer has an event in ``[start, end)``."""
    ev = events[(events[TIMESTAMP] >= start) & (events[TIMESTAMP] < end)]
    buyers = set(ev[CUSTOMER_ID].astype(str))
    return np.array([c in buyers for c in customers], dtype=np.int64)


def training_cutoffs(
    events: pd.DataFrame,
    first_day: pd.Timestamp,
    cal_end: pd.Timestamp,
    horizon: pd.Timedelta,
    every_days: float,
) -> pd.DataFrame:
    """Snapshots every ``every_days`` whose label window ends by ``cal_end`` (exclusive), for
    customers seen before each snapshot."""
    grid = pd.date_range(
        first_day + pd.Timedelta(days=every_days), cal_end - horizon, freq=f"{every_days}D"
    )
    first = events.groupby(CUSTOMER_ID)[TIMESTAMP].min()
    rows = [pd.DataFrame({CUSTOMER_ID: first.index[first < t].astype(str), AS_OF: t}) for t in grid]
    return pd.concat(rows, ignore_index=True)


@dataclass(frozen=True)
class HoldoutWindow:
    """The calibration period, the holdout and the population scored: every customer seen in
    the calibration period, labelled 1 if they buy in the holdout."""

    #: events up to the end of the calibration period
    calibration: pd.DataFrame
    #: the calibration period's last day, its exclusive end (= the holdout's start), the
    #: holdout's exclusive end
    last_day: pd.Timestamp
    end: pd.Timestamp
    holdout_end: pd.Timestamp
    customers: pd.Index
    labels: np.ndarray


def holdout_window(events: pd.DataFrame, calibration_end: str, holdout_end: str) -> HoldoutWindow:
    """Both periods from their last days (inclusive), and the population scored."""
    last_day = _day(calibration_end)
    end = last_day + pd.Timedelta(days=1)
    hold_end = _day(holdout_end) + pd.Timedelta(days=1)
    cal = events[events[TIMESTAMP] < end]
    customers = pd.Index(sorted(cal[CUSTOMER_ID].astype(str).unique()))
    labels = holdout_labels(events, customers, end, hold_end)
    return HoldoutWindow(cal, last_day, end, hold_end, customers, labels)


def bgnbd_baseline(w: HoldoutWindow) -> tuple[bgnbd.BGNBDParams, dict[str, np.ndarray]]:
    """BG/NBD fitted on the calibration RFM of the window's customers, and its predictions for
    the holdout: ``p_any`` (P(≥ 1 purchase)), ``expected`` (purchases), ``p_alive``."""
    rfm = bgnbd.rfm_summary(w.calibration, w.last_day).reindex(w.customers)
    fitted = bgnbd.fit(rfm["frequency"], rfm["recency"], rfm["T"])
    weeks = (w.holdout_end - w.end).days / 7.0
    x, tx, T = (rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    return fitted, {
        "p_any": bgnbd.prob_any_purchase(fitted, x, tx, T, weeks),
        "expected": bgnbd.expected_purchases(fitted, x, tx, T, weeks),
        "p_alive": bgnbd.p_alive(fitted, x, tx, T),
    }


def run_calibration_holdout(
    events: pd.DataFrame,
    *,
    calibration_end: str,
    holdout_end: str,
    snapshot_every_days: float = 7.0,
    features: dict[str, Any] | None = None,
    lgb_overrides: dict[str, Any] | None = None,
    num_boost_round: int = 2000,
    early_stopping_rounds: int = 50,
    valid_fraction: float = 0.2,
    blend_linear: bool = True,
    seed: int = 0,
) -> HoldoutResult:
    w = holdout_window(events, calibration_end, holdout_end)
    cal, cal_end, hold_end = w.calibration, w.end, w.holdout_end
    first_day = cal[TIMESTAMP].min().floor("D")
    n_steps, horizon = chain_steps(hold_end - cal_end, cal_end - first_day)

    # training snapshots inside the calibration period only
    cut = training_cutoffs(cal, first_day, cal_end, horizon, snapshot_every_days)
    y_cut = np.zeros(len(cut), dtype=np.int64)
    ts = cal[[CUSTOMER_ID, TIMESTAMP]].assign(**{CUSTOMER_ID: cal[CUSTOMER_ID].astype(str)})
    for t, idx in cut.groupby(AS_OF).groups.items():
        in_win = ts[(ts[TIMESTAMP] >= t) & (ts[TIMESTAMP] < t + horizon)]
        buyers = set(in_win[CUSTOMER_ID])
        y_cut[cut.index.get_indexer(idx)] = cut.loc[idx, CUSTOMER_ID].isin(buyers).to_numpy()
    spec = FeatureBuilder(**(features or {})).fit(cal).spec_
    X = build_features(cal, cut, spec).to_numpy()
    rng = np.random.default_rng(seed)
    custs = cut[CUSTOMER_ID].unique()
    valid_c = set(rng.choice(custs, int(len(custs) * valid_fraction), replace=False))
    va = cut[CUSTOMER_ID].isin(valid_c).to_numpy()
    params = lgb_params("binary", 2, lgb_overrides, seed)
    model = fit_binary(
        params,
        X,
        y_cut,
        va,
        spec.categorical_indices,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
        valid_fraction=valid_fraction,
        blend_linear=blend_linear,
        seed=seed,
    )

    # evaluation: every calibration customer, as of the end of the calibration period
    customers, y = w.customers, w.labels

    def features_at(t: pd.Timestamp) -> np.ndarray:
        return build_features(
            cal, pd.DataFrame({CUSTOMER_ID: customers, AS_OF: t}), spec
        ).to_numpy()

    X_ev = features_at(cal_end)
    p, p_step, p_chain = chained_probability(
        lambda t: model.predict(X_ev if t == cal_end else features_at(t)),
        cal_end,
        horizon,
        n_steps,
    )

    params_bg, bg = bgnbd_baseline(w)
    expected = bg["expected"]
    m_expected = binary_metrics(y, np.clip(expected / (1 + expected), 0, 1))
    return HoldoutResult(
        variants={
            "lightgbm_only_uncalibrated": binary_metrics(y, model.trees_only(X_ev)),
            "first_step_only": binary_metrics(y, p_step),
            "chain_unranked": binary_metrics(y, p_chain),
        },
        metrics=binary_metrics(y, p),
        baselines={
            "bgnbd": binary_metrics(y, bg["p_any"]),
            "bgnbd_expected_purchases": {"roc_auc": m_expected["roc_auc"]},
            "bgnbd_p_alive": {"roc_auc": binary_metrics(y, bg["p_alive"])["roc_auc"]},
            "prior": binary_metrics(y, baselines.prior_binary(y_cut, len(y))),
            "logistic": binary_metrics(y, baselines.logistic(X, y_cut, X_ev, seed=seed)),
        },
        info={
            "n_customers": len(customers),
            "holdout_positive_rate": float(y.mean()),
            "calibration_end": str(w.last_day.date()),
            "holdout": f"{cal_end.date()} → {(hold_end - pd.Timedelta(days=1)).date()}",
            "training_horizon_days": horizon.days,
            "chain_steps": n_steps,
            "n_training_snapshots": len(cut),
            **model.info,
            "bgnbd_params": params_bg.as_dict(),
            "n_features": len(spec.names),
        },
    )
