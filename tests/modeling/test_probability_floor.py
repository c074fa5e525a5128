"""Every probability journeyml serves is within [1e-6, 1 − 1e-6] (docs/modeling.md): a class
far out in the softmax's tail reads 1e-06, not 1e-16, and is never explained by causes that
move it by nothing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from journeyml.modeling import PROBABILITY_FLOOR, floor_distribution
from journeyml.scoring import Predictor, ScoreRequest


@settings(max_examples=200, deadline=None)
@given(
    logits=arrays(
        np.float64, st.tuples(st.integers(1, 5), st.integers(2, 6)), elements=st.floats(-60, 60)
    )
)
def test_floored_rows_sum_to_one_keep_their_order_and_their_large_classes(
    logits: np.ndarray,
) -> None:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    q = floor_distribution(p)
    assert q.min() >= PROBABILITY_FLOOR * (1 - 1e-9)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
    assert (np.argmax(q, axis=1) == np.argmax(p, axis=1)).all()
    big = p >= 1e-3
    np.testing.assert_allclose(q[big], p[big], atol=p.shape[1] * PROBABILITY_FLOOR)
    if p.min() >= PROBABILITY_FLOOR:
        np.testing.assert_array_equal(q, p)


@pytest.fixture(scope="module")
def sure(predictor: Predictor, small_simulation: Any) -> tuple[Predictor, pd.DataFrame, Any]:
    """The demo's predictor with its multiclass model replaced by one that is sure of itself:
    trained to separate classes that a feature decides exactly, so the softmax puts the other
    classes far below 1e-6 (as next_stage does on process logs with a class such as 'end')."""
    import lightgbm as lgb

    from journeyml.features import build_features

    ev = small_simulation.events
    t = ev["timestamp"].min() + pd.Timedelta(days=120)
    ids = ev.loc[ev["timestamp"] < t, "customer_id"].drop_duplicates().head(300)
    cut = pd.DataFrame({"customer_id": ids.to_numpy(), "as_of": t})
    X = build_features(ev, cut, predictor.spec).to_numpy()
    (task,) = [t for t in predictor.tasks if predictor.bundles[t].kind == "multiclass"]
    b = predictor.bundles[task]
    tenure = X[:, predictor.spec.names.index("tenure_days")]
    edges = np.quantile(tenure, np.linspace(0, 1, len(b.classes) + 1)[1:-1])
    y = np.searchsorted(edges, tenure)
    params = {"objective": "multiclass", "num_class": len(b.classes), "verbose": -1}
    booster = lgb.train(
        {**params, "learning_rate": 0.5, "min_data_in_leaf": 2, "seed": 0},
        lgb.Dataset(X, y),
        num_boost_round=150,
    )
    # the trees alone (the trained model may blend in a multinomial linear part, which would
    # keep the tails above the floor)
    sure_bundle = replace(b, booster=booster, linear=None, linear_weight=0.0)
    bundles = {**predictor.bundles, task: sure_bundle}
    return Predictor(bundles), cut, sure_bundle


@pytest.fixture(scope="module")
def answers(
    sure: tuple[Predictor, pd.DataFrame, Any], small_simulation: Any
) -> list[dict[str, Any]]:
    pred, cut, b = sure
    req = ScoreRequest(pred.tasks, top_k=3, explain_classes=list(b.classes))
    return pred.score_frame(small_simulation.events, cut, req)


def test_no_served_probability_or_base_rate_leaves_the_range(
    answers: list[dict[str, Any]],
) -> None:
    lo, hi = PROBABILITY_FLOOR * (1 - 1e-9), 1 - PROBABILITY_FLOOR * (1 - 1e-9)
    n_dist = 0
    for a in answers:
        for task, res in a.items():
            if not isinstance(res, dict) or "probability" not in res:
                continue
            assert lo <= res["probability"] <= hi, (task, res["probability"])
            assert lo <= res["base_rate"] <= hi, (task, res["base_rate"])
            for c, p in res.get("distribution", {}).items():
                assert lo <= p <= hi, (task, c, p)
                n_dist += 1
            if "distribution" in res:
                assert sum(res["distribution"].values()) == pytest.approx(1.0, abs=1e-12)
    assert n_dist > 0


def test_a_class_at_the_floor_has_no_causes_that_move_it_by_nothing(
    answers: list[dict[str, Any]],
) -> None:
    for a in answers:
        for res in a.values():
            if not isinstance(res, dict):
                continue
            for causes in [
                res.get("root_causes", []),
                *res.get("root_causes_by_class", {}).values(),
            ]:
                for c in causes:  # points are on the 0-100 scale
                    assert abs(c["points"]) >= 100 * PROBABILITY_FLOOR * 0.5, c


def test_the_raw_model_does_underflow_here(
    sure: tuple[Predictor, pd.DataFrame, Any], small_simulation: Any
) -> None:
    """What the tests above guard against happens on these journeys: the raw softmax puts
    classes below the floor (and the served distribution does not)."""
    from journeyml.features import build_features

    pred, cut, b = sure
    X = build_features(small_simulation.events, cut, pred.spec).to_numpy()
    assert float(b.raw_proba(X).min()) < PROBABILITY_FLOOR / 2
    assert float(b.predict_proba(X).min()) >= PROBABILITY_FLOOR * (1 - 1e-9)
