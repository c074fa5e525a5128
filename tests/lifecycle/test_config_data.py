"""Pipeline configs: data.path without a mapping, paths relative to the config file, and the
mapping's outcomes as the defaults of tasks that name none."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from journeyml.errors import ConfigError
from journeyml.events import Outcomes
from journeyml.lifecycle import PipelineConfig, load_data, load_pipeline_config

CSV = "customer_id,timestamp,touchpoint\na,2024-01-01,visit\na,2024-01-05,buy\nb,2024-01-02,visit\n"


def project(tmp_path: Path, config: str) -> Path:
    """A project folder: data/log.csv, maps/log.yaml, models/conv.yaml, pipelines/p.yaml."""
    for folder in ("data", "maps", "models", "pipelines"):
        (tmp_path / folder).mkdir()
    (tmp_path / "data" / "log.csv").write_text(CSV)
    (tmp_path / "maps" / "log.yaml").write_text(
        "columns: {customer_id: customer_id, timestamp: timestamp, touchpoint: touchpoint}\n"
        "outcomes: {conversion_touchpoints: [buy], churn_touchpoints: []}\n"
    )
    (tmp_path / "models" / "conv.yaml").write_text("horizon_days: 3\n")
    path = tmp_path / "pipelines" / "p.yaml"
    path.write_text(config)
    return path


def test_data_path_without_mapping_reads_canonical_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = project(tmp_path, "name: p\ndata: {path: ../data/log.csv}\ntasks: {churn: {}}\n")
    monkeypatch.chdir(tmp_path / "data")  # the working directory does not matter
    data = load_data(load_pipeline_config(cfg))
    assert len(data.events) == 3
    assert (data.defaults.conversion, data.defaults.churn, data.defaults.company_sent) == (
        None,
        None,
        (),
    )


def test_paths_resolve_against_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = project(
        tmp_path,
        "name: p\ndata: {path: ../data/log.csv, mapping: ../maps/log.yaml}\n"
        "tasks: {conversion: {defaults: ../models/conv.yaml}}\n",
    )
    monkeypatch.chdir(tmp_path / "maps")
    config = load_pipeline_config(cfg)
    data = load_data(config)
    tasks = config.task_configs(data.defaults)
    assert tasks["conversion"].horizon_days == 3.0
    assert tasks["conversion"].outcome.touchpoints == ("buy",)  # from the mapping's outcomes


@pytest.mark.parametrize(
    ("config", "key", "looked"),
    [
        ("data: {path: ../data/nope.csv}\ntasks: {churn: {}}", "data.path", "data/nope.csv"),
        (
            "data: {path: ../data/log.csv, mapping: ../maps/nope.yaml}\ntasks: {churn: {}}",
            "data.mapping",
            "maps/nope.yaml",
        ),
        (
            "data: {path: ../data/log.csv}\ntasks: {churn: {defaults: ../models/nope.yaml}}",
            "tasks.churn.defaults",
            "models/nope.yaml",
        ),
    ],
)
def test_a_missing_file_names_its_key_and_where_it_was_looked_for(
    tmp_path: Path, config: str, key: str, looked: str
) -> None:
    cfg = project(tmp_path, f"name: p\n{config}\n")
    config_model = load_pipeline_config(cfg)
    with pytest.raises(ConfigError) as info:
        data = load_data(config_model)
        config_model.task_configs(data.defaults)
    assert key in info.value.message and info.value.field == key
    assert str(tmp_path / "pipelines" / ".." / looked) in info.value.message


def test_mapping_outcomes_fill_only_what_a_task_leaves_out() -> None:
    cfg = PipelineConfig.model_validate(
        {
            "name": "t",
            "data": {"simulate": {"customers": 10}},
            "tasks": {
                "conversion": {"horizon_days": 7},
                "churn": {"churn_touchpoints": ["close_account"]},
            },
        }
    )
    outcomes = Outcomes(conversion_touchpoints=["Resolve ticket"], churn_touchpoints=["cancel"])
    tasks = cfg.task_configs(outcomes=outcomes)
    assert tasks["conversion"].outcome.touchpoints == ("Resolve ticket",)
    assert tasks["churn"].churn.touchpoints == ("close_account",)  # the task's own wins
    plain = cfg.task_configs()
    assert plain["conversion"].outcome.touchpoints == ("purchase",)  # built-in default
    none = cfg.task_configs(outcomes=Outcomes(churn_touchpoints=[]))
    assert none["conversion"].outcome.touchpoints == ("purchase",)  # not said: default
    assert none["churn"].churn.touchpoints == ("close_account",)
    inactivity_only = PipelineConfig.model_validate(
        {
            "name": "t",
            "data": {"simulate": {}},
            "tasks": {"churn": {}, "leaves": {"kind": "lapses", "horizon_days": 9}},
        }
    ).task_configs(outcomes=Outcomes(churn_touchpoints=[]))
    assert inactivity_only["churn"].churn.touchpoints == ()  # []: churn is inactivity only
    assert inactivity_only["leaves"].churn.touchpoints == ()


def test_a_mapping_with_simulated_data_is_refused() -> None:
    with pytest.raises(ValueError, match=r"data\.mapping goes with data\.path"):
        PipelineConfig.model_validate(
            {"name": "t", "data": {"simulate": {}, "mapping": "x.yaml"}, "tasks": {"churn": {}}}
        )


def test_outcomes_reach_training_labels(tmp_path: Path) -> None:
    """A helpdesk-like log whose conversion is 'resolved': no task names it, the mapping does."""
    cfg = project(
        tmp_path,
        "name: p\ndata: {path: ../data/log.csv, mapping: ../maps/log.yaml}\n"
        "tasks: {conversion: {horizon_days: 7}}\n",
    )
    config = load_pipeline_config(cfg)
    data = load_data(config)
    task = config.task_configs(data.defaults)["conversion"]
    from journeyml.tasks import make_labels

    cut = pd.DataFrame({"customer_id": ["a"], "as_of": [pd.Timestamp("2024-01-02", tz="UTC")]})
    labels = make_labels(
        data.events, cut, task, observation_end=pd.Timestamp("2024-02-01", tz="UTC")
    )
    assert labels["label"].tolist() == [1]  # 'buy' on 01-05 is a conversion, via outcomes
