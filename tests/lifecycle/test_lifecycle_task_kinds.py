"""The training pipeline serves every task kind: one config with an occurs, a lapses, a
case_outcome and a next task on the simulator (snapshot and prefix cutoffs in one run, one
feature spec), served and explained by name; and a case outcome on a real process log."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from journeyml.errors import ConfigError, NoLabelsError
from journeyml.lifecycle import PipelineConfig, load_pipeline_config, run_training
from journeyml.scoring import Predictor
from journeyml.serving import PredictRequest, handle_predict

pytestmark = pytest.mark.integration

MODELS = Path(__file__).resolve().parents[2] / "models"
KINDS_PIPELINE: dict[str, Any] = {
    "name": "kinds",
    "data": {"simulate": {"customers": 600, "seed": 3, "days": 180}},
    "features": {"windows_days": [7, 30]},
    "snapshots": {"mode": "every_n_days", "every_days": 7, "max_prefix": 25},
    "tasks": {
        "conversion": {"defaults": "conversion.yaml"},
        "buyers_lapse": {"defaults": "churn_after_purchase.yaml", "horizon_days": 14},
        "reaches_purchase": {
            "kind": "case_outcome",
            "outcome": ["purchase"],
            "cut_before_outcome": True,
            "complete_after_days": 30,
            "description": "the chance of a first purchase",
        },
        "next_stage": {"defaults": "next_stage.yaml"},
    },
    "num_boost_round": 25,
    "early_stopping_rounds": 5,
    "lightgbm": {"num_threads": 1},
    "base_dir": str(MODELS),
}


@pytest.fixture(scope="module")
def kinds_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    uri = f"sqlite:///{tmp_path_factory.mktemp('kinds') / 'mlflow.db'}"
    said: list[str] = []
    res = run_training(
        PipelineConfig.model_validate(KINDS_PIPELINE), tracking_uri=uri, progress=said.append
    )
    return uri, res, said


def test_one_config_trains_all_four_kinds(kinds_run) -> None:  # type: ignore[no-untyped-def]
    _, res, said = kinds_run
    kinds = {name: r.bundle.task.kind for name, r in res.results.items()}
    assert kinds == {
        "conversion": "occurs",
        "buyers_lapse": "lapses",
        "reaches_purchase": "case_outcome",
        "next_stage": "next",
    }
    assert res.results["next_stage"].bundle.kind == "multiclass"
    for name in ("conversion", "buyers_lapse", "reaches_purchase"):
        r = res.results[name]
        assert r.bundle.kind == "binary" and r.counts["test"] > 0
        assert 0.5 < r.metrics["roc_auc"] <= 1.0, name
    # snapshot tasks split by time; the prefix task by case start, one spec for all
    assert any(
        "reaches_purchase (case_outcome, prefix cutoffs, split by case_start)" in s for s in said
    )
    assert any("conversion (occurs, snapshot cutoffs, split by time)" in s for s in said)
    assert len({r.bundle.spec.fingerprint for r in res.results.values()}) == 1
    assert res.results["buyers_lapse"].bundle.task.rules.has_done.touchpoints == ("purchase",)


def test_every_kind_is_served_and_explained_by_name(kinds_run) -> None:  # type: ignore[no-untyped-def]
    uri, res, _ = kinds_run
    # the challengers: every kind's newest model, whether or not the gate made it champion
    # (25 boosting rounds on 600 customers can trail a baseline)
    predictor = Predictor.from_registry(uri, tasks=list(res.results), alias="challenger")
    assert set(predictor.tasks) == set(res.results)
    body = {
        "customer_id": "c",
        "as_of": "2024-03-01T00:00:00Z",
        "events": [
            {
                "timestamp": "2024-02-01T10:00:00Z",
                "touchpoint": "site_visit",
                "stage": "consideration",
            },
            {"timestamp": "2024-02-03T10:00:00Z", "touchpoint": "purchase", "stage": "conversion"},
            {"timestamp": "2024-02-20T10:00:00Z", "touchpoint": "login", "stage": "retention"},
        ],
    }
    out = handle_predict(predictor, PredictRequest.model_validate(body))
    assert set(out["model_versions"]) == set(res.results)
    sentence = out["reaches_purchase"]["root_causes"][0]["sentence"]
    assert "the chance of a first purchase" in sentence
    assert "churn risk" not in out["buyers_lapse"]["root_causes"][0]["sentence"]
    warned = {w["field"]: w["message"] for w in out["warnings"] if w["code"] == "not_eligible"}
    # bought already: outside conversion and (cut before the outcome) reaches_purchase
    assert set(warned) == {"conversion", "reaches_purchase"}
    assert "the case already reached purchase (2024-02-03)" in warned["reaches_purchase"]


def test_bad_task_definitions_fail_before_training(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    bad = dict(
        KINDS_PIPELINE,
        tasks={"conversion": {"kind": "occurs", "horizon_days": 7, "outcome": ["purchse"]}},
    )
    with pytest.raises(ConfigError, match="did you mean 'purchase'") as e:
        run_training(PipelineConfig.model_validate(bad), tracking_uri=uri)
    assert e.value.field == "tasks.conversion.outcome"
    never = dict(
        KINDS_PIPELINE,
        tasks={
            "t": {
                "kind": "occurs",
                "horizon_days": 7,
                "outcome": ["purchase"],
                "eligibility": {"min_events": 10000},
            }
        },
    )
    with pytest.raises(NoLabelsError, match=r"Lower eligibility\.min_events") as e2:
        run_training(PipelineConfig.model_validate(never), tracking_uri=uri)
    assert e2.value.field == "tasks.t.eligibility.min_events"
    assert not (tmp_path / "mlflow.db").exists() or "t" not in str(e2.value.details)
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(dict(KINDS_PIPELINE, tasks={"Books-Demo": {"kind": "next"}})))
    with pytest.raises(ConfigError, match=r"p\.yaml.*lowercase.*'books_demo'"):
        load_pipeline_config(f)


@pytest.mark.realdata
def test_case_outcome_on_a_real_process_log(shared_data: Path, tmp_path: Path) -> None:
    """Helpdesk (4,580 tickets): will the ticket be put on Wait? Prefixes cut before the
    outcome, cases split by their start."""
    cfg = PipelineConfig.model_validate(
        {
            "name": "helpdesk-waits",
            "data": {
                "path": str(shared_data / "helpdesk-full" / "Helpdesk.events.csv.gz"),
                "mapping": "helpdesk",
            },
            "features": {"windows_days": [1, 7]},
            "snapshots": {"mode": "at_each_event", "max_prefix": 20},
            "tasks": {"waits": {"defaults": str(MODELS / "ticket_waits.yaml")}},
            "num_boost_round": 60,
            "early_stopping_rounds": 10,
            "lightgbm": {"num_threads": 1},
        }
    )
    res = run_training(cfg, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    r = res.results["waits"]
    assert r.bundle.task.cut_before_outcome and r.counts["test"] > 1000
    # the model learns something real (0.79 when measured), and beats the prior
    assert r.metrics["roc_auc"] > 0.7
    assert r.metrics["log_loss"] < r.baselines["prior"]["log_loss"]
