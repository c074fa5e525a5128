"""Errors that name the real cause and the fix: one test per message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from journeyml.errors import ReaderError, ValidationFailedError
from journeyml.events import load_events

MAPPING = {"columns": {"customer_id": "cid", "timestamp": "ts", "touchpoint": "tp"}}


@pytest.mark.parametrize(
    ("sep", "name"),
    [(" ", "whitespace"), ("  ", "whitespace"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")],
)
def test_a_file_read_as_one_column_says_which_separator_it_looks_like(
    tmp_path: Path, sep: str, name: str
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        sep.join(["cid", "ts", "tp"]) + "\n" + sep.join(["a", "2024-01-01", "x"]) + "\n"
    )
    with pytest.raises(ReaderError) as info:
        load_events(path, MAPPING)
    message = info.value.message
    assert f"one column named {sep.join(['cid', 'ts', 'tp'])!r}" in message
    assert f"looks {name}-separated" in message
    assert f"`reader: {{separator: {name}}}`" in message
    assert "missing" not in message and info.value.field == "reader.separator"
    fixed = {**MAPPING, "reader": {"separator": name}}
    assert load_events(path, fixed).events["touchpoint"].tolist() == ["x"]


def test_strict_validation_of_simulator_output_explains_duplicates_keep(tmp_path: Path) -> None:
    from journeyml.sim import simulate, write_simulation

    sim = simulate(300, seed=1, days=120)
    key = ["customer_id", "timestamp", "touchpoint", "channel", "value"]
    assert sim.events.duplicated(key).any(), "this seed's journeys repeat an event"
    path = tmp_path / "sim.parquet"
    write_simulation(sim, path)
    with pytest.raises(ValidationFailedError) as info:
        load_events(path)
    message = info.value.message
    assert "duplicate_event" in message and "`duplicates: keep`" in message
    assert "legitimately repeat" in message and "lenient" in message
    kept = load_events(
        path,
        {
            "columns": {
                c: c
                for c in ("customer_id", "timestamp", "touchpoint", "channel", "stage", "value")
            },
            "duplicates": "keep",
        },
    )
    assert len(kept.events) == len(sim.events)


def test_codes_read_as_times_are_unparseable_rows_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"  # "V30" and "0001" read as year 1 by the mixed parser
    path.write_text("cid,ts,tp\na,2024-01-01,x\na,V30,x\nb,0001,x\n")
    result = load_events(path, MAPPING, policy="lenient")
    assert result.report.rejects_by_reason == {"unparseable_timestamp": 2}
    assert result.events["timestamp"].tolist() == [pd.Timestamp("2024-01-01", tz="UTC")]
