"""Point-in-time sequence features: one code path for training, batch scoring and the API."""

from journeyml.features.arrays import NS_PER_DAY, EventArrays, encode_frame, encode_records, to_ns
from journeyml.features.build import (
    AS_OF,
    N_EVENTS,
    CustomerChunk,
    FeatureBuilder,
    build_features,
    compute_features,
    customer_chunks,
    cutoff_arrays,
    cutoff_codes,
    encode_events,
    features_from_context,
    journey_features,
)
from journeyml.features.categories import prefix_sum
from journeyml.features.context import Context
from journeyml.features.pit import TimeIndex
from journeyml.features.rows import (
    ChunkedRows,
    FeatureRows,
    MatrixRows,
    PartitionedRows,
    as_rows,
)
from journeyml.features.spec import (
    FEATURE_CODE_VERSION,
    OTHER,
    FeatureDef,
    FeatureParams,
    FeatureSpec,
    slug,
    spec_cache,
    window_label,
)

__all__ = [
    "AS_OF",
    "FEATURE_CODE_VERSION",
    "NS_PER_DAY",
    "N_EVENTS",
    "OTHER",
    "ChunkedRows",
    "Context",
    "CustomerChunk",
    "EventArrays",
    "FeatureBuilder",
    "FeatureDef",
    "FeatureParams",
    "FeatureRows",
    "FeatureSpec",
    "MatrixRows",
    "PartitionedRows",
    "TimeIndex",
    "as_rows",
    "build_features",
    "compute_features",
    "customer_chunks",
    "cutoff_arrays",
    "cutoff_codes",
    "encode_events",
    "encode_frame",
    "encode_records",
    "features_from_context",
    "journey_features",
    "prefix_sum",
    "slug",
    "spec_cache",
    "to_ns",
    "window_label",
]
