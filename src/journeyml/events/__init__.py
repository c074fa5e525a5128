"""Events: the canonical frame, readers, mappings and validation."""

from journeyml.events.datasets import shared_data_dir
from journeyml.events.mapping import (
    EventMapping,
    LoadResult,
    builtin_mapping,
    list_builtin_mappings,
    load_events,
    load_mapping,
)
from journeyml.events.readers import ReaderOptions, detect_format, read_raw
from journeyml.events.report import ValidationReport
from journeyml.events.schema import (
    CANONICAL_COLUMNS,
    CANONICAL_STAGES,
    CHANNEL,
    CUSTOMER_ID,
    STAGE,
    TIMESTAMP,
    TOUCHPOINT,
    VALUE,
    to_canonical,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "CANONICAL_STAGES",
    "CHANNEL",
    "CUSTOMER_ID",
    "STAGE",
    "TIMESTAMP",
    "TOUCHPOINT",
    "VALUE",
    "EventMapping",
    "LoadResult",
    "ReaderOptions",
    "ValidationReport",
    "builtin_mapping",
    "detect_format",
    "list_builtin_mappings",
    "load_events",
    "load_mapping",
    "read_raw",
    "shared_data_dir",
    "to_canonical",
]
