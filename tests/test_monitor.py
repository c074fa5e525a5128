"""journeyml monitor on a real store: weekly quality once outcomes matured, drift that is
found when planted (and not when absent), explanation drift, the page, MLflow, exit codes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from journeyml.monitor import Thresholds, monitor, psi, render_page, week_start
from journeyml.store import EventStore, score_active

NOW = datetime(2030, 1, 1, tzinfo=UTC)
END = pd.Timestamp("2024-05-30", tz="UTC")  # the simulation's last event is on 2024-05-29
MONDAYS = pd.date_range("2024-03-04", periods=4, freq="7D", tz="UTC")


@pytest.fixture(scope="module")
def logged_store(tmp_path_factory: pytest.TempPathFactory, predictor: Any, small_simulation: Any):  # type: ignore[no-untyped-def]
    """The simulation in a store, scored every Monday of March 2024 (logged)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('monitor') / 'j.db'}"
    es = EventStore.open(uri)
    es.ingest(small_simulation.events, source="sim", now=NOW)
    for m in MONDAYS:
        score_active(es, predictor, as_of=m, days=28, project=predictor.project, created_at=NOW)
    yield es
    es.close()


def test_weeks_start_on_monday() -> None:
    ns = pd.to_datetime(["2024-03-04T00:00", "2024-03-10T23:59", "2024-03-11T00:00"], utc=True)
    got = pd.to_datetime(week_start(ns.as_unit("ns").asi8), utc=True)
    assert [str(t.date()) for t in got] == ["2024-03-04", "2024-03-04", "2024-03-11"]


def test_psi_is_zero_for_the_same_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    ref = rng.beta(2, 8, 4000)
    assert psi(ref, ref) < 1e-9 and psi(ref, rng.beta(2, 8, 4000)) < 0.05
    assert psi(ref, rng.beta(6, 4, 4000)) > 1.0
    assert psi(np.ones(100), np.ones(50)) == 0.0  # a constant feature
    assert np.isnan(psi(ref, np.array([])))


def test_monitor_reports_matured_quality_and_no_drift_on_a_stable_world(
    logged_store: EventStore, predictor: Any, tmp_path: Path
) -> None:
    res = monitor(logged_store, predictor, now=END, project=predictor.project)
    w = res.weekly
    assert sorted(w["week"].unique()) == list(MONDAYS)
    assert set(w["task"]) == set(predictor.tasks)
    churn = w[w["task"] == "churn"]
    assert (churn["n_predictions"] > 100).all() and (churn["n_matured"] > 0).all()
    # churn's horizon is 30 days: every March week has matured by the end of May
    assert churn["auc"].notna().all() and (churn["auc"] > 0.6).all(), churn
    assert churn["ece"].between(0, 0.3).all() and churn["log_loss"].gt(0).all()
    assert (churn["prediction_psi"] < 0.25).all() and churn["max_feature_psi"].iloc[0] == 0
    feats = res.features.query("task == 'churn'")
    assert feats["feature"].nunique() == 10 and feats["psi"].notna().all()
    assert churn["explanation_shift"].iloc[0] == 0 and (churn["explanation_shift"] < 0.2).all()
    # a cohort ages (tenure, time since the first purchase): only such feature PSI may move
    assert "churn" in res.reliability
    assert not [b for b in res.breaches if "feature PSI" not in b], res.breaches
    ex = res.explanations
    shares = ex[(ex["task"] == "churn") & (ex["week"] == MONDAYS[0])]["share"]
    assert shares.sum() == pytest.approx(1.0)
    page = render_page(res, tmp_path / "m.html").read_text()
    assert "<svg" in page and "realised AUC" in page
    # a prediction not yet matured does not count: as of 10 days after the last Monday,
    # that week's 30-day churn outcomes are not known yet
    early = monitor(logged_store, predictor, now=MONDAYS[-1] + pd.Timedelta(days=10))
    assert early.weekly.query("task == 'churn'")["n_matured"].iloc[-1] == 0


