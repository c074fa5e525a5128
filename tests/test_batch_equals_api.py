"""Batch = API: batch scoring answers every customer exactly as ``POST /predict`` answers the
same journey — probabilities and root causes, and the request-level fields (warnings with
``not_eligible``, model versions, feature fingerprint, request id) — and ``journeyml score``
writes those fields in jsonl, csv and parquet."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from journeyml.cli import app
from journeyml.scoring import ScoreRequest
from journeyml.serving import (
    PredictRequest,
    batch_results,
    default_cutoffs,
    handle_predict,
    requests_from_frame,
    score_chunks,
)

RID = "batch-test"


@pytest.fixture(scope="module")
def odd_journeys(small_simulation: Any) -> pd.DataFrame:
    """120 simulated customers, some of them bought (not eligible for conversion), with a
    touchpoint and a channel training never saw and an exact duplicate event planted."""
    ev = small_simulation.events
    buyers = ev.loc[ev["touchpoint"] == "purchase", "customer_id"].unique()[:30]
    others = [c for c in ev["customer_id"].unique() if c not in set(buyers)][:90]
    some = ev[ev["customer_id"].isin([*buyers, *others])].copy()
    first = some.groupby("customer_id").head(1).index
    odd = some.loc[first[:5]].copy()
    odd["touchpoint"] = "fax_received"
    odd["timestamp"] += pd.Timedelta(1, "min")
    chan = some.loc[first[5:9]].copy()
    chan["channel"] = "carrier_pigeon"
    chan["timestamp"] += pd.Timedelta(2, "min")
    dup = some.loc[first[9:12]]
    out = pd.concat([some, odd, chan, dup]).sort_values(["customer_id", "timestamp"], kind="stable")
    return out.reset_index(drop=True)


def api_answers(predictor: Any, events: pd.DataFrame, cut: pd.DataFrame) -> list[dict[str, Any]]:
    bodies = requests_from_frame(events, cut, attributes=list(predictor.spec.params.attributes))
    now = datetime(2030, 1, 1, tzinfo=UTC)
    out = []
    for body in bodies:
        body.pop("as_of")  # the API's own default: just after the last event
        req = PredictRequest.model_validate(body)
        out.append(handle_predict(predictor, req, request_id=RID, now=now))
    return out


def test_batch_rows_are_the_api_responses(predictor: Any, odd_journeys: pd.DataFrame) -> None:
    cut = default_cutoffs(odd_journeys)
    batch = batch_results(predictor, odd_journeys, cut, request_id=RID)
    api = api_answers(predictor, odd_journeys, cut)
    assert len(batch) == len(api) == 120
    for b, a in zip(batch, api, strict=True):
        assert b == a, b["customer_id"]
    codes = [w["code"] for row in batch for w in row["warnings"]]
    # the planted oddities and the buyers are all flagged, as the API flags them
    assert codes.count("unknown_touchpoint") == 5 and codes.count("unknown_channel") == 4
    assert codes.count("duplicate_events") == 3
    assert sum(w["field"] == "conversion" for r in batch for w in r["warnings"]) >= 30
    assert {r["model_versions"]["churn"] for r in batch} == {predictor.versions()["churn"]}


def test_chunks_and_an_as_of_give_the_same_answers_with_events_after_it_counted(
    predictor: Any, odd_journeys: pd.DataFrame
) -> None:
    as_of = odd_journeys["timestamp"].quantile(0.6)
    cut = default_cutoffs(odd_journeys, as_of)
    req = ScoreRequest(predictor.tasks, explain=False)
    whole = batch_results(predictor, odd_journeys, cut, req, request_id=RID)
    chunked = [
        r
        for c in score_chunks(predictor, odd_journeys, cut, req, request_id=RID, chunk_customers=17)
        for r in c
    ]
    key = {r["customer_id"]: r for r in whole}
    assert len(chunked) == len(whole) and all(key[r["customer_id"]] == r for r in chunked)
    after = [w for r in whole for w in r["warnings"] if w["code"] == "events_after_as_of"]
    assert after, "customers with events after as_of are told so"
    late = odd_journeys.groupby("customer_id")["timestamp"].min() >= as_of
    no_events = {r["customer_id"] for r in whole if r["n_events_used"] == 0}
    assert no_events == set(late[late].index)
    for r in whole:
        if r["customer_id"] in no_events:
            assert "no_events" in [w["code"] for w in r["warnings"]]


def test_score_writes_the_api_fields_in_every_format(
    trained_store: Any, odd_journeys: pd.DataFrame, tmp_path: Path
) -> None:
    uri, _ = trained_store
    data = tmp_path / "events.csv"
    odd_journeys.to_csv(data, index=False)
    buyers = set(odd_journeys.loc[odd_journeys["touchpoint"] == "purchase", "customer_id"])
    for suffix in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"scores.{suffix}"
        args = ["score", str(data), "--out", str(out), "--tracking-uri", uri]
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
        if suffix == "jsonl":
            rows = [json.loads(line) for line in out.read_text().splitlines()]
            assert {r["request_id"] for r in rows} == {rows[0]["request_id"]}
            flagged = {
                r["customer_id"]
                for r in rows
                for w in r["warnings"]
                if w["code"] == "not_eligible" and w["field"] == "conversion"
            }
            assert rows[0]["model_versions"] and rows[0]["churn"]["root_causes"]
        else:
            table = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
            assert len(table) == 120 and table["request_id"].nunique() == 1
            assert {"churn_model_version", "feature_fingerprint", "warnings"} <= set(table)
            flagged = set(table.loc[~table["conversion_eligible"], "customer_id"])
            codes = [w["code"] for ws in table["warnings"] for w in json.loads(ws)]
            assert "unknown_touchpoint" in codes
        assert buyers <= flagged, suffix
