"""Point-in-time sequence features: one code path for training, batch scoring and the API."""

from journeyml.features.build import (
    AS_OF,
    N_EVENTS,
    FeatureBuilder,
    build_features,
    compute_features,
    journey_features,
)
from journeyml.features.spec import FeatureDef, FeatureParams, FeatureSpec

__all__ = [
    "AS_OF",
    "N_EVENTS",
    "FeatureBuilder",
    "FeatureDef",
    "FeatureParams",
    "FeatureSpec",
    "build_features",
    "compute_features",
    "journey_features",
]
