"""Column mappings: how a source log's columns become the canonical event frame.

A mapping is a YAML file (see ``src/journeyml/mappings/*.yaml`` for complete examples)::

    name: cdnow-master
    reader: {format: csv, separator: whitespace}
    columns:
      customer_id: customer_id
      timestamp: date
      touchpoint: {constant: purchase}
      value: dollar_value
    event_attributes: [number_of_cds]
    timestamp_format: "%Y%m%d"
    stage_map: {purchase: conversion}
    outcomes: {conversion_touchpoints: [purchase], churn_touchpoints: []}
    company_sent: [newsletter, ad_impression]   # sent by the company: not customer activity

A column is given as a source column name, ``{constant: text}`` or
``{join: [col_a, col_b], sep: "|"}``. Unknown keys are errors that name the file and the key.

>>> m = EventMapping.model_validate({"columns": {"customer_id": "id", "timestamp": "t",
...     "touchpoint": {"join": ["a", "b"]}}, "stage_map": {"a|b": "conversion"}})
>>> m.resolved_stage_mode, m.columns.touchpoint.source_columns
('map', ['a', 'b'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from journeyml.errors import ConfigError, EmptyDataError, MissingColumnError, ReaderError
from journeyml.events.readers import ReaderOptions, detect_format, read_raw
from journeyml.events.report import ValidationReport
from journeyml.events.schema import (
    CANONICAL_STAGES,
    CHANNEL,
    CUSTOMER_ID,
    STAGE,
    TIMESTAMP,
    TOUCHPOINT,
    VALUE,
    to_canonical,
)
from journeyml.events.sniff import guess_separator, sniff_file
from journeyml.events.validate import Rules, check_rows, enforce, summarize, write_rejects
from journeyml.memory import release
from journeyml.progress import NO_PROGRESS, Progress

Stage = Literal["awareness", "consideration", "conversion", "retention", "advocacy"]
StageMode = Literal["map", "activity", "column", "none"]
if get_args(Stage) != CANONICAL_STAGES:  # pragma: no cover - guards the Literal above
    raise ImportError("Stage literal out of sync with schema.CANONICAL_STAGES")


class ColumnSource(BaseModel):
    """Where one canonical column comes from: a column, a constant, or joined columns.

    >>> ColumnSource.model_validate("CaseID").column
    'CaseID'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = Field(
        default=None, description="The source column (writing just the name is the same)."
    )
    constant: str | None = Field(default=None, description="The same text on every event.")
    join: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Source columns joined into one text (missing where any part is).",
    )
    sep: str = Field(default="|", description="The text between joined columns.")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one(self) -> ColumnSource:
        given = [k for k in ("column", "constant", "join") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of a column name, {constant: ...} or {join: [...]}, "
                f"got {given or 'none'}"
            )
        return self

    @property
    def source_columns(self) -> list[str]:
        """The source columns this value is read from."""
        if self.column is not None:
            return [self.column]
        return list(self.join or [])

    def describe(self) -> str:
        if self.column is not None:
            return self.column
        if self.join is not None:
            return f"{self.sep.join(self.join)} (joined)"
        return f"constant {self.constant!r}"


