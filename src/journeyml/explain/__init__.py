"""Why: TreeSHAP contributions → allocation to root causes → sentences; population insights
(drivers, pain points, moments of truth) and the journey map."""

from journeyml.explain import insights, journey_map
from journeyml.explain.allocation import (
    Allocation,
    Composition,
    Plan,
    allocate,
    coupled_touchpoints,
    group_key,
)
from journeyml.explain.causes import (
    RootCause,
    cause_totals,
    composition_of,
    explain_rows,
    format_points,
    humanize,
    plural,
    probability_points,
    root_causes,
    span,
    task_contributions,
    task_phrase,
)

__all__ = [
    "Allocation",
    "Composition",
    "Plan",
    "RootCause",
    "allocate",
    "cause_totals",
    "composition_of",
    "coupled_touchpoints",
    "explain_rows",
    "format_points",
    "group_key",
    "humanize",
    "insights",
    "journey_map",
    "plural",
    "probability_points",
    "root_causes",
    "span",
    "task_contributions",
    "task_phrase",
]
