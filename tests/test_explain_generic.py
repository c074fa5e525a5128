"""Volume and tenure are causes of their own: a touchpoint keeps only what it adds beyond them
(journeyml.explain.allocation, "Volume is not a touchpoint's own signal")."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from journeyml.explain import allocate, root_causes
from journeyml.features import FeatureBuilder, FeatureSpec, build_features


def _events() -> pd.DataFrame:
    """A population where logins are most events and billing disputes are rare; customer ``a``
    was first touched by an ad 60 days ago and never again, logs in a lot, had one dispute."""
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows.append(("a", t0, "ad"))
    for d in range(30, 60):
        rows.append(("a", t0 + pd.Timedelta(days=d, hours=10), "login"))
    rows.append(("a", t0 + pd.Timedelta(days=58, hours=12), "billing_dispute"))
    for c in range(20):  # the population: logins, a few ads and docs visits
        for d in range(0, 60, 3):
            rows.append((f"p{c}", t0 + pd.Timedelta(days=d, hours=9), "login"))
        rows.append((f"p{c}", t0 + pd.Timedelta(days=c, hours=8), "ad"))
        rows.append((f"p{c}", t0 + pd.Timedelta(days=c + 1, hours=8), "docs_visit"))
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])


@pytest.fixture(scope="module")
def case() -> tuple[FeatureSpec, np.ndarray]:
    ev = _events()
    spec = FeatureBuilder(windows_days=(7, 30), top_n_transitions=0).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["a"], "as_of": [pd.Timestamp("2024-03-01", tz="UTC")]})
    x = build_features(ev, cut, spec).to_numpy()[0]
    return spec, x


def _psi(spec: FeatureSpec, names: list[str]) -> np.ndarray:
    return np.array([0.01 if f.name in names else 0.0 for f in spec.features])


def test_shares_are_learned_at_fit(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, _ = case
    share = dict(zip(spec.vocabulary("touchpoint"), spec.touchpoint_share, strict=True))
    assert share["login"] > 0.8 and 0 < share["billing_dispute"] < 0.01
    assert sum(spec.touchpoint_share) == pytest.approx(1.0, abs=1e-4)
    assert FeatureSpec.from_json(spec.to_json()).touchpoint_share == spec.touchpoint_share


def test_first_touch_recency_is_tenure(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    psi = _psi(spec, ["days_since_touchpoint_ad"])
    totals = allocate(spec, x, psi).totals()
    assert totals == {("journey", "tenure"): pytest.approx(0.01)}
    cause = root_causes(spec, x, psi, task="churn", top_k=1)[0]
    assert cause.cause == "journey:tenure"
    assert cause.sentence.startswith("First contact 60 days ago raised churn risk")
    assert cause.to_dict()["label"] == "time since first contact"


def test_a_frequent_touchpoint_count_is_volume(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    psi = _psi(spec, ["count_touchpoint_login_30d"])
    totals = allocate(spec, x, psi).totals()
    assert totals[("journey", "activity")] > 0.8 * 0.01
    assert sum(totals.values()) == pytest.approx(0.01)
    cause = root_causes(spec, x, psi, task="churn", top_k=1)[0]
    assert cause.cause == "journey:activity"
    n = x[spec.names.index("count_events_30d")]
    assert cause.sentence.startswith(f"{n:g} events in the last 30 days")


def test_a_rare_touchpoint_keeps_its_own_signal(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    names = ["count_touchpoint_billing_dispute_7d", "days_since_touchpoint_billing_dispute"]
    psi = _psi(spec, names)
    totals = allocate(spec, x, psi).totals()
    assert totals[("touchpoint", "billing_dispute")] > 0.95 * 0.02
    assert sum(totals.values()) == pytest.approx(0.02)


def test_an_absence_in_an_empty_window_is_volume(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    assert x[spec.names.index("count_events_7d")] > 0
    psi = _psi(spec, ["count_touchpoint_docs_visit_7d"])  # 0 docs visits among 7 days' events
    assert allocate(spec, x, psi).totals() == {("touchpoint", "docs_visit"): pytest.approx(0.01)}


def test_additive_and_unchanged_without_shares(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    psi = np.random.default_rng(0).normal(0, 0.01, len(spec.features))
    assert sum(allocate(spec, x, psi).totals().values()) == pytest.approx(psi.sum())
    old = replace(spec, touchpoint_share=())  # a spec learned before shares existed
    assert sum(allocate(old, x, psi).totals().values()) == pytest.approx(psi.sum())
    first_touch = _psi(spec, ["days_since_touchpoint_ad"])
    assert allocate(old, x, first_touch).totals() == {("touchpoint", "ad"): pytest.approx(0.01)}


def test_an_absent_transition_is_the_touchpoints_only_where_their_counts_predict_one() -> None:
    """``a`` had one ad and no docs visit: "no ad → docs visit" is what its counts predict
    (volume); "no login → ad" among 30 logins and one ad is not (chance predicts ~0.94)."""
    ev = _events()
    spec = FeatureBuilder(windows_days=(7, 30), top_n_transitions=20).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["a"], "as_of": [pd.Timestamp("2024-03-01", tz="UTC")]})
    x = build_features(ev, cut, spec).to_numpy()[0]
    ad_docs, login_ad = (
        "transition_touchpoint_ad__docs_visit_all",
        "transition_touchpoint_login__ad_all",
    )
    assert x[spec.names.index(ad_docs)] == 0 and x[spec.names.index(login_ad)] == 0
    totals = allocate(spec, x, _psi(spec, [ad_docs])).totals()
    assert totals == {("journey", "activity"): pytest.approx(0.01)}
    totals = allocate(spec, x, _psi(spec, [login_ad])).totals()
    own = totals[("touchpoint", "login")] + totals[("touchpoint", "ad")]
    assert 0.9 * 0.01 < own < 0.97 * 0.01
    assert sum(totals.values()) == pytest.approx(0.01)