class Columns(BaseModel):
    """The ``columns:`` section: canonical column → source (a column name, ``{constant: text}``
    or ``{join: [a, b], sep: "|"}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: ColumnSource = Field(
        description="Whose journey the event belongs to: a customer, user, account, or the case "
        "of a process log (ticket, incident, application)."
    )
    timestamp: ColumnSource = Field(
        description="When it happened: text (ISO 8601 or see timestamp_format) or a datetime."
    )
    touchpoint: ColumnSource = Field(
        description="What happened: the interaction or activity (page view, purchase, call...)."
    )
    channel: ColumnSource | None = Field(
        default=None, description="Where it happened (web, app, email, store...); default: unknown."
    )
    stage: ColumnSource | None = Field(
        default=None, description="The journey stage of each event, when the log carries it."
    )
    value: ColumnSource | None = Field(
        default=None, description="A number per event (order value, amount); missing where blank."
    )

    def sources(self) -> tuple[tuple[str, ColumnSource | None], ...]:
        """(canonical column, its source or None) in canonical order."""
        return (
            (CUSTOMER_ID, self.customer_id),
            (TIMESTAMP, self.timestamp),
            (TOUCHPOINT, self.touchpoint),
            (CHANNEL, self.channel),
            (STAGE, self.stage),
            (VALUE, self.value),
        )


class Outcomes(BaseModel):
    """The ``outcomes:`` section: which touchpoints of this log mean conversion or churn.

    A task of a pipeline config that names no outcome touchpoints of its own (neither in its
    block nor in its ``defaults:`` file) takes them from here (:meth:`task_defaults`). Left
    out: the task's built-in default (``purchase``, ``cancellation``); ``[]``: none.

    >>> Outcomes(conversion_touchpoints=["Resolve ticket"], churn_touchpoints=[]).task_defaults()
    {'conversion_touchpoints': ('Resolve ticket',), 'churn_touchpoints': ()}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversion_touchpoints: list[str] | None = Field(
        default=None,
        description="Touchpoints that are a conversion (purchase, signup, resolved...); the "
        "default of conversion tasks that name none.",
    )
    churn_touchpoints: list[str] | None = Field(
        default=None,
        description="Touchpoints that are an explicit churn (cancellation, unsubscribe...); the "
        "default of churn tasks that name none. [] means churn is inactivity only.",
    )

    @field_validator("conversion_touchpoints", "churn_touchpoints", mode="before")
    @classmethod
    def _texts(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v

    def task_defaults(self) -> dict[str, tuple[str, ...]]:
        """The task keys this section supplies (only those it gives), as task configs take
        them: a task uses an entry only where its own config names none."""
        out: dict[str, tuple[str, ...]] = {}
        for key in ("conversion_touchpoints", "churn_touchpoints"):
            value = getattr(self, key)
            if value is not None:
                out[key] = tuple(value)
        return out


def _attributes(v: Any) -> Any:
    if isinstance(v, list):
        return {str(x): str(x) for x in v}
    return v


class EventMapping(BaseModel):
    """A parsed mapping file. See the module docstring for the YAML form.

    >>> import pandas as pd
    >>> from journeyml import EventMapping, map_events
    >>> mapping = EventMapping.model_validate(
    ...     {"columns": {"customer_id": "user", "timestamp": "when", "touchpoint": "what"}})
    >>> raw = pd.DataFrame({"user": ["u1", "u1"], "when": ["2024-03-01 12:00", "2024-03-02 12:00"],
    ...                     "what": ["visit", "purchase"]})
    >>> map_events(raw, mapping).events[["customer_id", "timestamp", "touchpoint"]]
      customer_id                 timestamp touchpoint
    0          u1 2024-03-01 12:00:00+00:00      visit
    1          u1 2024-03-02 12:00:00+00:00   purchase
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, description="A short name for messages and lineage.")
    description: str = Field(default="", description="What the log is, for people.")
    reader: ReaderOptions = Field(
        default_factory=ReaderOptions, description="How to read the file (see `reader`)."
    )
    columns: Columns = Field(description="Canonical column → source (see `columns`).")
    event_attributes: dict[str, ColumnSource] = Field(
        default_factory=dict,
        description="Further columns kept on each event, as {name: source} or a list of "
        "source names.",
    )
    customer_attributes: dict[str, ColumnSource] = Field(
        default_factory=dict,
        description="Columns that describe the customer or case and should not vary within "
        "it (the report counts those that do), as {name: source} or a list.",
    )
    timestamp_format: str | None = Field(
        default=None,
        description='A strftime format for the timestamps ("%Y%m%d"), or Unix times: epoch_s, '
        "epoch_ms, epoch_us, epoch_ns (numbers since 1970-01-01 UTC in that unit); default: "
        "ISO 8601 first, then any common form.",
    )
    timezone: str = Field(
        default="UTC",
        description="The IANA zone of naive timestamps (no offset), e.g. Europe/Rome; "
        "timestamps with an offset keep it. Everything is UTC inside. Not set: naive "
        "timestamps are UTC, and a column mixing them with offsets is refused.",
    )
    timestamp_floor: datetime | None = Field(
        default=None, description="Reject events before this time (placeholder dates such as 1970)."
    )
    stage_mode: StageMode | None = Field(
        default=None,
        description="Where stages come from: map (stage_map), activity (each touchpoint is its "
        "own stage: process logs), column (columns.stage), none. Default: column if "
        "columns.stage, map if stage_map, else none.",
    )
    stage_map: dict[str, Stage] = Field(
        default_factory=dict,
        description="Touchpoint → one of the five canonical stages (awareness, consideration, "
        "conversion, retention, advocacy); unmapped touchpoints have no stage.",
    )
    touchpoints: list[str] | None = Field(
        default=None,
        description="The allowed touchpoints; others are rejected (unknown_touchpoint).",
    )
    duplicates: Literal["reject", "keep"] = Field(
        default="reject",
        description="reject: a row repeating an earlier event (same customer, time, "
        "touchpoint, channel and value) is rejected (duplicate_event); keep: it is a separate "
        "event (two identical orders on one day, two clicks in one second).",
    )
    outcomes: Outcomes = Field(
        default_factory=Outcomes,
        description="Which touchpoints mean conversion or churn: the defaults of tasks that "
        "name none (see `outcomes`).",
    )
    company_sent: list[str] = Field(
        default_factory=list,
        description="Touchpoints the company sends (newsletters, ad impressions): they never "
        "count as the customer's own activity (lapses tasks, active_within_days, and the "
        "features' activity: event counts, time since the last event, sessions, activity trend, "
        "journey position; their own touchpoint features stay).",
    )

    _source: str = PrivateAttr(default="<mapping>")

    @field_validator("event_attributes", "customer_attributes", mode="before")
    @classmethod
    def _attribute_list(cls, v: Any) -> Any:
        return _attributes(v)

    @field_validator("stage_map", mode="before")
    @classmethod
    def _stage_keys(cls, v: Any) -> Any:
        return {str(k): val for k, val in v.items()} if isinstance(v, dict) else v

    @field_validator("touchpoints", "company_sent", mode="before")
    @classmethod
    def _vocabulary(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"expected an IANA time zone such as 'Europe/Rome', got {v!r}"
            ) from exc
        return v

    @model_validator(mode="after")
    def _consistent(self) -> EventMapping:
        mode = self.resolved_stage_mode
        if mode == "map" and not self.stage_map:
            raise ValueError("stage_mode: map needs a stage_map: {touchpoint: stage}")
        if mode != "map" and self.stage_map:
            raise ValueError(f"stage_map is only used with stage_mode: map, got {mode}")
        if mode == "column" and self.columns.stage is None:
            raise ValueError("stage_mode: column needs columns: {stage: <column>}")
        if mode != "column" and self.columns.stage is not None:
            raise ValueError(f"columns.stage is only used with stage_mode: column, got {mode}")
        if self.touchpoints is not None:
            unknown = [t for t in self.company_sent if t not in self.touchpoints]
            if unknown:
                raise ValueError(
                    f"company_sent names touchpoints outside the touchpoints vocabulary: {unknown}"
                )
        canonical = {CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, CHANNEL, STAGE, VALUE}
        clash = (set(self.event_attributes) | set(self.customer_attributes)) & canonical
        both = set(self.event_attributes) & set(self.customer_attributes)
        if clash or both:
            raise ValueError(
                "attribute names must differ from the canonical columns and from each other, "
                f"got {sorted(clash | both)}"
            )
        return self

    @property
    def resolved_stage_mode(self) -> StageMode:
        """``stage_mode`` as given, else ``column``/``map``/``none`` from what is declared."""
        if self.stage_mode is not None:
            return self.stage_mode
        if self.columns.stage is not None:
            return "column"
        return "map" if self.stage_map else "none"

    @property
    def source(self) -> str:
        """Where this mapping was loaded from (a path or ``builtin:<name>``)."""
        return self._source

    def with_source(self, source: str) -> EventMapping:
        copy = self.model_copy()
        copy._source = source
        return copy

    def rules(self, now: datetime | pd.Timestamp | None = None) -> Rules:
        """The validation rules this mapping implies, at time ``now``."""
        floor = None
        if self.timestamp_floor is not None:
            floor = pd.Timestamp(self.timestamp_floor)
            floor = floor.tz_localize(self.timezone) if floor.tzinfo is None else floor
        return Rules(
            timestamp_format=self.timestamp_format,
            timezone=self.timezone if "timezone" in self.model_fields_set else None,
            floor=floor,
            now=None if now is None else pd.Timestamp(now),
            vocabulary=None if self.touchpoints is None else frozenset(self.touchpoints),
            reject_duplicates=self.duplicates == "reject",
        )

    def column_sources(self) -> dict[str, str]:
        """Canonical column → a description of its source, for messages."""
        out = {name: src.describe() for name, src in self.columns.sources() if src is not None}
        return out


# --- loading mapping files ---------------------------------------------------------------------
def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the key at ``loc`` (for listing allowed keys)."""
    model: type[BaseModel] | None = EventMapping
    for part in loc:
        if model is None:
            return None
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        model = None
        stack: list[Any] = [info.annotation]
        while stack:
            ann = stack.pop()
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                model = ann
                break
            if get_origin(ann) is not dict:
                stack.extend(get_args(ann))
    return model


def _describe(exc: ValidationError) -> tuple[str, str]:
    lines: list[str] = []
    first_key = ""
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p not in ("function-after[_exactly_one()]",))
        key = ".".join(str(p) for p in loc) or "(top level)"
        first_key = first_key or key
        if err["type"] == "extra_forbidden":
            owner = _model_at(loc[:-1])
            allowed = f"; allowed keys: {', '.join(owner.model_fields)}" if owner else ""
            lines.append(f"unknown key {key!r}{allowed}")
        elif err["type"] == "missing":
            lines.append(f"missing required key {key!r}")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"key {key!r}: {msg} (got {err.get('input')!r})")
    return first_key, "; ".join(lines)


