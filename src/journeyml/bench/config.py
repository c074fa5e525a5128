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
from journeyml.lifecycle import FeatureConfig, load_yaml_model
from journeyml.tasks import TaskConfig, task_from_block

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
    - ``teinemaa2019`` (outcome-oriented predictive process monitoring, Teinemaa et al. 2019):
      cases ordered by start, the first ``train_fraction`` train; training events at or after
      the first test case's start dropped; prefixes of 1 … min(``max_prefix``, the
      ``positive_length_quantile`` of positive case lengths, rounded up); ROC AUC per prefix
      length, their mean weighted by the prefixes at each length, and pooled.
    """

    #: the protocol (see above): how cases are split and which prefixes are scored
    name: Literal["tax2017", "chronological", "calibration_holdout", "teinemaa2019"]
    #: chronological, teinemaa2019: the share of cases (by start) that train
    train_fraction: float = Field(0.8, gt=0, lt=1)
    #: chronological: the shortest test prefix scored (events)
    min_prefix: int = Field(1, ge=1)
    #: chronological: also score the whole case, with end of case as the truth
    score_end: bool = False
    #: calibration_holdout: the last day (inclusive, YYYY-MM-DD) of the calibration period
    calibration_end: str | None = None
    #: calibration_holdout: the last day (inclusive) of the holdout the label looks at
    holdout_end: str | None = None
    #: calibration_holdout: training snapshots every this many days within calibration
    snapshot_every_days: float = Field(7.0, gt=0)
    #: teinemaa2019: the longest prefix scored (40 in the paper)
    max_prefix: int = Field(40, ge=1)
    #: teinemaa2019: prefixes up to this quantile of the positive cases' lengths (0.9)
    positive_length_quantile: float = Field(0.9, gt=0, le=1)

    @model_validator(mode="after")
    def _dates(self) -> Protocol:
        if self.name == "calibration_holdout" and not (self.calibration_end and self.holdout_end):
            raise ValueError("calibration_holdout needs calibration_end and holdout_end")
        return self


class Published(_Strict):
    """A published figure to print beside ours (documentation only, never used in code)."""

    #: the published model (e.g. "LSTM (Tax et al. 2017)")
    model: str
    #: the metric's name, as in the results (e.g. accuracy)
    metric: str
    #: the published figure
    value: float
    #: where it was published (paper, table)
    source: str
    #: how the published protocol differs from ours, when it does
    protocol: str = ""


class BenchmarkConfig(_Strict):
    """A benchmark: a log, a task, a protocol, and the published figures to compare with."""

    #: the dataset's name (in results and docs/benchmarks.md)
    dataset: str
    #: what the benchmark measures, for people
    description: str = ""
    data: BenchData
    #: next_activity (process logs, protocols tax2017 and chronological), buys_again
    #: (calibration_holdout) or case_outcome (teinemaa2019)
    task: Literal["next_activity", "buys_again", "case_outcome"]
    protocol: Protocol
    #: case_outcome: the task block of a ``case_outcome`` task (docs/tasks.md) without its
    #: kind, e.g. ``{outcome: [Wait], cut_before_outcome: true}``
    case_outcome: dict[str, Any] | None = None
    #: next_activity: predict the touchpoint (activity) or its stage
    target: Literal["touchpoint", "stage"] = "touchpoint"
    #: the features, as in a pipeline config (windows, last k, attributes...)
    features: FeatureConfig = FeatureConfig()
    #: attributes used as features (names from the mapping); the same as
    #: ``features.attributes`` (kept for older configs: give one or the other)
    attributes: tuple[str, ...] = ()
    #: LightGBM parameters over journeyml's defaults
    lightgbm: dict[str, Any] = Field(default_factory=dict)
    #: next_activity: classes with fewer training prefixes are grouped into one class for the
    #: booster (as a next task's min_class_examples, docs/modeling.md); 0: never; default:
    #: min_data_in_leaf when the training prefixes have more than 30 classes
    min_class_examples: int | None = Field(None, ge=0)
    #: the most boosting rounds (early stopping usually stops sooner)
    num_boost_round: int = 2000
    #: stop after this many rounds without improvement
    early_stopping_rounds: int = 50
    #: share of training cases (the latest ones) held out for early stopping
    valid_fraction: float = Field(0.2, gt=0, lt=1)
    #: blend a linear model with the trees where the validation rows prefer it, as
    #: ``journeyml train`` does (binary: in log-odds; next activity: a multinomial one in
    #: per-class raw scores); false: trees only
    blend_linear: bool = True
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
    def _attributes(self) -> BenchmarkConfig:
        if self.attributes and self.features.attributes:
            raise ValueError(
                "give attributes once: either attributes or features.attributes, not both"
            )
        return self

    def feature_config(self) -> FeatureConfig:
        """The features (``attributes`` folded into ``features.attributes``)."""
        if not self.attributes:
            return self.features
        return self.features.model_copy(update={"attributes": self.attributes})

    @model_validator(mode="after")
    def _task_protocol(self) -> BenchmarkConfig:
        wanted = {
            "calibration_holdout": "buys_again",
            "teinemaa2019": "case_outcome",
            "tax2017": "next_activity",
            "chronological": "next_activity",
        }[self.protocol.name]
        if self.task != wanted:
            raise ValueError(
                f"task {self.task!r} does not go with protocol {self.protocol.name!r}: "
                "buys_again needs calibration_holdout; case_outcome teinemaa2019; "
                "next_activity tax2017 or chronological"
            )
        if (self.case_outcome is None) == (self.task == "case_outcome"):
            raise ValueError(
                "case_outcome (the outcome's task block, e.g. {outcome: [Wait]}) goes with "
                "task case_outcome, and only with it"
            )
        if self.case_outcome is not None:
            try:
                self.outcome_task()
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return self

    def outcome_task(self) -> TaskConfig:
        """The ``case_outcome`` task the benchmark predicts (named ``outcome``)."""
        block = {**(self.case_outcome or {}), "kind": "case_outcome"}
        return task_from_block("outcome", block, field="case_outcome")

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
