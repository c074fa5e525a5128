"""Replaying logged predictions and scoring the store's active customers, on both backends."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from journeyml.errors import ConfigError
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.serving import PredictionLog, StoreLink, handle_customer_predictions
from journeyml.store import (
    EventStore,
    UnknownRequestError,
    parse_segment,
    replay,
    score_active,
    select_segment,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
AS_OF = "2024-04-20T00:00:00+00:00"


def some_customers(sim: Any, n: int) -> pd.DataFrame:
    ids = sorted(sim.events["customer_id"].unique())[:n]
    return sim.events[sim.events["customer_id"].isin(ids)]


def logged_by_id(store: EventStore, predictor: Any, cid: str, rid: str) -> dict[str, Any]:
    link = StoreLink(store.uri, opener=lambda _u: store)
    plog = PredictionLog(link, project="demo", interval_s=60)
    out = handle_customer_predictions(
        predictor, link, cid, as_of=AS_OF, tasks=None, now=NOW, request_id=rid, log=plog
    )
    assert plog.flush() == 1
    return out


def test_replay_is_identical_then_names_what_changed(
    store: EventStore, predictor: Any, small_simulation: Any
) -> None:
    ev = some_customers(small_simulation, 40)
    cid = str(ev["customer_id"].value_counts().index[0])
    store.ingest(ev, source="test", now=NOW)
    logged_by_id(store, predictor, cid, "r-1")
    same = replay(store, predictor, "r-1")
    assert same.identical and same.events_same, same.to_text()
    assert "identical" in same.to_text()

    # another model version for churn: the models changed, the answer did not
    bundles = dict(predictor.bundles)
    churn = copy.copy(bundles["churn"])
    churn.info = {**churn.info, "registry_version": "99"}
    bundles["churn"] = churn
    other = replay(store, Predictor(bundles), "r-1")
    assert not other.identical and other.events_same
    assert other.models == {"churn": (predictor.versions()["churn"], "99")}
    assert "model churn" in other.to_text() and not other.answers

    # a late event before as_of (a support call the CRM sent late): the events changed
    late = pd.DataFrame(
        {
            "customer_id": [cid] * 3,
            "timestamp": pd.to_datetime(
                ["2024-04-18T00:00", "2024-04-19T00:00", "2024-04-19T12:00"], utc=True
            ),
            "touchpoint": ["support_call", "complaint", "support_call"],
        }
    )
    store.ingest(late, source="late", now=NOW)
    changed = replay(store, predictor, "r-1")
    assert not changed.events_same and changed.n_events_now == changed.logged.n_events + 3
    assert changed.answers and "events:" in changed.to_text()
    with pytest.raises(UnknownRequestError):
        replay(store, predictor, "never-logged")


def test_score_active_customers_equals_offline_scoring_and_is_logged(
    store: EventStore, predictor: Any, small_simulation: Any
) -> None:
    ev = some_customers(small_simulation, 60)
    store.ingest(ev, source="test", now=NOW)
    as_of = pd.Timestamp("2024-04-01", tz="UTC")
    days = 30
    run = score_active(
        store, predictor, as_of=as_of, days=days, project="demo", created_at=NOW, run_id="run-1"
    )
    before = ev[ev["timestamp"] < as_of]
    recent = before[before["timestamp"] >= as_of - pd.Timedelta(days=days)]
    expected = sorted(recent["customer_id"].astype(str).unique())
    assert 0 < len(expected) < ev["customer_id"].nunique()
    table = run.scores
    assert table["customer_id"].tolist() == expected
    assert run.logged == len(expected)
    cut = pd.DataFrame({"customer_id": expected, "as_of": as_of})
    offline = predictor.score_frame(before, cut, ScoreRequest(predictor.tasks, True, 3))
    for row, off in zip(table.to_dict("records"), offline, strict=True):
        assert row["churn"] == pytest.approx(off["churn"]["probability"], abs=1e-12)
        assert row["next_stage"] == off["next_stage"]["predicted"]
        assert row["n_events"] == off["n_events_used"]
        first = off["churn"]["root_causes"][0]
        assert row["churn_causes"].startswith(first.get("label", first["cause"]))
    assert table["churn_percentile"].between(0, 100).all()
    assert table.loc[table["churn"].idxmax(), "churn_percentile"] == 100
    entries = store.predictions_for_request("run-1")
    assert [e.customer_id for e in entries] == expected
    assert replay(store, predictor, "run-1", item=3).identical

    # the store's scores table: one row per customer and task, what the table says
    assert run.saved == len(expected) * len(predictor.tasks)
    saved = store.scores("demo")
    assert len(saved) == run.saved and set(saved["run_id"]) == {"run-1"}
    churn = saved[saved["task"] == "churn"].set_index("customer_id")
    nxt = saved[saved["task"] == "next_stage"].set_index("customer_id")
    for row, off in zip(table.to_dict("records"), offline, strict=True):
        cid = row["customer_id"]
        assert churn.loc[cid, "probability"] == row["churn"]
        assert churn.loc[cid, "percentile"] == row["churn_percentile"]
        assert churn.loc[cid, "top_causes"] == off["churn"]["root_causes"]
        assert nxt.loc[cid, "predicted"] == row["next_stage"]
        assert nxt.loc[cid, "probability"] == row["next_stage_probability"]
        assert churn.loc[cid, "model_version"] == predictor.versions()["churn"]
    assert (saved["as_of"] == as_of).all() and (saved["created_at"] == NOW).all()
    # a later run is the project's current scores; the first stays readable by its id
    later = score_active(
        store, predictor, as_of=as_of, days=days, project="demo",
        created_at=NOW + pd.Timedelta(days=1), run_id="run-2", log=False,
    )  # fmt: skip
    assert later.saved == run.saved and set(store.scores("demo")["run_id"]) == {"run-2"}
    assert store.scores("demo", run_id="run-1")["probability"].tolist() == (
        saved["probability"].tolist()
    )
    assert store.scores("other project").empty
    # erasure removes a customer's scores of every run
    gone = store.erase_customer(expected[0])
    assert gone.scores == 2 * len(predictor.tasks)
    assert expected[0] not in set(store.scores("demo", run_id="run-1")["customer_id"])

    cut_at = float(table["churn"].median())
    audience = select_segment(table, parse_segment(f"churn >= {cut_at}"))
    assert len(audience) == int((table["churn"] >= cut_at).sum()) > 0
    assert (audience["churn"] >= cut_at).all() and audience["churn_causes"].str.len().gt(0).all()
    with pytest.raises(ConfigError) as err:
        select_segment(table, parse_segment("lifetime >= 2"))
    assert err.value.field == "segment"
    with pytest.raises(ConfigError):
        parse_segment("churn is high")


def test_score_and_replay_commands(
    store_uri: str, trained_store: Any, small_simulation: Any, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from journeyml.cli import app

    with EventStore.open(store_uri) as es:
        es.ingest(some_customers(small_simulation, 30), source="test", now=NOW)
    runner = CliRunner()
    out = tmp_path / "audience.parquet"
    args = ["score", "--store", "--store-uri", store_uri, "--tracking-uri", trained_store[0]]
    r = runner.invoke(
        app, [*args, "--as-of", "2024-04-01", "--active-days", "60", "--segment", "churn >= 0",
              "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    audience = pd.read_parquet(out)
    assert len(audience) > 0 and {"churn", "churn_percentile", "churn_causes"} <= set(audience)
    with EventStore.open(store_uri) as es:
        rid = es.predictions(str(audience["customer_id"][0]))[0].request_id
    r = runner.invoke(
        app, ["replay", rid, "--item", "0", "--store", store_uri, "--tracking-uri",
              trained_store[0]],
    )  # fmt: skip
    assert r.exit_code == 0 and "identical" in r.output, r.output
