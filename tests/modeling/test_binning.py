"""Boosters trained from datasets binned a block of rows at a time (``fit_rows``) equal those
trained from in-memory copies of the rows (``lgb.Dataset(X[rows])``), bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from journeyml.modeling import boosting, fit_rows
from journeyml.modeling.binning import rows_dataset


def _data(n: int = 6_000, p: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p)).astype(np.float32)
    X[rng.random((n, p)) < 0.4] = 0.0  # zeros are left out of LightGBM's sample
    X[rng.random((n, p)) < 0.1] = np.nan
    X[:, 3] = rng.integers(0, 9, n)  # categorical codes
    X[:, 4] = np.where(rng.random(n) < 0.05, np.nan, rng.integers(0, 3, n))
    X[:, 5] = 7.0  # a constant: pre-filtered by min_data_in_leaf
    train = rng.random(n) < 0.55
    valid = ~train & (rng.random(n) < 0.6)
    return X, rng.random(n), train, valid


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_same_booster_as_from_copied_rows(kind: str) -> None:
    X, u, train, valid = _data()
    if kind == "binary":
        y = ((X[:, 0] > 0) ^ (X[:, 3] > 4) | (u < 0.1)).astype(np.int64)
    else:
        y = ((X[:, 3] + (u < 0.2)) % 3).astype(np.int64)
    # a sample smaller than the training rows (the sampled rows decide the bins), a seed and
    # a min_data_in_leaf that LightGBM's own sampling from chunks would not see
    params = boosting.lgb_params(
        kind,
        int(y.max()) + 1,
        {"bin_construct_sample_cnt": 1_000, "min_data_in_leaf": 30, "max_bin": 63},
        seed=5,
    )
    cat = [3, 4]
    copied = boosting.fit_early_stopped(
        params,
        (X[train], y[train]),
        (X[valid], y[valid]),
        cat,
        num_boost_round=40,
        early_stopping_rounds=5,
    )
    blocks = fit_rows(params, X, y, train, valid, cat, num_boost_round=40, early_stopping_rounds=5)
    assert blocks.best_iteration == copied.best_iteration
    assert blocks.model_to_string() == copied.model_to_string()
    np.testing.assert_array_equal(blocks.predict(X), copied.predict(X))


def test_rows_dataset_reads_the_selected_rows_in_blocks() -> None:
    X, u, train, valid = _data(n=1_000)
    y = (u < 0.3).astype(np.int64)
    params = boosting.lgb_params("binary", 2, {"min_data_in_leaf": 5}, seed=1)
    idx = np.flatnonzero(train)
    whole = rows_dataset(params, X, train, y, [3, 4])
    small_blocks = rows_dataset(params, X, idx, y, [3, 4], block=7)  # row numbers, 7 at a time
    assert whole.num_data() == small_blocks.num_data() == len(idx)
    np.testing.assert_array_equal(whole.get_label(), y[train])
    np.testing.assert_array_equal(small_blocks.get_label(), y[train])
    valid_ds = rows_dataset(params, X, valid, y, [3, 4], reference=whole, block=64)
    assert valid_ds.num_data() == int(valid.sum())
    assert valid_ds.num_feature() == whole.num_feature()