def test_planted_drift_crosses_the_thresholds_and_the_command_exits_1(
    logged_store: EventStore, predictor: Any, trained_store: Any, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from journeyml.cli import app

    week1 = logged_store.predictions_for_request(
        logged_store.predictions(project=predictor.project, limit=1)[0].request_id
    )
    late = MONDAYS[-1] + pd.Timedelta(days=7)
    shifted = [
        replace(
            e,
            request_id="drifted",
            as_of=late,
            probabilities={**e.probabilities, "churn": 0.97},
            top_causes={
                **e.top_causes,
                "churn": [{"cause": "touchpoint:new_thing", "points": 50.0}],
            },
        )
        for e in week1
    ]
    assert logged_store.log_predictions(shifted) == len(shifted)
    res = monitor(logged_store, predictor, now=END, project=predictor.project)
    last = res.weekly.query("task == 'churn'").iloc[-1]
    assert last["week"] == late and last["prediction_psi"] > 1.0
    assert last["explanation_shift"] > 0.9
    assert any("churn" in b and "prediction PSI" in b for b in res.breaches)
    assert any("explanation shift" in b for b in res.breaches)
    out = tmp_path / "page.html"
    r = CliRunner().invoke(
        app,
        ["monitor", "--store", logged_store.uri, "--tracking-uri", trained_store[0],
         "--project", predictor.project, "--out", str(out), "--sample-per-week", "300"],
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    assert "threshold crossed" in r.output and "Thresholds crossed" in out.read_text()
    import mlflow

    mlflow.set_tracking_uri(trained_store[0])
    runs = mlflow.search_runs(experiment_names=[f"journeyml-monitor-{predictor.project}"])
    assert len(runs) >= 1 and runs["metrics.churn.prediction_psi"].notna().any()
    hist = mlflow.MlflowClient().get_metric_history(runs["run_id"][0], "churn.n_predictions")
    assert len(hist) == 5  # four Mondays and the planted week
    assert json.loads(json.dumps(res.breaches))  # plain strings
    assert Thresholds(max_prediction_psi=None, max_explanation_shift=None, max_feature_psi=None)


def test_recorded_outcomes_label_matured_predictions_positive_within_the_horizon(
    logged_store: EventStore, predictor: Any, tmp_path: Path
) -> None:
    """Outcomes recorded outside the events (``journeyml outcomes``) make a matured churn
    prediction positive when they fall in (as_of, as_of + 30 days]; at as_of itself or after
    the horizon they change nothing. (The same customers are scored every Monday, so an
    outcome can fall in several weeks' windows: the ones below fall in at most the last.)"""
    import sqlite3

    from journeyml.store import Outcome

    copy = tmp_path / "copy.db"  # the module's store stays as the other tests expect it
    with sqlite3.connect(logged_store.uri.removeprefix("sqlite:///")) as src:
        dst = sqlite3.connect(copy)
        src.backup(dst)
        dst.close()
    horizon = pd.Timedelta(days=30)
    first, last = MONDAYS[0], MONDAYS[-1]
    with EventStore.open(f"sqlite:///{copy}") as es:
        log = pd.concat(list(es.prediction_log_frames(project=predictor.project)))
        customers = {
            m: sorted(set(log.loc[log["as_of_ns"] == m.value, "customer_id"])) for m in MONDAYS
        }

        def churn() -> pd.DataFrame:
            res = monitor(es, predictor, now=END, project=predictor.project)
            w = res.weekly
            return w[w["week"].isin(MONDAYS)].sort_values(["task", "week"]).reset_index(drop=True)

        before = churn()
        # known at as_of itself (the first week's), and a nanosecond after the last horizon
        es.record_outcomes(
            [Outcome(c, "churn", "cancellation", first) for c in customers[first]]
            + [Outcome(c, "churn", "x", last + horizon + pd.Timedelta(1)) for c in customers[last]]
        )
        outside = churn()
        # the last instant of the last week's window, for half its customers
        es.record_outcomes(
            [Outcome(c, "churn", "cancellation", last + horizon) for c in customers[last][::2]]
        )
        inside = churn()
    cols = ["task", "week", "n_matured", "observed_rate", "auc", "log_loss"]
    pd.testing.assert_frame_equal(outside[cols], before[cols])
    assert (inside["n_matured"] == before["n_matured"]).all()
    a, b = inside["observed_rate"], before["observed_rate"]
    changed = ~((a == b) | (a.isna() & b.isna())).to_numpy()  # NaN: no binary rate
    is_last_churn = ((before["task"] == "churn") & (before["week"] == last)).to_numpy()
    assert (changed == is_last_churn).all(), inside[cols]  # that week of churn alone
    row = inside[is_last_churn].iloc[0]
    assert row["observed_rate"] > before[is_last_churn].iloc[0]["observed_rate"] + 0.1
