"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    from journeyml.simulate import simulate

    return simulate(900, seed=11, days=150)


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A temporary embedded MLflow store holding champions of all three tasks, trained once
    per test session on :data:`SMALL_PIPELINE`. Returns ``(tracking_uri, PipelineResult)``."""
    import logging
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    from journeyml.config import PipelineConfig
    from journeyml.pipeline import run_training

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = run_training(PipelineConfig.model_validate(SMALL_PIPELINE), tracking_uri=uri)
    return uri, result


@pytest.fixture(scope="session")
def predictor(trained_store):  # type: ignore[no-untyped-def]
    """The champions of :func:`trained_store` as a Predictor."""
    from journeyml.scoring import Predictor

    return Predictor.from_registry(trained_store[0])


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerHandle:
    """A real BentoML server started on loopback for a test; ``url`` and ``log`` (path)."""

    def __init__(self, url: str, proc, log: Path) -> None:  # type: ignore[no-untyped-def]
        self.url = url
        self.proc = proc
        self.log = log


def start_bento_server(
    env_extra: dict[str, str], log: Path, *, timeout: float = 90.0
) -> ServerHandle:
    """Start ``bentoml serve service:JourneyService`` on a free loopback port and wait for it
    to answer ``/readyz``; raises with the server log if it does not come up."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    repo = Path(__file__).resolve().parent.parent
    port = free_port()
    env = {**os.environ, **env_extra, "BENTOML_DO_NOT_TRACK": "true"}
    fh = log.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            "service:JourneyService",
            "--working-dir",
            str(repo / "service"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return ServerHandle(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"server not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def stop_server(proc) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except Exception:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def bento_server(trained_store, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real service on a free loopback port, serving the champions of ``trained_store``."""
    log = tmp_path_factory.mktemp("bento") / "server.log"
    handle = start_bento_server({"JOURNEYML_TRACKING_URI": trained_store[0]}, log)
    yield handle
    stop_server(handle.proc)
