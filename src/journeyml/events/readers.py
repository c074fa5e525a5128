"""Read raw event logs: CSV (plain, gzipped, whitespace-separated), Parquet, JSON Lines, XES.

Readers return raw pandas frames with a fresh ``RangeIndex`` whose labels are the 0-based data
row numbers of the input (header excluded; for XES the events in file order). Text files are
read as strings, untouched except that empty fields become missing; nothing is parsed here.

>>> detect_format("logs/Helpdesk.xes.gz"), detect_format("CDNOW_master.txt.gz")
('xes', 'csv')
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal, cast

import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator

from journeyml.errors import ReaderError

Format = Literal["csv", "parquet", "jsonl", "xes"]

#: File suffixes (after stripping ``.gz``) and the format they imply.
SUFFIX_FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".dat": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xes": "xes",
}

#: ``separator`` aliases accepted in mapping files.
SEPARATOR_ALIASES = {"whitespace": r"\s+", "tab": "\t", "comma": ",", "semicolon": ";"}


class ReaderOptions(BaseModel):
    """How to read a file: the ``reader:`` section of a mapping file.

    >>> ReaderOptions(separator="whitespace").sep
    '\\\\s+'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Format | None = None
    separator: str = ","
    header: bool = True
    names: list[str] | None = None
    encoding: str = "utf-8"

    @model_validator(mode="after")
    def _names_need_no_header(self) -> ReaderOptions:
        if not self.header and not self.names:
            raise ValueError("header: false needs names: [...] (the column names, in file order)")
        return self

    @property
    def sep(self) -> str:
        """The pandas separator (aliases such as ``whitespace`` resolved)."""
        return SEPARATOR_ALIASES.get(self.separator, self.separator)


def detect_format(path: str | Path) -> Format:
    """The format implied by a file name; ``.gz`` is looked through.

    Raises :class:`ReaderError` when the extension says nothing.
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[suffixes[-1]]
    raise ReaderError(
        f"expected a file ending in one of {sorted(SUFFIX_FORMATS)} (optionally .gz), got "
        f"{Path(path).name!r}. Set reader: {{format: csv|parquet|jsonl|xes}} in the mapping.",
        field="reader.format",
    )


def read_csv(path: str | Path, options: ReaderOptions | None = None) -> pd.DataFrame:
    """Read a delimited text file (gzip inferred from the name) with every column as text."""
    opts = options or ReaderOptions()
    frame = pd.read_csv(
        path,
        sep=opts.sep,
        header=0 if opts.header else None,
        names=opts.names,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
        encoding=opts.encoding,
        compression="infer",
    )
    frame.columns = [str(c) for c in frame.columns]
    return frame


def read_parquet(path: str | Path) -> pd.DataFrame:
    """Read a Parquet file; column types are the file's own."""
    return pd.read_parquet(path)


def read_jsonl(path: str | Path) -> pd.DataFrame:
    """Read JSON Lines (one object per line); values keep their JSON types, no date parsing."""
    return pd.read_json(
        path, lines=True, dtype=False, convert_dates=False, compression="infer", orient="records"
    )


_ATTRIBUTE_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id"})


def _open_maybe_gzip(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def iter_xes_events(path: str | Path) -> Iterator[dict[str, str]]:
    """Stream the events of an XES file (plain or gzipped) as flat dicts of text values.

    Trace attributes are added to each of the trace's events as ``case:<key>``, like the
    flattened csv exports. Only direct children of ``<event>``/``<trace>`` are attributes
    (nested list/container values are skipped). Elements are cleared as soon as they are
    read, so memory stays flat.
    """
    with _open_maybe_gzip(Path(path)) as fh:
        context = ET.iterparse(fh, events=("start", "end"))
        _, root = next(context)
        trace_events: list[dict[str, str]] = []
        for kind, elem in context:
            if kind == "start":
                continue
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag == "event":
                event: dict[str, str] = {}
                for child in elem:
                    key = child.get("key")
                    if key is not None and child.tag.rsplit("}", 1)[-1] in _ATTRIBUTE_TAGS:
                        event[key] = child.get("value", "")
                trace_events.append(event)
                elem.clear()
            elif tag == "trace":
                case = {
                    f"case:{child.get('key')}": child.get("value", "")
                    for child in elem
                    if child.get("key") is not None
                    and child.tag.rsplit("}", 1)[-1] in _ATTRIBUTE_TAGS
                }
                for ev in trace_events:
                    yield {**case, **ev}
                trace_events = []
                root.clear()
            elif tag == "log":
                root.clear()


def read_xes(path: str | Path) -> pd.DataFrame:
    """Read an XES event log into one row per event (trace attributes as ``case:<key>``)."""
    frame = pd.DataFrame.from_records(list(iter_xes_events(path)))
    case_cols = [c for c in frame.columns if str(c).startswith("case:")]
    rest = [c for c in frame.columns if not str(c).startswith("case:")]
    ordered = sorted(case_cols, key=lambda c: (c != "case:concept:name", case_cols.index(c)))
    frame = frame[ordered + rest]
    return frame


def read_raw(
    path: str | Path, options: ReaderOptions | None = None, *, fmt: Format | None = None
) -> pd.DataFrame:
    """Read any supported log. The format is ``fmt``, else ``options.format``, else the name's.

    Every failure (missing file, bad gzip, malformed text) is a :class:`ReaderError`.
    """
    p = Path(path)
    opts = options or ReaderOptions()
    chosen: Format = fmt or opts.format or detect_format(p)
    if not p.is_file():
        raise ReaderError(
            f"expected an events file at {str(p)!r}, got nothing there. Check the path.",
            field="path",
        )
    try:
        frame: pd.DataFrame
        if chosen == "csv":
            frame = read_csv(p, opts)
        elif chosen == "parquet":
            frame = read_parquet(p)
        elif chosen == "jsonl":
            frame = read_jsonl(p)
        else:
            frame = read_xes(p)
    except (OSError, ValueError, EOFError, ET.ParseError, UnicodeDecodeError) as exc:
        raise ReaderError(
            f"expected a readable {chosen} file at {str(p)!r}, got an error: "
            f"{type(exc).__name__}: {exc}. Check the file and the mapping's reader section "
            f"(format, separator, header, encoding).",
            field="path",
        ) from exc
    return frame.reset_index(drop=True)
