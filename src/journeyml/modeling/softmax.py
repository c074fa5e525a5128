"""A multinomial logistic regression whose explanation is exact per feature and class, and its
blend with LightGBM's softmax in per-class raw scores: the multiclass counterpart of
:mod:`journeyml.modeling.linear`.

The features are imputed and standardised as the binary linear part's
(:func:`~journeyml.modeling.linear.standardise`): z_j = (x̃_j − μ_j) / σ_j. Class k scores
f_lin,k = c_k + Σ_j w_kj z_j; its contribution of feature j is w_kj z_j and its bias c_k (the
average training score: the z have mean 0 on training rows, TreeSHAP's convention). A blend
``(1 − a) · f_lgb + a · f_lin`` of the per-class raw scores (LightGBM's softmax logits) is
softmaxed; each class's contributions are blended by the same weights, so they add up to the
class's blended score exactly and an explanation of class k (p_k − p₀,k,
:mod:`journeyml.explain.contributions`) stays exact and additive.

The share ``a`` and the L2 strength are chosen on the validation window by the per-row log loss
with the binary blend's rules (:func:`~journeyml.modeling.linear.simplest_within_se`: the
one-standard-error rule, then the tie rule: a blend is served only if it beats the logistic
baseline's own fit, the fit at :data:`~journeyml.modeling.linear.BASELINE_C`, by one standard
error by customer; else that fit alone is served and scores exactly its baseline).

>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(600, 3)); X[::7, 1] = np.nan
>>> y = np.argmax(X[:, :3] + rng.normal(size=(600, 3)), axis=1)
>>> lin = SoftmaxPart.fit(X, y, n_classes=3)
>>> c = lin.contributions(X[:5])
>>> c.shape, bool(np.allclose(c.sum(axis=2), lin.raw(X[:5])))
((5, 3, 4), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from journeyml.modeling.linear import (
    BLOCK_ROWS,
    REGULARISATION,
    WEIGHTS,
    read_numbers,
    saved_numbers,
    simplest_within_se,
    standardise,
    standardised,
)
from journeyml.modeling.noise import beats

#: the raw score of a class absent from the linear fit's rows, below every other class's
#: (its probability ends at the floor of :mod:`journeyml.modeling.bounds`)
_ABSENT = -30.0
#: L-BFGS iterations of each multinomial fit (the logistic baseline's, before the blend)
MAX_ITER = 300


def softmax(f: np.ndarray) -> np.ndarray:
    """Rows of raw scores (n, K) as probabilities."""
    f = np.asarray(f, dtype=np.float64)
    e = np.exp(f - f.max(axis=-1, keepdims=True))
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


def log_losses(f: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's log loss of softmax(``f``) at its class ``y`` (codes), (n,).

    >>> log_losses(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([0, 1])).round(4).tolist()
    [0.6931, 2.1269]
    """
    f = np.asarray(f, dtype=np.float64)
    m = f.max(axis=1)
    lse = m + np.log(np.exp(f - m[:, None]).sum(axis=1))
    return np.asarray(lse - f[np.arange(len(y)), y])


