"""Events: the canonical frame, readers, mappings and validation."""

from journeyml.events.datasets import shared_data_dir
from journeyml.events.inspect import Guess, Inspection, inspect_frame, inspect_log, plural
from journeyml.events.mapping import (
    CANONICAL,
    ColumnSource,
    EventMapping,
    LoadResult,
    MappingRef,
    Outcomes,
    builtin_mapping,
    canonical_mapping,
    is_canonical_ref,
    list_builtin_mappings,
    load_events,
    load_mapping,
    map_events,
    read_for_mapping,
    resolve_mapping,
)
from journeyml.events.paths import resolve_mapping_ref, resolve_named_path
from journeyml.events.proposal import mapping_yaml, yaml_scalar
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
    "CANONICAL",
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
    "Guess",
    "Inspection",
    "LoadResult",
    "MappingRef",
    "Outcomes",
    "ReaderOptions",
    "ValidationReport",
    "builtin_mapping",
    "canonical_mapping",
    "detect_format",
    "inspect_frame",
    "inspect_log",
    "is_canonical",
    "is_canonical_ref",
    "list_builtin_mappings",
    "load_events",
    "load_mapping",
    "map_events",
    "mapping_yaml",
    "plural",
    "read_for_mapping",
    "read_raw",
    "resolve_mapping",
    "resolve_mapping_ref",
    "resolve_named_path",
    "shared_data_dir",
    "to_canonical",
    "validate_command",
    "yaml_scalar",
]
