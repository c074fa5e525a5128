"""Training from feature rows computed as they are read, in chunks of whole customers
(``ChunkedRows``, the pipeline's default), gives what training from the materialised matrix
gives, bit for bit: the same rows, the same LightGBM bins and boosters as
``lgb.Dataset(X[rows])``, the same linear parts, predictions, baselines and metrics."""

from __future__ import annotations

import numpy as np
import pytest

from journeyml import FeatureBuilder, build_features, simulate
from journeyml.features import ChunkedRows, MatrixRows
from journeyml.modeling import boosting, fit_rows, train_task
from journeyml.tasks import every_n_days, make_labels, task_from_block, temporal_split

TASKS = {
    "conversion": {
        "kind": "occurs",
        "horizon_days": 14,
        "outcome": ["purchase"],
        "eligibility": {"not_yet": ["purchase"]},
    },
    "next_stage": {"kind": "next", "horizon_days": 14, "target": "stage"},
}


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    sim = simulate(500, seed=3, days=200)
    ev = sim.events
    cutoffs = every_n_days(ev, every_days=7)
    split = temporal_split(cutoffs, horizon_days=14)
    spec = FeatureBuilder(windows_days=(7, 30)).fit(ev[ev["timestamp"] < split.valid_start]).spec_
    X = build_features(ev, cutoffs, spec, dtype=np.float32).to_numpy(np.float32)
    # chunks of about 2,000 events: the 500 customers' events come in several chunks
    streamed = ChunkedRows.of(ev, cutoffs, spec, chunk_events=2_000)
    return sim, cutoffs, split, spec, X, streamed


def test_rows_are_the_matrix_rows_in_the_same_blocks(world) -> None:  # type: ignore[no-untyped-def]
    _, cutoffs, _, spec, X, streamed = world
    assert streamed.ordered and streamed.shape == X.shape
    rng = np.random.default_rng(0)
    idx = np.flatnonzero(rng.random(len(X)) < 0.6)
    whole = MatrixRows(X)
    got, want = list(streamed.blocks(idx, 1_000)), list(whole.blocks(idx, 1_000))
    assert [b.shape for b in got] == [b.shape for b in want]
    for a, b in zip(got, want, strict=True):
        assert a.flags["C_CONTIGUOUS"] and b.flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(a, b)
    some = rng.permutation(idx)[:300]  # any order: a sample
    np.testing.assert_array_equal(streamed.take(some), X[some])
    j = spec.names.index("count_events_7d")
    np.testing.assert_array_equal(streamed.column(j), X[:, j])
    # cutoffs not grouped by customer: still the same rows, in the asked order
    shuffled = cutoffs.sample(frac=1.0, random_state=1).reset_index(drop=True)
    loose = ChunkedRows.of(world[0].events, shuffled, spec, chunk_events=2_000)
    assert not loose.ordered
    X_shuffled = build_features(world[0].events, shuffled, spec, dtype=np.float32).to_numpy()
    for a, b in zip(loose.blocks(idx, 700), MatrixRows(X_shuffled).blocks(idx, 700), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_booster_from_chunks_is_the_booster_from_copied_rows(world, kind: str) -> None:  # type: ignore[no-untyped-def]
    sim, cutoffs, split, spec, X, streamed = world
    name = "conversion" if kind == "binary" else "next_stage"
    task = task_from_block(name, TASKS[name])
    labels = make_labels(sim.events, cutoffs, task, observation_end=sim.end)
    elig = labels["eligible"].to_numpy(bool)
    tr, va = split.train & elig, split.valid & elig
    if kind == "binary":
        y = labels["label"].to_numpy(np.int64)
        n_classes = 2
    else:
        classes, codes = np.unique(labels["label"][elig].astype(str), return_inverse=True)
        y = np.full(len(labels), -1, np.int64)
        y[elig] = codes
        n_classes = len(classes)
    # a sample smaller than the training rows: which rows are computed first decides the bins
    assert tr.sum() > 1_000
    params = boosting.lgb_params(
        kind, n_classes, {"bin_construct_sample_cnt": 1_000, "min_data_in_leaf": 20}, seed=4
    )
    cat = spec.categorical_indices
    copied = boosting.fit_early_stopped(
        params, (X[tr], y[tr]), (X[va], y[va]), cat, num_boost_round=30, early_stopping_rounds=5
    )
    chunked = fit_rows(
        params, streamed, y, tr, va, cat, num_boost_round=30, early_stopping_rounds=5
    )
    assert chunked.best_iteration == copied.best_iteration
    assert chunked.model_to_string() == copied.model_to_string()


@pytest.mark.parametrize("name", ["conversion", "next_stage"])
def test_task_trained_from_chunks_equals_the_task_trained_from_the_matrix(world, name: str) -> None:  # type: ignore[no-untyped-def]
    sim, cutoffs, split, spec, X, streamed = world
    task = task_from_block(name, TASKS[name])
    labels = make_labels(sim.events, cutoffs, task, observation_end=sim.end)
    kw = {"num_boost_round": 40, "lgb_params": {"num_threads": 1}, "seed": 2}
    groups = cutoffs["customer_id"].to_numpy()
    a = train_task(task, spec, X, labels, split, groups=groups, **kw)  # type: ignore[arg-type]
    b = train_task(task, spec, streamed, labels, split, groups=groups, **kw)  # type: ignore[arg-type]
    assert a.bundle.booster.model_to_string() == b.bundle.booster.model_to_string()
    assert a.metrics == b.metrics and a.baselines == b.baselines
    timing = {"linear_fit_cpu_seconds"}  # a measured CPU time, not a result
    assert {k: v for k, v in a.bundle.info.items() if k not in timing} == {
        k: v for k, v in b.bundle.info.items() if k not in timing
    }
    assert a.test_predictions is not None and b.test_predictions is not None
    np.testing.assert_array_equal(a.test_predictions, b.test_predictions)
    if name == "next_stage":
        assert "markov" in b.baselines  # read from one column of the streamed rows
