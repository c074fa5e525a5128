"""The Dask engine on a LocalCluster of 2 worker processes: the same features, labels and
scores as the single-machine path, a worker killed mid-way is retried, an unreachable
scheduler fails fast, and a lightgbm.dask model is as good as a local one."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from journeyml.engine import (
    at_time,
    connect,
    partition_frame,
    partition_frames,
    score_partitions,
    snapshots,
    train_dask,
)
from journeyml.errors import EngineUnavailableError
from journeyml.events import TIMESTAMP, write_partitioned
from journeyml.features import FeatureBuilder, build_features
from journeyml.lifecycle import load_pipeline_config
from journeyml.sim import CHURN_TOUCHPOINTS, CONVERSION_TOUCHPOINTS, simulate
from journeyml.tasks import DataDefaults, every_n_days, labels_and_funnel

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
# the hook that kills a worker is defined here: ship it by value to the worker processes
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client() -> Any:
    with connect(n_workers=2, threads_per_worker=1) as c:
        yield c


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    sim = simulate(1200, seed=5, days=150)
    ev = sim.events
    spec = FeatureBuilder(windows_days=(7, 30), attributes=("segment",)).fit(ev).spec_
    cfg = load_pipeline_config(ROOT / "pipelines" / "demo.yaml")
    tasks = cfg.task_configs(
        DataDefaults(CONVERSION_TOUCHPOINTS, CHURN_TOUCHPOINTS, tuple(sim.company_sent), "sim")
    )
    start = ev[TIMESTAMP].min().floor("D")
    ds = write_partitioned(ev, tmp_path_factory.mktemp("parts") / "events", 4)
    return {
        "ev": ev,
        "spec": spec,
        "tasks": [tasks["conversion"], tasks["churn"]],
        "end": sim.end,
        "start": start,
        "ds": ds,
    }


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(customer_id=frame["customer_id"].astype(str))
    return frame.sort_values(["customer_id", "as_of"], kind="stable").reset_index(drop=True)


def _in_memory(world: dict[str, Any]) -> pd.DataFrame:
    ev, spec = world["ev"], world["spec"]
    cut = every_n_days(ev, 7, end=world["end"])
    X = build_features(ev, cut, spec)
    out = cut[["customer_id", "as_of"]].copy()
    for t in world["tasks"]:
        labels, _ = labels_and_funnel(ev, cut, t, observation_end=world["end"])
        out[f"label:{t.name}"] = labels["label"].to_numpy()
        out[f"eligible:{t.name}"] = labels["eligible"].to_numpy()
    return _sorted(pd.concat([out, X], axis=1))


def _dask_frame(world: dict[str, Any], before: Any = None) -> Any:
    cut = snapshots(7, world["start"], world["end"])
    return partition_frames(
        world["ds"], world["spec"], cut, world["tasks"], world["end"], before=before
    )


def _assert_same(got: pd.DataFrame, want: pd.DataFrame, names: list[str]) -> None:
    assert len(got) == len(want) > 1000
    assert (got["customer_id"].to_numpy() == want["customer_id"].to_numpy()).all()
    assert (pd.to_datetime(got["as_of"], utc=True) == pd.to_datetime(want["as_of"], utc=True)).all()
    a, b = got[names].to_numpy(np.float64), want[names].to_numpy(np.float64)
    # bit for bit: identical bytes, NaN where NaN
    assert a.tobytes() == b.tobytes()
    for c in [c for c in want.columns if c.startswith(("label:", "eligible:"))]:
        assert (got[c].to_numpy() == want[c].to_numpy()).all(), c


def test_dask_features_and_labels_equal_the_in_memory_path(client: Any, world: dict) -> None:
    got = _sorted(_dask_frame(world).compute())
    _assert_same(got, _in_memory(world), list(world["spec"].names))


def _kill_once(marker: str) -> Any:
    def before(i: int) -> None:
        if i == 1:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return  # the retry: run normally
            os.close(fd)
            os._exit(1)  # the worker process dies in the middle of the task

    return before


def test_a_worker_killed_during_features_is_retried(
    client: Any, world: dict, tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    got = _sorted(_dask_frame(world, before=_kill_once(str(marker))).compute())
    assert marker.exists()  # a worker did die
    _assert_same(got, _in_memory(world), list(world["spec"].names))


def test_a_partition_equals_its_customers_in_the_whole_log(world: dict) -> None:
    from journeyml.events import read_partition

    ds, ev = world["ds"], world["ev"]
    part = read_partition(ds, 2)
    mine = ev[ev["customer_id"].isin(part["customer_id"].unique())]
    cut = at_time("2024-04-01")
    a = partition_frame(part, world["spec"], cut)
    b = partition_frame(mine, world["spec"], cut)
    assert a.shape[0] == mine["customer_id"].nunique()
    pd.testing.assert_frame_equal(_sorted(a), _sorted(b))


def test_unreachable_scheduler_fails_fast_naming_the_address() -> None:
    t0 = time.perf_counter()
    with pytest.raises(EngineUnavailableError, match=re.escape("tcp://127.0.0.1:9")) as exc:
        connect("tcp://127.0.0.1:9", timeout=2)
    assert time.perf_counter() - t0 < 15
    assert exc.value.field == "engine.scheduler"


def _answers(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Answers by customer, without the request id (one per call)."""
    return {r["customer_id"]: {k: v for k, v in r.items() if k != "request_id"} for r in rows}


