"""The ECE a perfectly calibrated model shows on a test window (``ece_noise``): sampling noise
alone, so that a test ECE can be read against what its window's size allows."""

from __future__ import annotations

import numpy as np
import pytest

from journeyml.modeling import ece_noise, expected_calibration_error


def test_it_is_the_quantile_of_the_ece_of_labels_drawn_from_the_probabilities() -> None:
    """The fast per-bin sums give what ``expected_calibration_error`` gives on drawn labels."""
    rng = np.random.default_rng(0)
    p = rng.beta(2, 5, size=1500)
    direct = [
        expected_calibration_error((rng.random(len(p)) < p).astype(int), p) for _ in range(400)
    ]
    assert ece_noise(p, draws=400, seed=1) == pytest.approx(np.quantile(direct, 0.9), rel=0.1)
    assert ece_noise(p, quantile=0.5, draws=400) == pytest.approx(np.median(direct), rel=0.1)


def test_it_shrinks_as_one_over_the_square_root_of_the_rows() -> None:
    small, large = ece_noise(np.full(1000, 0.25)), ece_noise(np.full(16_000, 0.25))
    assert 3.0 < small / large < 5.0


def test_a_shifted_model_is_told_apart_and_a_calibrated_one_is_not() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.6, size=1300)
    calibrated = (rng.random(len(p)) < p).astype(int)
    shifted = (rng.random(len(p)) < np.clip(p + 0.06, 0, 1)).astype(int)
    noise = ece_noise(p, quantile=0.99)
    assert expected_calibration_error(calibrated, p) < noise
    assert expected_calibration_error(shifted, p) > noise


def test_certain_predictions_have_no_noise_and_empty_windows_none() -> None:
    assert ece_noise(np.array([0.0, 0.0, 1.0])) == 0.0
    assert np.isnan(ece_noise(np.array([])))
