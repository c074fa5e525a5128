"""The Dask engine: features, labels, training and batch scoring per partition of a
customer-partitioned event dataset, on a Dask cluster (an existing scheduler or a
LocalCluster). Every partition goes through the same numpy feature core as the single-machine
path (:func:`journeyml.features.build_features`); models are trained with ``lightgbm.dask``."""

from journeyml.engine.boosting import DaskBoosterFit, StopOnValidation
from journeyml.engine.cluster import connect
from journeyml.engine.features import DaskFeatures
from journeyml.engine.frames import (
    Cutoffs,
    at_time,
    partition_frame,
    partition_frames,
    snapshots,
)
from journeyml.engine.scoring import (
    PartitionLog,
    partition_responses,
    score_partitions,
    score_store_partitions,
)
from journeyml.engine.training import train_dask

__all__ = [
    "Cutoffs",
    "DaskBoosterFit",
    "DaskFeatures",
    "PartitionLog",
    "StopOnValidation",
    "at_time",
    "connect",
    "partition_frame",
    "partition_frames",
    "partition_responses",
    "score_partitions",
    "score_store_partitions",
    "snapshots",
    "train_dask",
]
