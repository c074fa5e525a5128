"""Chunks of whole customers: contiguous, no customer in two chunks, every cutoff once."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from journeyml.features import EventArrays, customer_chunks


def _arrays(sizes: list[int]) -> EventArrays:
    cust = np.repeat(np.arange(len(sizes)), sizes)
    n = cust.size
    z = np.zeros(n, np.int32)
    ids = np.array([f"c{i}" for i in range(len(sizes))], dtype=object)
    return EventArrays(ids, cust, np.arange(n), z, z, z, np.zeros(n))


def test_customer_chunks_keep_customers_whole() -> None:
    sizes = [5, 1, 7, 2, 2, 3]
    arr = _arrays(sizes)
    cust = arr.cust
    chunks = list(customer_chunks(arr, np.arange(6), 4))
    assert len(chunks) > 2 and chunks[0].first == 0 and chunks[-1].stop == 6
    for a, b in itertools.pairwise(chunks):
        assert a.stop == b.first  # contiguous, no customer in two chunks
    for c in chunks:
        assert c.events.n == int(np.isin(cust, np.arange(c.first, c.stop)).sum())
    with pytest.raises(ValueError, match="chunk_events"):
        next(customer_chunks(arr, np.arange(6), 0))


def test_every_cutoff_lands_in_exactly_one_chunk() -> None:
    rng = np.random.default_rng(0)
    arr = _arrays(rng.integers(1, 30, 200).tolist())
    q = rng.integers(-1, 200, 1000)  # any order, some customers without events
    chunks = list(customer_chunks(arr, q, 300))
    rows = np.concatenate([c.rows for c in chunks])
    assert sorted(rows.tolist()) == list(range(1000))
    for c in chunks:
        local = c.q_cust
        assert ((local == -1) | ((local >= 0) & (local < c.stop - c.first))).all()
        known = q[c.rows] >= 0
        assert (q[c.rows][known] - c.first == local[known]).all()
