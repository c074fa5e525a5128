"""Events: the canonical frame, readers, mappings and validation."""

from journeyml.events.datasets import shared_data_dir
from journeyml.events.mapping import (
    ColumnSource,
    EventMapping,
    LoadResult,
    builtin_mapping,
    list_builtin_mappings,
    load_events,
    load_mapping,
    map_events,
    resolve_mapping,
)
from journeyml.events.readers import ReaderOptions, detect_format, read_raw
from journeyml.events.report import ValidationReport
from journeyml.events.schema import (
    CANONICAL_COLUMNS,
    CANONICAL_STAGES,
    CHANNEL,
    CUSTOMER_ID,
    DEFAULT_CHANNEL,
    STAGE,
    TIMESTAMP,
    TOUCHPOINT,
    VALUE,
    is_canonical,
    to_canonical,
)
from journeyml.events.validate_cli import validate_command

__all__ = [
    "CANONICAL_COLUMNS",
    "CANONICAL_STAGES",
    "CHANNEL",
    "CUSTOMER_ID",
    "DEFAULT_CHANNEL",
    "STAGE",
    "TIMESTAMP",
    "TOUCHPOINT",
    "VALUE",
    "ColumnSource",
    "EventMapping",
    "LoadResult",
    "ReaderOptions",
    "ValidationReport",
    "builtin_mapping",
    "detect_format",
    "is_canonical",
    "list_builtin_mappings",
    "load_events",
    "load_mapping",
    "map_events",
    "read_raw",
    "resolve_mapping",
    "shared_data_dir",
    "to_canonical",
    "validate_command",
]
