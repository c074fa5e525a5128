"""Seeded journey simulators with planted causes and ground truth, more than one world.

``retail`` is the first world: a B2C shop with personas, a purchase funnel and churn by
cancellation or silence (:func:`simulate`). ``b2b`` is built to differ: B2B software trials with
other vocabulary, company-sent touchpoints, activity levels that differ tenfold between
personas, churn only after a contract and delayed effects (:func:`journeyml.sim.b2b.simulate`).
``insurer`` is a third, written when the population insights were judged: policyholders who
rarely act, responses the insurer sends after a quote or a claim, company-sent renewal batches
and campaign e-mails (:func:`journeyml.sim.insurer.simulate`).
:func:`simulate_world` runs either by name (:data:`WORLDS`).
"""

from collections.abc import Callable

from journeyml.sim import b2b, insurer, retail
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

#: the simulators by name: ``(n_customers, *, seed, start, days) -> SimulationResult``
WORLDS: dict[str, Callable[..., SimulationResult]] = {
    "retail": retail.simulate,
    "b2b": b2b.simulate,
    "insurer": insurer.simulate,
}


def simulate_world(
    world: str,
    n_customers: int = 2000,
    *,
    seed: int = 0,
    start: str = "2024-01-01",
    days: int = 180,
) -> SimulationResult:
    """Run the simulator called ``world`` (one of :data:`WORLDS`)."""
    from journeyml.errors import ConfigError

    if world not in WORLDS:
        raise ConfigError(
            f"expected a simulated world among {sorted(WORLDS)}, got {world!r}.", field="world"
        )
    return WORLDS[world](n_customers, seed=seed, start=start, days=days)


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
    "WORLDS",
    "PlantedCause",
    "SimulationResult",
    "b2b",
    "ground_truth_path",
    "insurer",
    "retail",
    "simulate",
    "simulate_world",
    "write_simulation",
]
