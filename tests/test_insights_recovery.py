"""Planted causes are recovered by the explanations, on three simulated worlds, with the same
thresholds (the simulators know the truth; a world we do not have will judge it). The third,
``insurer``, was written after the explanations, to judge them.

The protocol, and what **exposed** means, is :mod:`journeyml.bench.recovery`: a prediction is
exposed to a planted cause when an event of its touchpoint before the moment of prediction still
acts on at least half of the predicted window (effects start ``delay_days`` after the event and
last until ``window_days`` after it), on a cutoff eligible for the cause's task, in the
held-out test window. The no-effect touchpoint counts as exposed with an event in the last 30
days. Recovered: ``touchpoint:<name>`` among the prediction's top-3 root causes.

Thresholds, the same for every world: strong causes in the top 3 for ≥ 90 % of exposed
predictions; the no-effect touchpoint in the top 3 for ≤ 5 %; population pain points in the
right direction (the strong pain points first, the no-effect touchpoint not among them), on
the validation and test windows with their observed outcomes as held-out evidence
(:func:`journeyml.explain.insights.held_out_gain`).
Recovery by exposure age is printed (``-s``) and documented in docs/explanations.md.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from journeyml.bench.recovery import WorldRecovery, run_recovery
from journeyml.sim import b2b, insurer, retail

pytestmark = pytest.mark.xdist_group("recovery")

#: customers simulated per world (240 days, snapshots every 7 days)
SIZE = {"retail": 6000, "b2b": 3000, "insurer": 4000}
_RUNS: dict[str, WorldRecovery] = {}

#: measured short of the thresholds (docs/explanations.md); not hidden, not loosened
_SHORT: dict[tuple[str, str, str], str] = {
    ("insurer", "conversion", "document_request"): "measured 61.2 % of 1,427 exposed "
    "predictions (60.7 % before a last send became activity's, 64.3 % before generic activity "
    "read the customer's own events; the model reacts to the request with most of the planted "
    "effect, and TreeSHAP credits it with a third, docs/explanations.md; the third "
    "world, written after the explanations: a blocker that follows a quarter of the quotes, "
    "while quotes themselves go with conversion)",
}
WORLDS = (("retail", retail), ("b2b", b2b), ("insurer", insurer))


def _rec(world: str) -> WorldRecovery:
    if world not in _RUNS:
        _RUNS[world] = rec = run_recovery(world, SIZE[world], seed=3)
        print(f"\n{world}: recovery by exposure age\n{rec.by_age.to_string()}")
    return _RUNS[world]


def _case(world: str, task: str, tp: str) -> Any:
    why = _SHORT.get((world, task, tp))
    marks = [pytest.mark.xfail(reason=f"below the threshold: {why}")] if why else []
    return pytest.param(world, task, tp, marks=marks, id=f"{world}-{task}-{tp}")


STRONG = [
    _case(w, c.outcome, c.touchpoint)
    for w, world in WORLDS
    for c in world.PLANTED_CAUSES
    if c.strong
]
NO_EFFECT = [
    _case(w, task, tp)
    for w, tp in ((w, world.NO_EFFECT_TOUCHPOINT) for w, world in WORLDS)
    for task in ("conversion", "churn")
]


@pytest.mark.parametrize(("world", "task", "touchpoint"), STRONG)
def test_strong_cause_in_top3_for_90_percent_of_exposed(
    world: str, task: str, touchpoint: str
) -> None:
    n, rate = _rec(world).tasks[task].rate(touchpoint)
    print(f"{world} {task} {touchpoint}: exposed {n}, in top 3 for {rate:.1%}")
    assert n >= 100
    assert rate >= 0.90


@pytest.mark.parametrize(("world", "task", "touchpoint"), NO_EFFECT)
def test_no_effect_touchpoint_rarely_in_top3(world: str, task: str, touchpoint: str) -> None:
    n, rate = _rec(world).tasks[task].rate(touchpoint)
    print(f"{world} {task} {touchpoint}: exposed {n}, in top 3 for {rate:.1%}")
    assert n >= 100
    assert rate <= 0.05


@pytest.mark.parametrize("world", ["retail", "b2b", "insurer"])
def test_population_pain_points_list_planted_pain_points_first(world: str) -> None:
    """Per task (ranked within it: raising churn, lowering conversion): the strong planted pain
    points of that outcome lead its list, and the no-effect touchpoint is in neither list. A
    touchpoint is listed only when its part of the predictions makes them better on the
    observed outcomes of rows the model did not train on."""
    from journeyml.explain import insights

    rec = _rec(world)
    for task, tr in rec.tasks.items():
        # the validation and test windows: rows the model did not train on, whose observed
        # outcomes are the held-out evidence; a customer's snapshots are resampled together
        pop = tr.held_out
        m = insights.cause_matrix(tr.bundle, rec.X[pop], rec.composition)
        m = dataclasses.replace(
            m, outcome=tr.outcome[pop], groups=rec.cutoffs["customer_id"].to_numpy()[pop]
        )
        ex = insights.exposure(tr.bundle, rec.X[pop], 30)
        effects = insights.touchpoint_effects(m, ex)
        pains = insights.pain_points(effects, 1 if task == "churn" else -1)
        print(world, task, pains.to_string(), sep="\n")
        strong = {
            c.touchpoint
            for c in rec.sim.causes
            if c.strong and c.outcome == task and (c.outcome == "churn") == (c.direction > 0)
        }
        assert set(pains["touchpoint"].head(len(strong))) == strong
        assert rec.sim.no_effect_touchpoint not in set(pains["touchpoint"])
        assert (pains["ci_low"] > 0).all()
