"""Probability calibration for binary models, fitted on the validation window and kept only
where it improves log loss on held-out validation rows.

>>> import numpy as np
>>> cal = Calibrator.platt(np.array([0.1, 0.4, 0.6, 0.9]), np.array([0, 0, 1, 1]))
>>> p = cal.apply(np.array([0.1, 0.9]))
>>> bool(p[0] < 0.5 < p[1])
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

_EPS = 1e-6
#: the most a strictly increasing isotonic map adds to a probability
_RISE = 1e-4
#: pseudo-rows of the overall rate added to every isotonic step (a step of 30 validation
#: rows without a positive says "rare", not "one in a million")
_PRIOR_ROWS = 2.0


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _shrunk(iso: IsotonicRegression, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The isotonic fit's values at its thresholds, each step's rate shrunk toward the overall
    rate by ``_PRIOR_ROWS`` pseudo-rows: (positives + m·rate) / (rows + m). A step's rows
    are the validation rows the fit maps to its value; the result stays non-decreasing.

    >>> p = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9]); y = np.array([0, 0, 0, 1, 1, 1])
    >>> iso = IsotonicRegression(out_of_bounds="clip").fit(p, y)
    >>> [round(float(v), 3) for v in _shrunk(iso, p, y)]
    [0.2, 0.2, 0.8, 0.8]
    """
    fitted = iso.predict(p)
    rate = float(np.mean(y))
    steps, inverse = np.unique(fitted, return_inverse=True)
    rows = np.bincount(inverse, minlength=len(steps)).astype(float)
    pos = np.bincount(inverse, weights=y.astype(float), minlength=len(steps))
    value = (pos + _PRIOR_ROWS * rate) / (rows + _PRIOR_ROWS)
    at = np.searchsorted(steps, iso.y_thresholds_).clip(0, len(steps) - 1)
    return np.maximum.accumulate(value[at])


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from raw model probability to calibrated probability."""

    method: Literal["none", "platt", "isotonic"] = "none"
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def platt(cls, p: np.ndarray, y: np.ndarray) -> Calibrator:
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(p)[:, None], y)
        return cls("platt", {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])})

    @classmethod
    def isotonic(cls, p: np.ndarray, y: np.ndarray) -> Calibrator:
        """Isotonic regression, made strictly increasing by a rise of at most ``_RISE`` over
        its whole range: its flat steps would tie scores the model ranks apart (and lower
        the ROC AUC); this way calibration never changes the model's ranking inside the
        fitted range."""
        iso = IsotonicRegression(out_of_bounds="clip", y_min=_EPS, y_max=1 - _EPS).fit(p, y)
        x, v = iso.X_thresholds_, _shrunk(iso, p, y)
        if len(x) > 1:
            v = np.clip(v + _RISE * (x - x[0]) / (x[-1] - x[0]), _EPS, 1 - _EPS)
            v = np.maximum.accumulate(v)
        return cls("isotonic", {"x": x.tolist(), "y": v.tolist()})

    @property
    def reverses(self) -> bool:
        """A Platt map with a slope not above 0: it would reverse (or erase) the model's
        ranking, which a calibrator must keep. On a small validation window with a few
        dozen rows of the rarer outcome, a model can rank those rows backwards by chance; the
        calibrator is then left out rather than turning the ranking over."""
        return self.method == "platt" and not self.params["a"] > 0

    def apply(self, p: np.ndarray) -> np.ndarray:
        if self.method == "platt":
            z = self.params["a"] * _logit(p) + self.params["b"]
            return np.asarray(1.0 / (1.0 + np.exp(-z)))
        if self.method == "isotonic":
            return np.clip(np.interp(p, self.params["x"], self.params["y"]), _EPS, 1 - _EPS)
        return p

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        return cls(d.get("method", "none"), dict(d.get("params", {})))


def choose_calibrator(
    p: np.ndarray, y: np.ndarray, *, seed: int = 0, groups: np.ndarray | None = None
) -> tuple[Calibrator, dict[str, float]]:
    """Pick none / Platt / isotonic by log loss on a held-out half of the validation rows
    (fit on the other half), then refit the winner on all of them. Returns it and the scores.
    A Platt map that would reverse the ranking (:attr:`Calibrator.reverses`) is not a
    candidate.

    ``groups`` (each row's customer) makes the halves hold whole customers. A customer's
    cutoffs share their outcome (overlapping horizons) and their journey: with the same
    customers on both sides, the held-out half confirms those customers' quirks in this window
    (a few more cancellations than the model expects), not a map that carries to other
    customers and to the next window."""
    if len(np.unique(y)) < 2 or len(y) < 40:
        return Calibrator(), {"none": float("nan")}
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.permutation(len(y))
        a, b = idx[: len(y) // 2], idx[len(y) // 2 :]
    else:
        # the customers drawn as codes: np.isin of string ids compares every row with every
        # drawn id (hours for a validation window of 10 M events); the same draw and halves
        ids, codes = np.unique(groups, return_inverse=True)
        first = np.isin(codes, rng.permutation(len(ids))[: len(ids) // 2])
        a, b = np.flatnonzero(first), np.flatnonzero(~first)
        if min(len(a), len(b)) < 20 or len(np.unique(y[b])) < 2:
            return choose_calibrator(p, y, seed=seed)  # too few customers to halve
    scores = {"none": float(_row_losses(y[b], p[b]).mean())}
    if len(np.unique(y[a])) == 2:
        for name, fit in (("platt", Calibrator.platt), ("isotonic", Calibrator.isotonic)):
            cal = fit(p[a], y[a])
            if cal.reverses:
                continue
            scores[name] = float(_row_losses(y[b], cal.apply(p[b])).mean())
    best = min(scores, key=lambda k: scores[k])
    if best == "platt" and not (platt := Calibrator.platt(p, y)).reverses:
        return platt, scores
    if best == "isotonic":
        return Calibrator.isotonic(p, y), scores
    return Calibrator(), scores


def _row_losses(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row log loss (clipped as :func:`sklearn.metrics.log_loss` clips)."""
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.asarray(-(y * np.log(q) + (1 - y) * np.log(1 - q)))
