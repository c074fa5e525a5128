"""Sniffing a text file's separator and header from its first lines."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from journeyml.events.sniff import guess_separator, looks_like_data, sniff_file, sniff_lines


@pytest.mark.parametrize(
    ("lines", "separator"),
    [
        (["id,when,what", "a,2024-01-01,visit"], "comma"),
        (["id\twhen\twhat", "a\t2024-01-01 10:00\tsite visit"], "tab"),
        (["id;when;value", "a;2024-01-01;1,5"], "semicolon"),
        (["id|when|what", "a|2024-01-01|visit"], "pipe"),
        ([" id  when  what", " a 2024-01-01  visit"], "whitespace"),
        (['id,"who, what",when', 'a,"x, y",2024-01-01'], "comma"),  # quoted separators
    ],
)
def test_the_separator_that_splits_every_line_alike(lines: list[str], separator: str) -> None:
    assert guess_separator(lines) == separator


def test_no_separator_fits_lines_that_split_unevenly() -> None:
    assert guess_separator(["justone", "column"]) is None
    assert sniff_lines(["a,b", "a,b,c"]) is None


def test_a_first_line_of_numbers_and_dates_is_data_not_a_header() -> None:
    assert not sniff_lines(["00004 0001 19970101 2 29.33", "00004 0001 19970118 2 29.73"]).header
    assert sniff_lines(["customer_id date value", "00004 19970101 29.33"]).header
    assert looks_like_data("2024-01-31T10:00:00+01:00") and not looks_like_data("time")


def test_sniffing_a_gzipped_file(tmp_path: Path) -> None:
    path = tmp_path / "log.txt.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("cid ts tp\n" + "".join(f"c{i} 2024-01-0{1 + i % 9} visit\n" for i in range(50)))
    sniffed = sniff_file(path)
    assert sniffed is not None
    assert (sniffed.separator, sniffed.header, sniffed.n_columns) == ("whitespace", True, 3)
