"""Per-prediction explanations: TreeSHAP equals shap, probability points, grouping, sentences,
evidence, multiclass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeyml.explain import (
    Composition,
    allocate,
    cause_totals,
    humanize,
    model_of,
    plural,
    probability_points,
    root_causes,
    task_contributions,
)
from journeyml.features import build_features
from journeyml.scoring import Predictor, ScoreRequest


def _X(predictor: Predictor, sim, n: int = 60) -> np.ndarray:  # type: ignore[no-untyped-def]
    ev = sim.events
    ids = sorted(ev["customer_id"].unique())[:n]
    cut = pd.DataFrame({"customer_id": ids, "as_of": sim.end - pd.Timedelta(days=40)})
    return build_features(ev, cut, predictor.spec).to_numpy()


@pytest.mark.parametrize("task", ["churn", "next_stage"])
def test_pred_contrib_equals_shap_tree_explainer(predictor, small_simulation, task) -> None:  # type: ignore[no-untyped-def]
    shap = pytest.importorskip("shap")
    b = predictor.bundles[task]
    X = _X(predictor, small_simulation, 30)
    ours = model_of(b).contributions(X)
    explainer = shap.TreeExplainer(b.booster)
    sv = np.asarray(explainer.shap_values(X))
    if b.kind == "binary":  # the trees' values, blended with the linear part as served
        trees = np.c_[sv, np.full(len(X), float(np.ravel(explainer.expected_value)[0]))]
        np.testing.assert_allclose(ours, b.served_contributions(trees, X), atol=1e-8)
    else:  # shap: (n, F, K); ours: (n, K, F+1): each class's trees' values, blended as served
        base = np.ravel(explainer.expected_value)
        bias = np.broadcast_to(base[None, :, None], (len(X), len(base), 1))
        trees = np.concatenate([np.transpose(sv, (0, 2, 1)), bias], axis=2)
        served = [
            b.served_class_contributions(trees[:, k], X, np.full(len(X), k))
            for k in range(len(b.classes))
        ]
        np.testing.assert_allclose(ours, np.stack(served, axis=1), atol=1e-8)


def test_probability_points_add_up_and_keep_signs(predictor, small_simulation) -> None:  # type: ignore[no-untyped-def]
    for task in ("conversion", "churn"):
        b = predictor.bundles[task]
        X = _X(predictor, small_simulation)
        psi, p, p0 = task_contributions(b, X)
        np.testing.assert_allclose(psi.sum(axis=1), p - p0, atol=1e-9)
        np.testing.assert_allclose(p, b.predict_proba(X))  # calibrated probability
        phi = model_of(b).contributions(X)[:, :-1]
        moved = np.abs(p - p0) > 1e-6
        same = (
            np.sign(psi[moved])
            == np.sign(phi[moved])
            * np.sign((p - p0)[moved, None])
            * (np.sign(phi[moved].sum(axis=1))[:, None])
        )
        assert same[np.abs(phi[moved]) > 0].all()


def test_multiclass_predicted_and_requested_class(predictor, small_simulation) -> None:  # type: ignore[no-untyped-def]
    b = predictor.bundles["next_stage"]
    X = _X(predictor, small_simulation)
    for k in range(len(b.classes)):
        psi, p, p0 = task_contributions(b, X, np.full(len(X), k))
        np.testing.assert_allclose(psi.sum(axis=1), p - p0, atol=1e-9)
        np.testing.assert_allclose(p, b.predict_proba(X)[:, k])
    ev = small_simulation.events
    cid = sorted(ev["customer_id"].unique())[5]
    cut = pd.DataFrame({"customer_id": [cid], "as_of": [small_simulation.end]})
    req = ScoreRequest(("next_stage",), explain_classes=(b.classes[0],))
    out = predictor.score_frame(ev, cut, req)[0]["next_stage"]
    assert out["root_causes"] and "next stage is" in out["root_causes"][0]["sentence"]
    assert set(out["root_causes_by_class"]) == {b.classes[0]}


def test_all_support_call_features_form_one_cause(predictor, small_simulation) -> None:  # type: ignore[no-untyped-def]
    spec = predictor.spec
    X = _X(predictor, small_simulation, 200)
    col = spec.names.index("count_touchpoint_support_call_30d")
    r = int(np.argmax(X[:, col]))
    assert X[r, col] > 0
    psi = np.where([f.source == "support_call" for f in spec.features], 0.01, 0.0)
    groups = allocate(spec, X[r], psi)
    keys = [k for k in groups if "support_call" in k[1]]
    assert keys == [("touchpoint", "support_call")]
    # what volume and tenure explain goes to those journey causes, nothing to another touchpoint
    assert set(groups) - {("touchpoint", "support_call")} <= {
        ("journey", "activity"),
        ("journey", "tenure"),
    }
    totals = groups.totals()
    assert sum(totals.values()) == pytest.approx(psi.sum())
    assert totals[("touchpoint", "support_call")] > 0.5 * psi.sum()
    cause = root_causes(spec, X[r], psi, task="churn", top_k=1)[0]
    assert cause.cause == "touchpoint:support_call"
    assert (
        cause.sentence.startswith(
            f"{X[r, spec.names.index('count_touchpoint_support_call_7d')]:g} support call"
        )
        or "support call" in cause.sentence
    )
    assert "raised churn risk by" in cause.sentence and "_" not in cause.sentence


def test_stage_counts_are_credited_to_their_touchpoints(predictor, small_simulation) -> None:  # type: ignore[no-untyped-def]
    spec = predictor.spec
    X = _X(predictor, small_simulation, 200)
    i = spec.names.index("count_stage_retention_30d")
    r = int(np.argmax(X[:, i]))
    tp = np.array([spec.touchpoints.index("support_call")] * 3 + [spec.touchpoints.index("login")])
    comp = Composition.from_codes(
        spec, tp, np.zeros(4, int), np.full(4, spec.stages.index("retention"))
    )
    psi = np.zeros(len(spec.features))
    psi[i] = 0.05
    totals = cause_totals(spec, X[r], psi, comp)
    assert ("stage", "retention") not in totals
    assert sum(totals.values()) == pytest.approx(0.05)
    # to the touchpoints counted in it, and what volume explains to the activity level
    assert all(k[0] == "touchpoint" or k == ("journey", "activity") for k in totals)
    assert sum(v for k, v in totals.items() if k[0] == "touchpoint") > 0


def test_sentences_in_plain_words() -> None:
    assert humanize("payment_error") == "payment error"
    assert plural("support_call", 2) == "support calls"
    assert plural("support_call", 1) == "support call"


def test_score_frame_attaches_events_behind_causes(predictor, small_simulation) -> None:  # type: ignore[no-untyped-def]
    ev = small_simulation.events
    ids = sorted(ev["customer_id"].unique())[:40]
    cut = pd.DataFrame({"customer_id": ids, "as_of": small_simulation.end})
    rows = predictor.score_frame(ev, cut, ScoreRequest(("churn",), top_k=3))
    with_events = [c for r in rows for c in r["churn"]["root_causes"] if c["kind"] == "touchpoint"]
    assert with_events
    for c in with_events:  # an absence ("no search visit so far") has no events behind it
        assert bool(c["events"]) != c["sentence"].startswith("No "), c
        for t in c["events"]:
            assert pd.Timestamp(t) < small_simulation.end


def test_coupling_is_learned_from_the_population_not_the_journey(
    predictor, small_simulation
) -> None:  # type: ignore[no-untyped-def]
    """Checkout → payment error is coupled in the simulated population (a payment error always
    follows a checkout); product demo → cart add is not, even in a journey where the only
    cart add came right after the only product demo — that journey is not evidence."""
    from journeyml.explain.allocation import _index, coupled_touchpoints
    from journeyml.features import FeatureBuilder

    spec = FeatureBuilder(windows_days=(7, 30)).fit(small_simulation.events).spec_
    assert ("checkout", "payment_error") in spec.coupled
    assert ("product_demo", "cart_add") not in spec.coupled
    x = np.zeros(len(spec.names))
    for tp in ("product_demo", "cart_add", "checkout", "payment_error"):
        x[spec.names.index(f"count_touchpoint_{tp}_all")] = 1
    assert coupled_touchpoints(_index(spec), x) == [("checkout", "payment_error")]


def test_a_demo_right_before_a_cart_add_stays_its_own_cause(predictor) -> None:  # type: ignore[no-untyped-def]
    """The README's journey: no cause may credit product-demo features to another touchpoint."""
    import json
    from pathlib import Path

    from journeyml.serving import PredictRequest, handle_predict

    body = json.loads((Path(__file__).parents[1] / "service" / "example_request.json").read_text())
    out = handle_predict(predictor, PredictRequest.model_validate(body))
    for task in ("conversion", "churn"):
        for cause in out[task]["root_causes"]:
            if cause["kind"] == "touchpoint" and cause["name"] != "product_demo":
                assert not any("product_demo" in f for f in cause["features"]), cause