def test_scores_per_partition_equal_local_scores(
    client: Any, predictor: Any, small_simulation: Any, tmp_path: Path
) -> None:
    from journeyml.engine import partition_responses
    from journeyml.serving import score_chunks, write_responses

    ev = small_simulation.events
    ev = ev[ev["customer_id"].isin(ev["customer_id"].unique()[:200])]
    ds = write_partitioned(ev, tmp_path / "events", 3)
    n = score_partitions(client, ds, predictor, tmp_path / "scores")
    files = sorted((tmp_path / "scores").glob("part-*.jsonl"))
    assert len(files) == 3 and n == 200
    dist = _answers([json.loads(x) for f in files for x in f.read_text().splitlines()])
    write_responses(score_chunks(predictor, ev), tmp_path / "local.jsonl", predictor.tasks)
    local = _answers([json.loads(x) for x in (tmp_path / "local.jsonl").read_text().splitlines()])
    assert len(dist) == len(local) == 200
    assert dist == local
    # one partition at a time on this machine (journeyml score on a partitioned folder)
    streamed = _answers([r for rows in partition_responses(ds, predictor) for r in rows])
    assert json.loads(json.dumps(streamed)) == local


def test_lightgbm_dask_model_is_within_noise_of_a_local_one(client: Any, world: dict) -> None:
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    spec, names = world["spec"], list(world["spec"].names)
    frame = _dask_frame(world)
    data = _sorted(frame.compute())
    t = data["as_of"]
    elig = data["eligible:churn"].to_numpy(bool)
    train_until = t[elig].quantile(0.7)
    params = {"num_leaves": 15, "learning_rate": 0.05, "min_child_samples": 20}
    booster = train_dask(
        client, frame, spec, "churn", train_until=train_until, params=params, num_boost_round=150
    )
    tr = elig & (t < train_until).to_numpy()
    te = elig & (t >= train_until).to_numpy()
    y = data["label:churn"].to_numpy()
    local = lgb.train(
        {"objective": "binary", "verbose": -1, "seed": 0, **params},
        lgb.Dataset(
            data.loc[tr, names].to_numpy(),
            y[tr],
            categorical_feature=list(spec.categorical_indices),
        ),
        num_boost_round=150,
    )
    X_te = data.loc[te, names].to_numpy()
    auc_dask = roc_auc_score(y[te], booster.predict(X_te))
    auc_local = roc_auc_score(y[te], local.predict(X_te))
    print(
        f"\nchurn test AUC: lightgbm.dask {auc_dask:.4f}, local {auc_local:.4f} "
        f"({int(te.sum())} test cutoffs, {int(y[te].sum())} positive)"
    )
    assert auc_local > 0.65
    assert abs(auc_dask - auc_local) < 0.03


def test_dask_features_step_equals_build_features_for_any_cutoffs(
    client: Any, world: dict, tmp_path: Path
) -> None:
    from journeyml.engine import DaskFeatures
    from journeyml.tasks import at_each_event

    ev, spec = world["ev"], world["spec"]
    rng = np.random.default_rng(1)
    prefixes = at_each_event(ev, max_prefix=20)
    cut = prefixes.iloc[rng.permutation(len(prefixes))[:3000]]  # any order
    cut = pd.concat(  # and a customer without events
        [cut, pd.DataFrame({"customer_id": ["nobody"], "as_of": [world["end"]]})]
    )
    engine = DaskFeatures(client, n_partitions=3, workdir=tmp_path)
    got = engine(ev, cut, spec)
    want = build_features(ev, cut, spec)
    assert got.index.equals(want.index) and list(got.columns) == list(want.columns)
    assert got.to_numpy().tobytes() == want.to_numpy().tobytes()
    assert engine.dataset(ev) is engine.dataset(ev)  # events partitioned once per frame


