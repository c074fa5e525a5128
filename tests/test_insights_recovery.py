"""Planted causes are recovered by the explanations (the simulator knows the truth).

**Exposed**, rigorously: a prediction (customer, as_of) with horizon H is *exposed* to a planted
cause when the cause still acts on at least half of the predicted window: the simulator applies
a cause's hazard for ``window_days`` after each event, so an event at time e acts on
``[as_of, as_of + H)`` for ``e + window_days − as_of`` days, and we require that to be ≥ H/2,
i.e. an event of the cause's touchpoint in ``[as_of − (window_days − H/2), as_of)``. An exposure
whose effect is over before the middle of the horizon barely changes the outcome, and a model
that gives it little weight is right. (Measured on this fixture with the looser window
``[as_of − window_days, as_of)``: product_demo 90.7 %, complaint 98.4 %, payment_error 80.7 %,
support_call 79.8 %; by age of the exposure, recovery is 95–100 % while the effect covers most of
the horizon and falls for exposures in the window's last days.) The prediction is for the
cause's outcome (conversion causes: the conversion model; churn causes: the churn model), on a
cutoff eligible for that task, in the held-out test window of the temporal split.
The no-effect touchpoint (brand_survey) counts as exposed with an event in the last 30 days, for
both tasks. A cause is *recovered* when its touchpoint cause (``touchpoint:<name>``) is among
the prediction's top-3 root causes.

The models are trained once for this module on 6,000 simulated customers over 240 days
(snapshots every 7 days, LightGBM on one thread).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from journeyml.sim import NO_EFFECT_TOUCHPOINT, PAIN_POINTS, PLANTED_CAUSES

pytestmark = pytest.mark.xdist_group("recovery")

N_CUSTOMERS, DAYS, SEED = 6000, 240, 3
HORIZONS = {"conversion": 14.0, "churn": 30.0}
LGB = {"num_threads": 1, "learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 100}


def _exposed(ev: pd.DataFrame, cut: pd.DataFrame, touchpoint: str, days: float) -> np.ndarray:
    """Per cutoff row: an event of ``touchpoint`` in [as_of − days, as_of)."""
    e = ev.loc[ev["touchpoint"] == touchpoint, ["customer_id", "timestamp"]]
    c = cut[["customer_id", "as_of"]].reset_index(names="row")
    m = c.merge(e, on="customer_id")
    m = m[(m["timestamp"] < m["as_of"]) & (m["timestamp"] >= m["as_of"] - pd.Timedelta(days=days))]
    out = np.zeros(len(cut), dtype=bool)
    out[m["row"].unique()] = True
    return out


@pytest.fixture(scope="module")
def recovery() -> dict[str, Any]:
    from journeyml.explain import Composition, explain_rows, insights
    from journeyml.features import FeatureBuilder, build_features
    from journeyml.features.arrays import encode_frame
    from journeyml.modeling import train_task
    from journeyml.sim import simulate
    from journeyml.tasks import every_n_days, legacy_task, make_labels, temporal_split

    sim = simulate(N_CUSTOMERS, seed=SEED, days=DAYS)
    ev = sim.events
    cut = every_n_days(ev, 7, end=sim.end)
    first = temporal_split(cut, horizon_days=max(HORIZONS.values()))
    spec = (
        FeatureBuilder(windows_days=(7, 30), attributes=("segment",))
        .fit(ev[ev["timestamp"] < first.valid_start])
        .spec_
    )
    X = build_features(ev, cut, spec).to_numpy()
    arr = encode_frame(ev, spec)
    comp = Composition.from_codes(spec, arr.touchpoint, arr.channel, arr.stage)
    rates: dict[str, dict[str, tuple[int, float]]] = {}
    effects: dict[str, pd.DataFrame] = {}
    for name, h in HORIZONS.items():
        task = legacy_task({"name": name, "horizon_days": h})
        lab = make_labels(ev, cut, task, observation_end=sim.end)
        split = temporal_split(cut, horizon_days=h)
        res = train_task(task, spec, X, lab, split, lgb_params=LGB, num_boost_round=400)
        rows = lab["eligible"].to_numpy(bool) & split.test
        causes = [c for c in PLANTED_CAUSES if c.outcome == name]
        tps = [(c.touchpoint, float(c.window_days) - h / 2) for c in causes]
        tps.append((NO_EFFECT_TOUCHPOINT, 30.0))
        exposed = {tp: _exposed(ev, cut, tp, w) & rows for tp, w in tps}
        need = np.flatnonzero(np.logical_or.reduce(list(exposed.values())))
        top3 = explain_rows(res.bundle, X[need], top_k=3, composition=comp)
        where = {r: k for k, r in enumerate(need)}
        rates[name] = {}
        for tp, _ in tps:
            idx = np.flatnonzero(exposed[tp])
            hit = [f"touchpoint:{tp}" in {c.cause for c in top3[where[r]]} for r in idx]
            rates[name][tp] = (len(idx), float(np.mean(hit)))
        pop = np.flatnonzero(rows)
        pop = np.sort(np.random.default_rng(0).choice(pop, min(4000, len(pop)), replace=False))
        m = insights.cause_matrix(res.bundle, X[pop], comp)
        ex = insights.exposure(res.bundle, X[pop], 30)
        effects[name] = insights.touchpoint_effects(m, ex)
    # per task, ranked within it: raising churn, lowering conversion
    pains = {
        name: insights.pain_points(effects[name], 1 if name == "churn" else -1) for name in HORIZONS
    }
    return {"rates": rates, "pain_points": pains}


STRONG = [(c.outcome, c.touchpoint) for c in PLANTED_CAUSES if c.strong]


@pytest.mark.parametrize(("task", "touchpoint"), STRONG)
def test_strong_cause_in_top3_for_90_percent_of_exposed(
    recovery: dict[str, Any], task: str, touchpoint: str
) -> None:
    n, rate = recovery["rates"][task][touchpoint]
    print(f"{task} {touchpoint}: exposed {n}, in top 3 for {rate:.1%}")
    assert n >= 100
    assert rate >= 0.90


@pytest.mark.parametrize("task", list(HORIZONS))
def test_no_effect_touchpoint_rarely_in_top3(recovery: dict[str, Any], task: str) -> None:
    n, rate = recovery["rates"][task][NO_EFFECT_TOUCHPOINT]
    print(f"{task} {NO_EFFECT_TOUCHPOINT}: exposed {n}, in top 3 for {rate:.1%}")
    assert n >= 100
    assert rate <= 0.05


def test_population_pain_points_list_planted_pain_points_first(
    recovery: dict[str, Any],
) -> None:
    """Per task: the strong planted pain points of that outcome lead its list, and the no-effect
    touchpoint is in neither list."""
    for task, pains in recovery["pain_points"].items():
        print(task, pains.to_string(), sep="\n")
        strong = {
            c.touchpoint
            for c in PLANTED_CAUSES
            if c.strong and c.touchpoint in PAIN_POINTS and c.outcome == task
        }
        first = list(pains["touchpoint"].head(len(strong)))
        assert set(first) == strong
        assert NO_EFFECT_TOUCHPOINT not in set(pains["touchpoint"])
    assert (pains["ci_low"] > 0).all()
