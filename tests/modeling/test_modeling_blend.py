"""The log-odds blend of LightGBM with a linear model: explanations stay exact and additive
(contributions add up to the served score, p − p₀ spread over the features), the bundle
round-trips, and training chooses the blend where the validation window asks for
extrapolation."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from tiny import tiny_spec

from journeyml.explain import model_of, task_contributions
from journeyml.modeling import Calibrator, LinearPart, ModelBundle, choose_weight, train_task
from journeyml.tasks import TaskConfig, TemporalSplit, task_from_block

TASK = task_from_block("buys", {"kind": "occurs", "horizon_days": 7, "outcome": ["purchase"]})


def _spec(n_features: int):  # type: ignore[no-untyped-def]
    spec = tiny_spec()
    assert len(spec.names) >= n_features
    return spec


def _data(n: int, F: int, lo: float, hi: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, F))
    X[:, 0] = rng.uniform(lo, hi, n)  # the signal grows past the training range later on
    X[rng.random((n, F)) < 0.05] = np.nan
    logit = 3 * np.nan_to_num(X[:, 0]) - 1.5 + 0.5 * np.nan_to_num(X[:, 1])
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)


def _bundle(weight: float) -> tuple[ModelBundle, np.ndarray]:
    spec = _spec(4)
    F = len(spec.names)
    X, y = _data(2000, F, 0, 1, 0)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "min_data_in_leaf": 20}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=30)
    lin = LinearPart.fit(X, y)
    cal = Calibrator.platt(1 / (1 + np.exp(-lin.raw(X))), y)
    b = ModelBundle(TASK, booster, spec, calibrator=cal, linear=lin, linear_weight=weight)
    return b, X[:200]


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0])
def test_blend_contributions_add_up_to_the_served_probability(weight: float) -> None:
    b, X = _bundle(weight)
    c = model_of(b).contributions(X)
    assert c.shape == (len(X), X.shape[1] + 1)
    margin = c.sum(axis=1)
    np.testing.assert_allclose(margin, b.margin(X), atol=1e-9)
    p = b.predict_proba(X)
    np.testing.assert_allclose(b.binary_proba(X, margin), p, atol=1e-12)
    psi, p_exp, p0 = task_contributions(b, X)
    np.testing.assert_allclose(p_exp, p, atol=1e-12)
    np.testing.assert_allclose(psi.sum(axis=1), p - p0, atol=1e-9)
    trees = b.booster.predict(X, raw_score=True)
    expected = (1 - weight) * trees + weight * b.linear.raw(X)  # type: ignore[union-attr]
    np.testing.assert_allclose(b.margin(X), expected, atol=1e-9)


def test_blend_round_trips_through_the_bundle_files(tmp_path: Path) -> None:
    b, X = _bundle(0.4)
    again = ModelBundle.load(b.save(tmp_path / "m"))
    assert again.linear == b.linear and again.linear_weight == 0.4
    np.testing.assert_array_equal(again.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(model_of(again).contributions(X), model_of(b).contributions(X))


def test_choose_weight_prefers_the_model_that_fits_validation() -> None:
    rng = np.random.default_rng(1)
    f_good = rng.normal(size=3000) * 2
    y = (rng.random(3000) < 1 / (1 + np.exp(-f_good))).astype(int)
    noise = rng.normal(size=3000)
    assert choose_weight(noise, f_good, y)[0] == 1.0
    assert choose_weight(f_good, noise, y)[0] == 0.0


def test_training_blends_in_the_linear_model_when_validation_extrapolates() -> None:
    spec = _spec(4)
    F = len(spec.names)
    # validation and test beyond the training range (the linear part extrapolates up to one
    # training range past it)
    parts = [_data(3000, F, 0, 1, 2), _data(1000, F, 1, 1.5, 3), _data(1000, F, 1.5, 2, 4)]
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    n = len(y)
    mask = [np.zeros(n, bool) for _ in range(3)]
    mask[0][:3000], mask[1][3000:4000], mask[2][4000:] = True, True, True
    t = pd.Timestamp("2024-01-01", tz="UTC")
    split = TemporalSplit(mask[0], mask[1], mask[2], t, t)
    labels = pd.DataFrame({"label": y, "eligible": True})
    res = train_task(
        TASK, spec, X, labels, split, num_boost_round=200, lgb_params={"num_threads": 1}
    )
    assert res.bundle.linear_weight > 0 and res.bundle.linear is not None
    assert isinstance(res.bundle.task, TaskConfig)
    # the blend ranks the out-of-range test window better than the trees alone
    trees_only = res.bundle.booster.predict(X[mask[2]])
    from sklearn.metrics import roc_auc_score

    assert res.metrics["roc_auc"] > roc_auc_score(y[mask[2]], trees_only) + 0.01
    # but not without end: far beyond, the linear score stops growing
    lin = res.bundle.linear
    assert lin is not None
    far = np.zeros((2, F))
    far[:, 0] = [10.0, 1e6]
    assert lin.raw(far[:1])[0] == lin.raw(far[1:])[0]


def test_a_column_constant_up_to_rounding_gets_no_weight_and_cannot_explode() -> None:
    """Time since the last event is 0 (up to 1e-14) at cutoffs placed on events; a journey
    scored hours later must not get a log-odds of 1e24 from it."""
    rng = np.random.default_rng(1)
    X = np.c_[rng.normal(size=300), 1e-14 * rng.random(300)]
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    lin = LinearPart.fit(X, y)
    assert lin.coef[1] == 0.0 and lin.coef[0] > 0
    later = np.array([[0.0, 0.125]])
    assert abs(lin.raw(later)[0] - lin.raw(np.array([[0.0, 0.0]]))[0]) < 1e-9


def test_linear_scores_extrapolate_at_most_three_training_ranges_beyond() -> None:
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, size=(400, 1))
    y = (X[:, 0] + 0.3 * rng.normal(size=400) > 0.5).astype(int)
    lin = LinearPart.fit(X, y)
    f = lin.raw(np.array([[2.0], [3.5], [1e6]]))
    assert f[0] < f[1]  # still extrapolates past the range (both are inside the bound)
    assert f[2] == pytest.approx(lin.raw(np.array([[4.0 + 1e-3]]))[0], abs=1e-2)
    c = lin.contributions(np.array([[1e6]]))
    assert c.sum() == pytest.approx(f[2])  # clipping keeps the contributions exact
    restored = LinearPart.from_dict(lin.to_dict())
    assert restored.raw(np.array([[1e6]]))[0] == pytest.approx(f[2])


def test_unvalidated_trees_leave_the_blend_to_the_baselines_logistic_model() -> None:
    """A small, nearly one-sided window (3 % of the rarer outcome, as in a lapse task where
    nearly everyone lapses): early stopping keeps a booster the validation rows do not confirm.
    The blend then serves the logistic regression the baseline fits, not that tree."""
    spec = _spec(4)
    F = len(spec.names)
    rng = np.random.default_rng(5)
    n = 1800
    X = rng.normal(size=(n, F))
    # a weak linear signal on 1,000 training rows with about 30 of the rarer outcome
    y = (rng.random(n) < 1 / (1 + np.exp(-3.6 - 0.6 * X[:, 0]))).astype(np.int64)
    mask = [np.zeros(n, bool) for _ in range(3)]
    mask[0][:1000], mask[1][1000:1400], mask[2][1400:] = True, True, True
    t = pd.Timestamp("2024-01-01", tz="UTC")
    split = TemporalSplit(mask[0], mask[1], mask[2], t, t)
    labels = pd.DataFrame({"label": y, "eligible": True})
    res = train_task(TASK, spec, X, labels, split, lgb_params={"num_threads": 1})
    assert res.bundle.linear_weight == 1.0 and res.bundle.info["linear_C"] == 1.0
    assert res.metrics["roc_auc"] == pytest.approx(res.baselines["logistic"]["roc_auc"], abs=1e-9)
    # the test window's ECE comes with what noise alone gives a calibrated model there
    from journeyml.modeling import ece_noise

    assert res.metrics["ece_noise90"] == ece_noise(res.test_predictions) > 0


def test_calibration_never_turns_a_ranking_over() -> None:
    """A model that ranks the validation rows backwards (by chance, on a small window) keeps
    its ranking: no Platt map with a negative slope is chosen, and the blend choice does not
    score a backwards blend as a forwards one."""
    from journeyml.modeling import choose_calibrator
    from journeyml.modeling.linear import choose_weight as weights

    rng = np.random.default_rng(3)
    f = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(2 * f))).astype(int)  # higher score, fewer 1s
    cal, _ = choose_calibrator(1 / (1 + np.exp(-f)), y)
    p = cal.apply(1 / (1 + np.exp(-f)))
    assert np.all(np.diff(p[np.argsort(f)]) >= 0)
    assert weights(np.zeros(2000), f, y)[0] == 0.0


def test_calibrator_halves_by_customer_are_the_same_for_ids_and_codes() -> None:
    """The held-out half of whole customers is drawn the same whether the customers are given
    as their ids or as codes in the ids' sorted order (training passes codes: comparing
    strings row by row took hours on a 10 M-event validation window); another draw differs."""
    from journeyml.modeling import choose_calibrator

    rng = np.random.default_rng(5)
    ids = np.array([f"c{i:05d}" for i in rng.integers(0, 400, 3000)], dtype=object)
    f = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-2 * f + 1))).astype(int)
    p = 1 / (1 + np.exp(-f))  # miscalibrated: a map is chosen
    codes = np.unique(ids, return_inverse=True)[1]
    by_id, scores_id = choose_calibrator(p, y, seed=2, groups=ids)
    by_code, scores_code = choose_calibrator(p, y, seed=2, groups=codes)
    assert scores_id == scores_code and by_id.to_dict() == by_code.to_dict()
    assert choose_calibrator(p, y, seed=3, groups=ids)[1] != scores_id
