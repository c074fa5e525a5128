"""The BG/NBD model (Fader, Hardie and Lee 2005): the "buy till you die" baseline for repeat
purchases — probability alive, probability of any purchase and expected purchases in a holdout.

Inputs are the usual RFM summary per customer, in weeks: ``frequency`` x (repeat purchases, i.e.
distinct purchase days after the first), ``recency`` t_x (first to last purchase) and ``T``
(first purchase to the end of the calibration period).

>>> import numpy as np
>>> p = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
>>> x, tx, T = np.array([0, 2]), np.array([0.0, 30.43]), np.array([38.86, 38.86])
>>> np.round(p_alive(p, x, tx, T), 3).tolist()
[1.0, 0.727]
>>> round(float(expected_purchases(p, x, tx, T, 39.0)[1]), 3)  # FHL 2005: 1.226
1.226
>>> bool((prob_any_purchase(p, x, tx, T, 39.0) < p_alive(p, x, tx, T)).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from journeyml.errors import TrainingError


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")

    def as_dict(self) -> dict[str, float]:
        return {
            "r": self.r,
            "alpha": self.alpha,
            "a": self.a,
            "b": self.b,
            "log_likelihood": self.log_likelihood,
        }


def _per_customer_ll(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Log-likelihood of each customer's (x, t_x, T) under BG/NBD (FHL 2005, eq. 6)."""
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    dead = np.where(
        x > 0,
        betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - betaln(a, b) - (r + x) * np.log(alpha + tx),
        -np.inf,
    )
    return np.asarray(common + np.logaddexp(alive, dead))


def log_likelihood(params: BGNBDParams, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> float:
    return float(_per_customer_ll(params.r, params.alpha, params.a, params.b, x, tx, T).sum())


def fit(
    frequency: np.ndarray | pd.Series,
    recency: np.ndarray | pd.Series,
    T: np.ndarray | pd.Series,
    *,
    start: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
) -> BGNBDParams:
    """Maximum-likelihood BG/NBD parameters (Nelder–Mead on the log parameters)."""
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    t_ = np.asarray(T, dtype=float)
    if len(x) == 0:
        raise TrainingError("expected customers to fit BG/NBD on, got none.")

    def nll(theta: np.ndarray) -> float:
        r, alpha, a, b = np.exp(theta)
        v = -_per_customer_ll(r, alpha, a, b, x, tx, t_).sum()
        return float(v) if np.isfinite(v) else 1e300

    res = minimize(
        nll,
        np.log(np.asarray(start)),
        method="Nelder-Mead",
        options={"maxiter": 20_000, "maxfev": 20_000, "xatol": 1e-8, "fatol": 1e-8},
    )
    r, alpha, a, b = (float(v) for v in np.exp(res.x))
    return BGNBDParams(r, alpha, a, b, -float(res.fun))


def p_alive(p: BGNBDParams, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(still active at T | x, t_x, T)."""
    x = np.asarray(x, dtype=float)
    ratio = np.where(
        x > 0,
        np.exp(
            np.log(p.a)
            - np.log(np.maximum(p.b + x - 1, 1e-12))
            + (p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + tx))
        ),
        0.0,
    )
    return np.asarray(1.0 / (1.0 + ratio))


def prob_any_purchase(
    p: BGNBDParams, x: np.ndarray, tx: np.ndarray, T: np.ndarray, t: float
) -> np.ndarray:
    """P(at least one purchase in (T, T + t] | history). A customer alive at T stays alive until
    the next purchase (dropout happens only right after a purchase), so this is
    P(alive) · (1 − E[exp(−λ t) | alive]) with λ | alive ~ Gamma(r + x, α + T)."""
    x = np.asarray(x, dtype=float)
    none_if_alive = np.exp((p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + T + t)))
    return np.asarray(p_alive(p, x, tx, T) * (1.0 - none_if_alive))


def expected_purchases(
    p: BGNBDParams, x: np.ndarray, tx: np.ndarray, T: np.ndarray, t: float
) -> np.ndarray:
    """E[purchases in (T, T + t] | history] (FHL 2005, eq. 10)."""
    x = np.asarray(x, dtype=float)
    z = t / (p.alpha + T + t)
    head = (p.a + p.b + x - 1) / (p.a - 1)
    body = 1 - ((p.alpha + T) / (p.alpha + T + t)) ** (p.r + x) * hyp2f1(
        p.r + x, p.b + x, p.a + p.b + x - 1, z
    )
    ratio = np.where(
        x > 0,
        p.a / np.maximum(p.b + x - 1, 1e-12) * ((p.alpha + T) / (p.alpha + tx)) ** (p.r + x),
        0.0,
    )
    return np.asarray(head * body / (1 + ratio))


def rfm_summary(
    events: pd.DataFrame,
    calibration_end: pd.Timestamp,
    *,
    customer_col: str = "customer_id",
    time_col: str = "timestamp",
) -> pd.DataFrame:
    """Per-customer ``frequency``, ``recency`` and ``T`` in weeks from purchase events up to and
    including the day ``calibration_end`` (purchases on the same day count once, as in the
    BG/NBD literature). Index: customer id."""
    ev = events[events[time_col].dt.floor("D") <= calibration_end.floor("D")]
    days = ev[time_col].dt.floor("D")
    per = pd.DataFrame({"c": ev[customer_col].astype(str), "d": days}).drop_duplicates()
    g = per.groupby("c")["d"]
    first, last, n = g.min(), g.max(), g.nunique()
    end = calibration_end.floor("D")
    return pd.DataFrame(
        {
            "frequency": (n - 1).astype(float),
            "recency": (last - first).dt.days / 7.0,
            "T": (end - first).dt.days / 7.0,
        }
    )
