"""Registering a version prints nothing of MLflow's own (train says it in its words)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from journeyml.lifecycle import registry


def test_register_prints_no_mlflow_event_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        # an experiment of this store's own: the process's active one (an earlier test's,
        # in another store) does not exist here
        with mlflow.start_run(experiment_id=mlflow.create_experiment("quiet")) as run:
            mlflow.log_text("x", "model/MLmodel")
        capsys.readouterr()
        model = f"runs:/{run.info.run_id}/model"
        first = registry.register(model, "quiet", "t", run.info.run_id)
        again = registry.register(model, "quiet", "t", run.info.run_id)
        out = capsys.readouterr()
    finally:
        mlflow.set_tracking_uri(before[0])
        mlflow.set_registry_uri(before[1])
    assert (first, again) == ("1", "2")
    assert "Successfully registered" not in out.err + out.out
    assert "Created version" not in out.err + out.out
