"""What is predicted: task kinds (occurs, lapses, case_outcome, next) with user-chosen names,
their YAML blocks, eligibility rules shared by training and the API, labels with censoring,
cutoffs (snapshots, prefixes), the splits (by time with a gap, or by case start), and the
diagnostics of task definitions that cannot yield labels."""

from journeyml.tasks.blocks import DataDefaults, task_from_block
from journeyml.tasks.definition import (
    END_CLASS,
    KINDS,
    LEGACY_TASKS,
    NAME_PATTERN,
    NONE_CLASS,
    RARE_CLASS,
    CutoffMode,
    Eligibility,
    EventMatch,
    Kind,
    Output,
    TaskConfig,
    check_name,
    legacy_task,
)
from journeyml.tasks.diagnose import MIN_CUTOFFS, check_labels, check_split, check_vocabulary
from journeyml.tasks.eligibility import (
    Step,
    journey_reason,
    journey_reasons,
    population_steps,
    reasons_by_cutoff,
    task_attributes,
)
from journeyml.tasks.funnel import Funnel, FunnelStep
from journeyml.tasks.labels import labels_and_funnel, make_labels
from journeyml.tasks.located import Located
from journeyml.tasks.snapshots import (
    TemporalSplit,
    at_each_event,
    case_split,
    every_n_days,
    fixed_dates,
    held_out,
    temporal_split,
)

#: the demo's three tasks (``models/conversion.yaml``, ``churn.yaml``, ``next_stage.yaml``)
TASKS = LEGACY_TASKS
#: a task name: any valid registry name (``NAME_PATTERN``)
TaskName = str

__all__ = [
    "END_CLASS",
    "KINDS",
    "LEGACY_TASKS",
    "MIN_CUTOFFS",
    "NAME_PATTERN",
    "NONE_CLASS",
    "RARE_CLASS",
    "TASKS",
    "CutoffMode",
    "DataDefaults",
    "Eligibility",
    "EventMatch",
    "Funnel",
    "FunnelStep",
    "Kind",
    "Located",
    "Output",
    "Step",
    "TaskConfig",
    "TaskName",
    "TemporalSplit",
    "at_each_event",
    "case_split",
    "check_labels",
    "check_name",
    "check_split",
    "check_vocabulary",
    "every_n_days",
    "fixed_dates",
    "held_out",
    "journey_reason",
    "journey_reasons",
    "labels_and_funnel",
    "legacy_task",
    "make_labels",
    "population_steps",
    "reasons_by_cutoff",
    "task_attributes",
    "task_from_block",
    "temporal_split",
]
