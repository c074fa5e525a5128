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

**Regularisation.** Journey features are strongly correlated (counts in nested windows, stage and
channel counts made of touchpoint counts, transitions that grow with volume). A weakly
regularised fit gives such features large weights of opposite signs that cancel in the score
but not in the explanation: a heavy user's "activity" then reads +6 log-odds against −2 for a
stage transition, and a touchpoint's own effect falls out of the top 3 (measured on the B2B
world: the strong planted causes in the top 3 for 77–82 % of exposed predictions, against
92–97 % with stronger L2). So the linear part is fitted along :data:`REGULARISATION`, and
:func:`choose_linear` keeps, among the blends within one standard error of the best on the
validation window (the one-standard-error rule), the smallest linear share and the most
regularised fit: it never trades measurable accuracy for the simpler blend. Given the logistic
baseline's own fit, a blend must beat that fit by one standard error to be served instead of
it: where validation cannot tell them apart, the baseline's fit is the model.

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from journeyml.modeling.calibration import Calibrator, choose_calibrator
from journeyml.modeling.noise import beats, standard_error

#: the fields held as numpy arrays too
_ARRAYS = ("median", "mean", "scale", "coef", "z_low", "z_high")
#: blend weights tried on the validation window (share of the linear model)
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))
#: inverse L2 strengths (scikit-learn's ``C``) of the fits tried, weakest regularisation first
REGULARISATION = (1.0, 0.1, 0.01)
#: standard errors by which a blend must beat the logistic baseline's own fit on the validation
#: window to be served instead of it (:func:`choose_linear`)
TIE_Z = 1.0
#: the logistic baseline's ``C`` (:func:`journeyml.modeling.baselines.fit_logistic`): the fit
#: of :data:`REGULARISATION` a blend falls back to when its trees are not validated
BASELINE_C = 1.0
_EPS = 1e-7
#: rows per block where a model is applied to many rows (working memory stays bounded)
BLOCK_ROWS = 32_768
#: a column whose standard deviation is below this share of its scale is constant
_CONSTANT = 1e-9
#: how far beyond its training range (in multiples of that range) a column still extrapolates
_REACH = 3.0


def sigmoid(f: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(f, dtype=float))))


