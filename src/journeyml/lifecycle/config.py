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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from journeyml.errors import ConfigError
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
    customers: int = Field(2000, gt=0)
    seed: int = 0
    days: int = Field(180, gt=7)
    start: str = "2024-01-01"


class DataConfig(_Strict):
    simulate: SimulateSource | None = None
    path: str | None = None
    mapping: str | None = None
    policy: Literal["strict", "lenient"] = "lenient"

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if (self.simulate is None) == (self.path is None):
            raise ValueError("give exactly one of data.simulate or data.path")
        if self.path is not None and self.mapping is None:
            raise ValueError("data.path needs data.mapping (a mapping file or a built-in name)")
        return self


class FeatureConfig(_Strict):
    windows_days: tuple[float, ...] = (1, 7, 30, 90)
    last_k: int = 3
    session_gap_minutes: float = 30.0
    top_n_transitions: int = 20
    max_touchpoints: int = 60
    attributes: tuple[str, ...] = ()


class SnapshotConfig(_Strict):
    """How cutoffs are sampled. ``mode`` serves the tasks with snapshot cutoffs (and makes
    every task a prefix task when it is ``at_each_event``); prefix tasks (case_outcome, or
    ``cutoffs: prefix``) get a cutoff after each event, up to ``max_prefix`` events."""

    mode: Literal["every_n_days", "at_each_event", "fixed_dates"] = "every_n_days"
    every_days: float = 7.0
    dates: tuple[str, ...] = ()
    max_prefix: int | None = Field(default=None, gt=0)


class SplitConfig(_Strict):
    test_fraction: float = 0.2
    valid_fraction: float = 0.2
    gap_days: float | None = None


class TaskEntry(_Strict):
    """A task block (docs/tasks.md): inline keys override those of the ``defaults`` file.
    The keys' values are checked by :func:`journeyml.tasks.task_from_block`."""

    kind: Kind | None = None
    description: str | None = None
    horizon_days: float | None = None
    outcome: Any = None
    churn: Any = None
    inactivity: bool | None = None
    activity: Any = None
    company_sent: tuple[str, ...] | None = None
    eligibility: Any = None
    target: Literal["stage", "touchpoint"] | None = None
    end_of_case: bool | None = None
    cut_before_outcome: bool | None = None
    complete_after_days: float | None = None
    cutoffs: Literal["prefix", "snapshot"] | None = None
    defaults: str | None = None  # a models/<task>.yaml file, relative to the config file
    #: the keys of journeyml before task kinds (conversion / churn tasks)
    conversion_touchpoints: tuple[str, ...] | None = None
    churn_touchpoints: tuple[str, ...] | None = None


class PromotionConfig(_Strict):
    #: the challenger must beat the champion's log loss on the same test window by this much
    margin: float = 0.0
    metric: Literal["log_loss", "roc_auc", "accuracy", "brier"] = "log_loss"


class PipelineConfig(_Strict):
    name: str
    data: DataConfig
    features: FeatureConfig = FeatureConfig()
    snapshots: SnapshotConfig = SnapshotConfig()
    split: SplitConfig = SplitConfig()
    tasks: dict[str, TaskEntry]
    lightgbm: dict[str, Any] = Field(default_factory=dict)
    num_boost_round: int = 1000
    early_stopping_rounds: int = 50
    seed: int = 0
    promotion: PromotionConfig = PromotionConfig()
    experiment: str | None = None
    #: an attribute whose latest value splits the test metrics by segment / persona; default:
    #: "segment" when it is among features.attributes
    segment_attribute: str | None = None
    base_dir: str = "."

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
                merged.update(_read_yaml(Path(self.base_dir) / entry.defaults))
            merged.update(
                {k: v for k, v in entry.model_dump(exclude_unset=True).items() if k != "defaults"}
            )
            out[name] = merged
        return out

    def task_configs(self, defaults: DataDefaults | None = None) -> dict[str, TaskConfig]:
        """Every task, with the data's defaults (outcome touchpoints, company-sent
        touchpoints) where the block leaves them out; errors name the key."""
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
    """Read and validate a pipeline config; errors name the file and the offending key."""
    return load_yaml_model(path, PipelineConfig)


def default_tracking_uri(root: Path | None = None) -> str:
    """``JOURNEYML_TRACKING_URI`` if set, else the embedded SQLite store under ``mlflow/``.
    Read only at entry points (CLI, service start-up)."""
    env = os.environ.get("JOURNEYML_TRACKING_URI")
    if env:
        return env
    base = (root or Path.cwd()) / "mlflow"
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(base / 'mlflow.db').resolve()}"
