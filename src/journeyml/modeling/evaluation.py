"""Metrics: ROC AUC, PR AUC, log loss, Brier, expected calibration error and the reliability
curve (binary); accuracy, macro-F1 and log loss (multiclass).

>>> import numpy as np
>>> m = binary_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
>>> round(m["roc_auc"], 2), m["n"]
(0.75, 4)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    roc_auc_score,
)

_EPS = 1e-7


def reliability_curve(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> dict[str, list[float]]:
    """Mean predicted vs observed rate per equal-width probability bin (non-empty bins)."""
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    pred, obs, count = [], [], []
    for b in range(n_bins):
        m = bins == b
        if m.any():
            pred.append(float(p[m].mean()))
            obs.append(float(y[m].mean()))
            count.append(float(m.sum()))
    return {"predicted": pred, "observed": obs, "count": count}


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    c = reliability_curve(y, p, n_bins)
    n = max(len(y), 1)
    return float(
        sum(
            w / n * abs(a - b)
            for a, b, w in zip(c["predicted"], c["observed"], c["count"], strict=True)
        )
    )


def ece_equal_mass(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error over ``n_bins`` bins of equal count (rows sorted by p): the
    count-weighted mean of |mean predicted − observed rate|. Unlike equal-width bins it does
    not hide a skewed score distribution in one bin.

    >>> round(ece_equal_mass(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5]), 2), 3)
    0.0
    >>> round(ece_equal_mass(np.array([0, 0, 1, 1]), np.array([0.2, 0.2, 0.6, 0.6]), 2), 3)
    0.3
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    err = 0.0
    for part in np.array_split(order, min(n_bins, len(y))):
        err += len(part) * abs(float(p[part].mean()) - float(y[part].mean()))
    return err / len(y)


def ece_noise(
    p: np.ndarray, *, quantile: float = 0.9, draws: int = 200, n_bins: int = 10, seed: int = 0
) -> float:
    """The ECE (equal-width bins, as :func:`expected_calibration_error`) that a perfectly
    calibrated model shows on these rows, at ``quantile`` over ``draws`` label draws.

    Labels are drawn from the probabilities themselves (consistency resampling, Bröcker &
    Smith 2007), so the figure is what sampling noise alone gives on a test window of this
    size and spread of predictions: an observed ECE below it is consistent with a calibrated
    model. Draws are independent per row; rows of one customer that share an outcome make the
    real spread wider, so this is a lower bound.

    >>> import numpy as np
    >>> p = np.full(400, 0.2)
    >>> round(ece_noise(p), 3) > round(ece_noise(np.full(40_000, 0.2)), 3)
    True
    >>> ece_noise(np.array([0.0, 1.0, 1.0]))
    0.0
    """
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    if len(p) == 0:
        return float("nan")
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    psum = np.bincount(bins, weights=p, minlength=n_bins)
    rng = np.random.default_rng(seed)
    errors = np.empty(draws)
    for d in range(draws):
        ysum = np.bincount(bins, weights=rng.random(len(p)) < p, minlength=n_bins)
        errors[d] = np.abs(psum - ysum).sum() / len(p)
    return float(np.quantile(errors, quantile))


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = np.asarray(y).astype(int)
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    out: dict[str, float] = {
        "n": len(y),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
    }
    two = len(np.unique(y)) == 2
    out["roc_auc"] = float(roc_auc_score(y, p)) if two else float("nan")
    out["pr_auc"] = float(average_precision_score(y, p)) if two else float("nan")
    out["log_loss"] = float(log_loss(y, p, labels=[0, 1])) if len(y) else float("nan")
    out["brier"] = float(brier_score_loss(y, p)) if len(y) else float("nan")
    out["ece"] = expected_calibration_error(y, p)
    out["ece_equal_mass"] = ece_equal_mass(y, p)
    return out


def metrics_by_segment(
    y: Sequence[object] | np.ndarray,
    pred: np.ndarray,
    segments: Sequence[str] | np.ndarray,
    *,
    classes: Sequence[str] | None = None,
    min_rows: int = 30,
) -> dict[str, dict[str, float]]:
    """The same metrics per segment (persona); segments with fewer than ``min_rows`` rows are
    left out (their figures would be noise). Binary when ``classes`` is None.

    >>> import numpy as np
    >>> seg = np.array(["a"] * 40 + ["b"] * 10)
    >>> y = np.r_[np.tile([0, 1], 20), np.zeros(10)]
    >>> out = metrics_by_segment(y, np.full(50, 0.5), seg)
    >>> sorted(out), out["a"]["n"]
    (['a'], 40)
    """
    seg = np.asarray(segments, dtype=object)
    yy = np.asarray(y, dtype=object)
    out: dict[str, dict[str, float]] = {}
    for s in sorted({str(v) for v in seg}):
        m = seg == s
        if m.sum() < min_rows:
            continue
        if classes is None:
            out[s] = binary_metrics(yy[m].astype(int), pred[m])
        else:
            out[s] = multiclass_metrics([str(v) for v in yy[m]], pred[m], classes)
    return out


def multiclass_metrics(
    y: Sequence[str] | np.ndarray, proba: np.ndarray, classes: Sequence[str]
) -> dict[str, float]:
    """``y`` holds class names; labels unseen in ``classes`` count as wrong and are left out
    of the log loss (it is undefined for them)."""
    y = np.asarray(y, dtype=object)
    cls = np.asarray(classes, dtype=object)
    pred = cls[np.argmax(proba, axis=1)] if len(y) else np.array([], dtype=object)
    out: dict[str, float] = {"n": len(y)}
    out["accuracy"] = (
        float(accuracy_score(y.astype(str), pred.astype(str))) if len(y) else float("nan")
    )
    out["macro_f1"] = (
        float(f1_score(y.astype(str), pred.astype(str), average="macro", zero_division=0))
        if len(y)
        else float("nan")
    )
    idx = {c: i for i, c in enumerate(classes)}
    known = np.array([v in idx for v in y], dtype=bool)
    if known.any():
        yi = np.array([idx[v] for v in y[known]])
        pk = np.clip(proba[known], _EPS, 1)
        pk = pk / pk.sum(axis=1, keepdims=True)
        out["log_loss"] = float(log_loss(yi, pk, labels=list(range(len(classes)))))
    else:
        out["log_loss"] = float("nan")
    return out
