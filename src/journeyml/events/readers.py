"""Read raw event logs: CSV (plain, gzipped, whitespace-separated), Parquet, JSON Lines, XES.

Readers return raw pandas frames with a fresh ``RangeIndex`` whose labels are the 0-based data
row numbers of the input (header excluded; for XES the events in file order). Text files are
read as strings, untouched except that empty fields become missing; nothing is parsed here.

>>> detect_format("logs/Helpdesk.xes.gz"), detect_format("CDNOW_master.txt.gz")
('xes', 'csv')
"""

from __future__ import annotations

import gzip
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, cast

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from journeyml.errors import ReaderError
from journeyml.events.sniff import SEPARATORS
from journeyml.progress import NO_PROGRESS, Progress, Stage, silent_stage

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
SEPARATOR_ALIASES = SEPARATORS


class ReaderOptions(BaseModel):
    """How to read a file: the ``reader:`` section of a mapping file.

    >>> ReaderOptions(separator="whitespace").sep
    '\\\\s+'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Format | None = Field(
        default=None,
        description="csv, parquet, jsonl or xes; default: from the file name (.csv, .txt, .tsv, "
        ".dat, .parquet, .jsonl, .json, .xes, each optionally .gz).",
    )
    separator: str = Field(
        default=",",
        description="Text files: the field separator, a character or one of comma, tab, "
        "semicolon, pipe, whitespace (any run of spaces and tabs).",
    )
    header: bool = Field(
        default=True,
        description="Text files: the first line names the columns (false: give names).",
    )
    names: list[str] | None = Field(
        default=None, description="Text files without a header: the column names, in file order."
    )
    encoding: str = Field(default="utf-8", description="Text files: the character encoding.")

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


#: Rows per chunk when text is read in pieces (progress is reported after each).
CHUNK_ROWS = 200_000


class _Counted(io.RawIOBase):
    """A binary file whose bytes read so far are reported to a progress stage."""

    def __init__(self, path: Path, stage: Stage) -> None:
        super().__init__()
        self._raw = path.open("rb")
        self._stage = stage
        stage.update(0, total=path.stat().st_size)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        self._stage.update(self._raw.tell())
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _open_text_bytes(path: Path, stage: Stage) -> tuple[IO[bytes], IO[bytes]]:
    """The (decompressed) bytes of ``path``, and the counted raw handle behind them.

    Gzip when the name ends in ``.gz`` or the bytes say so."""
    with path.open("rb") as probe:
        gzipped = path.suffix.lower() == ".gz" or probe.read(2) == b"\x1f\x8b"
    counted = io.BufferedReader(_Counted(path, stage), buffer_size=1 << 20)
    stream = gzip.GzipFile(fileobj=counted, mode="rb") if gzipped else counted
    return cast(IO[bytes], stream), counted


def read_csv(
    path: str | Path, options: ReaderOptions | None = None, *, progress: Progress = NO_PROGRESS
) -> pd.DataFrame:
    """Read a delimited text file (gzip detected from its bytes) with every column as text.

    The file is read in chunks of :data:`CHUNK_ROWS` rows; progress is reported in bytes.
    """
    opts = options or ReaderOptions()
    p = Path(path)
    with progress.stage("reading", unit="bytes") as stage:
        stream, counted = _open_text_bytes(p, stage)
        try:
            chunks = pd.read_csv(
                stream,
                sep=opts.sep,
                header=0 if opts.header else None,
                names=opts.names,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skip_blank_lines=False,
                encoding=opts.encoding,
                chunksize=CHUNK_ROWS,
            )
            with chunks as reader:
                parts = list(reader)
        finally:
            stream.close()
            counted.close()
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame.columns = [str(c) for c in frame.columns]
    return frame


def read_parquet(path: str | Path, *, progress: Progress = NO_PROGRESS) -> pd.DataFrame:
    """Read a Parquet file; column types are the file's own."""
    with progress.stage("reading", unit="bytes") as stage:
        stage.update(0, total=Path(path).stat().st_size)
        return pd.read_parquet(path)


def read_jsonl(path: str | Path, *, progress: Progress = NO_PROGRESS) -> pd.DataFrame:
    """Read JSON Lines (one object per line); values keep their JSON types, no date parsing."""
    p = Path(path)
    with progress.stage("reading", unit="bytes") as stage:
        stream, counted = _open_text_bytes(p, stage)
        try:
            with pd.read_json(
                stream,
                lines=True,
                dtype=False,
                convert_dates=False,
                orient="records",
                chunksize=CHUNK_ROWS,
            ) as reader:
                parts = list(reader)
        finally:
            stream.close()
            counted.close()
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


_ATTRIBUTE_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id"})


def iter_xes_events(path: str | Path, *, stage: Stage | None = None) -> Iterator[dict[str, str]]:
    """Stream the events of an XES file (plain or gzipped) as flat dicts of text values.

    Trace attributes are added to each of the trace's events as ``case:<key>``, like the
    flattened csv exports. Only direct children of ``<event>``/``<trace>`` are attributes
    (nested list/container values are skipped). Elements are cleared as soon as they are
    read, so memory stays flat. ``stage`` is told the bytes of the file read so far.
    """
    fh, counted = _open_text_bytes(Path(path), stage or silent_stage())
    with fh, counted:
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


def read_xes(path: str | Path, *, progress: Progress = NO_PROGRESS) -> pd.DataFrame:
    """Read an XES event log into one row per event (trace attributes as ``case:<key>``)."""
    with progress.stage("reading", unit="bytes") as stage:
        frame = pd.DataFrame.from_records(list(iter_xes_events(path, stage=stage)))
    case_cols = [c for c in frame.columns if str(c).startswith("case:")]
    rest = [c for c in frame.columns if not str(c).startswith("case:")]
    ordered = sorted(case_cols, key=lambda c: (c != "case:concept:name", case_cols.index(c)))
    frame = frame[ordered + rest]
    return frame


def read_raw(
    path: str | Path,
    options: ReaderOptions | None = None,
    *,
    fmt: Format | None = None,
    progress: Progress = NO_PROGRESS,
) -> pd.DataFrame:
    """Read any supported log. The format is ``fmt``, else ``options.format``, else the name's.

    Every failure (missing file, bad gzip, malformed text) is a :class:`ReaderError`. The
    ``reading`` stage reports the bytes of the file read so far.
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
            frame = read_csv(p, opts, progress=progress)
        elif chosen == "parquet":
            frame = read_parquet(p, progress=progress)
        elif chosen == "jsonl":
            frame = read_jsonl(p, progress=progress)
        else:
            frame = read_xes(p, progress=progress)
    except (OSError, ValueError, EOFError, ET.ParseError, UnicodeDecodeError) as exc:
        raise ReaderError(
            f"expected a readable {chosen} file at {str(p)!r}, got an error: "
            f"{type(exc).__name__}: {exc}. Check the file and the mapping's reader section "
            f"(format, separator, header, encoding).",
            field="path",
        ) from exc
    return frame.reset_index(drop=True)
