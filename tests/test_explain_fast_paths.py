"""The serving fast paths give exactly what the plain paths give: per-class boosters vs the
full multiclass TreeSHAP, probabilities from contributions vs ``predict``, one allocation plan
per row vs allocating each task, and ISO timestamps vs pandas."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyml.explain import Plan, allocate, iso_utc, model_of, split_by_class, task_contributions
from journeyml.features import build_features
from journeyml.scoring import Predictor


def _X(predictor: Predictor, sim: Any, n: int = 80) -> np.ndarray:
    ev = sim.events
    ids = sorted(ev["customer_id"].unique())[:n]
    cut = pd.DataFrame({"customer_id": ids, "as_of": sim.end - pd.Timedelta(days=30)})
    return np.asarray(build_features(ev, cut, predictor.spec).to_numpy())


def test_class_boosters_give_the_slices_of_the_full_contributions(
    predictor: Predictor, small_simulation: Any
) -> None:
    b = predictor.bundles["next_stage"]
    m = model_of(b)
    X = _X(predictor, small_simulation)
    full = m.contributions(X)  # (n, K, F+1): every class (trees blended with the linear part)
    parts = split_by_class(b.booster)
    assert len(parts) == len(b.classes)
    assert sum(p.num_trees() for p in parts) == b.booster.num_trees()
    raw = np.asarray(b.booster.predict(X, raw_score=True))
    trees = np.asarray(b.booster.predict(X, pred_contrib=True)).reshape(len(X), len(parts), -1)
    for k, part in enumerate(parts):  # each class's booster: that class's trees alone
        np.testing.assert_allclose(part.predict(X, pred_contrib=True), trees[:, k], atol=1e-12)
        np.testing.assert_allclose(part.predict(X), raw[:, k], atol=1e-12)
    # a different class per row, as when explaining each row's predicted class
    k_row = np.arange(len(X)) % len(b.classes)
    np.testing.assert_allclose(
        m.class_contributions(X, k_row), full[np.arange(len(X)), k_row], atol=1e-12
    )
    np.testing.assert_allclose(m.expected_raw, full[0, :, -1], atol=1e-12)


def test_split_refuses_a_model_without_trees() -> None:
    class Empty:
        def model_to_string(self) -> str:
            return "tree\nversion=v4\nnum_class=1\n\nend of trees\n"

    with pytest.raises(ValueError, match="without any"):
        split_by_class(Empty())  # type: ignore[arg-type]


@pytest.mark.parametrize("task", ["conversion", "churn"])
def test_binary_probability_from_contributions_equals_predict(
    predictor: Predictor, small_simulation: Any, task: str
) -> None:
    b = predictor.bundles[task]
    X = _X(predictor, small_simulation)
    _, p, _ = task_contributions(b, X)
    np.testing.assert_allclose(p, b.predict_proba(X), rtol=0, atol=1e-12)


def test_one_plan_per_row_serves_every_task(predictor: Predictor, small_simulation: Any) -> None:
    """Nothing lost: each feature's parts add up to its contribution, for every task, and the
    shared plan gives what allocating each task on its own gives."""
    spec = predictor.spec
    X = _X(predictor, small_simulation, 40)
    psis = [task_contributions(predictor.bundles[t], X)[0] for t in ("conversion", "churn")]
    for r in range(len(X)):
        plan = Plan.for_row(spec, X[r])
        for psi in psis:
            got = plan.apply(psi[r])
            want = allocate(spec, X[r], psi[r])
            assert got.totals() == want.totals()
            per_feature = np.bincount(got.feature, weights=got.amount, minlength=len(psi[r]))
            np.testing.assert_allclose(per_feature, psi[r], atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 7_000_000_000), min_size=1, max_size=6),
    st.sampled_from([1, 1_000, 1_000_000_000]),
)
def test_iso_utc_writes_what_pandas_writes(seconds: list[int], unit: int) -> None:
    ns = np.array(seconds, dtype=np.int64) * unit
    assert iso_utc(ns) == [pd.Timestamp(int(t), tz="UTC").isoformat() for t in ns]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**63 - 1), min_size=1, max_size=6))
def test_iso_utc_writes_what_pandas_writes_to_the_nanosecond(ns: list[int]) -> None:
    """Any time pandas holds (before 1970 too), nanosecond, microsecond and whole-second
    parts mixed: the strings of ``pd.Timestamp.isoformat``."""
    arr = np.array(ns, dtype=np.int64)
    assert iso_utc(arr) == [pd.Timestamp(int(t), tz="UTC").isoformat() for t in arr]
