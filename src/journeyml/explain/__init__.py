"""Why: one entry point (:class:`Explainer`) runs contributions → allocation to root causes →
phrasing, one module per step; population insights (drivers, pain points, moments of truth)
and the journey map build on it."""

from journeyml.explain import insights, journey_map, whatif
from journeyml.explain.allocation import (
    Allocation,
    Composition,
    Plan,
    allocate,
    coupled_touchpoints,
    group_key,
)
from journeyml.explain.class_boosters import split_by_class
from journeyml.explain.contributions import (
    ExplainedModel,
    Points,
    model_of,
    probability_points,
    task_contributions,
)
from journeyml.explain.explainer import (
    Batch,
    Explainer,
    Explanation,
    Target,
    cause_totals,
    explain_rows,
    root_causes,
)
from journeyml.explain.phrasing import (
    MAX_EVIDENCE,
    RootCause,
    evidence,
    format_points,
    humanize,
    iso_utc,
    phrase,
    plural,
    span,
    task_phrase,
)
from journeyml.explain.whatif import MEANING, Edit

__all__ = [
    "MAX_EVIDENCE",
    "MEANING",
    "Allocation",
    "Batch",
    "Composition",
    "Edit",
    "ExplainedModel",
    "Explainer",
    "Explanation",
    "Plan",
    "Points",
    "RootCause",
    "Target",
    "allocate",
    "cause_totals",
    "coupled_touchpoints",
    "evidence",
    "explain_rows",
    "format_points",
    "group_key",
    "humanize",
    "insights",
    "iso_utc",
    "journey_map",
    "model_of",
    "phrase",
    "plural",
    "probability_points",
    "root_causes",
    "span",
    "split_by_class",
    "task_contributions",
    "task_phrase",
    "whatif",
]