def test_probability_points_stay_within_what_the_sigmoid_allows() -> None:
    """Causes of both signs that nearly cancel: each side moves the probability by at most
    100 points (a proportional split gives several hundred here); still additive with signs
    kept, and a one-sided row is a plain proportional split."""
    rng = np.random.default_rng(7)
    n, f = 2000, 6
    phi = rng.normal(0, 3, (n, f))
    p0 = rng.uniform(0.01, 0.99, n)
    raw = phi.sum(axis=1)
    p = 1 / (1 + np.exp(-(np.log(p0 / (1 - p0)) + raw)))
    psi = probability_points(phi, raw, p, p0)
    np.testing.assert_allclose(psi.sum(axis=1), p - p0, atol=1e-12)
    up, down = np.where(psi > 0, psi, 0).sum(axis=1), np.where(psi < 0, psi, 0).sum(axis=1)
    assert (up <= 1).all() and (down >= -1).all()
    proportional = phi * ((p - p0) / raw)[:, None]
    assert np.abs(proportional).sum(axis=1).max() > 2  # the case this guards against
    assert (np.sign(psi) == np.sign(phi)).all()
    one_sided = np.abs(phi)
    raw1 = one_sided.sum(axis=1)
    p1 = 1 / (1 + np.exp(-(np.log(p0 / (1 - p0)) + raw1)))
    np.testing.assert_allclose(
        probability_points(one_sided, raw1, p1, p0), one_sided * ((p1 - p0) / raw1)[:, None]
    )
