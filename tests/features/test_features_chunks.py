"""Large inputs are computed in chunks of whole customers: the result is the same bit for bit
as one pass over all events — snapshots, prefix mode, unknown customers and any cutoff order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeyml.features import FeatureBuilder, build
from journeyml.sim import simulate
from journeyml.tasks import every_n_days


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return simulate(300, seed=4, days=90).events


def test_chunks_give_the_one_pass_result_bit_for_bit(
    events: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = FeatureBuilder(windows_days=(1, 7, 30), attributes=("segment",)).fit(events).spec_
    cut = every_n_days(events, 10)
    cut = pd.concat(
        [cut, pd.DataFrame({"customer_id": ["nobody"], "as_of": [events.timestamp.max()]})]
    ).sample(frac=1.0, random_state=0)  # cutoffs in no particular order
    cut.index = pd.RangeIndex(len(cut))
    cut["n_events"] = np.random.default_rng(0).integers(0, 40, len(cut))
    whole = build.build_features(events, cut, spec)

    monkeypatch.setattr(build, "CHUNK_EVENTS", 300)  # ~20 chunks
    passes: list[int] = []
    written: list[bool] = []  # whether a chunk wrote into the result in place
    one_pass = build.features_from_context
    monkeypatch.setattr(
        build,
        "features_from_context",
        lambda ctx, *out: (
            passes.append(ctx.ev.n) or written.append(bool(out)) or one_pass(ctx, *out)
        ),
    )
    chunked = build.build_features(events, cut, spec)
    assert len(passes) >= 20 and sum(passes) == len(events)
    assert chunked.shape == whole.shape
    np.testing.assert_array_equal(chunked.to_numpy(), whole.to_numpy())
    # cutoffs sorted by customer: each chunk writes its rows of the result in place
    order = np.lexsort((cut.as_of.to_numpy(), cut.customer_id.to_numpy()))
    written.clear()
    in_place = build.build_features(events, cut.iloc[order], spec)
    assert sum(written) >= 19
    np.testing.assert_array_equal(in_place.to_numpy(), whole.to_numpy()[order])
    assert chunked.loc[cut.customer_id == "nobody", "count_events_all"].item() == 0


def test_float32_features_are_the_float64_ones_rounded_once(
    events: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training keeps its matrix in float32: the values are computed in float64 and rounded
    when stored, in one pass and chunk by chunk alike."""
    spec = FeatureBuilder(windows_days=(7, 30)).fit(events).spec_
    cut = every_n_days(events, 10)
    exact = build.build_features(events, cut, spec).to_numpy()
    assert not np.array_equal(exact, exact.astype(np.float32), equal_nan=True)  # some are not
    for chunk_events in (build.CHUNK_EVENTS, 300):
        monkeypatch.setattr(build, "CHUNK_EVENTS", chunk_events)
        got = build.build_features(events, cut, spec, dtype=np.float32).to_numpy()
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, exact.astype(np.float32))