def standardise(X: np.ndarray) -> tuple[np.ndarray, dict[str, tuple[float, ...]], np.ndarray]:
    """The training rows ``X`` imputed by each column's median (NaN and ±inf; a column without
    any value: 0) and standardised by its mean and scale, the standardisation's numbers
    (``median``, ``mean``, ``scale``, and the bounds ``z_low`` / ``z_high`` the standardised
    values are clipped to when applied) and which columns vary. Shared by the binary
    :class:`LinearPart` and the multinomial
    :class:`~journeyml.modeling.softmax.SoftmaxPart`."""
    # one working copy, imputed and then standardised in place: every step is
    # elementwise, so the values are those of a fresh array per step, in a third of the
    # memory (50,000 rows × 300 features are 120 MB a copy)
    z = np.where(np.isfinite(X), X, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: median 0
        med = np.nanmedian(z, axis=0) if len(z) else np.zeros(X.shape[1])
    med = np.where(np.isfinite(med), med, 0.0)
    np.copyto(z, med, where=np.isnan(z))
    mu = z.mean(axis=0)
    sd = z.std(axis=0)
    # a column constant up to rounding (e.g. time since the last event at cutoffs placed on
    # events) carries nothing to learn; standardised by its rounding noise it would turn
    # any real value at serving time into a score of 1e24: it gets no weight
    varies = sd > _CONSTANT * np.maximum(1.0, np.abs(mu))
    sd = np.where(varies, sd, 1.0)
    z -= mu
    z /= sd
    # scores extrapolate beyond the training range, by at most three times that range
    lo, hi = z.min(axis=0, initial=0.0), z.max(axis=0, initial=0.0)
    span = _REACH * (hi - lo)
    numbers = {
        "median": tuple(med.tolist()),
        "mean": tuple(mu.tolist()),
        "scale": tuple(sd.tolist()),
        "z_low": tuple((lo - span).tolist()),
        "z_high": tuple((hi + span).tolist()),
    }
    return z, numbers, varies


def standardised(X: np.ndarray, a: dict[str, np.ndarray]) -> np.ndarray:
    """Rows ``X`` standardised by the numbers ``a`` of :func:`standardise` (as arrays; bounds
    empty: not clipped, older bundles), in row-major order whatever the order of ``X``: a
    row's sum then runs over its own contiguous values, in the same order whether the row is
    scored alone or in a batch (a column-major batch, as the serving features are built,
    summed across columns in another order and differed from the same row alone in the last
    bit)."""
    Xi = np.where(np.isfinite(X), X, a["median"])
    z = (Xi - a["mean"]) / a["scale"]
    if a["z_low"].size:
        z = np.clip(z, a["z_low"], a["z_high"])
    return np.ascontiguousarray(z)


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
        return cls.fit_path(X, y, Cs=(C,), max_rows=max_rows, seed=seed)[0]

    @classmethod
    def fit_path(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        *,
        Cs: tuple[float, ...] = REGULARISATION,
        max_rows: int = 50_000,
        seed: int = 0,
    ) -> list[LinearPart]:
        """One fit per inverse L2 strength in ``Cs`` (same imputation and standardisation),
        each fit warm-started from the previous one."""
        if len(y) > max_rows:
            keep = np.random.default_rng(seed).choice(len(y), max_rows, replace=False)
            X, y = X[keep], y[keep]
        z, st, varies = standardise(X)
        prior = float(np.log((y.mean() + _EPS) / (1 - y.mean() + _EPS))) if len(y) else 0.0
        fit = varies.any() and len(np.unique(y)) == 2
        lr = LogisticRegression(max_iter=500, warm_start=True)
        out = []
        for C in Cs:
            coef, intercept = np.zeros(X.shape[1]), prior
            if fit:
                lr.set_params(C=C).fit(z[:, varies], y)
                coef[varies] = lr.coef_[0]
                intercept = float(lr.intercept_[0])
            out.append(
                cls(
                    st["median"],
                    st["mean"],
                    st["scale"],
                    tuple(coef.tolist()),
                    intercept,
                    st["z_low"],
                    st["z_high"],
                )
            )
        return out

    def __post_init__(self) -> None:
        # numpy copies made once: a request pays arithmetic only (a few µs per row)
        arrays = {k: np.asarray(getattr(self, k), dtype=float) for k in _ARRAYS}
        object.__setattr__(self, "_np", arrays)

    def _z(self, X: np.ndarray) -> np.ndarray:
        return standardised(X, self._np)  # type: ignore[attr-defined]

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Log-odds, (n,). A row's value does not depend on the other rows of ``X``: the sum
        runs per row (a BLAS matrix-vector product may sum a row in another order depending on
        its position in the batch, so a customer scored in a chunk would differ from the same
        customer scored alone in the last bit)."""
        coef: np.ndarray = self._np["coef"]  # type: ignore[attr-defined]
        out = np.empty(X.shape[0])
        # in blocks of rows: the float64 working copies of a block, not of all of X (a
        # validation window of millions of cutoffs would need gigabytes)
        for i in range(0, X.shape[0], BLOCK_ROWS):
            block = X[i : i + BLOCK_ROWS]
            out[i : i + block.shape[0]] = np.multiply(self._z(block), coef).sum(axis=1)
        return out + self.intercept

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature log-odds contributions and the bias last, (n, F+1); rows add up to
        :meth:`raw`."""
        out = np.empty((X.shape[0], X.shape[1] + 1))
        np.multiply(self._z(X), self._np["coef"], out=out[:, :-1])  # type: ignore[attr-defined]
        out[:, -1] = self.intercept
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**saved_numbers(self), "coef": list(self.coef), "intercept": self.intercept}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearPart:
        coef = tuple(float(v) for v in d["coef"])
        return cls(coef=coef, intercept=float(d["intercept"]), **read_numbers(d))


#: a linear part's standardisation, as saved
STANDARDISATION = ("median", "mean", "scale", "z_low", "z_high")


def saved_numbers(part: Any) -> dict[str, list[float]]:
    """The standardisation of a linear part (binary or multinomial) as JSON lists."""
    return {k: list(getattr(part, k)) for k in STANDARDISATION}


def read_numbers(d: dict[str, Any]) -> dict[str, tuple[float, ...]]:
    """The standardisation of a saved linear part (bounds absent: none, older bundles)."""
    return {k: tuple(float(v) for v in d.get(k, ())) for k in STANDARDISATION}


