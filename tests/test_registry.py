"""The promotion gate: first version promoted, an equal or worse challenger kept out, a better
one promoted only beyond the margin; decisions and both scores logged; an interrupted run never
moves ``champion``."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from journeyml.lifecycle import PipelineConfig, registry, run_training
from journeyml.tasks import TASKS

PROJECT = "test_small"  # conftest.SMALL_PIPELINE's name, with "-" read as "_"


def _use(uri: str) -> None:
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def test_first_versions_are_promoted_and_decisions_logged(trained_store) -> None:  # type: ignore[no-untyped-def]
    uri, result = trained_store
    _use(uri)
    assert {d.task for d in result.decisions} == set(TASKS)
    client = MlflowClient()
    for d in result.decisions:
        assert d.promote and d.champion_score is None and d.reason.startswith("no champion yet")
        assert "not below" in d.reason  # the floor: compared with the best baseline
        run = client.get_run(result.run_ids[d.task])
        assert run.data.metrics["promoted"] == 1.0
        local = mlflow.artifacts.download_artifacts(
            run_id=result.run_ids[d.task], artifact_path="promotion.json"
        )
        logged = json.loads(Path(local).read_text())
        assert logged["challenger_score"] == pytest.approx(d.challenger_score)
        assert logged["metric"] == d.metric


@pytest.mark.parametrize(
    ("challenger", "champion", "margin", "promote"),
    [
        (0.40, 0.40, 0.0, False),  # equal: not promoted
        (0.45, 0.40, 0.0, False),  # worse log loss: not promoted
        (0.39, 0.40, 0.0, True),  # better: promoted
        (0.39, 0.40, 0.02, False),  # better, but not by the margin
        (0.37, 0.40, 0.02, True),  # better by more than the margin
    ],
)
def test_gate_compares_on_the_same_window(
    trained_store,  # type: ignore[no-untyped-def]
    challenger: float,
    champion: float,
    margin: float,
    promote: bool,
) -> None:
    uri, _ = trained_store
    _use(uri)
    seen = []

    def score(bundle):  # type: ignore[no-untyped-def]
        seen.append(bundle.task.name)
        return champion

    d = registry.decide(
        PROJECT, "churn", "999", challenger, metric="log_loss", margin=margin, score_champion=score
    )
    assert seen == ["churn"]  # the champion itself was rescored
    assert d.promote is promote
    assert d.champion_score == champion and d.challenger_score == challenger
    assert d.champion_version == registry.champion_version(PROJECT, "churn")


def test_a_champion_this_code_cannot_serve_is_replaced(
    trained_store,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """After a feature-code upgrade the old champion cannot even be loaded: the gate promotes
    the challenger and says why, instead of failing the run."""
    from journeyml.errors import FingerprintMismatchError

    uri, _ = trained_store
    _use(uri)

    def refuse(project: str, task: str, **_: object) -> None:
        raise FingerprintMismatchError("built for feature code version 0")

    monkeypatch.setattr(registry, "load_bundle", refuse)
    d = registry.decide(
        PROJECT, "churn", "999", 0.5, metric="log_loss", margin=0.0, score_champion=lambda b: 0.0
    )
    assert d.promote and d.champion_score is None
    assert "cannot be served" in d.reason and "version 0" in d.reason


def test_higher_is_better_metrics() -> None:
    assert registry.HIGHER_IS_BETTER["roc_auc"] and not registry.HIGHER_IS_BETTER["log_loss"]


TINY = {
    "name": "test-interrupt",
    "data": {"simulate": {"customers": 400, "seed": 3, "days": 150}},
    "features": {"windows_days": [7, 30]},
    "tasks": {"churn": {"horizon_days": 30}, "conversion": {"horizon_days": 14}},
    "num_boost_round": 60,
    "lightgbm": {"num_threads": 1},
    # about interruption, not the floor: 400 customers are too few for the trees to beat
    # logistic regression every time (the floor is tested in tests/lifecycle/test_gate.py)
    "promotion": {"beat_baselines": False},
}


@pytest.mark.integration
def test_interrupted_run_leaves_champion_unchanged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = PipelineConfig.model_validate(TINY)
    first = run_training(cfg, tracking_uri=uri)
    assert all(d.promote for d in first.decisions)
    # a clearly better challenger would be promoted, but the run dies after its first task
    better = PipelineConfig.model_validate(
        {**TINY, "promotion": {"margin": -1.0, "beat_baselines": False}}
    )

    def boom(task: str) -> None:
        raise KeyboardInterrupt(task)

    with pytest.raises(KeyboardInterrupt):
        run_training(better, tracking_uri=uri, after_task=boom)
    _use(uri)
    client = MlflowClient()
    for task in ("churn", "conversion"):
        assert registry.champion_version("test_interrupt", task) == first.versions[task]
    # the first task got registered as challenger, but champion did not move
    churn = registry.model_name("test_interrupt", "churn")
    assert str(client.get_model_version_by_alias(churn, registry.CHALLENGER).version) == "2"
    # a full run with the negative margin does move it
    again = run_training(better, tracking_uri=uri)
    assert all(d.promote for d in again.decisions)
    assert (
        registry.champion_version("test_interrupt", "churn")
        == again.versions["churn"]
        != first.versions["churn"]
    )
