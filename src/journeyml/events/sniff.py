"""Sniff a delimited text file: which separator it uses and whether its first line is a header.

Used where nobody has said how to read a file yet: a canonical file loaded without a mapping,
``journeyml init``, and the message for a file read as one column.

>>> sniff_lines([" customer_id  date number_of_cds", " 00001 19970101  1", " 00002 19970112  2"])
Sniffed(separator='whitespace', header=True, n_columns=3)
>>> sniff_lines(["00004 0001 19970101 2 29.33", "00004 0001 19970118 2 29.73"]).header
False
>>> sniff_lines(["id;when;what", "a;2024-01-01;visit"]).separator
'semicolon'
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

#: Separators tried, most specific first, by the name a mapping's ``reader.separator`` takes.
SEPARATORS: dict[str, str] = {
    "comma": ",",
    "tab": "\t",
    "semicolon": ";",
    "pipe": "|",
    "whitespace": r"\s+",
}
_WHITESPACE_FIELD = re.compile(r'"[^"]*"|\S+')
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(
    r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?$"  # 2024-01-31, 2024/01/31 10:00
    r"|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}( .*)?$"  # 31.01.2024, 01/31/24
)


@dataclass(frozen=True)
class Sniffed:
    """What the first lines of a text file say about reading it."""

    separator: str
    header: bool
    n_columns: int


def split_line(line: str, separator: str) -> list[str]:
    """The fields of one line under a separator name (quotes respected, except for whitespace).

    >>> split_line('a,"b, c",d', "comma"), split_line(' a  "b c" d', "whitespace")
    (['a', 'b, c', 'd'], ['a', '"b c"', 'd'])
    """
    if separator == "whitespace":
        return _WHITESPACE_FIELD.findall(line)
    return next(csv.reader([line], delimiter=SEPARATORS[separator]), [])


def looks_like_data(field: str) -> bool:
    """True for a number or a date: a field no header would be named.

    >>> looks_like_data("19970101"), looks_like_data("2024-01-02 10:00"), looks_like_data("date")
    (True, True, False)
    """
    text = field.strip().strip('"')
    return bool(_NUMBER.match(text) or _DATE.match(text))


def guess_separator(lines: list[str]) -> str | None:
    """The first separator (in :data:`SEPARATORS` order) that splits every line into the same
    number (> 1) of fields; ``None`` when none does.

    >>> guess_separator(["a b c", "1 2 3"]), guess_separator(["abc", "123"])
    ('whitespace', None)
    """
    rows = [line for line in lines if line.strip()]
    if not rows:
        return None
    for name in SEPARATORS:
        counts = {len(split_line(line, name)) for line in rows}
        if len(counts) == 1 and counts.pop() > 1:
            return name
    return None


def sniff_lines(lines: list[str]) -> Sniffed | None:
    """Separator and header of a file from its first lines; ``None`` when no separator fits."""
    separator = guess_separator(lines)
    if separator is None:
        return None
    first = split_line(next(line for line in lines if line.strip()), separator)
    header = not all(looks_like_data(f) for f in first)
    return Sniffed(separator=separator, header=header, n_columns=len(first))


def head_lines(path: str | Path, *, limit: int = 50, encoding: str = "utf-8") -> list[str]:
    """Up to ``limit`` complete first lines of a (possibly gzipped) text file."""
    p = Path(path)
    with p.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(p, "rb") as fh:
        chunk = fh.read(1 << 16)
    text = chunk.decode(encoding, errors="replace")
    lines = text.splitlines()
    if len(chunk) == 1 << 16 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    return lines[:limit]


def sniff_file(path: str | Path, *, encoding: str = "utf-8") -> Sniffed | None:
    """:func:`sniff_lines` over the first lines of a (possibly gzipped) text file."""
    return sniff_lines(head_lines(path, encoding=encoding))
