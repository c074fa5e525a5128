"""Timestamps that mix UTC offsets, or mix offsets with naive values: offsets alone convert to
UTC exactly; naive values beside offsets need a declared zone, asked in one message (the
library's error, ``validate``, ``init``), never a pandas traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from journeyml import to_canonical
from journeyml.cli import app
from journeyml.errors import DataError
from journeyml.events import map_events, validate_command
from journeyml.events.mapping import parse_mapping

OFFSETS = ["2024-01-02T10:00:00+02:00", "2024-07-02T10:00:00+01:00"]
NAIVE = "2024-03-02 10:00"


def raw(times: list[str]) -> pd.DataFrame:
    n = len(times)
    return pd.DataFrame(
        {"customer_id": list("abcdefgh"[:n]), "timestamp": times, "touchpoint": ["visit"] * n}
    )


def test_mixed_offsets_convert_to_utc_exactly() -> None:
    ev = to_canonical(raw(OFFSETS))
    assert [str(t) for t in ev["timestamp"]] == [
        "2024-01-02 08:00:00+00:00",
        "2024-07-02 09:00:00+00:00",
    ]


def test_tz_aware_python_datetimes_of_several_offsets() -> None:
    stamps = [pd.Timestamp(t).to_pydatetime() for t in OFFSETS]
    ev = to_canonical(raw(stamps))  # type: ignore[arg-type]
    assert ev["timestamp"].iloc[1] == pd.Timestamp("2024-07-02 09:00", tz="UTC")


def test_naive_beside_offsets_without_a_zone_is_the_librarys_error() -> None:
    with pytest.raises(DataError) as err:
        to_canonical(raw([*OFFSETS, NAIVE]))
    msg = str(err.value)
    assert err.value.field == "timestamp"
    assert "all with a UTC offset or all without" in msg  # expected
    assert "1 without an offset (rows [2]" in msg and NAIVE in msg  # got
    assert "timezone" in msg  # what to do


def test_naive_beside_offsets_with_a_declared_zone() -> None:
    ev = to_canonical(raw([*OFFSETS, NAIVE]), timezone="Europe/Rome")
    assert pd.Timestamp("2024-03-02 09:00", tz="UTC") in set(ev["timestamp"])
    assert pd.Timestamp("2024-01-02 08:00", tz="UTC") in set(ev["timestamp"])


def test_a_frame_with_a_repeated_index_parses() -> None:
    frame = raw(OFFSETS).set_axis([0, 0])
    assert to_canonical(frame)["timestamp"].notna().all()


def test_mapping_without_timezone_refuses_the_mix_with_timezone_reads_it() -> None:
    cols = {"columns": {"customer_id": "c", "timestamp": "t", "touchpoint": "p"}}
    frame = raw([*OFFSETS, NAIVE]).set_axis(["c", "t", "p"], axis=1)
    with pytest.raises(DataError, match="timezone: <IANA zone>"):
        map_events(frame, parse_mapping(cols))
    res = map_events(frame, parse_mapping({**cols, "timezone": "Europe/Rome"}))
    assert res.report.n_accepted == 3
    assert len(map_events(frame.iloc[:2], parse_mapping(cols)).events) == 2


def write_mixed(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.csv"
    lines = [
        "customer_id,timestamp,touchpoint",
        f"a,{OFFSETS[0]},visit",
        f"a,{NAIVE},purchase",
        f"b,{OFFSETS[1]},visit",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_validate_on_a_mixed_file_says_what_to_do_in_one_message(tmp_path: Path) -> None:
    console = Console(record=True, width=400)
    code = validate_command(write_mixed(tmp_path), None, "strict", None, console=console)
    out = console.export_text()
    assert code != 0
    assert "Traceback" not in out and "Mixed timezones" not in out
    assert len(out.strip().splitlines()) == 1
    assert "without an offset" in out and "timezone: <IANA zone>" in out


def test_init_on_a_mixed_file_leaves_the_zone_as_a_question(tmp_path: Path) -> None:
    out_map = tmp_path / "m.yaml"
    res = CliRunner().invoke(
        app, ["init", str(write_mixed(tmp_path)), "--mapping-out", str(out_map)]
    )
    assert res.exit_code == 0, res.output
    assert "mix values with a UTC offset" in " ".join(res.output.split())
    text = out_map.read_text()
    assert "\n# timezone: <IANA zone>" in text and "\ntimezone:" not in text
    console = Console(record=True, width=400)
    code = validate_command(write_mixed(tmp_path), str(out_map), "strict", None, console=console)
    assert code != 0 and "timezone: <IANA zone>" in console.export_text()
    out_map.write_text(text.replace("# timezone: <IANA zone>", "timezone: Europe/Rome  #"))
    console = Console(record=True, width=400)
    code = validate_command(write_mixed(tmp_path), str(out_map), "strict", None, console=console)
    assert code == 0, console.export_text()
