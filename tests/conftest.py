"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from journey_servers import start_bento_server, stop_server
from journeyml.events.datasets import ENV_VAR, shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared folder of real event logs; skips the test when it is absent."""
    folder = shared_data_dir(Path(__file__).resolve().parent)
    if folder is None:
        pytest.skip(
            f"shared data folder not found: set {ENV_VAR} or put the logs in <repo>/../shared/data"
        )
    return folder


# --- journeys and trained models shared by the tests of every layer -------------------------
SMALL_PIPELINE = {
    "name": "test-small",
    "data": {"simulate": {"customers": 900, "seed": 11, "days": 150}},
    "features": {"windows_days": [7, 30], "attributes": ["segment"]},
    "snapshots": {"mode": "every_n_days", "every_days": 7},
    "tasks": {
        "conversion": {"horizon_days": 14, "conversion_touchpoints": ["purchase"]},
        "churn": {"horizon_days": 30, "churn_touchpoints": ["cancellation"]},
        "next_stage": {"horizon_days": 14},
    },
    "num_boost_round": 200,
    "lightgbm": {"num_threads": 1},
    "seed": 0,
}


@pytest.fixture(scope="session")
def small_simulation():  # type: ignore[no-untyped-def]
    """900 simulated customers over 150 days (seed 11): the same journeys the models saw."""
    from journeyml.sim import simulate

    return simulate(900, seed=11, days=150)


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A temporary embedded MLflow store holding champions of all three tasks, trained once
    per test session on :data:`SMALL_PIPELINE`. Returns ``(tracking_uri, PipelineResult)``."""
    import logging
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    from journeyml.lifecycle import PipelineConfig, run_training
    from journeyml.progress import Progress

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = run_training(
        PipelineConfig.model_validate(SMALL_PIPELINE),
        tracking_uri=uri,
        stages=Progress(TRAINING_STAGES.append),
    )
    return uri, result


#: the progress updates the training of :func:`trained_store` reported
TRAINING_STAGES: list = []  # type: ignore[type-arg]


@pytest.fixture(scope="session")
def training_stages(trained_store):  # type: ignore[no-untyped-def]
    """The :class:`~journeyml.progress.ProgressUpdate` s of the :func:`trained_store` run."""
    return list(TRAINING_STAGES)


@pytest.fixture(scope="session")
def predictor(trained_store):  # type: ignore[no-untyped-def]
    """The champions of :func:`trained_store` as a Predictor."""
    from journeyml.scoring import Predictor

    return Predictor.from_registry(trained_store[0])


@pytest.fixture(scope="session")
def bento_server(trained_store, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real service on a free loopback port, serving the champions of ``trained_store``."""
    log = tmp_path_factory.mktemp("bento") / "server.log"
    handle = start_bento_server({"JOURNEYML_TRACKING_URI": trained_store[0]}, log)
    yield handle
    stop_server(handle.proc)
