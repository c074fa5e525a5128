"""The blend's tie rule (:func:`journeyml.modeling.choose_linear` with a ``reference``): a blend
replaces the logistic baseline's own fit only where the validation window tells it apart from
that fit, in its favour; otherwise the baseline's fit alone (share 1) is served, and on any
window it then scores what its baseline scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tiny import tiny_spec

from journeyml.lifecycle.gate import compare_baselines
from journeyml.modeling import choose_calibrator, choose_linear, train_task
from journeyml.modeling.noise import beats
from journeyml.tasks import TemporalSplit, task_from_block

N = 4000


def _world(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N)
    y = (rng.random(N) < 1 / (1 + np.exp(-1.5 * x))).astype(int)
    return x, y, rng


def test_a_tie_with_the_baseline_serves_the_baseline_fit() -> None:
    x, y, rng = _world()
    trees = 1.5 * x + 0.02 * rng.normal(size=N)  # as good as the baseline's fit, not better
    fits = [1.5 * x, 1.2 * x + 0.3 * rng.normal(size=N)]
    assert choose_linear(trees, fits, y)[:2] == (1, 0.0)  # no reference: trees first
    assert choose_linear(trees, fits, y, reference=0)[:2] == (0, 1.0)


def test_trees_that_beat_the_baseline_keep_the_smallest_share() -> None:
    x, y, rng = _world(1)
    z = rng.normal(size=N)
    y = (rng.random(N) < 1 / (1 + np.exp(-1.5 * x - 2.0 * np.abs(z) + 1.6))).astype(int)
    trees = 1.5 * x + 2.0 * np.abs(z)  # sees a bend the linear fits cannot
    fits = [1.5 * x + 0.1 * z, 1.4 * x]
    k, share, _ = choose_linear(trees, fits, y, reference=0)
    assert share == 0.0
    assert choose_linear(trees, fits, y)[:2] == (k, share)


def test_a_blend_within_noise_of_the_best_but_not_of_the_baseline_is_not_served() -> None:
    # the best blend beats the baseline's fit clearly; the smallest share within one
    # standard error of the best (the rule without a reference serves it) does not beat the
    # baseline's fit by one standard error: a larger share is served, one that does
    rng = np.random.default_rng(1)
    x, z = rng.normal(size=N), rng.normal(size=N)
    y = (rng.random(N) < 1 / (1 + np.exp(-1.5 * x - 0.5 * np.abs(z) + 0.4))).astype(int)
    trees = 1.5 * x + 0.5 * np.abs(z) + 0.8 * rng.normal(size=N)
    fits = [1.5 * x]
    old = choose_linear(trees, fits, y)
    new = choose_linear(trees, fits, y, reference=0)
    assert old[1] < new[1] < 1.0  # a blend is served: one that beats the baseline's fit
    assert new[1] > old[1]


def test_beats_needs_more_than_one_standard_error() -> None:
    ref = np.array([0.7, 0.5, 0.6, 0.4, 0.3, 0.9])
    clearly = ref - 0.05
    noisy = ref + np.array([-0.3, 0.2, -0.2, 0.25, -0.3, 0.2])  # lower on average, by noise
    assert beats(np.stack([clearly, noisy, ref]), ref).tolist() == [True, False, False]
    assert not beats(ref[None, :1], ref[:1]).any()  # one row: nothing is told apart


def _window(seed: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """160 customers × 12 cutoffs; a fifth of customers churn in the long run (their cutoffs
    are mostly positive), so the long-run rate is 0.2 and a model saying ``0.2 · scale`` to
    everyone is calibrated at ``scale`` 1. A window's own rate wobbles with which customers
    it holds."""
    rng = np.random.default_rng(seed)
    churner = rng.random(160) < 0.2
    g = np.repeat(np.arange(160), 12)
    y = (rng.random(len(g)) < np.where(churner[g], 0.7, 0.075)).astype(int)
    return np.full(len(g), 0.2 * scale), y, g


def test_calibration_held_out_by_customer_chases_fewer_windows() -> None:
    """A calibrated model on 20 windows: any map fitted to a window's own rate is chasing
    which customers it holds. Halves of whole customers keep the model as it is more often
    than halves of rows, which put the same customers on both sides."""
    rows = by_customer = 0
    for seed in range(20):
        p, y, g = _window(seed)
        rows += choose_calibrator(p, y)[0].method != "none"
        by_customer += choose_calibrator(p, y, groups=g)[0].method != "none"
    assert by_customer < rows


def test_calibration_held_out_by_customer_still_fixes_a_real_miscalibration() -> None:
    fixed = 0
    for seed in range(20):
        p, y, g = _window(seed, scale=0.5)  # the model says 0.1 where the long run is 0.2
        cal = choose_calibrator(p, y, groups=g)[0]
        fixed += cal.method != "none" and abs(float(cal.apply(p).mean()) - y.mean()) < 0.01
    assert fixed >= 14


def test_on_a_tie_the_model_is_its_baseline_and_the_gate_promotes_it() -> None:
    """A linear world (trees cannot help): ``train_task`` serves the baseline's own fit, and
    its test figures are the logistic baseline's, so the gate's floor (margin 0) holds."""
    spec = tiny_spec()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6000, len(spec.names)))
    y = (rng.random(6000) < 1 / (1 + np.exp(-(X[:, 0] + 0.5 * X[:, 1] - 1.0)))).astype(np.int64)
    mask = [np.zeros(6000, bool) for _ in range(3)]
    mask[0][:3000], mask[1][3000:4500], mask[2][4500:] = True, True, True
    t = pd.Timestamp("2024-01-01", tz="UTC")
    labels = pd.DataFrame({"label": y, "eligible": True})
    res = train_task(
        TASK, spec, X, labels, TemporalSplit(*mask, t, t), lgb_params={"num_threads": 1}
    )
    assert (res.bundle.linear_weight, res.bundle.info["linear_C"]) == (1.0, 1.0)
    assert res.metrics["roc_auc"] == res.baselines["logistic"]["roc_auc"]
    floor = compare_baselines(
        res.metrics, res.baselines, metrics=("roc_auc", "log_loss"), margin=0.0
    )
    assert all(c.passed for c in floor)


TASK = task_from_block("buys", {"kind": "occurs", "horizon_days": 7, "outcome": ["purchase"]})
