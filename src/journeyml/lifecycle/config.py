"""Typed pipeline configs (YAML) that reject unknown keys and name the file they came from.

>>> cfg = PipelineConfig.model_validate({"name": "t", "data": {"simulate": {"customers": 10}},
...     "tasks": {"leaves": {"kind": "lapses", "horizon_days": 30, "churn": ["cancellation"]}}})
>>> cfg.task_configs()["leaves"].horizon_days
30.0
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from journeyml.errors import ConfigError
from journeyml.events import Outcomes, resolve_named_path
from journeyml.tasks import (
    KINDS,
    LEGACY_TASKS,
    DataDefaults,
    Kind,
    TaskConfig,
    check_name,
    task_from_block,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimulateSource(_Strict):
    """Journeys from journeyml's simulator instead of a file (demos and tests)."""

    world: Literal["retail", "b2b", "insurer"] = Field(
        default="retail",
        description="Which simulated business: retail (a B2C shop), b2b (software trials with "
        "company-sent touchpoints and churn only after a contract) or insurer (policyholders "
        "who rarely act, renewal batches and campaign e-mails).",
    )
    customers: int = Field(default=2000, gt=0, description="Number of simulated customers.")
    seed: int = Field(default=0, description="Random seed: the same seed gives the same journeys.")
    days: int = Field(default=180, gt=7, description="Length of the simulated period in days.")
    start: str = Field(default="2024-01-01", description="First simulated day (UTC).")