def test_train_with_engine_dask_from_the_cli(tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from journeyml.cli import app

    cfg = {
        "name": "dask-tiny",
        "data": {"simulate": {"customers": 300, "seed": 3, "days": 240}},
        "features": {"windows_days": [7, 30]},
        "snapshots": {"mode": "every_n_days", "every_days": 7},
        "tasks": {"churn": {"kind": "lapses", "horizon_days": 14}},
        "num_boost_round": 20,
        "engine": {"kind": "dask", "n_workers": 1, "partitions": 2},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    res = CliRunner().invoke(app, ["train", str(path), "--tracking-uri", uri])
    assert res.exit_code == 0, res.output
    assert "Dask engine: LocalCluster of 1 workers" in res.output
    assert "boosters by lightgbm.dask" in res.output
    assert "churn: AUC" in res.output
    import mlflow

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(search_all_experiments=True)
    runs = runs[runs["params.cutoffs"].notna()]
    assert len(runs) == 1  # the churn task's run: its booster came from LightGBM's network
    # the network lightgbm.dask set up (one worker here: LightGBM then learns serially)
    assert runs["params.lightgbm.machines"].iloc[0].startswith("127.0.0.1:")
    assert runs["params.lightgbm.num_machines"].iloc[0] == "1"


def test_pipeline_booster_by_lightgbm_dask_is_within_noise_of_a_local_one(
    client: Any, world: dict, tmp_path: Path
) -> None:
    """train_task (early stopping, linear blend, calibration, metrics) with the booster fitted
    by lightgbm.dask from the feature blocks the workers kept, against the same task fitted
    on this machine."""
    from journeyml.engine import DaskBoosterFit, DaskFeatures
    from journeyml.lifecycle.tracking import booster_parameters
    from journeyml.modeling import train_task
    from journeyml.tasks import TemporalSplit

    ev, spec, task = world["ev"], world["spec"], world["tasks"][1]
    cut = every_n_days(ev, 7, end=world["end"])
    labels, _ = labels_and_funnel(ev, cut, task, observation_end=world["end"])
    # a split without gaps (both fits see the same windows; leakage is not what is compared)
    t = pd.to_datetime(cut["as_of"], utc=True)
    q = t[labels["eligible"].to_numpy(bool)].quantile([0.55, 0.7])
    valid_start, test_start = q.iloc[0], q.iloc[1]
    split = TemporalSplit(
        (t < valid_start).to_numpy(),
        ((t >= valid_start) & (t < test_start)).to_numpy(),
        (t >= test_start).to_numpy(),
        valid_start,
        test_start,
    )
    features = DaskFeatures(client, n_partitions=4, workdir=tmp_path)
    X = features(ev, cut, spec).to_numpy(np.float32)  # a copy, as the pipeline keeps it
    fit = DaskBoosterFit(client, features)
    kw: dict[str, Any] = {"lgb_params": {"num_leaves": 15}, "num_boost_round": 300}
    local = train_task(task, spec, X, labels, split, **kw)
    dist = train_task(task, spec, X, labels, split, **kw, fit=fit)
    assert fit.last_source == "partition blocks"  # not re-sent from this machine
    params = booster_parameters(dist.bundle.booster)
    blocks = features.blocks_of(X)
    assert blocks is not None
    holders = {w for ws in client.who_has(blocks.futures).values() for w in ws}
    # LightGBM's network: one machine per worker holding training rows (the scheduler may
    # have put every partition on one worker of a loaded machine)
    assert params["lightgbm.num_machines"] == str(len(holders))
    assert params["lightgbm.machines"].count(":") == len(holders)
    same = ("num_leaves", "learning_rate", "min_data_in_leaf", "feature_fraction", "lambda_l2")
    want = booster_parameters(local.bundle.booster)
    assert {k: params[f"lightgbm.{k}"] for k in same} == {k: want[f"lightgbm.{k}"] for k in same}
    # early stopping on the validation window happened (not all 300 rounds kept)
    assert 0 < dist.bundle.booster.best_iteration < 300
    a, b = local.metrics["roc_auc"], dist.metrics["roc_auc"]
    print(
        f"\nchurn test AUC through train_task: local {a:.4f} (best round "
        f"{local.bundle.booster.best_iteration}), lightgbm.dask {b:.4f} (best round "
        f"{dist.bundle.booster.best_iteration}); {dist.counts}"
    )
    y_te = labels["label"].to_numpy()[split.test & labels["eligible"].to_numpy(bool)]
    noise = 2 * _auc_standard_error(a, int(y_te.sum()), int((y_te == 0).sum()))
    print(f"|difference| {abs(a - b):.4f}, two standard errors of the test AUC {noise:.4f}")
    assert a > 0.65
    assert abs(a - b) < noise


def _auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley & McNeil (1982): the standard error of a ROC AUC on n_pos and n_neg cases."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)
    return float(np.sqrt(var / (n_pos * n_neg)))


def test_score_store_per_partition_equals_score_active(
    client: Any, predictor: Any, small_simulation: Any, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from journeyml.engine import score_store_partitions
    from journeyml.store import EventStore, score_active

    now = datetime(2030, 1, 1, tzinfo=UTC)
    ev = small_simulation.events
    ev = ev[ev["customer_id"].isin(sorted(ev["customer_id"].unique())[:80])]
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with EventStore.open(uri) as es:
        es.ingest(ev, source="test", now=now)
        local = score_active(
            es, predictor, as_of="2024-04-01", days=30, project="demo", created_at=now
        )
    dist = score_store_partitions(
        client, uri, predictor, as_of="2024-04-01", days=30, project="demo", created_at=now,
        n_partitions=3,
    )  # fmt: skip
    assert len(local.scores) > 10 and dist.logged == local.logged == len(local.scores)
    a = local.scores.sort_values("customer_id").reset_index(drop=True)
    b = dist.scores.sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)  # percentiles too: over every customer, not a partition
    with EventStore.open(uri, create=False) as es:
        entries = es.predictions_for_request(dist.run_id)
    assert sorted(e.item for e in entries) == list(range(len(local.scores)))
    assert {e.customer_id for e in entries} == set(a["customer_id"])
    # the store's scores table gets the same rows from both runs
    assert dist.saved == local.saved == len(local.scores) * len(predictor.tasks)
    with EventStore.open(uri, create=False) as es:
        mine = es.scores("demo", run_id=local.run_id).drop(columns="run_id")
        theirs = es.scores("demo", run_id=dist.run_id).drop(columns="run_id")
    pd.testing.assert_frame_equal(mine, theirs)


def test_score_command_with_engine_dask(
    trained_store: Any, small_simulation: Any, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from journeyml.cli import app

    ev = small_simulation.events
    ev = ev[ev["customer_id"].isin(ev["customer_id"].unique()[:50])]
    ds = write_partitioned(ev, tmp_path / "events", 2)
    out = tmp_path / "scores.jsonl"
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    args = ["score", str(ds.path), "--out", str(out), "--tracking-uri", trained_store[0],
            "--engine", "dask", "--workers", "1", "--store-uri", uri]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    files = sorted(out.glob("part-*.jsonl"))
    assert len(files) == 2
    rows = [json.loads(x) for f in files for x in f.read_text().splitlines()]
    assert sorted(r["customer_id"] for r in rows) == sorted(ev["customer_id"].unique())
    assert all("churn" in r and "root_causes" in r["churn"] for r in rows)
    # every prediction logged by the workers: one request id, distinct items, the same answers
    rid = rows[0]["request_id"]
    assert rid.startswith("batch-") and {r["request_id"] for r in rows} == {rid}
    assert f"logged {len(rows)} predictions as request {rid}" in res.output, res.output
    from journeyml.store import EventStore

    with EventStore.open(uri, create=False) as es:
        logged = {e.customer_id: e for e in es.predictions_for_request(rid)}
        items = sorted(e.item for e in es.predictions_for_request(rid))
    assert len(items) == len(set(items)) == len(rows)
    for r in rows:
        e = logged[r["customer_id"]]
        assert e.probabilities["churn"] == r["churn"]["probability"]
        assert e.top_causes["churn"] == r["churn"]["root_causes"]
        assert e.n_events == r["n_events_used"]
