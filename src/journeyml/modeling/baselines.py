"""Baselines trained beside every model on the same split: the class prior, logistic
regression on the same features, and (next stage) the most frequent successor of the last
stage or touchpoint (a first-order Markov model).

A binary task's logistic baseline is not fitted here but is the blend's own linear fit at
``BASELINE_C`` (:func:`journeyml.modeling.training.train_task`): the fit the blend falls back
to on a tie, so that the fallback scores exactly its baseline. :func:`logistic` serves the
multiclass tasks and the benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from journeyml.modeling.linear import BASELINE_C, BLOCK_ROWS


def prior_binary(y_train: np.ndarray, n: int) -> np.ndarray:
    return np.full(n, float(np.mean(y_train)) if len(y_train) else 0.5)


def prior_multiclass(y_train: Sequence[str], classes: Sequence[str], n: int) -> np.ndarray:
    y = np.asarray(y_train, dtype=object)
    p = np.array([(y == c).mean() if len(y) else 1 / len(classes) for c in classes])
    p = np.clip(p, 1e-6, None)
    return np.tile(p / p.sum(), (n, 1))


def logistic(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    *,
    max_rows: int = 50_000,
    seed: int = 0,
) -> np.ndarray:
    """Probabilities from a standardised logistic regression (NaN imputed by the median).
    Binary → (n,), multiclass → (n, K) in sorted label order."""
    model = fit_logistic(X_train, y_train, max_rows=max_rows, seed=seed)
    return logistic_proba(model, X_test)


def fit_logistic(
    X_train: np.ndarray, y_train: np.ndarray, *, max_rows: int = 50_000, seed: int = 0
) -> Pipeline:
    """The fitted model of :func:`logistic` (on at most ``max_rows`` rows, drawn with
    ``seed``)."""
    rng = np.random.default_rng(seed)
    if len(y_train) > max_rows:
        keep = rng.choice(len(y_train), max_rows, replace=False)
        X_train, y_train = X_train[keep], y_train[keep]
    # a float64 copy of our own: imputation and scaling then work in place on it
    X_train = np.where(np.isfinite(X_train), X_train, np.nan).astype(np.float64, copy=False)
    model = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True, copy=False),
        StandardScaler(copy=False),
        LogisticRegression(max_iter=300, C=BASELINE_C),
    )
    model.fit(X_train, y_train)
    return model


def logistic_proba(model: Pipeline, X_test: np.ndarray) -> np.ndarray:
    """:func:`logistic`'s probabilities of the rows of ``X_test`` (computed a block of rows at
    a time: every step is row by row, and the float64 copies of a block stay small where those
    of a whole test window would not)."""
    blocks = [
        model.predict_proba(np.where(np.isfinite(b), b, np.nan))
        for b in (X_test[i : i + BLOCK_ROWS] for i in range(0, len(X_test), BLOCK_ROWS))
    ]
    proba = np.concatenate(blocks) if blocks else np.zeros((0, len(model.classes_)))
    binary = proba.shape[1] == 2 and set(model.classes_.tolist()) <= {0, 1}
    return proba[:, 1] if binary else proba


def markov_successor(
    last_train: Sequence[object],
    y_train: Sequence[str],
    last_test: Sequence[object],
    classes: Sequence[str],
) -> np.ndarray:
    """One-hot prediction of the most frequent label after each last state in training (the
    overall most frequent label for states never seen)."""
    idx = {c: i for i, c in enumerate(classes)}
    counts: dict[object, dict[str, int]] = {}
    for s, y in zip(last_train, y_train, strict=True):
        d = counts.setdefault(s, {})
        d[y] = d.get(y, 0) + 1
    overall: dict[str, int] = {}
    for y in y_train:
        overall[y] = overall.get(y, 0) + 1
    default = max(overall, key=lambda k: (overall[k], k)) if overall else classes[0]
    out = np.zeros((len(last_test), len(classes)))
    for i, s in enumerate(last_test):
        seen = counts.get(s)
        best = max(seen, key=lambda k: (seen[k], k)) if seen else default
        out[i, idx.get(best, idx.get(default, 0))] = 1.0
    return out