def _blend_losses(f_trees: np.ndarray, f_linear: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row log losses (weights × rows) of every blend in :data:`WEIGHTS`, after a Platt
    rescaling of each blend's log-odds (so a blend is not judged on a miscalibration that the
    calibrator fixes afterwards); a rescaling that would reverse the blend's ranking is not
    made (the calibrator never makes it either)."""
    out = np.empty((len(WEIGHTS), len(y)))
    for i, a in enumerate(WEIGHTS):
        f = ((1 - a) * f_trees + a * f_linear)[:, None]
        if len(np.unique(y)) == 2:
            platt = LogisticRegression(C=1e6, max_iter=1000).fit(f, y)
            # a negative slope would score a blend that ranks the rows backwards as if it
            # ranked them forwards: such a blend is worth the constant rate, no more
            p = platt.predict_proba(f)[:, 1] if platt.coef_[0, 0] > 0 else np.full(len(y), y.mean())
        else:
            p = sigmoid(f[:, 0])
        p = np.clip(p, _EPS, 1 - _EPS)
        out[i] = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return out


def _best_weight(losses: np.ndarray) -> int:
    """Index in :data:`WEIGHTS` of the lowest mean loss (ties: the smaller share)."""
    means = losses.mean(axis=1) if losses.shape[1] else np.zeros(len(WEIGHTS))
    return min(range(len(WEIGHTS)), key=lambda i: (round(float(means[i]), 6), WEIGHTS[i]))


def choose_weight(
    f_trees: np.ndarray, f_linear: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, float]]:
    """The linear model's share in ``WEIGHTS`` whose blend ranks the validation rows best:
    the lowest log loss after a Platt rescaling of each blend's log-odds (so a blend is not
    judged on a miscalibration that the calibrator fixes afterwards). Ties: the smaller
    share. Returns it and every weight's log loss."""
    losses = _blend_losses(f_trees, f_linear, y)
    means = losses.mean(axis=1) if len(y) else np.zeros(len(WEIGHTS))
    scores = {f"{a:.1f}": float(m) for a, m in zip(WEIGHTS, means, strict=True)}
    return float(WEIGHTS[_best_weight(losses)]), scores


def trees_validated(f_trees: np.ndarray, y: np.ndarray) -> bool:
    """Whether the trees rank the validation rows better than no model: their per-row log
    loss (after the Platt rescaling of :func:`choose_weight`) lies more than one standard error
    of the per-row difference below the loss of the validation rows' own rate (a constant).

    On a small or nearly one-sided validation window (a few dozen rows of the rarer outcome)
    early stopping keeps a booster of a first tree or two whose ranking the window does not
    confirm; this says so.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000); y = (x + rng.normal(size=2000) > 0).astype(int)
    >>> trees_validated(x, y), trees_validated(rng.normal(size=2000), y)
    (True, False)
    """
    if len(y) < 2 or len(np.unique(y)) < 2:
        return False
    trees = _blend_losses(f_trees, f_trees, y)[0]
    rate = float(np.clip(np.mean(y), _EPS, 1 - _EPS))
    constant = -(y * np.log(rate) + (1 - y) * np.log(1 - rate))
    return bool(beats(trees, constant))