def parse_mapping(data: Any, *, source: str = "<mapping>") -> EventMapping:
    """Validate a mapping given as a dict; errors are :class:`ConfigError` naming ``source``."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a YAML mapping with a 'columns:' section, got "
            f"{type(data).__name__}. See journeyml/mappings/*.yaml for examples."
        )
    try:
        mapping = EventMapping.model_validate(data)
    except ValidationError as exc:
        key, text = _describe(exc)
        raise ConfigError(
            f"{source}: invalid mapping: {text}. Fix the file (see the mapping format in "
            "journeyml.events.mapping).",
            field=key,
        ) from None
    return mapping.with_source(source)


def load_mapping(path: str | Path) -> EventMapping:
    """Read and validate a YAML mapping file.

    >>> import pathlib, tempfile
    >>> from journeyml import load_mapping
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "shop.mapping.yaml"
    >>> _ = path.write_text("columns: {customer_id: user, timestamp: when, touchpoint: what}\\n"
    ...                     "timezone: Europe/Berlin\\n")
    >>> mapping = load_mapping(path)
    >>> mapping.columns.customer_id.column, mapping.timezone
    ('user', 'Europe/Berlin')
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"expected a mapping file at {str(p)!r}, got {type(exc).__name__}: {exc}. "
            f"Check the path, or use a built-in mapping: {', '.join(list_builtin_mappings())}.",
            field="mapping",
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{p}: expected valid YAML, got a syntax error: {exc}", field="mapping"
        ) from exc
    return parse_mapping(data, source=str(p))


