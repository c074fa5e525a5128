"""Schema migrations on both backends: upgrade from empty, models match the migrations (no
missing migration), a newer schema refused with a clear message."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from journeyml.errors import StoreSchemaError
from journeyml.store import EventStore, head_revision, normalize_uri, upgrade_store
from journeyml.store.tables import METADATA, VERSION_TABLE


def _engine(uri: str):  # type: ignore[no-untyped-def]
    return create_engine(normalize_uri(uri))


def test_upgrade_from_empty_creates_every_table(store_uri: str) -> None:
    assert upgrade_store(store_uri) == (None, head_revision())
    engine = _engine(store_uri)
    try:
        names = set(inspect(engine).get_table_names())
        assert names >= {"events", "prediction_log", "outcomes", VERSION_TABLE}
        assert "alembic_version" not in names  # MLflow's table name stays free
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == (
                head_revision()
            )
    finally:
        engine.dispose()
    assert upgrade_store(store_uri) == (head_revision(), head_revision())


def test_the_tables_match_the_migrations(store_uri: str) -> None:
    """Fails when a table, column, index or type was changed in tables.py without a migration."""
    upgrade_store(store_uri)
    engine = _engine(store_uri)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            diff = compare_metadata(ctx, METADATA)
    finally:
        engine.dispose()
    assert diff == [], f"write a migration for: {diff}"


def test_opening_creates_a_missing_schema_or_refuses_to(store_uri: str) -> None:
    with pytest.raises(StoreSchemaError, match="journeyml store upgrade") as info:
        EventStore.open(store_uri, create=False)
    assert info.value.http_status == 503 and "no schema" in info.value.message
    with EventStore.open(store_uri) as store:
        assert store.revision == head_revision()
    with EventStore.open(store_uri, create=False) as store:
        assert store.count_events() == 0


def test_a_newer_schema_is_refused(store_uri: str) -> None:
    upgrade_store(store_uri)
    engine = _engine(store_uri)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_from_the_future'"))
    finally:
        engine.dispose()
    with pytest.raises(StoreSchemaError) as info:
        EventStore.open(store_uri)
    msg = info.value.message
    assert "9999_from_the_future" in msg and "newer journeyml" in msg and "Upgrade journeyml" in msg
    with pytest.raises(StoreSchemaError, match="newer journeyml"):
        upgrade_store(store_uri)


def test_a_store_of_the_first_revision_is_upgraded_with_its_events(store_uri: str) -> None:
    """A store written before the scores table (revision 0001) is refused until upgraded, then
    keeps its events and gains the table."""
    from alembic import command

    from journeyml.store.migrate import _config
    from journeyml.store.tables import events

    engine = _engine(store_uri)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), "0001")
            conn.execute(
                events.insert(),
                [{"customer_id": "c-1", "event_id": "e-1", "ts_ns": 10**18, "touchpoint": "visit",
                  "channel": "web", "source": "old", "ingested_at_ns": 10**18}],
            )  # fmt: skip
        assert "scores" not in set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    with pytest.raises(StoreSchemaError, match=r"schema revision 0001.*journeyml store upgrade"):
        EventStore.open(store_uri)
    assert upgrade_store(store_uri) == ("0001", head_revision())
    with EventStore.open(store_uri, create=False) as store:
        assert store.count_events() == 1 and store.scores("demo").empty
