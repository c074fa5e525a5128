"""Training against a real ``mlflow server`` over HTTP (loopback), then loading the champion
back through the same server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from journeyml.lifecycle import PipelineConfig, registry, run_training

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("mlflow_server")]

PROJECT = "test_http"  # the name test-http, with "-" read as "_"
CONFIG = {
    "name": "test-http",
    "data": {"simulate": {"customers": 400, "seed": 5, "days": 150}},
    "features": {"windows_days": [7, 30]},
    "tasks": {"churn": {"horizon_days": 30}},
    "num_boost_round": 60,
    "lightgbm": {"num_threads": 1},
    # this test is about the tracking server, not the gate: 400 customers' churn model may
    # lose to the prior, and the gate (tested in tests/lifecycle/test_gate.py) would refuse it
    "promotion": {"beat_baselines": False},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen(
        [
            str(mlflow_bin),
            "server",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start on {url}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def test_train_over_http_and_load_the_champion(mlflow_server: str, tmp_path: Path) -> None:
    import mlflow

    result = run_training(PipelineConfig.model_validate(CONFIG), tracking_uri=mlflow_server)
    assert result.decisions[0].promote
    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_registry_uri(mlflow_server)
    assert registry.champion_version(PROJECT, "churn") == result.versions["churn"]
    bundle = registry.load_bundle(PROJECT, "churn", dst=tmp_path / "model")
    X = np.zeros((2, len(bundle.spec.names)))
    np.testing.assert_allclose(
        bundle.predict_proba(X), result.results["churn"].bundle.predict_proba(X)
    )
    # the artefacts went through the server, not to a local path beside the test
    run = mlflow.get_run(result.run_ids["churn"])
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
