"""The training pipeline's feature step on a Dask cluster (``engine: dask``).

:class:`DaskFeatures` is a drop-in for :func:`journeyml.features.build_features`: it writes
the events once as a partitioned dataset (customers hashed into ``n_partitions`` files, in a
work folder the workers can read), sends each partition's cutoffs to the task that builds
that partition's features with ``build_features`` itself, and puts the rows back in the
cutoffs' order. Any cutoffs work (snapshots, prefixes, customers without events), so every
task kind trains the same way as on one machine, with the same features bit for bit.

Each partition's block of rows also stays on the worker that computed it
(:meth:`DaskFeatures.blocks_of`): :class:`~journeyml.engine.DaskBoosterFit` trains
``lightgbm.dask`` from those blocks, so the training rows are not sent back to the cluster.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from journeyml.events import (
    CUSTOMER_ID,
    PartitionedEvents,
    partition_of,
    read_partition,
    write_partitioned,
)
from journeyml.features import FeatureSpec, build_features


def _features_of(
    i: int, ds: PartitionedEvents, cutoffs: pd.DataFrame, spec: FeatureSpec
) -> np.ndarray:
    return build_features(read_partition(ds, i), cutoffs, spec).to_numpy()


@dataclass(frozen=True)
class Blocks:
    """Where the rows of one feature matrix live on the cluster: ``futures[k]`` (a block held
    by a worker) holds the matrix's rows ``rows[k]``, in that order."""

    matrix: np.ndarray
    rows: list[np.ndarray]
    futures: list[Any]


class DaskFeatures:
    """``build_features`` per partition of customers on the cluster of ``client``.

    ``workdir``: where the partitioned events are written (a folder every worker can read:
    local disk for a LocalCluster, shared storage for a remote cluster); default a temporary
    folder.
    """

    def __init__(self, client: Any, n_partitions: int = 8, workdir: Path | None = None) -> None:
        self.client = client
        self.n_partitions = n_partitions
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="journeyml-engine-"))
        self._datasets: dict[int, tuple[pd.DataFrame, PartitionedEvents]] = {}
        self._blocks: list[Blocks] = []
        #: how many feature matrices keep their blocks on the workers (the latest ones)
        self.keep_blocks = 2

    def blocks_of(self, X: np.ndarray) -> Blocks | None:
        """The blocks of a matrix this engine returned: ``X`` is that matrix, a view of it,
        or a copy of it in another dtype (the pipeline keeps float32), recognised by its shape
        and the values of a sample of rows. None for any other matrix."""
        for b in self._blocks:
            if X.shape != b.matrix.shape:
                continue
            if np.shares_memory(X, b.matrix):
                return b
            rows = np.linspace(0, X.shape[0] - 1, num=min(64, X.shape[0])).astype(np.int64)
            if np.array_equal(X[rows], b.matrix[rows].astype(X.dtype), equal_nan=True):
                return b
        return None

    def dataset(self, events: pd.DataFrame) -> PartitionedEvents:
        """The events as a partitioned dataset (written once per events frame)."""
        key = id(events)
        hit = self._datasets.get(key)
        if hit is not None and hit[0] is events:
            return hit[1]
        ds = write_partitioned(
            events, self.workdir / f"events-{len(self._datasets)}", self.n_partitions
        )
        self._datasets[key] = (events, ds)  # keeps the frame alive: its id stays its own
        return ds

    def __call__(
        self, events: pd.DataFrame, cutoffs: pd.DataFrame, spec: FeatureSpec
    ) -> pd.DataFrame:
        ds = self.dataset(events)
        part = partition_of(cutoffs[CUSTOMER_ID], ds.n_partitions)
        rows = [np.flatnonzero(part == i) for i in range(ds.n_partitions)]
        spec_f = self.client.scatter(spec, broadcast=True)
        futures = [
            self.client.submit(
                _features_of, i, ds, cutoffs.iloc[r].reset_index(drop=True), spec_f, pure=False
            )
            for i, r in enumerate(rows)
            if r.size
        ]
        out = np.empty((len(cutoffs), len(spec.names)), dtype=np.float64, order="F")
        held = [r for r in rows if r.size]
        for r, X in zip(held, self.client.gather(futures), strict=True):
            out[r] = X
        self._blocks = [*self._blocks, Blocks(out, held, futures)][-self.keep_blocks :]
        return pd.DataFrame(out, index=cutoffs.index, columns=spec.names, copy=False)
