"""Generic contract checks run over every feature family (in the spirit of river's checks)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from journeyml.errors import ConfigError, NotFittedError
from journeyml.features import FeatureBuilder, FeatureSpec, build_features
from journeyml.features.arrays import encode_frame
from journeyml.features.build import FAMILIES, compute_family
from journeyml.features.context import Context
from journeyml.features.spec import FEATURE_CODE_VERSION

FAMILY_IDS = [f.__name__.rsplit(".", 1)[-1] for f in FAMILIES]


@pytest.fixture(scope="module")
def sim_events(small_simulation) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    ev: pd.DataFrame = small_simulation.events
    return ev[ev.customer_id.isin(ev.customer_id.unique()[:120])].reset_index(drop=True)


@pytest.fixture(scope="module")
def sim_spec(sim_events: pd.DataFrame) -> FeatureSpec:
    return (
        FeatureBuilder(windows_days=(2, 14), attributes=("segment", "region")).fit(sim_events).spec_
    )


@pytest.fixture(scope="module")
def sim_cutoffs(sim_events: pd.DataFrame) -> pd.DataFrame:
    ids = sim_events.customer_id.unique()
    rng = np.random.default_rng(0)
    t0, t1 = sim_events.timestamp.min(), sim_events.timestamp.max()
    span = (t1 - t0).total_seconds()
    as_of = [t0 + pd.Timedelta(seconds=float(s)) for s in rng.uniform(0, span, 2 * len(ids))]
    return pd.DataFrame({"customer_id": np.r_[ids, ids, ["nobody"]], "as_of": [*as_of, t1]})


def _ctx(events: pd.DataFrame, cutoffs: pd.DataFrame, spec: FeatureSpec) -> Context:
    arr = encode_frame(events, spec)
    ids = cutoffs.customer_id.astype(str).to_numpy(dtype=object)
    t = pd.to_datetime(cutoffs.as_of, utc=True).to_numpy("datetime64[ns]").view(np.int64)
    return Context.build(arr, spec, arr.customer_codes(ids), t)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_family_produces_exactly_its_defined_names(family, sim_events, sim_cutoffs, sim_spec):  # type: ignore[no-untyped-def]
    names = [d.name for d in family.define(sim_spec)]
    assert len(names) == len(set(names))
    assert all(d.family in (family.FAMILY, "transition") for d in family.define(sim_spec))
    cols = compute_family(family, _ctx(sim_events, sim_cutoffs, sim_spec))
    assert sorted(cols) == sorted(names)
    for name, col in cols.items():
        assert col.shape == (len(sim_cutoffs),), name
        assert col.dtype == np.float64, name
        assert not np.isinf(col).any(), name


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_family_is_pure(family, sim_events, sim_cutoffs, sim_spec):  # type: ignore[no-untyped-def]
    before = sim_events.copy()
    a = compute_family(family, _ctx(sim_events, sim_cutoffs, sim_spec))
    b = compute_family(family, _ctx(sim_events, sim_cutoffs, sim_spec))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    pd.testing.assert_frame_equal(sim_events, before)  # the input is not modified


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_family_ignores_row_and_cutoff_order(family, sim_events, sim_cutoffs, sim_spec):  # type: ignore[no-untyped-def]
    a = compute_family(family, _ctx(sim_events, sim_cutoffs, sim_spec))
    rows = np.random.default_rng(1).permutation(len(sim_events))
    qs = np.random.default_rng(2).permutation(len(sim_cutoffs))
    b = compute_family(
        family, _ctx(sim_events.iloc[rows], sim_cutoffs.iloc[qs].reset_index(drop=True), sim_spec)
    )
    for name in a:
        np.testing.assert_array_equal(a[name][qs], b[name], err_msg=name)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_family_names_come_from_parameters(family, sim_events):  # type: ignore[no-untyped-def]
    spec = (
        FeatureBuilder(windows_days=(3, 11), last_k=4, trend_days=5, attributes=("segment",))
        .fit(sim_events)
        .spec_
    )
    defs = family.define(spec)
    for d in defs:
        assert d.name == d.name.lower() and " " not in d.name
        if d.window_days is not None and d.family != "value":
            assert d.name.endswith(f"_{d.window_days:g}d"), d.name
        if d.source_type in ("touchpoint", "channel", "stage") and d.source is not None:
            assert d.source in spec.vocabulary(d.source_type)
    names = {d.name for d in defs}
    assert not any(n.endswith("_7d") or n.endswith("_30d") for n in names)


def test_names_follow_windows_and_k(sim_events: pd.DataFrame) -> None:
    spec = FeatureBuilder(windows_days=(3, 11), last_k=4, trend_days=5).fit(sim_events).spec_
    names = set(spec.names)
    assert {"count_events_3d", "count_events_11d", "count_events_all"} <= names
    assert {"last_touchpoint_4", "last_stage_4"} <= names and "last_touchpoint_5" not in names
    assert "events_trend_5d_vs_prev_5d" in names
    assert "count_touchpoint_purchase_11d" in names
    assert len(names) == len(spec.names)


def test_builder_and_spec_pickle(sim_events, sim_cutoffs, sim_spec):  # type: ignore[no-untyped-def]
    builder = FeatureBuilder(windows_days=(2, 14), attributes=("segment", "region")).fit(sim_events)
    clone = pickle.loads(pickle.dumps(builder))
    assert clone.spec_ == builder.spec_ and clone.spec_.fingerprint == sim_spec.fingerprint
    spec2 = pickle.loads(pickle.dumps(sim_spec))
    a = build_features(sim_events, sim_cutoffs, sim_spec)
    b = clone.transform(sim_events, sim_cutoffs)
    c = build_features(sim_events, sim_cutoffs, FeatureSpec.from_json(spec2.to_json()))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_fingerprint_tracks_parameters_and_code_version(sim_events, sim_spec):  # type: ignore[no-untyped-def]
    other = FeatureBuilder(windows_days=(2, 15), attributes=("segment", "region")).fit(sim_events)
    assert other.spec_.fingerprint != sim_spec.fingerprint
    assert sim_spec.code_version == FEATURE_CODE_VERSION
    d = sim_spec.to_dict()
    d["code_version"] = "0"
    assert FeatureSpec.from_dict(d).fingerprint != sim_spec.fingerprint


def test_fit_is_deterministic_and_order_free(sim_events, sim_spec):  # type: ignore[no-untyped-def]
    shuffled = sim_events.sample(frac=1.0, random_state=3)
    again = FeatureBuilder(windows_days=(2, 14), attributes=("segment", "region")).fit(shuffled)
    assert again.spec_.fingerprint == sim_spec.fingerprint


def test_unfitted_and_bad_params() -> None:
    with pytest.raises(NotFittedError):
        FeatureBuilder().transform(pd.DataFrame(), pd.DataFrame())
    with pytest.raises(ConfigError):
        FeatureBuilder(windows_days=(0,)).params()
    with pytest.raises(ConfigError):
        FeatureBuilder(session_gap_minutes=0).params()


def test_categorical_defs_name_a_vocabulary(sim_spec: FeatureSpec) -> None:
    for i in sim_spec.categorical_indices:
        f = sim_spec.features[i]
        assert f.vocabulary is not None and len(sim_spec.vocabulary(f.vocabulary)) >= 1
