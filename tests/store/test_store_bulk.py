"""Bulk loads: a log file through the same readers and validation as training, every input row
counted once (accepted + rejected + duplicates = input), on both backends; the CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from journeyml.cli import app
from journeyml.events import load_events
from journeyml.progress import Progress, ProgressUpdate
from journeyml.store import EventStore, ingest_file

NOW = pd.Timestamp("2024-07-01", tz="UTC")
LOG = """cid,ts,tp,ch,amount
a,2024-05-01T10:00:00Z,visit,web,
a,2024-05-01T10:00:00Z,visit,web,
b,not a time,visit,web,
,2024-05-01,visit,web,
c,2024-05-02,purchase,app,12.5
c,2099-01-01,visit,web,
d,2024-05-03,visit,web,abc
"""
MAPPING = """
columns: {customer_id: cid, timestamp: ts, touchpoint: tp, channel: ch, value: amount}
stage_map: {visit: consideration, purchase: conversion}
timezone: UTC  # the log mixes dates without an offset and times with one
"""


@pytest.fixture
def log(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "log.csv").write_text(LOG)
    (tmp_path / "m.yaml").write_text(MAPPING)
    return tmp_path / "log.csv", tmp_path / "m.yaml"


def test_every_row_is_accepted_rejected_or_a_duplicate(
    store: EventStore, log: tuple[Path, Path], tmp_path: Path
) -> None:
    path, mapping = log
    rejects = tmp_path / "rejects.csv"
    first = ingest_file(store, path, mapping, now=NOW, rejects_path=rejects)
    assert (first.n_input, first.accepted, first.rejected, first.duplicates) == (7, 2, 4, 1)
    assert first.rejects_by_reason == {
        "missing_customer_id": 1,
        "unparseable_timestamp": 1,
        "invalid_value": 1,
        "timestamp_in_future": 1,
    }
    written = pd.read_csv(rejects)
    assert sorted(written["input_row"]) == [2, 3, 5, 6]
    assert "7 input = 2 accepted + 4 rejected + 1 duplicates" in first.to_text()
    again = ingest_file(store, path, mapping, now=NOW)
    assert (again.accepted, again.rejected, again.duplicates) == (0, 4, 3)
    journey = store.journey("c")
    assert journey[["touchpoint", "channel", "stage", "value"]].to_dict("records") == [
        {"touchpoint": "purchase", "channel": "app", "stage": "conversion", "value": 12.5}
    ]
    assert store.count_events() == 2


def test_a_log_whose_repeats_are_genuine_keeps_them(
    store: EventStore, log: tuple[Path, Path]
) -> None:
    path, mapping = log
    mapping.write_text(MAPPING + "duplicates: keep\n")
    first = ingest_file(store, path, mapping, now=NOW)
    assert (first.accepted, first.rejected, first.duplicates) == (3, 4, 0)
    assert store.journey("a")["touchpoint"].tolist() == ["visit", "visit"]
    again = ingest_file(store, path, mapping, now=NOW, batch_size=1)
    assert (again.accepted, again.duplicates) == (0, 3)


def test_progress_is_reported_per_transaction_of_whole_customers(
    store: EventStore, tmp_path: Path
) -> None:
    rows = [f"c{c},2024-05-0{d},visit,web,\n" for c in range(5) for d in range(1, 4)]
    (tmp_path / "log.csv").write_text("cid,ts,tp,ch,amount\n" + "".join(rows))
    (tmp_path / "m.yaml").write_text(MAPPING)
    seen: list[ProgressUpdate] = []
    report = ingest_file(
        store, tmp_path / "log.csv", tmp_path / "m.yaml", now=NOW, batch_size=4,
        progress=Progress(seen.append),
    )  # fmt: skip
    assert report.accepted == 15
    assert {"reading", "validating", "storing"} <= {u.stage for u in seen}
    storing = [(u.done, u.total, u.finished) for u in seen if u.stage == "storing"]
    # 4 events round up to 2 whole customers (6 events) per transaction
    assert storing == [(0, 15, False), (6, 15, False), (12, 15, False), (15, 15, False),
                       (15, 15, True)]  # fmt: skip


@pytest.mark.realdata
def test_stored_journeys_equal_what_training_loads(store: EventStore, shared_data: Path) -> None:
    """The CDNOW sample (duplicates: keep): the store holds exactly the events training sees."""
    path = shared_data / "cdnow" / "CDNOW_sample.txt.gz"
    report = ingest_file(store, path, "cdnow-sample", now=NOW)
    want = load_events(path, "cdnow-sample", policy="lenient", now=NOW).events
    assert (report.n_input, report.accepted, report.rejected) == (len(want), len(want), 0)
    got = pd.concat(list(store.journeys(attributes=["number_of_cds", "sample_id"])))
    assert len(got) == len(want)
    key = ["customer_id", "timestamp", "touchpoint", "channel", "value"]
    pd.testing.assert_frame_equal(
        got[key].reset_index(drop=True), want[key].reset_index(drop=True), check_dtype=False
    )
    assert ingest_file(store, path, "cdnow-sample", now=NOW).duplicates == len(want)


def test_the_cli_ingests_and_upgrades(log: tuple[Path, Path], store_uri: str) -> None:
    path, mapping = log
    runner = CliRunner()
    env = {"JOURNEYML_STORE_URI": store_uri}
    up = runner.invoke(app, ["store", "upgrade"], env=env)
    assert up.exit_code == 0 and "schema revision" in up.output
    res = runner.invoke(app, ["ingest", str(path), "--mapping", str(mapping)], env=env)
    assert res.exit_code == 0, res.output
    assert "7 input = 2 accepted + 4 rejected + 1 duplicates" in res.output
    info = runner.invoke(app, ["store", "info", "--store", store_uri])
    assert info.exit_code == 0 and "events: 2 of 2 customers" in info.output
    canonical = path.with_name("canonical.csv")
    canonical.write_text(
        "customer_id,timestamp,touchpoint\nc,2024-05-02T00:00:00Z,visit\nz,2024-05-04T00:00:00Z,visit\n"
    )
    res = runner.invoke(app, ["ingest", str(canonical)], env=env)  # no mapping needed
    assert res.exit_code == 0, res.output
    assert "2 input = 2 accepted + 0 rejected + 0 duplicates" in res.output


def test_a_canonical_file_needs_no_mapping(
    store: EventStore,
    tmp_path: Path,
    small_simulation,  # type: ignore[no-untyped-def]
) -> None:
    """The simulator's parquet (canonical columns, attributes beyond them) loads as it is."""
    ev = small_simulation.events
    ev = ev[ev["customer_id"].isin(ev["customer_id"].unique()[:40])]
    ev.to_parquet(tmp_path / "sim.parquet")
    report = ingest_file(store, tmp_path / "sim.parquet", now=NOW)
    assert (report.accepted, report.rejected, report.duplicates) == (len(ev), 0, 0)
    cid = ev["customer_id"].iloc[0]
    got = store.journey(cid)
    want = ev[ev["customer_id"] == cid]
    assert got["timestamp"].tolist() == want["timestamp"].tolist()
    assert got["segment"].tolist() == want["segment"].tolist()


def test_the_cli_says_what_is_wrong_without_a_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_uri = runner.invoke(app, ["store", "upgrade", "--store", "mysql://db/x"])
    assert bad_uri.exit_code == 2 and "expected a store URI" in bad_uri.output
    (tmp_path / "log.csv").write_text("cid,ts,tp\n,,\n")
    (tmp_path / "m.yaml").write_text("columns: {customer_id: cid, timestamp: ts, touchpoint: tp}")
    uri = f"sqlite:///{tmp_path / 's.db'}"
    nothing = runner.invoke(
        app, ["ingest", str(tmp_path / "log.csv"), "--mapping", str(tmp_path / "m.yaml"),
              "--store", uri],
    )  # fmt: skip
    assert nothing.exit_code == 1 and "no event passed validation" in nothing.output
    assert "Traceback" not in bad_uri.output + nothing.output
