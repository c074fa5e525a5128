"""The BG/NBD conditional predictions against customers simulated from the model itself: with
the true parameters, P(any purchase in the holdout) and the expected number of purchases must
match what the simulated customers do, for each number of repeat purchases."""

from __future__ import annotations

import numpy as np
import pytest

from journeyml.modeling import bgnbd

PARAMS = bgnbd.BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)  # FHL 2005, CDNOW sample
HOLDOUT = 39.0


def _simulate(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """x, t_x, T and holdout purchases of ``n`` BG/NBD customers: λ ~ Gamma(r, α), p ~ Beta(a,
    b); purchases arrive at rate λ after the first (at 0); after each repeat purchase the
    customer drops out with probability p."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(PARAMS.r, 1 / PARAMS.alpha, n)
    p = rng.beta(PARAMS.a, PARAMS.b, n)
    T = rng.uniform(10, 40, n)
    t = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    x, tx, held = np.zeros(n), np.zeros(n), np.zeros(n)
    while alive.any():
        t = t + rng.exponential(1, n) / np.maximum(lam, 1e-300)
        buys = alive & (t <= T + HOLDOUT)
        in_cal = buys & (t <= T)
        x += in_cal
        tx = np.where(in_cal, t, tx)
        held += buys & (t > T)
        alive = buys & (rng.random(n) >= p)
    return x, tx, T, held


def test_holdout_predictions_match_simulated_customers() -> None:
    x, tx, T, held = _simulate(400_000, seed=1)
    p_any = bgnbd.prob_any_purchase(PARAMS, x, tx, T, HOLDOUT)
    expected = bgnbd.expected_purchases(PARAMS, x, tx, T, HOLDOUT)
    for lo, hi in ((0, 0), (1, 1), (2, 3), (4, np.inf)):
        g = (x >= lo) & (x <= hi)
        assert g.sum() > 2_000
        observed = (held[g] > 0).mean()
        assert p_any[g].mean() == pytest.approx(observed, abs=4 * np.sqrt(observed / g.sum()))
        assert expected[g].mean() == pytest.approx(held[g].mean(), rel=0.06)
    # and the ranking carries information: buyers had higher predicted probabilities
    assert p_any[held > 0].mean() > p_any[held == 0].mean() + 0.1
