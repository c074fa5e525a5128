"""``calibration_holdout``: purchases up to ``calibration_end`` (inclusive day) describe each
customer; the label is any purchase in the holdout (the next day … ``holdout_end`` inclusive).

The model never sees the holdout: it learns from snapshots inside the calibration period with a
horizon of the holdout's length, capped at half the calibration span so that snapshots keep some
history (a rule, not a per-dataset choice), and early-stops on a random 20 % of customers. The
BG/NBD baseline is fitted on the calibration RFM summary of the same customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from journeyml.bench.binary import fit_binary
from journeyml.events import CUSTOMER_ID, TIMESTAMP
from journeyml.features import AS_OF, FeatureBuilder, build_features
from journeyml.modeling import baselines, bgnbd, binary_metrics, lgb_params


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
    holdout = hold_end - cal_end
    horizon = min(holdout, (cal_end - first_day) / 2).round("D")

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
    ev_cut = pd.DataFrame({CUSTOMER_ID: customers, AS_OF: cal_end})
    X_ev = build_features(cal, ev_cut, spec).to_numpy()
    p = model.predict(X_ev)

    params_bg, bg = bgnbd_baseline(w)
    expected = bg["expected"]
    m_expected = binary_metrics(y, np.clip(expected / (1 + expected), 0, 1))
    return HoldoutResult(
        variants={"lightgbm_only_uncalibrated": binary_metrics(y, model.trees_only(X_ev))},
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
            "n_training_snapshots": len(cut),
            **model.info,
            "bgnbd_params": params_bg.as_dict(),
            "n_features": len(spec.names),
        },
    )
