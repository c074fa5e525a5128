"""The training pipeline's feature step on a Dask cluster (``engine: dask``).

:class:`DaskFeatures` is a drop-in for :func:`journeyml.features.build_features`: it writes
the events once as a partitioned dataset (customers hashed into ``n_partitions`` files, in a
work folder the workers can read), sends each partition's cutoffs to the task that builds
that partition's features with ``build_features`` itself, and puts the rows back in the
cutoffs' order. Any cutoffs work (snapshots, prefixes, customers without events), so every
task kind trains the same way as on one machine, with the same features bit for bit.
"""

from __future__ import annotations

import tempfile
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
        for r, X in zip([r for r in rows if r.size], self.client.gather(futures), strict=True):
            out[r] = X
        return pd.DataFrame(out, index=cutoffs.index, columns=spec.names, copy=False)
