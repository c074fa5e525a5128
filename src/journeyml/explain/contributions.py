"""Step 1 of an explanation: each feature's contribution to one prediction, in probability
points.

**Method.** LightGBM's ``pred_contrib`` gives exact TreeSHAP values φᵢ in raw-score units
(log-odds; per class for multiclass) that add up with the bias b to the raw score f. The model's
probability is p = g(f) (sigmoid or softmax, then calibration) and the base rate p₀ = g(b). We
turn Δ = p − p₀ into probability points in two steps (:func:`probability_points`):

1. the raw contributions are put on the log-odds scale of the probability explained,
   φ'ᵢ = φᵢ · (logit p − logit p₀) / (f − b) (the identity for an uncalibrated binary model), and
   split into the raising ones (sum P) and the lowering ones (sum N), P + N = logit p − logit p₀;
2. Δ is split between the two sides as a two-player Shapley value over the sigmoid,
   Δ₊ = ½[(σ(L₀ + P) − p₀) + (p − σ(L₀ + N))] and Δ₋ = Δ − Δ₊ (L₀ = logit p₀), and each side
   is spread over its features in proportion to φ'.

So contributions are additive in probability (Σψᵢ = p − p₀ exactly), keep their signs, rank as
in log-odds within each side, and no cause can move the probability by more than the sigmoid
allows (a plain proportional split, φᵢ · Δ / (f − b), reads "raised by 116 points" when large
causes of both signs nearly cancel).

A multiclass model is explained one class per row through boosters that hold the trees of one
class each (:mod:`journeyml.explain.class_boosters`): the same numbers at 1/K of the cost. They
are cut once per model (:func:`model_of`) and kept with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from journeyml.explain.class_boosters import split_by_class
from journeyml.features import spec_cache
from journeyml.modeling import ModelBundle


@dataclass(frozen=True)
class Points:
    """Contributions of the rows of one task (or one class per row): ψ (rows × F, probability
    units), the probability p explained (rows) and the base rate p₀ (rows); Σψ = p − p₀."""

    psi: np.ndarray
    probability: np.ndarray
    base_rate: np.ndarray


def probability_points(
    contrib: np.ndarray, raw: np.ndarray, p: np.ndarray, p0: np.ndarray
) -> np.ndarray:
    """Spread ``p - p0`` over features (rows × F) from their raw contributions ``contrib``
    (``raw``: their row sums), raising and lowering sides split as in the module docstring.

    One side only: plain proportions.

    >>> phi = np.array([[1.0, 0.5]])
    >>> psi = probability_points(phi, phi.sum(axis=1), np.array([0.7]), np.array([0.5]))
    >>> psi.round(4).tolist(), round(float(psi.sum()), 9)
    ([[0.1333, 0.0667]], 0.2)

    Large causes of both signs (+6 and −5 log-odds from a 3 % base rate): each stays within
    100 points, and they still add up to p − p₀.

    >>> phi = np.array([[6.0, -5.0]])
    >>> p0 = np.array([0.03])
    >>> p = 1 / (1 + np.exp(-(np.log(0.03 / 0.97) + 1.0)))
    >>> psi = probability_points(phi, phi.sum(axis=1), p, p0)
    >>> psi.round(3).tolist(), bool(np.isclose(psi.sum(), p - p0))
    ([[0.487, -0.439]], True)
    """
    contrib = np.asarray(contrib, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    p0 = np.asarray(p0, dtype=np.float64)
    delta = p - p0
    l0, l1 = _logit(p0), _logit(p)
    raw = np.asarray(raw, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(raw) < 1e-9, 1.0, (l1 - l0) / raw)
    phi = contrib * ratio[:, None]
    up = np.where(phi > 0, phi, 0.0).sum(axis=1)
    down = np.where(phi < 0, phi, 0.0).sum(axis=1)
    gain = 0.5 * ((_sigmoid(l0 + up) - p0) + (p - _sigmoid(l0 + down)))
    gain = np.where(down == 0, delta, np.where(up == 0, 0.0, gain))
    loss = delta - gain
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_up = np.where(up > 0, gain / up, 0.0)
        scale_down = np.where(down < 0, loss / down, 0.0)
    return np.asarray(np.where(phi > 0, phi * scale_up[:, None], phi * scale_down[:, None]))


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(np.log(q) - np.log1p(-q))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


class ExplainedModel:
    """One task's model as the explanation sees it: TreeSHAP contributions of the whole model
    or of one class per row, and the base values."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self._parts: list[lgb.Booster] | None = None
        self._expected: np.ndarray | None = None

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions in raw-score units (log-odds), bias last.
        Binary → (n, F+1); multiclass → (n, K, F+1)."""
        b = self.bundle
        c = np.asarray(b.booster.predict(X, pred_contrib=True, num_threads=1))
        if b.kind == "multiclass":
            c = c.reshape(X.shape[0], len(b.classes), X.shape[1] + 1)
            k = np.arange(len(b.classes))
            # a blend with a multinomial linear model: each class's served contributions
            return np.stack(
                [b.served_class_contributions(c[:, j], X, np.full(len(X), j)) for j in k], axis=1
            )
        # a blend with a linear model: the served score's contributions, still exact
        return b.served_contributions(c, X)

    @property
    def class_boosters(self) -> list[lgb.Booster]:
        if self._parts is None:
            self._parts = split_by_class(self.bundle.booster)
        return self._parts

    def class_contributions(self, X: np.ndarray, class_index: np.ndarray) -> np.ndarray:
        """Multiclass: the contributions (raw-score units, bias last) of class
        ``class_index[row]`` for each row, (n, F+1): the matching slice of
        :meth:`contributions`, K times cheaper (each row runs over its class's trees only)."""
        out = np.empty((X.shape[0], X.shape[1] + 1))
        parts = self.class_boosters
        for k in np.unique(class_index):
            rows = np.flatnonzero(class_index == k)
            sub = X if len(rows) == X.shape[0] else X[rows]
            out[rows] = parts[int(k)].predict(sub, pred_contrib=True, num_threads=1)
        # a blend with a multinomial linear model: the class's served contributions, exact
        return self.bundle.served_class_contributions(out, X, class_index)

    @property
    def expected_raw(self) -> np.ndarray:
        """Multiclass: the base value (expected raw score) of every class, (K,): TreeSHAP's,
        blended with the linear part's intercepts when the model is a blend."""
        if self._expected is None:
            zero = np.zeros((1, self.bundle.booster.num_feature()))
            trees = np.array(
                [
                    float(np.asarray(b.predict(zero, pred_contrib=True, num_threads=1))[0, -1])
                    for b in self.class_boosters
                ]
            )
            self._expected = self.bundle.served_expected(trees)
        return self._expected

    def warm(self) -> ExplainedModel:
        """Cut the per-class boosters now (at start-up, not on the first request)."""
        if self.bundle.kind == "multiclass":
            _ = self.expected_raw
        return self

    def points(
        self,
        X: np.ndarray,
        class_index: np.ndarray | None = None,
        proba: np.ndarray | None = None,
    ) -> Points:
        """ψ, p and p₀ for binary tasks, or for the class ``class_index[row]`` of a multiclass
        task (``proba``: its rows × K probabilities, when already computed)."""
        b = self.bundle
        if b.kind == "binary":
            c = self.contributions(X)
            phi, bias = c[:, :-1], c[:, -1]
            raw = phi.sum(axis=1)
            p = b.binary_proba(X, raw + bias)
            p0 = b.base_rate(bias)
            return Points(probability_points(phi, raw, p, p0), p, p0)
        if class_index is None:
            raise ValueError("expected the class to explain for each row of a multiclass task")
        rows = np.arange(X.shape[0])
        p0 = b.base_rate(self.expected_raw)[class_index]
        phi = self.class_contributions(X, class_index)[:, :-1]
        p = (b.predict_proba(X) if proba is None else proba)[rows, class_index]
        return Points(probability_points(phi, phi.sum(axis=1), p, p0), p, p0)


def model_of(bundle: ModelBundle) -> ExplainedModel:
    """The :class:`ExplainedModel` of a bundle, made once per booster and reused."""
    return spec_cache(bundle.booster, "explained_model", lambda: ExplainedModel(bundle))


def task_contributions(
    bundle: ModelBundle,
    X: np.ndarray,
    class_index: np.ndarray | None = None,
    proba: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ψ rows × F, p rows, p₀ rows): :meth:`ExplainedModel.points` as a tuple."""
    pts = model_of(bundle).points(X, class_index, proba)
    return pts.psi, pts.probability, pts.base_rate
