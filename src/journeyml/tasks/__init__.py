"""What is predicted: task definitions, labels with eligibility and censoring, cutoffs
(snapshots, prefixes) and the temporal split."""

from journeyml.tasks.labels import (
    END_CLASS,
    NONE_CLASS,
    TASKS,
    TaskConfig,
    TaskName,
    make_labels,
)
from journeyml.tasks.snapshots import (
    TemporalSplit,
    at_each_event,
    every_n_days,
    fixed_dates,
    temporal_split,
)

__all__ = [
    "END_CLASS",
    "NONE_CLASS",
    "TASKS",
    "TaskConfig",
    "TaskName",
    "TemporalSplit",
    "at_each_event",
    "every_n_days",
    "fixed_dates",
    "make_labels",
    "temporal_split",
]
