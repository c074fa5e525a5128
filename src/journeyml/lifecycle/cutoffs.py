"""A pipeline's tasks against its data: the tasks resolved and checked, their cutoffs and
labels, and the split. The same code serves a log held in memory (all at once) and a
customer-partitioned dataset (cutoffs and labels one partition at a time, then put together:
each depends on one customer's events only)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError
from journeyml.lifecycle.config import PipelineConfig
from journeyml.tasks import (
    CutoffMode,
    DataDefaults,
    Funnel,
    TaskConfig,
    TemporalSplit,
    at_each_event,
    case_split,
    check_labels,
    check_split,
    check_vocabulary,
    every_n_days,
    fixed_dates,
    labels_and_funnel,
    temporal_split,
)

Progress = Callable[[str], None]


def make_cutoffs(
    config: PipelineConfig,
    events: pd.DataFrame,
    observation_end: pd.Timestamp,
    mode: CutoffMode | None = None,
    *,
    start: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Cutoffs of one mode (None: what ``snapshots.mode`` says): a cutoff after each event
    (``prefix``) or snapshots (``every_n_days``, or ``fixed_dates`` when that is the mode).
    ``start``: the snapshot grid's origin (default: the first event's day of ``events``; a
    partition of a log passes the whole log's)."""
    s = config.snapshots
    if mode == "prefix" or (mode is None and s.mode == "at_each_event"):
        return at_each_event(events, max_prefix=s.max_prefix)
    if s.mode == "fixed_dates":
        return fixed_dates(events, s.dates)
    return every_n_days(events, s.every_days, start=start, end=observation_end)


def split_cutoffs(
    config: PipelineConfig,
    task: TaskConfig,
    mode: CutoffMode,
    events: pd.DataFrame,
    cutoffs: pd.DataFrame,
    eligible: np.ndarray | None = None,
) -> TemporalSplit:
    """Prefix and case-outcome tasks split whole cases by their start (``events``: at least
    each case's first event); snapshot tasks split by time with a gap of at least the horizon
    (``eligible``: the cutoffs the task keeps; only their cases are shared out)."""
    sp = config.split
    if mode == "prefix" or task.horizon_days is None:
        return case_split(
            events,
            cutoffs,
            test_fraction=sp.test_fraction,
            valid_fraction=sp.valid_fraction,
            eligible=eligible,
        )
    return temporal_split(
        cutoffs,
        horizon_days=task.horizon_days,
        test_fraction=sp.test_fraction,
        valid_fraction=sp.valid_fraction,
        gap_days=sp.gap_days,
    )


@dataclass
class TaskData:
    """One task's cutoffs (shared by the tasks of its mode), labels and split."""

    mode: CutoffMode
    labels: pd.DataFrame
    split: TemporalSplit


def resolve_tasks(
    config: PipelineConfig, defaults: DataDefaults, vocabulary: pd.DataFrame
) -> tuple[dict[str, TaskConfig], dict[str, CutoffMode]]:
    """Every task resolved against the data's defaults and checked against its vocabulary
    (``vocabulary``: the events, or any frame with each of their touchpoints, stages and
    attribute values), with the cutoff mode each uses."""
    tasks = config.task_configs(defaults)
    for name, task in tasks.items():
        field_ = f"tasks.{name}"
        check_vocabulary(
            task,
            vocabulary,
            field=field_,
            company_sent_declared=task.company_sent != defaults.company_sent,
        )
        attr = task.outcome.attribute
        if attr is not None and attr in config.features.attributes:
            raise ConfigError(
                f"task {name!r}: the outcome reads attribute {attr!r}, which is also a feature "
                "(features.attributes): the model would see its own label. Remove it from "
                "features.attributes.",
                field=f"{field_}.outcome.attribute",
            )
    modes = {name: t.default_cutoffs(config.snapshots.mode) for name, t in tasks.items()}
    return tasks, modes


def task_labels(
    config: PipelineConfig,
    tasks: Mapping[str, TaskConfig],
    modes: Mapping[str, CutoffMode],
    events: pd.DataFrame,
    observation_end: pd.Timestamp,
    *,
    start: pd.Timestamp | None = None,
) -> tuple[dict[CutoffMode, pd.DataFrame], dict[str, tuple[pd.DataFrame, Funnel]]]:
    """The cutoffs of each mode and each task's labels and funnel, from ``events`` (the log,
    or all the events of some customers: a partition)."""
    cutoff_sets = {
        m: make_cutoffs(config, events, observation_end, m, start=start)
        for m in dict.fromkeys(modes.values())
    }
    out: dict[str, tuple[pd.DataFrame, Funnel]] = {}
    for name, task in tasks.items():
        try:
            out[name] = labels_and_funnel(
                events, cutoff_sets[modes[name]], task, observation_end=observation_end
            )
        except ConfigError as exc:
            exc.field = f"tasks.{name}.{exc.field}" if exc.field else f"tasks.{name}"
            raise
    return cutoff_sets, out


def split_tasks(
    config: PipelineConfig,
    tasks: Mapping[str, TaskConfig],
    modes: Mapping[str, CutoffMode],
    cutoff_sets: Mapping[CutoffMode, pd.DataFrame],
    labelled: Mapping[str, tuple[pd.DataFrame, Funnel]],
    *,
    events: pd.DataFrame,
    say: Progress,
    hints: pd.DataFrame | None = None,
) -> dict[str, TaskData]:
    """Each task's labels checked, split and the split checked (``events``: for the case
    split, at least each case's first event; ``hints``, default ``events``: the events the
    message of a task without labels describes)."""
    prepared: dict[str, TaskData] = {}
    for name, task in tasks.items():
        labels, funnel = labelled[name]
        cut = cutoff_sets[modes[name]]
        check_labels(task, funnel, events if hints is None else hints, field=f"tasks.{name}")
        elig = labels["eligible"].to_numpy(bool)
        split = split_cutoffs(config, task, modes[name], events, cut, elig)
        check_split(task, labels, split, field=f"tasks.{name}")
        say(
            f"{name} ({task.kind}, {modes[name]} cutoffs, split by {split.by}): "
            f"{funnel.eligible:,} of {funnel.total:,} cutoffs eligible"
        )
        prepared[name] = TaskData(modes[name], labels, split)
    return prepared