def _builtin_dir() -> Any:
    return resources.files("journeyml") / "mappings"


def list_builtin_mappings() -> list[str]:
    """Names of the mappings shipped with journeyml.

    >>> "cdnow-master" in list_builtin_mappings()
    True
    """
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in _builtin_dir().iterdir()
        if entry.name.endswith(".yaml")
    )


def builtin_mapping(name: str) -> EventMapping:
    """A mapping shipped with journeyml, by name (see :func:`list_builtin_mappings`)."""
    names = list_builtin_mappings()
    if name not in names:
        raise ConfigError(
            f"expected a built-in mapping name ({', '.join(names)}) or a mapping file, got "
            f"{name!r}.",
            field="mapping",
        )
    entry = _builtin_dir() / f"{name}.yaml"
    data = yaml.safe_load(entry.read_text(encoding="utf-8"))
    return parse_mapping(data, source=f"builtin:{name}")


#: The name of the mapping of canonical files; ``mapping=None`` means the same.
CANONICAL = "canonical"

#: What a mapping may be given as: a mapping, a YAML path, a built-in name, a dict in the YAML
#: form, or ``None``/``"canonical"`` for a file that already has the canonical columns.
MappingRef = EventMapping | str | Path | dict[str, Any] | None


def is_canonical_ref(mapping: object) -> bool:
    """True for ``None`` and ``"canonical"``: the file's own canonical columns are the mapping."""
    return mapping is None or (isinstance(mapping, str) and mapping == CANONICAL)


