"""journeyml: predict how customer journeys end, explained in the customer's own touchpoints.

The public names are importable from the package itself (loaded lazily: ``import journeyml``
stays fast); the wings (``journeyml.events``, ``journeyml.features``...) hold the rest.

>>> import journeyml
>>> sim = journeyml.simulate(200, seed=1, days=90)                  # or journeyml.load_events(path)
>>> events = sim.events
>>> spec = journeyml.FeatureBuilder(windows_days=(7, 30)).fit(events).spec_
>>> cutoffs = journeyml.every_n_days(events, every_days=30)
>>> X = journeyml.build_features(events, cutoffs, spec)            # only events before as_of
>>> X.shape[0] == len(cutoffs)
True
>>> churn = journeyml.task_from_block("churn", {"kind": "lapses", "horizon_days": 30,
...                                             "churn": ["cancellation"]})
>>> labels = journeyml.make_labels(events, cutoffs, churn, observation_end=sim.end)
>>> sorted(labels.columns)[:2]
['eligible', 'in_population']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name → the wing that defines it
_EXPORTS: dict[str, str] = {
    # events: read, map and validate logs
    "load_events": "journeyml.events",
    "map_events": "journeyml.events",
    "to_canonical": "journeyml.events",
    "inspect_log": "journeyml.events",
    "list_builtin_mappings": "journeyml.events",
    "load_mapping": "journeyml.events",
    "EventMapping": "journeyml.events",
    "LoadResult": "journeyml.events",
    "ValidationReport": "journeyml.events",
    # simulated journeys
    "simulate": "journeyml.sim",
    # features: the one feature path
    "FeatureBuilder": "journeyml.features",
    "FeatureSpec": "journeyml.features",
    "build_features": "journeyml.features",
    "journey_features": "journeyml.features",
    # tasks, cutoffs and labels
    "TaskConfig": "journeyml.tasks",
    "task_from_block": "journeyml.tasks",
    "make_labels": "journeyml.tasks",
    "labels_and_funnel": "journeyml.tasks",
    "every_n_days": "journeyml.tasks",
    "at_each_event": "journeyml.tasks",
    "temporal_split": "journeyml.tasks",
    # the training pipeline
    "PipelineConfig": "journeyml.lifecycle",
    "load_pipeline_config": "journeyml.lifecycle",
    "run_training": "journeyml.lifecycle",
    "default_tracking_uri": "journeyml.lifecycle",
    # predictions: the one object batch scoring, the API and the report call
    "Predictor": "journeyml.scoring",
    "ScoreRequest": "journeyml.scoring",
    "batch_results": "journeyml.serving",
    "score_chunks": "journeyml.serving",
    "default_cutoffs": "journeyml.serving",
    # the analysts' report
    "render_report": "journeyml.report",
    # progress of long work
    "Progress": "journeyml.progress",
}

__all__ = [
    "EventMapping",
    "FeatureBuilder",
    "FeatureSpec",
    "LoadResult",
    "PipelineConfig",
    "Predictor",
    "Progress",
    "ScoreRequest",
    "TaskConfig",
    "ValidationReport",
    "__version__",
    "at_each_event",
    "batch_results",
    "build_features",
    "default_cutoffs",
    "default_tracking_uri",
    "every_n_days",
    "inspect_log",
    "journey_features",
    "labels_and_funnel",
    "list_builtin_mappings",
    "load_events",
    "load_mapping",
    "load_pipeline_config",
    "make_labels",
    "map_events",
    "render_report",
    "run_training",
    "score_chunks",
    "simulate",
    "task_from_block",
    "temporal_split",
    "to_canonical",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'journeyml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # the same names for type checkers and IDEs
    from journeyml.events import (
        EventMapping,
        LoadResult,
        ValidationReport,
        inspect_log,
        list_builtin_mappings,
        load_events,
        load_mapping,
        map_events,
        to_canonical,
    )
    from journeyml.features import FeatureBuilder, FeatureSpec, build_features, journey_features
    from journeyml.lifecycle import (
        PipelineConfig,
        default_tracking_uri,
        load_pipeline_config,
        run_training,
    )
    from journeyml.progress import Progress
    from journeyml.report import render_report
    from journeyml.scoring import Predictor, ScoreRequest
    from journeyml.serving import batch_results, default_cutoffs, score_chunks
    from journeyml.sim import simulate
    from journeyml.tasks import (
        TaskConfig,
        at_each_event,
        every_n_days,
        labels_and_funnel,
        make_labels,
        task_from_block,
        temporal_split,
    )
