"""Events: the canonical frame, readers, mappings and validation."""

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
    "to_canonical",
]
