"""Benchmark configs (``pipelines/benchmarks/*.yaml``): a log and its mapping, a task and a
protocol. Any other log in the same format runs by copying a config and changing ``path``.

``path`` is absolute, relative to the config file, or ``shared:<rel>`` for the shared folder of
real logs (``$JOURNEYML_SHARED_DATA`` or ``../shared/data``).

>>> cfg = BenchmarkConfig.model_validate({"dataset": "d", "data": {"path": "x.csv",
...     "mapping": "helpdesk"}, "task": "next_activity", "protocol": {"name": "tax2017"}})
>>> cfg.protocol.name, cfg.protocol.train_fraction
('tax2017', 0.8)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from journeyml.errors import ConfigError
from journeyml.events import resolve_mapping_ref, resolve_named_path, shared_data_dir
from journeyml.lifecycle import load_yaml_model

SHARED_PREFIX = "shared:"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BenchData(_Strict):
    """The log a benchmark runs on."""

    #: the log: a path (relative to the config file's folder) or shared:<path in the shared
    #: data folder>
    path: str
    #: a mapping file (relative to the config file's folder), a built-in name or canonical
    mapping: str


class Protocol(_Strict):
    """How cases or customers are split and what is scored.

    - ``tax2017``: file order; the first 2·round((N+1)/3) cases train (all prefixes, end of
      case a class); test prefixes k = 2 … n−1 scored against activity k+1 (fixed rules).
    - ``chronological``: cases ordered by start; the first ``train_fraction`` train; training
      events at or after the first test case's start dropped; test prefixes
      k = ``min_prefix`` … n−1 scored (``score_end`` adds k = n with end of case as the truth).
    - ``calibration_holdout``: purchases up to ``calibration_end`` (inclusive day) describe the
      customer; the label is any purchase in the holdout up to ``holdout_end`` (inclusive).
    """

    name: Literal["tax2017", "chronological", "calibration_holdout"]
    train_fraction: float = Field(0.8, gt=0, lt=1)
    min_prefix: int = Field(1, ge=1)
    score_end: bool = False
    calibration_end: str | None = None
    holdout_end: str | None = None
    snapshot_every_days: float = Field(7.0, gt=0)

    @model_validator(mode="after")
    def _dates(self) -> Protocol:
        if self.name == "calibration_holdout" and not (self.calibration_end and self.holdout_end):
            raise ValueError("calibration_holdout needs calibration_end and holdout_end")
        return self


class Published(_Strict):
    """A published figure to print beside ours (documentation only, never used in code)."""

    model: str
    metric: str
    value: float
    source: str
    protocol: str = ""


class BenchmarkConfig(_Strict):
    """A benchmark: a log, a task, a protocol, and the published figures to compare with."""

    #: the dataset's name (in results and docs/benchmarks.md)
    dataset: str
    #: what the benchmark measures, for people
    description: str = ""
    data: BenchData
    #: next_activity (process logs, protocols tax2017 and chronological) or buys_again
    #: (calibration_holdout)
    task: Literal["next_activity", "buys_again"]
    protocol: Protocol
    #: next_activity: predict the touchpoint (activity) or its stage
    target: Literal["touchpoint", "stage"] = "touchpoint"
    #: attributes used as features (names from the mapping)
    attributes: tuple[str, ...] = ()
    #: LightGBM parameters over journeyml's defaults
    lightgbm: dict[str, Any] = Field(default_factory=dict)
    #: the most boosting rounds (early stopping usually stops sooner)
    num_boost_round: int = 2000
    #: stop after this many rounds without improvement
    early_stopping_rounds: int = 50
    #: share of training cases (the latest ones) held out for early stopping
    valid_fraction: float = Field(0.2, gt=0, lt=1)
    #: random seed of the models
    seed: int = 0
    #: published figures printed beside ours (documentation only)
    published: tuple[Published, ...] = ()
    base_dir: str = Field(
        default=".",
        description="The folder relative paths in this config resolve against; set by the "
        "loader to the config file's own folder (leave it out).",
    )

    @model_validator(mode="after")
    def _task_protocol(self) -> BenchmarkConfig:
        holdout = self.protocol.name == "calibration_holdout"
        if holdout != (self.task == "buys_again"):
            raise ValueError(
                f"task {self.task!r} does not go with protocol {self.protocol.name!r}: "
                "buys_again needs calibration_holdout; next_activity tax2017 or chronological"
            )
        return self

    def resolved_path(self) -> Path:
        p = self.data.path
        if p.startswith(SHARED_PREFIX):
            root = shared_data_dir(self.base_dir) or shared_data_dir()
            if root is None:
                raise ConfigError(
                    f"expected the shared data folder for {p!r}, found none. Set "
                    "JOURNEYML_SHARED_DATA or give data.path as a file path.",
                    field="data.path",
                )
            return root / p[len(SHARED_PREFIX) :]
        return resolve_named_path(p, base=self.base_dir, key="data.path")

    def resolved_mapping(self) -> str | Path | None:
        """The mapping file (relative to the config's folder), built-in name, or ``None`` for
        canonical columns."""
        return resolve_mapping_ref(self.data.mapping, base=self.base_dir, key="data.mapping")


def load_benchmark_config(path: str | Path) -> BenchmarkConfig:
    """Read and validate a benchmark config; errors name the file and the offending key."""
    return load_yaml_model(path, BenchmarkConfig)