def resolve_mapping(mapping: EventMapping | str | Path | dict[str, Any]) -> EventMapping:
    """A mapping object, a dict in the YAML form, a path to a YAML file, or a built-in name.

    ``"canonical"`` depends on the file's columns: see :func:`canonical_mapping`.
    """
    if isinstance(mapping, EventMapping):
        return mapping
    if isinstance(mapping, dict):
        return parse_mapping(mapping)
    if not isinstance(mapping, (str, Path)):
        raise ConfigError(
            "expected a mapping: a YAML file, a built-in name "
            f"({', '.join(list_builtin_mappings())}), {CANONICAL!r} (or None) for canonical "
            f"columns, a dict or an EventMapping; got {type(mapping).__name__} {mapping!r}.",
            field="mapping",
        )
    if is_canonical_ref(mapping):
        raise ConfigError(
            "the canonical mapping depends on the file's columns: call canonical_mapping("
            "columns) or load_events(path) without a mapping.",
            field="mapping",
        )
    p = Path(mapping)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return load_mapping(p)
    return builtin_mapping(str(mapping))


CANONICAL_HINT = (
    "Without a mapping a file needs the canonical columns customer_id, timestamp, touchpoint "
    "(optional channel, stage, value; any other column is an attribute). For other columns, "
    "`journeyml init FILE` proposes a mapping; pass it with --mapping (data.mapping in a "
    "pipeline config)."
)


def canonical_mapping(
    columns: Iterable[object], *, reader: ReaderOptions | None = None
) -> EventMapping:
    """The mapping of a file that already has the canonical columns: each maps onto itself, a
    ``stage`` column gives the stages, any other column is an event attribute.

    >>> m = canonical_mapping(["customer_id", "timestamp", "touchpoint", "stage", "segment"])
    >>> m.resolved_stage_mode, list(m.event_attributes), m.source
    ('column', ['segment'], 'canonical')
    """
    cols = [str(c) for c in columns]
    for required in (CUSTOMER_ID, TIMESTAMP, TOUCHPOINT):
        if required not in cols:
            raise MissingColumnError(required, available=cols, hint=CANONICAL_HINT)
    canonical = (CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, CHANNEL, STAGE, VALUE)
    data: dict[str, Any] = {
        "name": CANONICAL,
        "columns": {c: c for c in canonical if c in cols},
        "event_attributes": [c for c in cols if c not in canonical],
    }
    if reader is not None:
        data["reader"] = reader.model_dump(exclude_defaults=True)
    return parse_mapping(data, source=CANONICAL)


def canonical_reader(path: str | Path) -> ReaderOptions:
    """How to read a canonical file: a text file's separator is sniffed from its first lines
    (comma when they do not say), anything else is read by its format."""
    p = Path(path)
    if detect_format(p) != "csv" or not p.is_file():
        return ReaderOptions()
    try:
        sniffed = sniff_file(p)
    except OSError:
        return ReaderOptions()  # read_raw reports the unreadable file
    if sniffed is None or sniffed.separator == "comma":
        return ReaderOptions()
    return ReaderOptions(separator=sniffed.separator)


def one_column_problem(raw: pd.DataFrame, needed: Iterable[str], *, reader: ReaderOptions) -> str:
    """Why a frame read as a single column lacks the ``needed`` columns ("" if it does not).

    >>> raw = pd.DataFrame({"id when what": ["a 2024-01-01 visit"]})
    >>> text = one_column_problem(raw, ["id", "when"], reader=ReaderOptions())
    >>> text.split(": ", 1)[0]
    "expected the columns id, when, got one column named 'id when what'"
    >>> "looks whitespace-separated" in text, "`reader: {separator: whitespace}`" in text
    (True, True)
    """
    wanted = list(dict.fromkeys(needed))
    if len(raw.columns) != 1 or all(c in raw.columns for c in wanted):
        return ""
    name = str(raw.columns[0])
    sample = [name, *raw.iloc[:20, 0].dropna().astype(str).tolist()]
    separator = guess_separator(sample)
    got = f"expected the columns {', '.join(wanted)}, got one column named {name!r}"
    if separator is None:
        return (
            f"{got}: no separator splits it evenly. Check the file and the mapping's reader "
            "section (separator, header, encoding)."
        )
    return (
        f"{got}: the file looks {separator}-separated but was read with separator "
        f"{reader.separator!r}. Set `reader: {{separator: {separator}}}` in the mapping."
    )


