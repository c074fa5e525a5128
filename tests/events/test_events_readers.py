"""Each reader on a tiny file written to tmp_path."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from journeyml.errors import ReaderError
from journeyml.events.readers import ReaderOptions, detect_format, read_raw

XES = """<?xml version='1.0' encoding='UTF-8'?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <string key="creator" value="test"/>
  <float key="meta" value="1.0"><float key="nested" value="2.0"/></float>
  <global scope="event"><string key="concept:name" value="name"/></global>
  <trace>
    <string key="concept:name" value="T1"/>
    <string key="impact" value="High"/>
    <event>
      <string key="concept:name" value="Open"/>
      <date key="time:timestamp" value="2024-01-01T10:00:00.000+02:00"/>
      <int key="cost" value="3"/>
    </event>
    <event>
      <string key="concept:name" value="Close"/>
      <date key="time:timestamp" value="2024-01-02T10:00:00.000+02:00"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="T2"/>
    <event>
      <string key="concept:name" value="Open"/>
      <date key="time:timestamp" value="2024-01-03T10:00:00.000+02:00"/>
    </event>
  </trace>
</log>
"""

CSV = "id,when,what\n007,2024-01-01,visit\n008,,buy\n"


def test_detect_format() -> None:
    assert detect_format("a/b.csv.gz") == "csv"
    assert detect_format("CDNOW_master.txt.gz") == "csv"
    assert detect_format("x.XES.gz") == "xes"
    assert detect_format("x.jsonl") == "jsonl"
    assert detect_format("x.parquet") == "parquet"
    with pytest.raises(ReaderError, match="reader: "):
        detect_format("x.bin")


def test_csv_keeps_text_untouched(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(CSV)
    frame = read_raw(path)
    assert frame["id"].tolist() == ["007", "008"]
    assert frame["when"].isna().tolist() == [False, True]
    assert list(frame.index) == [0, 1]


def test_csv_gz(tmp_path: Path) -> None:
    path = tmp_path / "log.csv.gz"
    path.write_bytes(gzip.compress(CSV.encode()))
    assert read_raw(path)["what"].tolist() == ["visit", "buy"]


def test_whitespace_separated_txt_gz_without_header(tmp_path: Path) -> None:
    path = tmp_path / "cd.txt.gz"
    path.write_bytes(gzip.compress(b" 00001 19970101  1   11.77\n 00002 19970112  5   77.00\n"))
    opts = ReaderOptions(separator="whitespace", header=False, names=["c", "d", "n", "v"])
    frame = read_raw(path, opts)
    assert frame.to_dict("list") == {
        "c": ["00001", "00002"],
        "d": ["19970101", "19970112"],
        "n": ["1", "5"],
        "v": ["11.77", "77.00"],
    }


def test_blank_csv_line_is_a_row_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("id,when,what\na,2024-01-01,x\n\nb,2024-01-02,y\n")
    frame = read_raw(path)
    assert len(frame) == 3 and frame["id"].isna().tolist() == [False, True, False]


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pd.DataFrame(
        {"id": ["a", "b"], "when": pd.to_datetime(["2024-01-01", "2024-01-02"])}
    ).to_parquet(path)
    frame = read_raw(path)
    assert frame["id"].tolist() == ["a", "b"]
    assert pd.api.types.is_datetime64_any_dtype(frame["when"])


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(
        '{"id": "a", "when": "2024-01-01", "v": 1.5}\n{"id": "b", "when": "2024-01-02"}\n'
    )
    frame = read_raw(path)
    assert frame["id"].tolist() == ["a", "b"]
    assert frame["when"].tolist() == ["2024-01-01", "2024-01-02"]  # no date parsing
    assert frame["v"].iloc[0] == 1.5 and pd.isna(frame["v"].iloc[1])


@pytest.mark.parametrize("gz", [False, True])
def test_xes_plain_and_gz(tmp_path: Path, gz: bool) -> None:
    path = tmp_path / ("log.xes.gz" if gz else "log.xes")
    path.write_bytes(gzip.compress(XES.encode()) if gz else XES.encode())
    frame = read_raw(path)
    assert list(frame.columns[:2]) == ["case:concept:name", "case:impact"]
    assert frame["case:concept:name"].tolist() == ["T1", "T1", "T2"]
    assert frame["concept:name"].tolist() == ["Open", "Close", "Open"]
    assert frame["case:impact"].fillna("-").tolist() == ["High", "High", "-"]
    assert frame["cost"].fillna("-").tolist() == ["3", "-", "-"]
    assert "creator" not in frame.columns and "nested" not in frame.columns


def test_format_from_options_overrides_extension(tmp_path: Path) -> None:
    path = tmp_path / "log.data"
    path.write_text(CSV)
    assert len(read_raw(path, ReaderOptions(format="csv"))) == 2


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("missing.csv", None),
        ("bad.csv.gz", b"not gzip"),
        ("bad.xes", b"<log><trace>"),
        ("bad.parquet", b"nope"),
    ],
)
def test_unreadable_files_raise_reader_error(
    tmp_path: Path, name: str, content: bytes | None
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ReaderError) as info:
        read_raw(path)
    assert str(path) in str(info.value)
