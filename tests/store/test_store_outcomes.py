"""Outcomes known outside the event stream (issue 16): `journeyml outcomes FILE` and `POST
/outcomes` record them by the same row rules (the file through the readers, every row checked
first, a clear error and nothing stored for bad rows; the endpoint row by row, as POST /events),
and the monitor's window reads them back: an outcome of the task for the customer in
(as_of, as_of + horizon], never past now. On each store backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from journeyml.cli import app
from journeyml.errors import PayloadTooLargeError, StoreNotConfiguredError
from journeyml.monitor.outcomes import recorded_positive
from journeyml.store import EventStore, Outcome

AS_OF = pd.Timestamp("2024-03-04", tz="UTC")
DAY = pd.Timedelta(days=1)


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, " ".join(r.output.split())  # rich wraps long lines


def test_outcomes_file_is_recorded_once_and_bad_rows_refuse_the_file(
    store: EventStore, tmp_path: Path
) -> None:
    good = tmp_path / "crm.csv"
    good.write_text(
        "customer_id,task,outcome,time\n"
        "c1,churn,cancellation,2024-03-10T12:00:00+01:00\n"
        "c2,conversion,purchase,2024-03-11\n"
    )
    code, out = _run("outcomes", str(good), "--store", store.uri)
    assert code == 0, out
    assert "recorded 2 outcomes" in out and "churn: 1, conversion: 1" in out
    got = store.outcomes()
    assert list(got["customer_id"]) == ["c1", "c2"]
    assert got["time"].iloc[0] == pd.Timestamp("2024-03-10T11:00:00Z")
    assert set(got["source"]) == {"crm.csv"}
    code, out = _run("outcomes", str(good), "--store", store.uri)
    assert code == 0 and "recorded 0 outcomes" in out and "2 already there" in out
    assert len(store.outcomes()) == 2

    jsonl = tmp_path / "bad.jsonl"
    rows = [
        {"customer_id": "c3", "task": "churn", "outcome": "cancellation", "time": "2024-03-12"},
        {"customer_id": "c4", "task": "churn", "outcome": "false", "time": "2024-03-12"},
        {"customer_id": "c5", "task": "churn", "outcome": "cancellation", "time": 1710201600},
        {"customer_id": "", "task": "churn", "outcome": "cancellation", "time": "2024-03-12"},
        {"customer_id": "c6", "task": "churn", "outcome": "cancellation", "time": "soon"},
    ]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, text = _run("outcomes", str(jsonl), "--store", store.uri)
    assert code == 2, text
    assert "validation_failed" in text and "4 of 5 rows" in text
    assert "row 2: outcome 'false' says it did not happen" in text
    assert "row 3: time is 1710201600 (int)" in text and "row 4: customer_id" in text
    assert "row 5: time 'soon' is not an ISO 8601 timestamp" in text
    assert "nothing was recorded" in text
    assert len(store.outcomes()) == 2  # not even the good first row

    missing = tmp_path / "short.csv"
    missing.write_text("customer,task,outcome,time\nc1,churn,x,2024-03-12\n")
    code, out = _run("outcomes", str(missing), "--store", store.uri)
    assert code == 2 and "missing customer_id" in out, out


def test_an_outcome_counts_within_as_of_and_the_horizon_only(store: EventStore) -> None:
    store.record_outcomes(
        [
            Outcome("at", "churn", "cancellation", AS_OF),  # known at as_of: not after it
            Outcome("inside", "churn", "cancellation", AS_OF + 30 * DAY),  # the last instant
            Outcome("late", "churn", "cancellation", AS_OF + 30 * DAY + pd.Timedelta(1)),
            Outcome("other", "conversion", "purchase", AS_OF + DAY),  # another task
            Outcome("future", "churn", "cancellation", AS_OF + 20 * DAY),  # after now
            Outcome("early", "churn", "cancellation", AS_OF - DAY),
        ]
    )
    ids = np.array(["at", "inside", "late", "other", "future", "early", "nobody"], dtype=object)
    as_of = np.full(len(ids), AS_OF.value, dtype=np.int64)
    now = (AS_OF + 60 * DAY).value
    got = recorded_positive(store, "churn", ids, as_of, 30.0, now)
    assert dict(zip(ids, got, strict=True)) == {
        "at": False, "inside": True, "late": False, "other": False, "future": True,
        "early": False, "nobody": False,
    }  # fmt: skip
    # never past now: as of 10 days later, the outcome 20 days on is not known yet
    early_now = recorded_positive(store, "churn", ids, as_of, 30.0, (AS_OF + 10 * DAY).value)
    assert not early_now.any()
    # without a horizon (case_outcome): anything after as_of up to now
    open_ended = recorded_positive(store, "churn", ids, as_of, None, now)
    assert list(ids[open_ended]) == ["inside", "late", "future"]
    # another prediction of the same customer, a day later, has its own window
    shifted = recorded_positive(
        store, "churn", np.array(["early", "at"]), np.array([(AS_OF - 2 * DAY).value,
        (AS_OF + DAY).value]), 30.0, now,
    )  # fmt: skip
    assert list(shifted) == [True, False]


def test_post_outcomes_records_valid_rows_and_names_each_rejected_field(
    store: EventStore,
) -> None:
    from journeyml.serving import OutcomesRequest, StoreLink, handle_outcomes

    link = StoreLink(store.uri, opener=lambda _uri: store)
    good = {"customer_id": "c1", "task": "churn", "outcome": "cancellation", "time": "2024-03-10"}
    rows = [
        good,
        {**good, "time": 1710028800},
        {**good, "outcome": "no"},
        {**good, "colour": "red"},
        "not an outcome",
        {**good, "customer_id": "c2", "source": "crm"},
        good,  # the same outcome twice: stored once
        {**good, "time": "now"},  # a word pandas would read, not ISO 8601
    ]
    got = handle_outcomes(link, OutcomesRequest(outcomes=rows), max_rows=100)
    assert got["accepted"] == 2 and got["duplicates"] == 1
    assert [(r["index"], r["field"]) for r in got["rejected"]] == [
        (1, "time"), (2, "outcome"), (3, "colour"), (4, "outcome"), (7, "time"),
    ]  # fmt: skip
    assert got["accepted"] + got["duplicates"] + len(got["rejected"]) == len(rows)
    stored = store.outcomes(task="churn")
    assert list(zip(stored["customer_id"], stored["source"], strict=True)) == [
        ("c1", "api"), ("c2", "crm"),
    ]  # fmt: skip
    with pytest.raises(PayloadTooLargeError):
        handle_outcomes(link, OutcomesRequest(outcomes=[good] * 3), max_rows=2)
    with pytest.raises(StoreNotConfiguredError):
        handle_outcomes(StoreLink(None), OutcomesRequest(outcomes=[good]), max_rows=10)
