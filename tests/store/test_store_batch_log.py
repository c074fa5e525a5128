"""``journeyml score FILE`` logs every prediction to the store's prediction log (one request id
for the run, an item per customer), on both backends; a replay says when the store lacks the
file's events and is identical once they are ingested; ``--no-log`` and no store log nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from journeyml.cli import app
from journeyml.store import EventStore, frame_fingerprints, journey_digest
from journeyml.store.ids import event_fingerprint

NOW = pd.Timestamp("2030-01-01", tz="UTC")


def some_events(sim: Any, n: int) -> pd.DataFrame:
    ids = sorted(sim.events["customer_id"].unique())[:n]
    return sim.events[sim.events["customer_id"].isin(ids)]


def score(args: list[str]) -> Any:
    return CliRunner().invoke(app, ["score", *args])


def test_batch_scoring_a_file_logs_every_prediction_and_replays_once_ingested(
    store_uri: str, trained_store: Any, small_simulation: Any, tmp_path: Path
) -> None:
    events = some_events(small_simulation, 25)
    data = tmp_path / "events.csv"
    events.to_csv(data, index=False)
    out = tmp_path / "scores.jsonl"
    as_of = "2024-04-20T00:00:00+00:00"
    r = score([str(data), "--out", str(out), "--tracking-uri", trained_store[0],
               "--store-uri", store_uri, "--as-of", as_of])  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    rid = rows[0]["request_id"]
    assert rid.startswith("batch-") and {x["request_id"] for x in rows} == {rid}
    assert rid in r.output and f"logged {len(rows)} predictions" in r.output
    with EventStore.open(store_uri) as es:
        logged = es.predictions_for_request(rid)
        assert [e.item for e in logged] == list(range(len(rows)))
        assert [e.customer_id for e in logged] == [x["customer_id"] for x in rows]
        loaded = pd.read_csv(data, parse_dates=["timestamp"])
        for e, row in zip(logged, rows, strict=True):
            assert e.model_versions == row["model_versions"]
            assert e.feature_fingerprint == row["feature_fingerprint"]
            assert e.probabilities["churn"] == row["churn"]["probability"]
            assert e.probabilities["next_stage"] == row["next_stage"]["distribution"]
            assert e.top_causes["churn"] == row["churn"]["root_causes"]
            assert e.n_events == row["n_events_used"]
            mine = loaded[(loaded["customer_id"].astype(str) == e.customer_id)]
            mine = mine[mine["timestamp"] < pd.Timestamp(as_of)].drop(columns="customer_id")
            assert e.events_hash == journey_digest(mine.to_dict("records"))

    busy = max(range(len(rows)), key=lambda i: rows[i]["n_events_used"])
    replay = ["replay", rid, "--item", str(busy), "--store", store_uri,
              "--tracking-uri", trained_store[0]]  # fmt: skip
    missing = CliRunner().invoke(app, replay)
    assert missing.exit_code == 3, missing.output
    assert "events not in the store" in missing.output and " then, " not in missing.output

    with EventStore.open(store_uri) as es:
        es.ingest(events, source="file", now=NOW)
    same = CliRunner().invoke(app, replay)
    assert same.exit_code == 0 and "identical" in same.output, same.output


def test_no_log_and_no_store_log_nothing(
    store_uri: str,
    trained_store: Any,
    small_simulation: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "events.csv"
    some_events(small_simulation, 5).to_csv(data, index=False)
    base = [str(data), "--out", str(tmp_path / "s.csv"), "--tracking-uri", trained_store[0]]
    r = score([*base, "--store-uri", store_uri, "--no-log"])
    assert r.exit_code == 0, r.output
    with EventStore.open(store_uri) as es:
        assert es.summary().predictions == 0

    monkeypatch.delenv("JOURNEYML_STORE_URI", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./store/journeyml.db here: none is created
    r = score(base)
    assert r.exit_code == 0 and "not logged: no event store" in r.output, r.output
    assert not (tmp_path / "store").exists()

    monkeypatch.setenv("JOURNEYML_STORE_URI", store_uri)  # configured: logged
    r = score(base)
    assert r.exit_code == 0, r.output
    with EventStore.open(store_uri) as es:
        assert es.summary().predictions == 5


def test_frame_fingerprints_are_the_records_fingerprints(small_simulation: Any) -> None:
    ev = some_events(small_simulation, 30).drop(columns="customer_id").reset_index(drop=True)
    odd = ev.head(6).copy()
    odd["value"] = [None, 1, 2.5, float("nan"), 1e99, 0]
    odd["channel"] = [None, "web", float("nan"), "app", "web", "web"]
    odd["flag"] = [True, 1, 1.0, None, "x", float("nan")]  # 1, 1.0 and True stay apart
    odd["when"] = pd.to_datetime(["2024-01-01"] * 6, utc=True)
    for frame in (ev, odd, ev.iloc[:0]):
        records = frame.to_dict("records")
        assert frame_fingerprints(frame) == [event_fingerprint(r) for r in records]
    assert len({*frame_fingerprints(odd)}) == 6