@dataclass(frozen=True)
class SoftmaxPart:
    """Standardised multinomial logistic regression: the standardisation of the binary linear
    part, weights (K × F) and intercepts (K), all plain numbers (saved as JSON)."""

    median: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]
    z_low: tuple[float, ...] = ()
    z_high: tuple[float, ...] = ()

    @classmethod
    def fit(
        cls, X: np.ndarray, y: np.ndarray, *, n_classes: int, C: float = 1.0, seed: int = 0
    ) -> SoftmaxPart:
        """Fit on rows ``X`` with class codes ``y`` in ``range(n_classes)``."""
        return cls.fit_path(X, y, n_classes=n_classes, Cs=(C,), seed=seed)[0]

    @classmethod
    def fit_path(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        *,
        n_classes: int,
        Cs: tuple[float, ...] = REGULARISATION,
        max_rows: int = 50_000,
        seed: int = 0,
    ) -> list[SoftmaxPart]:
        """One fit per inverse L2 strength in ``Cs``, warm-started from the previous one, on at
        most ``max_rows`` rows (drawn with ``seed``, as the binary part draws them). Classes
        absent from the rows get no weights and a score far below the others'; with two
        classes present, the binary fit's log-odds f are split as (−f/2, f/2), the same
        softmax."""
        if len(y) > max_rows:
            keep = np.random.default_rng(seed).choice(len(y), max_rows, replace=False)
            X, y = X[keep], y[keep]
        y = np.asarray(y, dtype=np.int64)
        z, st, varies = standardise(X)
        present = np.unique(y)
        lr = LogisticRegression(max_iter=MAX_ITER, warm_start=True)
        out = []
        for C in Cs:
            coef = np.zeros((n_classes, X.shape[1]))
            intercept = np.full(n_classes, _ABSENT)
            intercept[present] = 0.0
            if varies.any() and len(present) > 1:
                lr.set_params(C=C).fit(z[:, varies], y)
                w, b = lr.coef_, lr.intercept_
                if len(present) == 2:
                    w, b = np.vstack([-w[0] / 2, w[0] / 2]), np.array([-b[0] / 2, b[0] / 2])
                coef[np.ix_(present, np.flatnonzero(varies))] = w
                intercept[present] = b
            elif len(present):  # nothing to learn from: the rows' class rates
                rates = np.bincount(y, minlength=n_classes)[present] / len(y)
                intercept[present] = np.log(rates)
            out.append(
                cls(
                    st["median"],
                    st["mean"],
                    st["scale"],
                    tuple(tuple(r) for r in coef.tolist()),
                    tuple(intercept.tolist()),
                    st["z_low"],
                    st["z_high"],
                )
            )
        return out

    def __post_init__(self) -> None:
        arrays = {
            k: np.asarray(getattr(self, k), dtype=float)
            for k in ("median", "mean", "scale", "coef", "intercept", "z_low", "z_high")
        }
        object.__setattr__(self, "_np", arrays)

    @property
    def n_classes(self) -> int:
        return len(self.intercept)

    def _z(self, X: np.ndarray) -> np.ndarray:
        return standardised(X, self._np)  # type: ignore[attr-defined]

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Per-class raw scores, (n, K). A row's values do not depend on the other rows of
        ``X`` (each class's sum runs per row, as :meth:`LinearPart.raw`'s), computed a block of
        rows at a time."""
        a: dict[str, np.ndarray] = self._np  # type: ignore[attr-defined]
        out = np.empty((X.shape[0], self.n_classes))
        for i in range(0, X.shape[0], BLOCK_ROWS):
            z = self._z(X[i : i + BLOCK_ROWS])
            for k in range(self.n_classes):
                out[i : i + z.shape[0], k] = np.multiply(z, a["coef"][k]).sum(axis=1)
        return out + a["intercept"]

    def class_contributions(self, X: np.ndarray, class_index: np.ndarray) -> np.ndarray:
        """The contributions of class ``class_index[row]`` to each row, bias last, (n, F+1);
        a row adds up to its class's :meth:`raw` score."""
        a: dict[str, np.ndarray] = self._np  # type: ignore[attr-defined]
        k = np.asarray(class_index, dtype=np.int64)
        out = np.empty((X.shape[0], X.shape[1] + 1))
        np.multiply(self._z(X), a["coef"][k], out=out[:, :-1])
        out[:, -1] = a["intercept"][k]
        return out

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Every class's contributions, bias last, (n, K, F+1)."""
        n = X.shape[0]
        return np.stack(
            [self.class_contributions(X, np.full(n, k)) for k in range(self.n_classes)], axis=1
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "softmax",
            **saved_numbers(self),
            "coef": [list(r) for r in self.coef],
            "intercept": list(self.intercept),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SoftmaxPart:
        coef = tuple(tuple(float(v) for v in r) for r in d["coef"])
        intercept = tuple(float(v) for v in d["intercept"])
        return cls(coef=coef, intercept=intercept, **read_numbers(d))


def blend(f_trees: np.ndarray, f_linear: np.ndarray, weight: float) -> np.ndarray:
    """``(1 − weight) · f_trees + weight · f_linear`` (per-class raw scores)."""
    return np.asarray((1 - weight) * f_trees + weight * f_linear)


def trees_beat_constant(f_trees: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> bool:
    """Whether the trees' softmax beats the validation rows' own class rates (a constant) by
    one standard error (by customer with ``groups``): the multiclass
    :func:`~journeyml.modeling.linear.trees_validated`."""
    if len(y) < 2 or len(np.unique(y)) < 2:
        return False
    rates = np.bincount(y, minlength=f_trees.shape[1]) / len(y)
    constant = -np.log(np.clip(rates, 1e-7, None))[y]
    return bool(beats(log_losses(f_trees, y), constant, groups))


def choose_softmax(
    f_trees: np.ndarray,
    f_linears: Sequence[np.ndarray],
    y: np.ndarray,
    *,
    reference: int | None = None,
    groups: np.ndarray | None = None,
) -> tuple[int, float, dict[str, float]]:
    """Which multinomial fit to blend and its share, on validation rows (``f_trees`` and each
    of ``f_linears``: per-class raw scores, (n, K); ``y``: class codes): every (fit, share in
    :data:`~journeyml.modeling.linear.WEIGHTS`) scored by its per-row log loss, then
    :func:`~journeyml.modeling.linear.simplest_within_se`. Returns (fit index, share, each
    fit's best blend log loss).

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(3000, 3)); y = np.argmax(2 * x + rng.gumbel(size=(3000, 3)), axis=1)
    >>> noise = rng.normal(size=(3000, 3))
    >>> choose_softmax(noise, [2 * x, 1.9 * x], y, reference=0)[:2]
    (0, 1.0)
    >>> choose_softmax(2 * x, [noise, noise], y, reference=0)[1]  # trees alone (either fit)
    0.0
    """
    y = np.asarray(y, dtype=np.int64)
    losses = np.stack(
        [np.stack([log_losses(blend(f_trees, f, a), y) for a in WEIGHTS]) for f in f_linears]
    )
    trees_ok = reference is None or trees_beat_constant(f_trees, y, groups)
    fit, share = simplest_within_se(losses, reference=reference, groups=groups, trees_ok=trees_ok)
    means = losses.mean(axis=2) if len(y) else np.zeros(losses.shape[:2])
    scores = {f"C={c:g}": float(m.min()) for c, m in zip(REGULARISATION, means, strict=False)}
    return fit, float(WEIGHTS[share]), scores
