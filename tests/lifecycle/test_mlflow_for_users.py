"""MLflow as a data scientist sees it: every LightGBM parameter, the git commit, the data
fingerprint and the config are on the runs; the experiment opens on its runs (not the GenAI
traces page); the logged model takes journeys and answers as the API does — loaded with
``mlflow.pyfunc`` and through a real ``mlflow models serve``; a moved project folder still
serves its models, and a store without its artefacts says what moved."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from journey_servers import free_port
from journeyml.cli import app
from journeyml.errors import ModelNotFoundError
from journeyml.lifecycle import registry, tracking
from journeyml.scoring import Predictor
from journeyml.serving import batch_results, default_cutoffs
from journeyml.sim import simulate

NAME = "journeyml-tiny-conversion"
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("mlflow_users")]

CONFIG = """\
name: tiny
data: {simulate: {customers: 300, seed: 3, days: 120}}
features: {windows_days: [7, 30]}
snapshots: {mode: every_n_days, every_days: 14}
tasks:
  conversion: {horizon_days: 14, conversion_touchpoints: [purchase]}
num_boost_round: 30
# about MLflow, not the gate: 300 customers' model may lose to a baseline (test_gate.py)
promotion: {beat_baselines: false}
"""


def git(folder: Path, *args: str) -> str:
    who = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x"}
    env = {**os.environ, **who, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    return subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()


def uri_of(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder under git with one pipeline config, trained with `journeyml train`."""
    folder = tmp_path_factory.mktemp("project")
    (folder / "pipeline.yaml").write_text(CONFIG)
    git(folder, "init", "-q")
    git(folder, "add", "pipeline.yaml")
    git(folder, "commit", "-q", "-m", "config")
    (folder / "mlflow").mkdir()
    res = CliRunner().invoke(
        app, ["train", str(folder / "pipeline.yaml"), "--tracking-uri", uri_of(folder)]
    )
    assert res.exit_code == 0, res.output
    return folder


def journeys(n: int = 6) -> pd.DataFrame:
    ev = simulate(300, seed=3, days=120).events
    ids = ev.loc[ev["touchpoint"] == "purchase", "customer_id"].unique()[:2].tolist()
    ids += [c for c in ev["customer_id"].unique() if c not in ids][: n - 2]
    out = ev[ev["customer_id"].isin(ids)].copy()
    out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat())
    return out.reset_index(drop=True)


def test_runs_carry_every_parameter_the_commit_the_data_and_the_config(project: Path) -> None:
    mlflow.set_tracking_uri(uri_of(project))
    client = MlflowClient()
    mv = client.get_model_version(registry.model_name("tiny", "conversion"), "1")
    run = client.get_run(str(mv.run_id))
    params, tags = run.data.params, run.data.tags
    # LightGBM's own record of its parameters, defaults included
    assert params["lightgbm.num_leaves"] == "31" and params["lightgbm.objective"] == "binary"
    assert {"lightgbm.learning_rate", "lightgbm.min_data_in_leaf", "lightgbm.max_bin"} <= set(
        params
    )
    assert tags["mlflow.source.git.commit"] == git(project, "rev-parse", "HEAD")
    assert tags["data_fingerprint"] == tracking.data_fingerprint(
        simulate(300, seed=3, days=120).events
    )
    files = {a.path for a in client.list_artifacts(run.info.run_id, "config")}
    assert files == {"config/pipeline.yaml", "config/resolved.yaml"}
    written = Path(client.download_artifacts(run.info.run_id, "config/pipeline.yaml"))
    assert written.read_text() == CONFIG
    exp = client.get_experiment(run.info.experiment_id)
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"


def test_the_logged_model_takes_journeys_and_answers_as_the_api(project: Path) -> None:
    uri = uri_of(project)
    mlflow.set_tracking_uri(uri)
    events = journeys()
    model = mlflow.pyfunc.load_model(f"models:/{registry.model_name('tiny', 'conversion')}/1")
    answers = model.predict(events)
    pred = Predictor.from_registry(uri, project="tiny")
    ev = events.assign(timestamp=pd.to_datetime(events["timestamp"], utc=True))
    expected = batch_results(pred, ev, default_cutoffs(ev))
    assert len(answers) == len(expected) == 6
    for a, e in zip(answers, expected, strict=True):
        for key in ("request_id", "model_versions"):  # per call; the registry's version
            a.pop(key), e.pop(key)
        assert a == e
    flagged = [a for a in answers if any(w["code"] == "not_eligible" for w in a["warnings"])]
    assert len(flagged) >= 2  # the two buyers: the conversion model asks non-buyers only


def test_mlflow_models_serve_answers_journeys(project: Path, tmp_path: Path) -> None:
    port = free_port()
    bin_dir = Path(sys.executable).parent  # mlflow runs uvicorn from PATH
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri_of(project),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    log = (tmp_path / "serve.log").open("w")
    exe = bin_dir / "mlflow"
    proc = subprocess.Popen(
        [str(exe), "models", "serve", "-m", f"models:/{NAME}/1",
         "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        events = journeys(3)
        body = {"dataframe_records": json.loads(events.to_json(orient="records"))}
        r = httpx.post(f"{url}/invocations", json=body, timeout=60)
        assert r.status_code == 200, r.text
        answers = r.json()["predictions"]
        assert [a["customer_id"] for a in answers] == list(events["customer_id"].unique())
        for a in answers:
            assert 0 <= a["conversion"]["probability"] <= 1
            assert {"warnings", "feature_fingerprint", "n_events_used"} <= set(a)
        assert any(a["conversion"]["root_causes"] for a in answers)
        # the signature requires only customer_id, timestamp and touchpoint; as_of is read
        one = events[events["customer_id"] == events["customer_id"].iloc[0]]
        cut = one["timestamp"].iloc[len(one) // 2]
        lean = [
            {"customer_id": r.customer_id, "timestamp": r.timestamp, "touchpoint": r.touchpoint,
             "as_of": cut}
            for r in one.itertuples()
        ]  # fmt: skip
        r = httpx.post(f"{url}/invocations", json={"dataframe_records": lean}, timeout=60)
        assert r.status_code == 200, r.text
        (answer,) = r.json()["predictions"]
        assert answer["n_events_used"] == len(one) // 2  # events before as_of only
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=20)


def test_a_moved_project_folder_serves_and_a_store_without_artefacts_says_what_moved(
    project: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(project, moved)
    original = project / "mlflow" / "artifacts"
    hidden = project / "mlflow" / "artifacts-hidden"
    original.rename(hidden)  # as if the project had been moved away from here
    try:
        pred = Predictor.from_registry(uri_of(moved), project="tiny")
        assert pred.versions() == {"conversion": "1"}
        bare = tmp_path / "bare"
        (bare / "mlflow").mkdir(parents=True)
        shutil.copy(project / "mlflow" / "mlflow.db", bare / "mlflow" / "mlflow.db")
        with pytest.raises(ModelNotFoundError) as err:
            Predictor.from_registry(uri_of(bare), project="tiny")
        text = err.value.message
        assert str(original) in text and "moved" in text and str(bare / "mlflow") in text
    finally:
        hidden.rename(original)
