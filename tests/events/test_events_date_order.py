"""Day-first numeric dates are read day first for every value of the column, never one value
at a time (which read ``12/10/2024`` as 10 December beside ``27/04/2024`` as 27 April)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from journeyml.cli import app
from journeyml.events import load_events
from journeyml.events.date_order import date_order, numeric_date_format
from journeyml.events.timestamps import parse_timestamps

TRUE_TIMES = pd.to_datetime(
    ["2024-04-27 23:49", "2024-04-05 10:00", "2024-10-12 08:30", "2024-01-02 00:05"]
)


@pytest.mark.parametrize(
    ("layout", "order", "fmt"),
    [
        ("%d/%m/%Y %H:%M", "day_first", "%d/%m/%Y %H:%M"),
        ("%m/%d/%Y %H:%M", "month_first", "%m/%d/%Y %H:%M"),
        ("%d.%m.%y", "day_first", "%d.%m.%y"),
        ("%d-%m-%Y %H:%M:%S", "day_first", "%d-%m-%Y %H:%M:%S"),
    ],
)
def test_the_column_decides_the_order(layout: str, order: str, fmt: str) -> None:
    text = pd.Series(TRUE_TIMES.strftime(layout))
    assert date_order(text) == order
    assert numeric_date_format(text) == fmt
    parsed = parse_timestamps(text).values  # without a format: one order for all values
    expected = pd.Series(TRUE_TIMES).dt.tz_localize("UTC")
    if "%H" not in layout:
        expected = expected.dt.normalize()
    assert parsed.tolist() == expected.tolist()


def test_undecidable_and_contradictory_columns_get_no_format() -> None:
    assert date_order(pd.Series(["05/04/2024", "01/02/2024"])) == "ambiguous"
    assert numeric_date_format(pd.Series(["05/04/2024", "01/02/2024"])) is None
    assert date_order(pd.Series(["27/04/2024", "04/27/2024"])) == "contradictory"
    assert date_order(pd.Series(["2024-04-05", "yesterday"])) is None


def test_init_writes_the_day_first_format_and_training_reads_it(tmp_path: Path) -> None:
    rows = [
        ("u1", "27/04/2024 23:49", "visit"),
        ("u1", "12/10/2024 08:30", "buy"),
        ("u2", "05/04/2024 10:00", "visit"),
        ("u2", "02/01/2024 00:05", "visit"),
    ] * 3
    log = tmp_path / "shop.csv"
    pd.DataFrame(rows, columns=["user", "when", "action"]).to_csv(log, index=False, sep=";")
    mapping = tmp_path / "shop.mapping.yaml"
    res = CliRunner().invoke(app, ["init", str(log), "--mapping-out", str(mapping)])
    assert res.exit_code == 0, res.output
    text = mapping.read_text()
    assert "timestamp_format: '%d/%m/%Y %H:%M'" in text
    assert "2024-01-02 → 2024-10-12" in text  # the log's span, read day first
    events = load_events(log, mapping, policy="lenient").events
    assert events["timestamp"].max() == pd.Timestamp("2024-10-12 08:30", tz="UTC")


def test_init_says_when_no_value_tells_day_from_month(tmp_path: Path) -> None:
    rows = [("u1", "05/04/2024 10:00", "visit"), ("u2", "01/02/2024 09:00", "buy")] * 3
    log = tmp_path / "shop.csv"
    pd.DataFrame(rows, columns=["user", "when", "action"]).to_csv(log, index=False)
    mapping = tmp_path / "shop.mapping.yaml"
    res = CliRunner().invoke(app, ["init", str(log), "--mapping-out", str(mapping)])
    assert res.exit_code == 0, res.output
    text = mapping.read_text()
    assert "no value tells day from month" in text and "timestamp_format" in text
    assert "\ntimestamp_format:" not in text  # a question for the user, not a guess