class DataConfig(_Strict):
    """Where the events come from: a log file (``path``, with its ``mapping``) or the
    simulator (``simulate``), exactly one of them."""

    simulate: SimulateSource | None = Field(
        default=None, description="Simulate the journeys (see `data.simulate`)."
    )
    path: str | None = Field(
        default=None,
        description="The event log (csv[.gz], txt[.gz], parquet, jsonl, xes[.gz]), or a folder of "
        "canonical events partitioned by customer (written by `journeyml.events.repartition` or "
        "`PartitionWriter`: training then reads one partition at a time, and `mapping` only "
        "gives the tasks' defaults); a relative path resolves against this config file's folder.",
    )
    mapping: str | None = Field(
        default=None,
        description="How to read the log: a mapping YAML file (relative to this config file's "
        "folder), a built-in mapping name, or canonical. Left out: the file has the canonical "
        "columns (customer_id, timestamp, touchpoint, optional channel, stage, value).",
    )
    policy: Literal["strict", "lenient"] = Field(
        default="lenient",
        description="lenient: rows that break a validation rule are left out; strict: any such "
        "row stops training (see `journeyml validate`).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if (self.simulate is None) == (self.path is None):
            raise ValueError("give exactly one of data.simulate or data.path")
        if self.simulate is not None and self.mapping is not None:
            raise ValueError("data.mapping goes with data.path, not with data.simulate")
        return self


class FeatureConfig(_Strict):
    """What the features describe (the same for every task of the pipeline)."""

    #: counts per touchpoint, channel and stage over the last N days, one set per window
    windows_days: tuple[float, ...] = (1, 7, 30, 90)
    #: the last k touchpoints and stages before the moment of prediction
    last_k: int = 3
    #: a gap longer than this starts a new session
    session_gap_minutes: float = 30.0
    #: the most frequent stage/touchpoint transitions counted
    top_n_transitions: int = 20
    #: touchpoints beyond the most frequent N are grouped as "other" (so are stages beyond the
    #: N most frequent, unless they are the five canonical funnel stages)
    max_touchpoints: int = 60
    #: event or customer attributes whose latest value before the moment of prediction is a
    #: feature (names from the mapping's event_attributes / customer_attributes)
    attributes: tuple[str, ...] = ()


class SnapshotConfig(_Strict):
    """The moments of prediction learnt from (cutoffs): snapshots of every customer every N
    days, at fixed dates, or after each event (prefixes of process cases). ``mode`` serves the
    tasks with snapshot cutoffs (and makes every task a prefix task when it is
    ``at_each_event``); prefix tasks (case_outcome, or ``cutoffs: prefix``) get a cutoff after
    each event, up to ``max_prefix`` events."""

    #: every_n_days: each customer seen by then, every N days; fixed_dates: at the given
    #: dates; at_each_event: after each event (every task gets prefix cutoffs)
    mode: Literal["every_n_days", "at_each_event", "fixed_dates"] = "every_n_days"
    #: every_n_days: the days between snapshots
    every_days: float = 7.0
    #: fixed_dates: the dates (UTC)
    dates: tuple[str, ...] = ()
    #: prefix cutoffs: the longest prefix learnt from (events); None: every prefix
    max_prefix: int | None = Field(default=None, gt=0)


class SplitConfig(_Strict):
    """The temporal split: train | gap | validation | gap | test, the gap at least the
    horizon, so no outcome seen in training overlaps the periods it is judged on."""

    #: share of the snapshot dates, the latest, that are the test window
    test_fraction: float = 0.2
    #: share of the dates before the test window (the latest) that validate (early stopping)
    valid_fraction: float = 0.2
    #: days between the windows (default and minimum: the longest horizon)
    gap_days: float | None = None


class TaskEntry(_Strict):
    """A task block (docs/tasks.md): inline keys override those of the ``defaults`` file.
    The keys' values are checked by :func:`journeyml.tasks.task_from_block`."""

    #: the kind of question (docs/tasks.md); a conversion, churn or
    #: next_stage block without kind is read as before task kinds
    kind: Kind | None = None
    #: the quantity explanations say a cause moves ("churn risk"); next: {class} is the class
    description: str | None = None
    #: occurs, lapses, next on snapshots: the window after as_of the label looks at (days)
    horizon_days: float | None = None
    #: occurs / case_outcome: the events predicted: a list of touchpoints, {touchpoints,
    #: stages} or {attribute, values}; default: the mapping's outcomes.conversion_touchpoints
    outcome: Any = None
    #: lapses: explicit churn events; default: the mapping's outcomes.churn_touchpoints
    churn: Any = None
    #: lapses: no activity for the whole horizon also counts as lapsing (default true)
    inactivity: bool | None = None
    #: what counts as the customer's activity: initiated (default: all but company_sent),
    #: any, or a list / {touchpoints, stages}
    activity: Any = None
    #: touchpoints the company sends (not activity); default: the mapping's company_sent
    company_sent: tuple[str, ...] | None = None
    #: who is asked: any, or {not_yet, has_done, active_within_days, min_events} over the
    #: kind's default (lapses: not yet churned, active within the horizon)
    eligibility: Any = None
    #: next: predict the next stage or the next touchpoint
    target: Literal["stage", "touchpoint"] | None = None
    #: next on snapshots: label "end" when the case has no later event (process logs)
    end_of_case: bool | None = None
    #: next: classes with fewer training examples are grouped into one class, "other" (a rare
    #: touchpoint); 0: never; default: LightGBM's min_data_in_leaf (40) when the training
    #: window has more than 30 classes (docs/modeling.md)
    min_class_examples: int | None = Field(default=None, ge=0)
    #: case_outcome: prefixes end before the first outcome event (the honest variant)
    cut_before_outcome: bool | None = None
    #: case_outcome on open-ended journeys: a case is over once quiet this many days
    complete_after_days: float | None = None
    #: prefix or snapshot; default: prefix for case_outcome or snapshots.mode at_each_event
    cutoffs: Literal["prefix", "snapshot"] | None = None
    defaults: str | None = None  # a models/<task>.yaml file, relative to the config file
    #: before task kinds (conversion tasks): the conversion touchpoints; now outcome
    conversion_touchpoints: tuple[str, ...] | None = None
    #: before task kinds (churn tasks): the churn touchpoints; now churn
    churn_touchpoints: tuple[str, ...] | None = None


class PromotionConfig(_Strict):
    """The gate a newly trained model (challenger) passes to become the champion: it must
    beat the current champion of the same project and task on the same test window, and not
    be worse than the best baseline of its task on that window (docs/projects.md)."""

    margin: float = Field(
        default=0.0,
        description="The challenger must beat the champion's `metric` on the same test window "
        "by more than this.",
    )
    metric: Literal["log_loss", "roc_auc", "accuracy", "brier"] = Field(
        default="log_loss",
        description="The metric challenger and champion are compared on (a binary task "
        "compares log loss instead of accuracy; a multiclass task instead of roc_auc / brier).",
    )
    beat_baselines: bool = Field(
        default=True,
        description="Refuse a challenger worse than the best baseline of its task (prior, "
        "logistic regression, Markov successor) on the test window, even with no champion yet.",
    )
    baseline_margin: float = Field(
        default=0.0,
        ge=0.0,
        description="How far the challenger may trail the best baseline (in the metric's "
        "units) and still be promoted.",
    )
    baseline_metrics: (
        tuple[Literal["roc_auc", "pr_auc", "log_loss", "brier", "accuracy", "macro_f1"], ...] | None
    ) = Field(
        default=None,
        description="The metrics held against the baselines (those a task's output has); "
        "default: roc_auc (binary) or accuracy (multiclass), and the gate metric.",
    )


class EngineConfig(_Strict):
    """Where features are computed: on this machine (default) or on a Dask cluster."""

    kind: Literal["local", "dask"] = Field(
        default="local",
        description="local: one process, chunks of whole customers. dask: features per "
        "partition of customers on a Dask cluster (the same feature code); needs the dask "
        "extra (pip install 'journeyml[dask]'). See docs/scale.md.",
    )
    scheduler: str | None = Field(
        default=None,
        description="Address of a running Dask scheduler (tcp://host:8786). Empty: a "
        "LocalCluster of n_workers processes on this machine.",
    )
    n_workers: int = Field(
        default=2, ge=1, description="Worker processes of the LocalCluster (no scheduler)."
    )
    partitions: int = Field(
        default=8,
        ge=1,
        description="Partitions of customers (by a hash of the id): the units of work; a few "
        "per worker core.",
    )
    workdir: str | None = Field(
        default=None,
        description="Folder for the partitioned events, readable by every worker at the same "
        "path (shared storage for a remote cluster). Default: a temporary folder on this "
        "machine, which only a LocalCluster can read.",
    )


class PipelineConfig(_Strict):
    """A training pipeline: data, features, cutoffs, split, tasks, model settings.

    >>> from journeyml import PipelineConfig
    >>> config = PipelineConfig.model_validate({
    ...     "name": "my-shop",
    ...     "data": {"path": "events.parquet"},
    ...     "tasks": {"churn": {"kind": "lapses", "horizon_days": 30}}})
    >>> config.project_name, list(config.task_configs())
    ('my_shop', ['churn'])
    """

    #: the pipeline's name (runs are named after it; the experiment is journeyml-<name>)
    name: str
    project: str | None = Field(
        default=None,
        description="The project the models belong to: registered models are named "
        "journeyml-<project>-<task>, so projects share one MLflow store without touching each "
        "other. Lowercase letters, digits and '_'. Default: the name (with '-' read as '_').",
    )
    data: DataConfig
    features: FeatureConfig = FeatureConfig()
    snapshots: SnapshotConfig = SnapshotConfig()
    split: SplitConfig = SplitConfig()
    tasks: dict[str, TaskEntry]
    #: LightGBM parameters over journeyml's defaults (num_leaves, learning_rate...)
    lightgbm: dict[str, Any] = Field(default_factory=dict)
    #: the most boosting rounds; early stopping on the validation window usually stops sooner
    num_boost_round: int = 1000
    #: stop after this many rounds without improvement on the validation window
    early_stopping_rounds: int = 50
    #: random seed of the models
    seed: int = 0
    promotion: PromotionConfig = PromotionConfig()
    engine: EngineConfig = Field(
        default_factory=EngineConfig,
        description="Where features are computed: this machine or a Dask cluster.",
    )
    #: the MLflow experiment (default: journeyml-<name>)
    experiment: str | None = None
    #: an attribute whose latest value splits the test metrics by segment / persona; default:
    #: "segment" when it is among features.attributes
    segment_attribute: str | None = None
    #: the file the config was read from (logged with every training run), None when built in code
    _source_file: str | None = PrivateAttr(default=None)
    base_dir: str = Field(
        default=".",
        description="The folder relative paths in this config resolve against; set by the "
        "loader to the config file's own folder (leave it out).",
    )

    @model_validator(mode="after")
    def _segment_is_a_feature(self) -> PipelineConfig:
        seg = self.segment_attribute
        if seg is not None and seg not in self.features.attributes:
            raise ValueError(
                f"segment_attribute {seg!r} must also be listed in features.attributes"
            )
        return self

    @model_validator(mode="after")
    def _task_names_and_kinds(self) -> PipelineConfig:
        if not self.tasks:
            raise ValueError("expected at least one task under tasks:, got none")
        for name, entry in self.tasks.items():
            try:
                check_name(name, field=f"tasks.{name}")
            except ConfigError as exc:
                raise ValueError(exc.message) from None
            if entry.kind is None and entry.defaults is None and name not in LEGACY_TASKS:
                raise ValueError(
                    f"task {name!r} has no kind: give kind (one of {list(KINDS)}) or "
                    "defaults: <a models/*.yaml file>. See docs/tasks.md."
                )
        return self

    @field_validator("project")
    @classmethod
    def _project_name(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                check_name(v, what="project", field="project")
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return v

    @model_validator(mode="after")
    def _project_is_a_registry_name(self) -> PipelineConfig:
        if self.project is not None:
            return self
        derived = self.name.replace("-", "_")
        try:
            check_name(derived, what="project", field="project")
        except ConfigError as exc:
            raise ValueError(
                f"the project defaults to the name {self.name!r}, which is not a valid project "
                f"name: {exc.message} Or set project: explicitly."
            ) from None
        return self

    @property
    def project_name(self) -> str:
        """The project: ``project``, else the name with '-' read as '_'."""
        return self.project or self.name.replace("-", "_")

    @property
    def segment_column(self) -> str | None:
        if self.segment_attribute is not None:
            return self.segment_attribute
        return "segment" if "segment" in self.features.attributes else None

    @property
    def experiment_name(self) -> str:
        return self.experiment or f"journeyml-{self.name}"

    def task_blocks(self) -> dict[str, dict[str, Any]]:
        """Each task's block as written: its ``defaults`` file, then the inline keys."""
        out: dict[str, dict[str, Any]] = {}
        for name, entry in self.tasks.items():
            merged: dict[str, Any] = {}
            if entry.defaults:
                key = f"tasks.{name}.defaults"
                merged.update(
                    _read_yaml(resolve_named_path(entry.defaults, base=self.base_dir, key=key))
                )
            merged.update(
                {k: v for k, v in entry.model_dump(exclude_unset=True).items() if k != "defaults"}
            )
            out[name] = merged
        return out

    def task_configs(
        self, defaults: DataDefaults | None = None, *, outcomes: Outcomes | None = None
    ) -> dict[str, TaskConfig]:
        """Every task, with the data's defaults (outcome touchpoints, company-sent
        touchpoints) where the block leaves them out; errors name the key. ``outcomes``: a
        mapping's ``outcomes:`` section, when that is all there is to go by."""
        if defaults is None and outcomes is not None:
            defaults = DataDefaults.from_outcomes(outcomes, source="the mapping's outcomes")
        return {
            name: task_from_block(name, block, defaults, field=f"tasks.{name}")
            for name, block in self.task_blocks().items()
        }


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(
            f"expected a config file at {path}, found none.", field=str(path)
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", field=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


M = TypeVar("M", bound=BaseModel)


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    """Read a YAML config into ``model`` (relative paths in it resolve against the file's
    folder, ``base_dir``); errors name the file and the offending key."""
    p = Path(path)
    data = _read_yaml(p)
    data.setdefault("base_dir", str(p.parent.resolve()))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{p}: {loc}: {first['msg']}", field=loc) from exc


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline config; errors name the file and the offending key.

    >>> import pathlib, tempfile
    >>> from journeyml import load_pipeline_config
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pipeline.yaml"
    >>> _ = path.write_text("name: shop\\ndata: {path: events.parquet}\\n"
    ...                     "tasks:\\n  churn: {kind: lapses, horizon_days: 30}\\n")
    >>> config = load_pipeline_config(path)
    >>> config.name, config.data.path
    ('shop', 'events.parquet')
    """
    config = load_yaml_model(path, PipelineConfig)
    config._source_file = str(Path(path).resolve())
    return config


def default_tracking_uri(root: Path | None = None) -> str:
    """``JOURNEYML_TRACKING_URI`` if set, else the embedded SQLite store under ``mlflow/``.
    Read only at entry points (CLI, service start-up).

    >>> import os, pathlib, tempfile
    >>> from unittest import mock
    >>> from journeyml import default_tracking_uri
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with mock.patch.dict(os.environ, {"JOURNEYML_TRACKING_URI": ""}):
    ...     default_tracking_uri(root) == f"sqlite:///{root.resolve()}/mlflow/mlflow.db"
    True
    >>> with mock.patch.dict(os.environ, {"JOURNEYML_TRACKING_URI": "http://mlflow:5000"}):
    ...     default_tracking_uri(root)
    'http://mlflow:5000'
    """
    env = os.environ.get("JOURNEYML_TRACKING_URI")
    if env:
        return env
    base = (root or Path.cwd()) / "mlflow"
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(base / 'mlflow.db').resolve()}"
