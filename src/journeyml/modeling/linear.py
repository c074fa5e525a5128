"""A logistic regression whose explanation is exact per feature, and its blend with LightGBM
in log-odds.

The linear model sees each feature imputed by its training median and standardised by the
training mean and scale: z_j = (x̃_j − μ_j) / σ_j, and scores f_lin = c + Σ w_j z_j. Its
contribution of feature j is w_j z_j and its bias c: they add up to f_lin exactly, and the bias
is the average training score (the z have mean 0 on training rows), the same convention as
TreeSHAP's base value. Linear scores extrapolate beyond the training range where trees are
flat (recency and tenure grow past anything seen in training).

A blend ``(1 − a) · f_lgb + a · f_lin`` in log-odds is explained by the same weights applied
to both models' contributions, so explanations stay exact and additive (p − p₀ is spread over
the features as before, :mod:`journeyml.explain.causes`). The weight ``a`` is chosen on the
validation window by log loss (:func:`choose_weight`).

>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(400, 3)); X[::7, 1] = np.nan
>>> y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
>>> lin = LinearPart.fit(X, y)
>>> c = lin.contributions(X[:5])
>>> bool(np.allclose(c.sum(axis=1), lin.raw(X[:5])))
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from journeyml.modeling.calibration import Calibrator, choose_calibrator

#: the fields held as numpy arrays too
_ARRAYS = ("median", "mean", "scale", "coef", "z_low", "z_high")
#: blend weights tried on the validation window (share of the linear model)
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))
_EPS = 1e-7
#: a column whose standard deviation is below this share of its scale is constant
_CONSTANT = 1e-9
#: how far beyond its training range (in multiples of that range) a column still extrapolates
_REACH = 3.0


def sigmoid(f: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(f, dtype=float))))


@dataclass(frozen=True)
class LinearPart:
    """Standardised logistic regression: medians (imputation), means, scales, weights and
    the intercept, all plain numbers (saved as JSON in the bundle)."""

    median: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    #: the standardised values are clipped to these bounds (empty: no bounds, older bundles)
    z_low: tuple[float, ...] = ()
    z_high: tuple[float, ...] = ()

    @classmethod
    def fit(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        *,
        C: float = 1.0,
        max_rows: int = 50_000,
        seed: int = 0,
    ) -> LinearPart:
        """Fit on rows ``X`` (NaN and ±inf imputed by the column's median; columns without
        any value count as 0)."""
        if len(y) > max_rows:
            keep = np.random.default_rng(seed).choice(len(y), max_rows, replace=False)
            X, y = X[keep], y[keep]
        Xf = np.where(np.isfinite(X), X, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: median 0
            med = np.nanmedian(Xf, axis=0) if len(Xf) else np.zeros(X.shape[1])
        med = np.where(np.isfinite(med), med, 0.0)
        Xi = np.where(np.isnan(Xf), med, Xf)
        mu = Xi.mean(axis=0)
        sd = Xi.std(axis=0)
        # a column constant up to rounding (e.g. time since the last event at cutoffs placed on
        # events) carries nothing to learn; standardised by its rounding noise it would turn
        # any real value at serving time into a score of 1e24: it gets no weight
        varies = sd > _CONSTANT * np.maximum(1.0, np.abs(mu))
        sd = np.where(varies, sd, 1.0)
        z = (Xi - mu) / sd
        coef = np.zeros(X.shape[1])
        intercept = float(np.log((y.mean() + _EPS) / (1 - y.mean() + _EPS))) if len(y) else 0.0
        if varies.any() and len(np.unique(y)) == 2:
            lr = LogisticRegression(C=C, max_iter=500).fit(z[:, varies], y)
            coef[varies] = lr.coef_[0]
            intercept = float(lr.intercept_[0])
        # scores extrapolate beyond the training range, by at most three times that range
        lo, hi = z.min(axis=0, initial=0.0), z.max(axis=0, initial=0.0)
        span = _REACH * (hi - lo)
        return cls(
            tuple(med.tolist()),
            tuple(mu.tolist()),
            tuple(sd.tolist()),
            tuple(coef.tolist()),
            intercept,
            tuple((lo - span).tolist()),
            tuple((hi + span).tolist()),
        )

    def __post_init__(self) -> None:
        # numpy copies made once: a request pays arithmetic only (a few µs per row)
        arrays = {k: np.asarray(getattr(self, k), dtype=float) for k in _ARRAYS}
        object.__setattr__(self, "_np", arrays)

    def _z(self, X: np.ndarray) -> np.ndarray:
        a: dict[str, np.ndarray] = self._np  # type: ignore[attr-defined]
        Xi = np.where(np.isfinite(X), X, a["median"])
        z = (Xi - a["mean"]) / a["scale"]
        if self.z_low:
            z = np.clip(z, a["z_low"], a["z_high"])
        return np.asarray(z)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Log-odds, (n,)."""
        coef: np.ndarray = self._np["coef"]  # type: ignore[attr-defined]
        return np.asarray(self._z(X) @ coef + self.intercept)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature log-odds contributions and the bias last, (n, F+1); rows add up to
        :meth:`raw`."""
        out = np.empty((X.shape[0], X.shape[1] + 1))
        np.multiply(self._z(X), self._np["coef"], out=out[:, :-1])  # type: ignore[attr-defined]
        out[:, -1] = self.intercept
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "median": list(self.median),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "z_low": list(self.z_low),
            "z_high": list(self.z_high),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearPart:
        return cls(
            tuple(float(v) for v in d["median"]),
            tuple(float(v) for v in d["mean"]),
            tuple(float(v) for v in d["scale"]),
            tuple(float(v) for v in d["coef"]),
            float(d["intercept"]),
            tuple(float(v) for v in d.get("z_low", ())),
            tuple(float(v) for v in d.get("z_high", ())),
        )


def choose_weight(
    f_trees: np.ndarray, f_linear: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, float]]:
    """The linear model's share in ``WEIGHTS`` whose blend ranks the validation rows best:
    the lowest log loss after a Platt rescaling of each blend's log-odds (so a blend is not
    judged on a miscalibration that the calibrator fixes afterwards). Ties: the smaller
    share. Returns it and every weight's log loss."""
    scores: dict[str, float] = {}
    for a in WEIGHTS:
        f = ((1 - a) * f_trees + a * f_linear)[:, None]
        if len(np.unique(y)) == 2:
            p = LogisticRegression(C=1e6, max_iter=1000).fit(f, y).predict_proba(f)[:, 1]
        else:
            p = sigmoid(f[:, 0])
        scores[f"{a:.1f}"] = float(log_loss(y, np.clip(p, _EPS, 1 - _EPS), labels=[0, 1]))
    best = min(WEIGHTS, key=lambda a: (round(scores[f"{a:.1f}"], 6), a))
    return float(best), scores


def choose_blend(
    f_trees: np.ndarray, f_linear: np.ndarray, y: np.ndarray, *, seed: int = 0
) -> tuple[float, Calibrator, dict[str, Any]]:
    """On validation rows: the blend weight (:func:`choose_weight`), then the calibrator of
    the blend's probabilities (:func:`~journeyml.modeling.calibration.choose_calibrator`, by
    log loss). Returns both and their scores."""
    weight, blend_scores = choose_weight(f_trees, f_linear, y)
    p = sigmoid((1 - weight) * f_trees + weight * f_linear)
    calibrator, cal_scores = choose_calibrator(p, y, seed=seed)
    return weight, calibrator, {"blend_log_loss": blend_scores, "calibration": cal_scores}
