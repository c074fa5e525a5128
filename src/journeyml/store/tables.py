"""The store's tables (SQLAlchemy Core): events, the prediction log, outcomes and scores.

Times are ``BIGINT`` nanoseconds since the epoch, UTC: exact on both backends (PostgreSQL's
``timestamptz`` keeps microseconds only) and what the feature code computes on. Texts that are
sorted (customer ids, touchpoints, channels) use the byte order of their UTF-8 text on both backends
(PostgreSQL: collation ``"C"``), which is Python's order of ``str``: journeys come back in the
order the feature code expects whatever the database's locale. Structured values (attributes,
model versions, probabilities, causes) are JSON text.

The Alembic migrations in ``migrations/versions`` build exactly these tables; a test compares
them (``tests/store/test_store_migrations.py``).

>>> sorted(METADATA.tables)
['events', 'outcomes', 'prediction_log', 'scores']
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: Alembic's version table for the store (not ``alembic_version``: MLflow uses that one, and
#: both may live in one PostgreSQL database)
VERSION_TABLE: Final = "journeyml_store_version"

METADATA = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def sorted_text() -> String:
    """A text column sorted by code point on both backends."""
    return String().with_variant(String(collation="C"), "postgresql")


def sequence() -> BigInteger:
    """An auto-incrementing key (SQLite: the rowid itself)."""
    return BigInteger().with_variant(Integer(), "sqlite")


events = Table(
    "events",
    METADATA,
    Column("seq", sequence(), primary_key=True, autoincrement=True),
    Column("customer_id", sorted_text(), nullable=False),
    Column("event_id", String(), nullable=False),
    Column("ts_ns", BigInteger(), nullable=False),
    Column("touchpoint", sorted_text(), nullable=False),
    Column("channel", sorted_text(), nullable=False),
    Column("stage", String(), nullable=True),
    Column("value", Double(), nullable=True),
    Column("attributes", Text(), nullable=True),
    Column("source", String(), nullable=False),
    Column("ingested_at_ns", BigInteger(), nullable=False),
    UniqueConstraint("customer_id", "event_id"),
    Index(None, "customer_id", "ts_ns"),
    Index(None, "ts_ns"),
)

prediction_log = Table(
    "prediction_log",
    METADATA,
    Column("seq", sequence(), primary_key=True, autoincrement=True),
    Column("request_id", String(), nullable=False),
    Column("item", Integer(), nullable=False),
    Column("project", String(), nullable=False),
    Column("customer_id", sorted_text(), nullable=False),
    Column("as_of_ns", BigInteger(), nullable=False),
    Column("model_versions", Text(), nullable=False),
    Column("feature_fingerprint", String(), nullable=False),
    Column("probabilities", Text(), nullable=False),
    Column("top_causes", Text(), nullable=False),
    Column("events_hash", String(), nullable=False),
    Column("n_events", Integer(), nullable=False),
    Column("created_at_ns", BigInteger(), nullable=False),
    UniqueConstraint("request_id", "item"),
    Index(None, "customer_id", "created_at_ns"),
    Index(None, "project", "created_at_ns"),
)

outcomes = Table(
    "outcomes",
    METADATA,
    Column("seq", sequence(), primary_key=True, autoincrement=True),
    Column("customer_id", sorted_text(), nullable=False),
    Column("task", String(), nullable=False),
    Column("outcome", String(), nullable=False),
    Column("ts_ns", BigInteger(), nullable=False),
    Column("source", String(), nullable=False),
    UniqueConstraint("customer_id", "task", "outcome", "ts_ns"),
    Index(None, "task", "ts_ns"),
)


#: scheduled scoring (``journeyml score --store``): one row per run, customer and task, the
#: latest run of a project being its customers' current scores
scores = Table(
    "scores",
    METADATA,
    Column("seq", sequence(), primary_key=True, autoincrement=True),
    Column("run_id", String(), nullable=False),
    Column("project", String(), nullable=False),
    Column("customer_id", sorted_text(), nullable=False),
    Column("task", String(), nullable=False),
    Column("as_of_ns", BigInteger(), nullable=False),
    Column("probability", Double(), nullable=False),
    Column("predicted", String(), nullable=True),
    Column("percentile", Double(), nullable=False),
    Column("top_causes", Text(), nullable=False),
    Column("model_version", String(), nullable=False),
    Column("created_at_ns", BigInteger(), nullable=False),
    UniqueConstraint("run_id", "customer_id", "task"),
    Index(None, "project", "created_at_ns"),
    Index(None, "customer_id"),
)
