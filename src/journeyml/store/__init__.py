"""The event store: journeys remembered as they happen, the prediction log, and outcomes.

SQLite embedded by default, PostgreSQL for production (``JOURNEYML_STORE_URI``), schema
migrations with Alembic, bulk loads through the same readers and validation as training. See
``docs/store.md``.
"""

from journeyml.store.bulk import BATCH_EVENTS, IngestReport, ingest_file, ingest_frame
from journeyml.store.connect import (
    DEFAULT_STORE_URI,
    STORE_URI_ENV,
    absolute_uri,
    normalize_uri,
    redact_uri,
    store_uri,
)
from journeyml.store.entries import (
    Erasure,
    IngestResult,
    Outcome,
    PredictionRecord,
    StoreSummary,
)
from journeyml.store.ids import (
    EVENT_ID,
    content_id,
    digest_of,
    frame_fingerprints,
    is_missing,
    journey_digest,
)
from journeyml.store.migrate import SchemaState, head_revision, schema_state, upgrade_schema
from journeyml.store.outcome_file import COLUMNS as OUTCOME_COLUMNS
from journeyml.store.outcome_file import read_outcomes, row_problem, to_outcome
from journeyml.store.replay import Replay, UnknownRequestError, replay
from journeyml.store.scores import (
    Condition,
    ScoringRun,
    finish_run,
    parse_segment,
    score_active,
    score_customers,
    scores_table,
    select_segment,
)
from journeyml.store.store import CHUNK_CUSTOMERS, EventStore, upgrade_store

__all__ = [
    "BATCH_EVENTS",
    "CHUNK_CUSTOMERS",
    "DEFAULT_STORE_URI",
    "EVENT_ID",
    "OUTCOME_COLUMNS",
    "STORE_URI_ENV",
    "Condition",
    "Erasure",
    "EventStore",
    "IngestReport",
    "IngestResult",
    "Outcome",
    "PredictionRecord",
    "Replay",
    "SchemaState",
    "ScoringRun",
    "StoreSummary",
    "UnknownRequestError",
    "absolute_uri",
    "content_id",
    "digest_of",
    "finish_run",
    "frame_fingerprints",
    "head_revision",
    "ingest_file",
    "ingest_frame",
    "is_missing",
    "journey_digest",
    "normalize_uri",
    "parse_segment",
    "read_outcomes",
    "redact_uri",
    "replay",
    "row_problem",
    "schema_state",
    "score_active",
    "score_customers",
    "scores_table",
    "select_segment",
    "store_uri",
    "to_outcome",
    "upgrade_schema",
    "upgrade_store",
]
