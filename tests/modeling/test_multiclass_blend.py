"""The multinomial blend of a next task: LightGBM's softmax mixed with a multinomial logistic
part in per-class raw scores. Explanations of any class stay exact and additive, the bundle
round-trips and scores a row alone as in a batch, a tie serves the logistic baseline's own fit
(scoring exactly its baseline), rare classes stay grouped, and a blend is served where the
validation window prefers it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from tiny import tiny_spec

from journeyml.explain import model_of, task_contributions
from journeyml.lifecycle.gate import compare_baselines
from journeyml.modeling import ModelBundle, train_task
from journeyml.modeling.softmax import SoftmaxPart, choose_softmax, log_losses, softmax
from journeyml.tasks import TemporalSplit, task_from_block

TASK = task_from_block("next_step", {"kind": "next", "horizon_days": 7, "target": "touchpoint"})
NAMES = ("browse", "buy", "call")


def _linear_world(n: int, F: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Class codes from a softmax linear in two features (``shift`` moves feature 0 past
    the training range)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, F))
    X[:, 0] += shift
    X[rng.random((n, F)) < 0.05] = np.nan
    x0, x1 = np.nan_to_num(X[:, 0]), np.nan_to_num(X[:, 1])
    f = np.c_[1.2 * x0, -0.8 * x0 + 0.9 * x1, 0.4 * x1 - 0.3]
    return X, np.argmax(f + rng.gumbel(size=f.shape), axis=1)


def _bundle(weight: float, seed: int) -> tuple[ModelBundle, np.ndarray]:
    spec = tiny_spec()
    X, y = _linear_world(1500, len(spec.names), seed)
    params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "num_threads": 1}
    booster = lgb.train({**params, "seed": seed}, lgb.Dataset(X, y), num_boost_round=25)
    lin = SoftmaxPart.fit(X, y, n_classes=3)
    b = ModelBundle(TASK, booster, spec, classes=NAMES, linear=lin, linear_weight=weight)
    return b, X[:150]


@pytest.mark.parametrize(("weight", "seed"), [(0.0, 1), (0.4, 2), (1.0, 3)])
def test_every_class_explains_the_blended_score_exactly(weight: float, seed: int) -> None:
    b, X = _bundle(weight, seed)
    m = model_of(b)
    trees = b.booster.predict(X, raw_score=True)
    lin = b.linear
    assert isinstance(lin, SoftmaxPart)
    np.testing.assert_allclose(b.margin(X), (1 - weight) * trees + weight * lin.raw(X), atol=1e-9)
    # each class's contributions and bias add up to its blended raw score
    c = m.contributions(X)
    assert c.shape == (len(X), 3, X.shape[1] + 1)
    np.testing.assert_allclose(c.sum(axis=2), b.margin(X), atol=1e-9)
    # the bias of every row is the class's base value, whose softmax is p₀
    np.testing.assert_allclose(c[:, :, -1], np.tile(m.expected_raw, (len(X), 1)), atol=1e-9)
    p = b.predict_proba(X)
    np.testing.assert_allclose(p, softmax(b.margin(X)), atol=1e-12)
    rows = np.arange(len(X))
    for k in (np.argmax(p, axis=1), np.argmin(p, axis=1)):
        np.testing.assert_allclose(m.class_contributions(X, k), c[rows, k], atol=1e-9)
        psi, p_k, p0 = task_contributions(b, X, k)
        np.testing.assert_allclose(p_k, p[rows, k], atol=1e-12)
        np.testing.assert_allclose(p0, b.base_rate(m.expected_raw)[k], atol=1e-12)
        np.testing.assert_allclose(psi.sum(axis=1), p_k - p0, atol=1e-9)
    if weight > 0:  # the linear part's share is in the explanation: w_kj · z_j
        z = lin.contributions(X)
        tree_c = b.booster.predict(X, pred_contrib=True).reshape(c.shape)
        np.testing.assert_allclose(c, (1 - weight) * tree_c + weight * z, atol=1e-9)


def test_blend_round_trips_and_scores_a_row_alone_as_in_a_batch(tmp_path: Path) -> None:
    b, X = _bundle(0.3, 4)
    again = ModelBundle.load(b.save(tmp_path / "m"))
    assert again.linear == b.linear and again.linear_weight == 0.3
    assert isinstance(again.linear, SoftmaxPart)
    batch = again.predict_proba(X)
    np.testing.assert_array_equal(batch, b.predict_proba(X))
    alone = np.vstack([again.predict_proba(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(alone, batch)
    k = np.argmax(batch, axis=1)
    np.testing.assert_array_equal(
        model_of(again).class_contributions(X, k), model_of(b).class_contributions(X, k)
    )


def test_a_class_absent_from_the_linear_rows_gets_the_lowest_score() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = np.where(X[:, 0] > 0, 0, 2)  # class 1 never seen; two classes present
    lin = SoftmaxPart.fit(X, y, n_classes=3)
    p = softmax(lin.raw(X))
    assert p[:, 1].max() < 1e-9
    assert (np.argmax(p, axis=1) == y).mean() > 0.95
    c = lin.contributions(X)
    np.testing.assert_allclose(c.sum(axis=2), lin.raw(X), atol=1e-9)
    # two classes: the binary log-odds split in halves, the same probabilities
    np.testing.assert_allclose(lin.coef[0], -np.asarray(lin.coef[2]), atol=1e-12)


def _split(n: tuple[int, int, int]) -> TemporalSplit:
    total = sum(n)
    mask = [np.zeros(total, bool) for _ in range(3)]
    mask[0][: n[0]], mask[1][n[0] : n[0] + n[1]], mask[2][n[0] + n[1] :] = True, True, True
    t = pd.Timestamp("2024-01-01", tz="UTC")
    return TemporalSplit(*mask, t, t)


def test_where_trees_are_not_validated_the_model_is_its_logistic_baseline() -> None:
    """Next steps that the features do not tell (trees cannot beat the validation rows' own
    class rates): the baseline's own fit is served and its test figures are exactly the
    logistic baseline's, so the gate's floor (margin 0) against it holds. (Here the prior beats
    both: the fallback is the logistic fit, never the prior; docs/modeling.md says so.)"""
    spec = tiny_spec()
    rng = np.random.default_rng(5)
    X = rng.normal(size=(6000, len(spec.names)))
    labels = pd.DataFrame({"label": rng.choice(NAMES, 6000, p=[0.5, 0.3, 0.2]), "eligible": True})
    res = train_task(
        TASK, spec, X, labels, _split((3000, 1500, 1500)), lgb_params={"num_threads": 1}
    )
    assert (res.bundle.linear_weight, res.bundle.info["linear_C"]) == (1.0, 1.0)
    assert res.metrics["log_loss"] == res.baselines["logistic"]["log_loss"]
    assert res.metrics["accuracy"] == res.baselines["logistic"]["accuracy"]
    logistic = {"logistic": res.baselines["logistic"]}
    floor = compare_baselines(res.metrics, logistic, metrics=("accuracy", "log_loss"), margin=0.0)
    assert all(c.passed for c in floor)


def test_in_a_linear_world_the_served_model_is_never_below_its_logistic_baseline() -> None:
    """Next steps softmax-linear in two features: whatever is served (the baseline's fit or
    a blend that beat it by one standard error on validation) is not below the baseline."""
    spec = tiny_spec()
    X, y = _linear_world(6000, len(spec.names), 5)
    labels = pd.DataFrame({"label": np.asarray(NAMES)[y], "eligible": True})
    res = train_task(
        TASK, spec, X, labels, _split((3000, 1500, 1500)), lgb_params={"num_threads": 1}
    )
    assert res.bundle.linear_weight > 0
    assert res.metrics["log_loss"] <= res.baselines["logistic"]["log_loss"]


def test_a_blend_is_served_where_trees_and_the_linear_part_each_see_something() -> None:
    """Feature 0 drifts past the training range (only a linear score follows it), feature 2
    acts through a bend (only trees see it): the served blend beats both parts on test."""
    spec = tiny_spec()
    F = len(spec.names)
    parts = []
    for seed, shift, n in ((6, 0.0, 4000), (7, 0.5, 2000), (8, 1.0, 2000)):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, F))
        X[:, 0] = rng.uniform(0, 1.5, n) + shift
        f = np.c_[2.5 * X[:, 0], 3.0 * np.abs(X[:, 2]), np.full(n, 2.5)]
        parts.append((X, np.argmax(f + rng.gumbel(size=f.shape), axis=1)))
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    labels = pd.DataFrame({"label": np.asarray(NAMES)[y], "eligible": True})
    res = train_task(
        TASK, spec, X, labels, _split((4000, 2000, 2000)), lgb_params={"num_threads": 1}
    )
    b = res.bundle
    assert 0.0 < b.linear_weight < 1.0
    te = slice(6000, None)
    trees = log_losses(b.booster.predict(X[te], raw_score=True), y[te]).mean()
    assert res.metrics["log_loss"] < trees
    assert res.metrics["log_loss"] < res.baselines["logistic"]["log_loss"]


def test_rare_classes_stay_grouped_under_a_blend() -> None:
    spec = tiny_spec()
    F = len(spec.names)
    rng = np.random.default_rng(9)
    n = 6000
    X = rng.normal(size=(n, F))
    common = np.where(X[:, 0] + rng.normal(size=n) > 0, "up", "down")
    rare = np.array([f"rare_{i}" for i in rng.integers(0, 6, n)])
    names = np.where(rng.random(n) < 0.01, rare, common)
    task = task_from_block(
        "next_step",
        {"kind": "next", "horizon_days": 7, "target": "touchpoint", "min_class_examples": 15},
    )
    labels = pd.DataFrame({"label": names, "eligible": True})
    res = train_task(
        task, spec, X, labels, _split((3000, 1500, 1500)), lgb_params={"num_threads": 1}
    )
    b = res.bundle
    assert b.classes[-1] == "other" and "rare_classes" in b.info
    p = b.predict_proba(X[:50])
    assert p.shape == (50, len(b.classes))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert res.test_predictions is not None
    assert res.test_predictions.shape[1] == len(res.classes) > len(b.classes)


def test_choose_softmax_prefers_what_fits_validation_and_keeps_trees_without_a_reference() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 3))
    y = np.argmax(2 * x + rng.gumbel(size=(3000, 3)), axis=1)
    noise = rng.normal(size=(3000, 3))
    assert choose_softmax(noise, [2 * x], y)[:2] == (0, 1.0)
    assert choose_softmax(2 * x, [noise], y)[:2] == (0, 0.0)
    # trees that the window cannot tell from the baseline's fit: without a reference the
    # trees alone are kept (the smallest share), with one the baseline's fit alone
    assert choose_softmax(2 * x, [2 * x], y)[1] == 0.0
    assert choose_softmax(2 * x, [2 * x], y, reference=0)[1] == 1.0


def test_a_column_major_batch_scores_each_row_as_alone() -> None:
    """Serving builds features column by column (Fortran order): a row of such a batch gets
    exactly the probabilities of the same row scored alone (batch = API)."""
    b, X = _bundle(0.5, 6)
    F = np.asfortranarray(X)
    alone = np.vstack([b.predict_proba(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(b.predict_proba(F), alone)


def test_the_suites_served_next_stage_is_a_blend(predictor: Any) -> None:
    """The small pipeline's next stage (conftest) is served blended, so the serving tests that
    use it (batch = API, the BentoML service, the explanations) run on a blend: if a change
    stops blending it, those tests no longer cover the blend and this says so."""
    b = predictor.bundles["next_stage"]
    assert isinstance(b.linear, SoftmaxPart) and 0 < b.linear_weight < 1
    assert b.info["linear_weight"] == b.linear_weight