# --- applying a mapping --------------------------------------------------------------------------
def _column(raw: pd.DataFrame, src: ColumnSource, target: str, key: str) -> pd.Series:
    missing = [c for c in src.source_columns if c not in raw.columns]
    if missing:
        raise MissingColumnError(
            missing[0],
            available=raw.columns,
            hint=f"The mapping maps it onto {target!r} ({key}); fix the mapping or the file.",
        )
    if src.constant is not None:
        return pd.Series(src.constant, index=raw.index, dtype="str")
    if src.column is not None:
        return raw[src.column]
    parts = [raw[c].astype("str") for c in src.join or []]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + src.sep + part
    return joined


def apply_mapping(raw: pd.DataFrame, mapping: EventMapping) -> pd.DataFrame:
    """Rename/build the canonical columns and attributes from ``raw`` (values still raw).

    A joined column is missing where any of its parts is missing.
    """
    out = pd.DataFrame(index=raw.index)
    for name, src in mapping.columns.sources():
        if src is not None:
            out[name] = _column(raw, src, name, f"columns.{name}")
    for section, attrs in (
        ("event_attributes", mapping.event_attributes),
        ("customer_attributes", mapping.customer_attributes),
    ):
        for name, src in attrs.items():
            out[name] = _column(raw, src, name, f"{section}.{name}")
    return out


def assign_stages(events: pd.DataFrame, mapping: EventMapping) -> pd.DataFrame:
    """Set ``stage`` from the mapping's stage mode (``column`` keeps the mapped column)."""
    mode = mapping.resolved_stage_mode
    out = events.copy()
    if mode == "map":
        out[STAGE] = out[TOUCHPOINT].astype("str").map(mapping.stage_map).astype(object)
    elif mode == "activity":
        out[STAGE] = out[TOUCHPOINT]
    elif mode == "none":
        out[STAGE] = None
    return out


# --- loading events ------------------------------------------------------------------------------
#: rows from which a load gives its stages' freed memory back to the system (below, the
#: garbage collection this takes costs more than the memory is worth)
RELEASE_ROWS = 100_000


@dataclass(frozen=True)
class LoadResult:
    """The canonical events of a load, its report and the mapping used.

    >>> from journeyml import map_events, toy
    >>> result = map_events(toy.journeys())   # a LoadResult
    >>> len(result.events), result.report.ok, result.mapping.name
    (8, True, 'canonical')
    """

    events: pd.DataFrame
    report: ValidationReport
    mapping: EventMapping


def load_events(
    path: str | Path,
    mapping: MappingRef = None,
    *,
    policy: str = "strict",
    now: datetime | pd.Timestamp | None = None,
    rejects_path: str | Path | None = None,
    progress: Progress = NO_PROGRESS,
) -> LoadResult:
    """Read ``path``, map it, validate it and return the canonical events with a report.

    ``mapping`` is a mapping, a YAML path, a built-in name, or ``None``/``"canonical"`` for a
    file that already has the canonical columns (a text file's separator is then sniffed).
    ``now`` is the time after which timestamps count as in the future (``None`` skips that
    rule; naive means UTC): the library never reads the clock. Under ``strict`` any rejected
    row raises :class:`~journeyml.errors.ValidationFailedError`; under ``lenient`` rejected rows
    are left out and, if ``rejects_path`` is given, written there with their reason (under
    ``strict`` the file is written before raising). ``progress`` hears the stages: reading
    (bytes), mapping, validating and sorting (rows).

    >>> import pathlib, tempfile
    >>> from journeyml import load_events, toy
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    >>> toy.journeys().to_csv(path, index=False)
    >>> loaded = load_events(path)            # canonical columns: no mapping needed
    >>> loaded.report.n_accepted, loaded.report.n_rejected, loaded.report.n_customers
    (8, 0, 3)
    >>> loaded.events["touchpoint"].tolist()[:4]
    ['ad_impression', 'site_visit', 'cart_add', 'purchase']
    """
    raw, m = read_for_mapping(path, mapping, progress=progress)
    return map_events(
        raw,
        m,
        policy=policy,
        now=now,
        rejects_path=rejects_path,
        source=str(path),
        progress=progress,
    )


