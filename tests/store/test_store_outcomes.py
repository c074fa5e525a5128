"""Outcomes known outside the event stream (issue 16): `journeyml outcomes FILE` records them
through the readers (every row checked first, a clear error and nothing stored for bad rows),
and the monitor's window reads them back: an outcome of the task for the customer in
(as_of, as_of + horizon], never past now. On each store backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from journeyml.cli import app
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
    assert "row 5: time 'soon' is not a timestamp" in text and "nothing was recorded" in text
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
