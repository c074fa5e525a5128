"""Pipeline configs, MLflow runs, the registry and the promotion gate: how models are made,
recorded and promoted."""

from journeyml.lifecycle import catalog, registry, tracking
from journeyml.lifecycle.config import (
    DataConfig,
    FeatureConfig,
    PipelineConfig,
    default_tracking_uri,
    load_pipeline_config,
    load_yaml_model,
)
from journeyml.lifecycle.init_cli import init_command
from journeyml.lifecycle.pipeline import (
    LoadedData,
    PipelineResult,
    load_data,
    run_training,
    score_bundle,
    segment_labels,
)

__all__ = [
    "DataConfig",
    "FeatureConfig",
    "LoadedData",
    "PipelineConfig",
    "PipelineResult",
    "catalog",
    "default_tracking_uri",
    "init_command",
    "load_data",
    "load_pipeline_config",
    "load_yaml_model",
    "registry",
    "run_training",
    "score_bundle",
    "segment_labels",
    "tracking",
]