def choose_linear(
    f_trees: np.ndarray,
    f_linears: Sequence[np.ndarray],
    y: np.ndarray,
    *,
    reference: int | None = None,
    groups: np.ndarray | None = None,
) -> tuple[int, float, dict[str, float]]:
    """Which linear fit to blend, and its share, on validation rows: ``f_linears`` are the
    fits' log-odds, weakest regularisation first (as :meth:`LinearPart.fit_path` returns them).

    Every (fit, share in :data:`WEIGHTS`) is scored by its per-row log loss (after a Platt
    rescaling, :func:`choose_weight`). Among the candidates whose loss exceeds the best one's
    by at most one standard error of the per-row difference (the one-standard-error rule),
    the smallest linear share is kept, then the most regularised fit: the simplest blend that
    the validation window cannot tell from the best. Returns (fit index, share, each fit's
    best blend log loss).

    ``reference`` (a fit index) is the fit of the logistic baseline the model is compared
    against; the reference fit alone (share 1) *is* that baseline. With a reference, the
    obvious wins ties: a candidate is kept only if its per-row loss is also more than
    :data:`TIE_Z` (one) standard error of the per-row difference below the reference's
    (:func:`~journeyml.modeling.noise.beats`; by customer with ``groups``, each validation
    row's customer: a customer's cutoffs are not independent rows). When no
    candidate is, the validation window cannot tell the trees from the baseline, and the
    reference fit alone is served: on the test window it then equals its baseline instead of
    landing a hair above or below it by chance (the gate refuses a model below its
    baseline). The same holds when the trees do not rank the validation rows better than a
    constant (:func:`trees_validated`: early stopping kept a booster the window does not
    confirm, as on a small or one-sided window).

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=3000); y = (x + rng.normal(size=3000) > 0).astype(int)
    >>> trees = 0.5 * x + rng.normal(size=3000)
    >>> choose_linear(trees, [2 * x, 1.9 * x + 0.01 * rng.normal(size=3000)], y)[:2]
    (1, 1.0)
    >>> choose_linear(trees, [2 * x, rng.normal(size=3000)], y)[:2]
    (0, 1.0)
    >>> choose_linear(2 * x, [2 * x + 0.01 * rng.normal(size=3000)], y)[:2]
    (0, 0.0)
    >>> noise = rng.normal(size=3000)
    >>> choose_linear(noise, [2 * x, 1.9 * x], y)[:2]
    (1, 1.0)
    >>> choose_linear(noise, [2 * x, 1.9 * x], y, reference=0)[:2]
    (0, 1.0)
    >>> choose_linear(noise, [noise, 1.9 * x], y, reference=1)[:2]
    (1, 1.0)

    Trees a shade better than the baseline's fit, within noise: without a reference the
    trees alone are kept (the smallest share), with one the baseline's fit alone.

    >>> choose_linear(2 * x, [1.95 * x + 0.05 * rng.normal(size=3000)], y)[:2]
    (0, 0.0)
    >>> choose_linear(2 * x, [1.95 * x + 0.05 * rng.normal(size=3000)], y, reference=0)[:2]
    (0, 1.0)
    """
    losses = np.stack([_blend_losses(f_trees, f, y) for f in f_linears])  # fits × weights × rows
    trees_ok = reference is None or trees_validated(f_trees, y)
    fit, share = simplest_within_se(losses, reference=reference, groups=groups, trees_ok=trees_ok)
    means = losses.mean(axis=2) if len(y) else np.zeros(losses.shape[:2])
    scores = {f"C={c:g}": float(m.min()) for c, m in zip(REGULARISATION, means, strict=False)}
    return fit, float(WEIGHTS[share]), scores


def simplest_within_se(
    losses: np.ndarray,
    *,
    reference: int | None = None,
    groups: np.ndarray | None = None,
    trees_ok: bool = True,
) -> tuple[int, int]:
    """The (fit, share) indices kept by the one-standard-error rule and the tie rule from the
    per-row validation ``losses`` (fits × :data:`WEIGHTS` × rows) of every blend: the rule of
    :func:`choose_linear`, for binary and multiclass blends alike. ``trees_ok`` False (the
    trees do not beat a constant on the window) serves the ``reference`` fit alone."""
    means = losses.mean(axis=2) if losses.shape[2] else np.zeros(losses.shape[:2])
    bi, bw = np.unravel_index(int(np.argmin(means)), means.shape)
    chosen = (int(bi), int(bw))
    if losses.shape[2] > 1:
        d = losses - losses[bi, bw]
        se = standard_error(d)
        ok = means - means[bi, bw] <= se
        baseline = (reference, len(WEIGHTS) - 1)
        if reference is not None:
            ok &= beats(losses, losses[baseline], groups, z=TIE_Z)
            ok[baseline] = not ok.any()
        # the smallest share first, then the most regularised fit (the last)
        chosen = min(zip(*np.nonzero(ok), strict=True), key=lambda c: (c[1], -c[0]))
    if reference is not None and not trees_ok:
        chosen = (reference, len(WEIGHTS) - 1)
    return int(chosen[0]), int(chosen[1])


def choose_blend(
    f_trees: np.ndarray,
    f_linear: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    weight: float | None = None,
    groups: np.ndarray | None = None,
) -> tuple[float, Calibrator, dict[str, Any]]:
    """On validation rows: the blend weight (:func:`choose_weight`, unless ``weight`` is
    given, e.g. by :func:`choose_linear`), then the calibrator of the blend's probabilities
    (:func:`~journeyml.modeling.calibration.choose_calibrator`, by log loss; ``groups``: each
    row's customer). Returns both and their scores."""
    best, blend_scores = choose_weight(f_trees, f_linear, y)
    weight = best if weight is None else weight
    p = sigmoid((1 - weight) * f_trees + weight * f_linear)
    calibrator, cal_scores = choose_calibrator(p, y, seed=seed, groups=groups)
    return weight, calibrator, {"blend_log_loss": blend_scores, "calibration": cal_scores}
