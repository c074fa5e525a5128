"""Batch scoring streams through customers in chunks and writes what scoring everything at once
would: the same predictions, root causes and probabilities, whatever the chunk size."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from journeyml.batch import write_scores
from journeyml.errors import ConfigError
from journeyml.features import EventArrays, customer_chunks, encode_frame
from journeyml.scoring import ScoreRequest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def some_events(small_simulation: Any) -> pd.DataFrame:
    ev = small_simulation.events
    keep = ev["customer_id"].isin(ev["customer_id"].unique()[:150])
    return ev[keep].reset_index(drop=True)


def _at_once_cutoffs(ev: pd.DataFrame, as_of: str | None = None) -> pd.DataFrame:
    last = ev.groupby("customer_id")["timestamp"].max()
    t = pd.Timestamp(as_of, tz="UTC") if as_of else last.to_numpy() + pd.Timedelta(1, "s")
    return pd.DataFrame({"customer_id": last.index.astype(str), "as_of": t})


@pytest.mark.parametrize("as_of", [None, "2024-04-01T12:00:00"])
def test_streamed_jsonl_equals_scoring_at_once(
    predictor: Any, some_events: pd.DataFrame, tmp_path: Path, as_of: str | None
) -> None:
    out = tmp_path / "scores.jsonl"
    # ~40 events per chunk: dozens of chunks of a few customers each
    n = write_scores(predictor, some_events, out, as_of=as_of, chunk_events=40)
    streamed = [json.loads(line) for line in out.read_text().splitlines()]
    expected = predictor.score_frame(some_events, _at_once_cutoffs(some_events, as_of))
    assert n == len(streamed) == some_events["customer_id"].nunique() == 150
    by_id = {r["customer_id"]: r for r in streamed}
    assert len(by_id) == 150
    for e in expected:
        # the JSON round trip of the at-once answer: floats and lists exactly as written
        assert by_id[e["customer_id"]] == json.loads(json.dumps(e))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_streamed_probabilities_equal_at_once(
    predictor: Any, some_events: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"scores{suffix}"
    n = write_scores(predictor, some_events, out, chunk_events=100)
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    cut = _at_once_cutoffs(some_events)
    want = predictor.probabilities(some_events, cut)
    assert n == len(got) == len(cut)
    got = got.set_index("customer_id").loc[cut["customer_id"]]
    np.testing.assert_allclose(got[want.columns].to_numpy(), want.to_numpy(), rtol=1e-12)
    times = pd.to_datetime(got["as_of"], utc=True).to_numpy()
    assert (times == cut["as_of"].to_numpy()).all()


def test_score_chunks_cover_every_cutoff_once(predictor: Any, some_events: pd.DataFrame) -> None:
    arr = encode_frame(some_events, predictor.spec)
    rng = np.random.default_rng(0)
    q = rng.integers(-1, len(arr.customer_ids), 300)  # any order, some unknown customers
    t = arr.ts[rng.integers(0, arr.n, 300)]
    seen = np.concatenate([rows for rows, _ in predictor.score_chunks(arr, q, t, chunk_events=50)])
    assert sorted(seen.tolist()) == list(range(300))


def test_customer_chunks_keep_customers_whole() -> None:
    cust = np.repeat(np.arange(6), [5, 1, 7, 2, 2, 3])
    n = cust.size
    z = np.zeros(n, np.int32)
    arr = EventArrays(
        np.array(list("abcdef"), dtype=object), cust, np.arange(n), z, z, z, np.zeros(n)
    )
    chunks = list(customer_chunks(arr, np.arange(6), 4))
    assert chunks[0].first == 0 and chunks[-1].stop == 6
    for a, b in itertools.pairwise(chunks):
        assert a.stop == b.first  # contiguous, no customer in two chunks
    for c in chunks:
        assert c.events.n == int(np.isin(cust, np.arange(c.first, c.stop)).sum())
    with pytest.raises(ValueError, match="chunk_events"):
        next(customer_chunks(arr, np.arange(6), 0))


def test_unknown_output_format_is_refused(
    predictor: Any, some_events: pd.DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"\.jsonl") as exc:
        write_scores(
            predictor, some_events, tmp_path / "scores.xlsx", ScoreRequest(predictor.tasks)
        )
    assert exc.value.field == "out"
