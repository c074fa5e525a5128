"""Seeded journey simulators with planted causes and ground truth.

``retail`` is the first world: a B2C shop with personas, a purchase funnel and churn by
cancellation or silence (:func:`simulate`).
"""

from journeyml.sim.retail import (
    CHANNELS,
    CHURN_TOUCHPOINTS,
    CONVERSION_TOUCHPOINTS,
    EXPOSURE_CAP,
    MOMENTS_OF_TRUTH,
    NO_EFFECT_TOUCHPOINT,
    OFFLINE_CHANNELS,
    ONLINE_CHANNELS,
    PAIN_POINTS,
    PLANTED_CAUSES,
    REGIONS,
    SEGMENTS,
    TOUCHPOINT_STAGE,
    TOUCHPOINTS,
    PlantedCause,
    SimulationResult,
    ground_truth_path,
    simulate,
    write_simulation,
)

__all__ = [
    "CHANNELS",
    "CHURN_TOUCHPOINTS",
    "CONVERSION_TOUCHPOINTS",
    "EXPOSURE_CAP",
    "MOMENTS_OF_TRUTH",
    "NO_EFFECT_TOUCHPOINT",
    "OFFLINE_CHANNELS",
    "ONLINE_CHANNELS",
    "PAIN_POINTS",
    "PLANTED_CAUSES",
    "REGIONS",
    "SEGMENTS",
    "TOUCHPOINTS",
    "TOUCHPOINT_STAGE",
    "PlantedCause",
    "SimulationResult",
    "ground_truth_path",
    "simulate",
    "write_simulation",
]
