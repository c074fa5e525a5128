"""Files with the canonical columns load with no mapping: ``load_events(path)``,
``mapping="canonical"``, ``journeyml validate`` without ``--mapping``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from journeyml.errors import ConfigError, MissingColumnError, ReaderError
from journeyml.events import canonical_mapping, load_events, map_events, validate_command

ROWS = [
    ("b", "2024-01-02 10:00", "purchase", "web", "conversion", "19.5", "north"),
    ("a", "2024-01-01 09:00", "ad_impression", "display", "awareness", "", "south"),
    ("a", "2024-01-03 12:00", "site_visit", "app", "consideration", "", "south"),
]
COLUMNS = ["customer_id", "timestamp", "touchpoint", "channel", "stage", "value", "region"]


def write(tmp_path: Path, name: str, sep: str = ",") -> Path:
    path = tmp_path / name
    lines = [sep.join(COLUMNS), *(sep.join(r) for r in ROWS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_canonical_csv_loads_without_a_mapping(tmp_path: Path) -> None:
    res = load_events(write(tmp_path, "log.csv"))
    ev = res.events
    assert ev["customer_id"].tolist() == ["a", "a", "b"]
    assert ev["stage"].tolist() == ["awareness", "consideration", "conversion"]
    assert ev["value"].isna().tolist() == [True, True, False]
    assert ev["region"].tolist() == ["south", "south", "north"]  # extra column: an attribute
    assert res.mapping.source == "canonical" and res.report.n_accepted == 3


@pytest.mark.parametrize(("name", "sep"), [("log.tsv", "\t"), ("log.txt", ";"), ("log.dat", "|")])
def test_the_separator_of_a_canonical_text_file_is_sniffed(
    tmp_path: Path, name: str, sep: str
) -> None:
    expected = load_events(write(tmp_path, "log.csv")).events
    pd.testing.assert_frame_equal(
        load_events(write(tmp_path, name, sep), "canonical").events, expected
    )


def test_canonical_parquet_and_jsonl(tmp_path: Path) -> None:
    expected = load_events(write(tmp_path, "log.csv")).events
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    frame["value"] = pd.to_numeric(frame["value"])
    frame.to_parquet(tmp_path / "log.parquet")
    frame.to_json(tmp_path / "log.jsonl", orient="records", lines=True)
    for name in ("log.parquet", "log.jsonl"):
        pd.testing.assert_frame_equal(load_events(tmp_path / name).events, expected)


def test_map_events_and_canonical_mapping_agree_with_load_events(tmp_path: Path) -> None:
    raw = pd.DataFrame(ROWS, columns=COLUMNS)
    expected = load_events(write(tmp_path, "log.csv")).events
    pd.testing.assert_frame_equal(map_events(raw).events, expected)
    mapping = canonical_mapping(COLUMNS)
    assert mapping.resolved_stage_mode == "column" and list(mapping.event_attributes) == ["region"]


def test_a_file_without_the_canonical_columns_says_what_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user,time,event\na,2024-01-01,visit\n")
    with pytest.raises(MissingColumnError) as info:
        load_events(path, mapping=None)
    message = info.value.message
    assert "'customer_id'" in message and "user, time, event" in message
    assert "journeyml init" in message


@pytest.mark.parametrize("bad", [42, 3.5, ["columns"], object()])
def test_a_mapping_of_the_wrong_type_is_a_config_error_never_a_type_error(
    tmp_path: Path, bad: object
) -> None:
    with pytest.raises(ConfigError) as info:
        load_events(write(tmp_path, "log.csv"), bad)  # type: ignore[arg-type]
    assert "canonical" in info.value.message and info.value.field == "mapping"


def test_a_mapping_given_as_a_dict(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user,time,event\na,2024-01-01,visit\n")
    cols = {"customer_id": "user", "timestamp": "time", "touchpoint": "event"}
    assert len(load_events(path, {"columns": cols}).events) == 1


def test_validate_without_mapping_and_with_mapping_canonical(tmp_path: Path) -> None:
    path = write(tmp_path, "log.csv")
    for mapping in (None, "canonical"):
        console = Console(record=True, width=200)
        code = validate_command(path, mapping, "strict", None, console=console)
        out = console.export_text()
        assert code == 0 and "mapping: canonical" in out and "customers" in out


def test_validate_of_a_non_canonical_file_without_mapping_points_to_init(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user,time,event\na,2024-01-01,visit\n")
    console = Console(record=True, width=300)
    assert validate_command(path, None, "strict", None, console=console) == 2
    assert "journeyml init" in console.export_text()


def test_a_canonical_file_read_as_one_column_names_the_cause(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"  # whitespace-separated with quoted times: the sniffer says so
    path.write_text('customer_id timestamp touchpoint\na "2024-01-01 10:00" visit\n')
    assert load_events(path).events["touchpoint"].tolist() == ["visit"]
    odd = tmp_path / "odd.csv"  # lines that split unevenly: read as one column, and said so
    odd.write_text("customer_id timestamp touchpoint\na 2024-01-01\n")
    with pytest.raises(ReaderError, match="one column named 'customer_id timestamp touchpoint'"):
        load_events(odd)