def read_for_mapping(
    path: str | Path, mapping: MappingRef = None, *, progress: Progress = NO_PROGRESS
) -> tuple[pd.DataFrame, EventMapping]:
    """The raw frame of ``path`` read as ``mapping`` says, and the mapping itself (for
    canonical columns, built from the file's own columns)."""
    if is_canonical_ref(mapping):
        reader = canonical_reader(path)
        raw = read_raw(path, reader, progress=progress)
        return raw, _canonical_for(raw, reader)
    m = resolve_mapping(mapping)  # type: ignore[arg-type]
    return read_raw(path, m.reader, progress=progress), m


def _canonical_for(raw: pd.DataFrame, reader: ReaderOptions) -> EventMapping:
    problem = one_column_problem(raw, (CUSTOMER_ID, TIMESTAMP, TOUCHPOINT), reader=reader)
    if problem:
        raise ReaderError(f"{problem} {CANONICAL_HINT}", field="reader.separator")
    return canonical_mapping(raw.columns, reader=reader)


def map_events(
    raw: pd.DataFrame,
    mapping: MappingRef = None,
    *,
    policy: str = "strict",
    now: datetime | pd.Timestamp | None = None,
    rejects_path: str | Path | None = None,
    source: str = "<frame>",
    progress: Progress = NO_PROGRESS,
) -> LoadResult:
    """Like :func:`load_events`, for a raw frame already in memory (row numbers = positions).

    >>> raw = pd.DataFrame({"who": ["b", "a"], "when": ["2024-01-02", "2024-01-01"],
    ...                     "what": ["buy", "ad"]})
    >>> m = {"columns": {"customer_id": "who", "timestamp": "when", "touchpoint": "what"},
    ...      "stage_map": {"ad": "awareness"}}
    >>> res = map_events(raw, parse_mapping(m))
    >>> res.events["stage"].fillna("-").tolist(), res.report.unmapped_touchpoints
    (['awareness', '-'], {'buy': 1})
    """
    if is_canonical_ref(mapping):
        m = _canonical_for(raw, ReaderOptions())
    else:
        m = resolve_mapping(mapping)  # type: ignore[arg-type]
    if policy not in ("strict", "lenient"):
        raise ConfigError(f"expected policy 'strict' or 'lenient', got {policy!r}.", field="policy")
    raw = raw.reset_index(drop=True)
    if raw.empty:
        raise EmptyDataError(
            f"expected event rows in {source}, got none. Check the file and the reader options."
        )
    needed = [c for _, src in m.columns.sources() if src is not None for c in src.source_columns]
    problem = one_column_problem(raw, needed, reader=m.reader)
    if problem:
        raise ReaderError(f"{source}: {problem}", field="reader.separator")
    n = len(raw)
    with progress.stage("mapping", total=n):
        mapped = apply_mapping(raw, m)
    with progress.stage("validating", total=n):
        checked = check_rows(mapped, m.rules(now))
        rejects = None
        if rejects_path is not None and checked.rejected.any():
            write_rejects(raw, checked.reasons, rejects_path)
            rejects = str(rejects_path)
        enforce(checked.reasons, policy, source=source, columns=m.column_sources())
    frame, reasons, order = checked.frame, checked.reasons, checked.order
    del checked, mapped
    big = n >= RELEASE_ROWS  # returning memory costs a garbage collection: large logs only
    if big:
        release()  # the validation's working copies, before the canonical frame is built
    with progress.stage("sorting", total=len(order)):
        accepted = assign_stages(frame.loc[order], m)
        del frame
        events = to_canonical(accepted)
        del accepted
        if big:
            release()
        report = summarize(
            events,
            reasons,
            source=source,
            policy=policy,
            stage_mapped=m.resolved_stage_mode == "map",
            customer_attributes=list(m.customer_attributes),
            rejects_path=rejects,
        )
    return LoadResult(events=events, report=report, mapping=m)
