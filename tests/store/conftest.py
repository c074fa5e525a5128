"""Every store test runs on both backends: SQLite in a temporary folder and PostgreSQL.

PostgreSQL is the server at ``$JOURNEYML_TEST_PG_URI`` (default
``postgresql://postgres@127.0.0.1:5432/test``, trust auth). Each test session (each xdist
worker) creates a database of its own with a unique name and drops it at the end; each test gets
a fresh schema in it. When the server is unreachable the PostgreSQL tests skip with the reason,
except under ``CI=true``, where they fail: CI must not pass with half of the store untested.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ENV = "JOURNEYML_TEST_PG_URI"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def pg_admin_uri() -> str:
    return os.environ.get(PG_ENV, PG_DEFAULT)


def _with_database(uri: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(uri).set(database=name).render_as_string(hide_password=False)


def postgres_unavailable(reason: str) -> None:
    """Skip the test, or fail it under CI=true (where a skipped PostgreSQL test fails)."""
    message = f"PostgreSQL is unreachable at {pg_admin_uri()} ({reason}); start it or set {PG_ENV}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}. Under CI=true the PostgreSQL store tests must run.")
    pytest.skip(message)


class PostgresSession:
    """The database of this test session, or why there is none."""

    def __init__(self, uri: str | None, reason: str = "") -> None:
        self.uri = uri
        self.reason = reason

    def new_schema(self) -> str:
        """A store URI in a fresh schema of the session's database."""
        import psycopg

        if self.uri is None:
            postgres_unavailable(self.reason)
        assert self.uri is not None
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return f"{self.uri}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresSession]:
    import psycopg

    admin = pg_admin_uri()
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        yield PostgresSession(None, str(exc).strip().splitlines()[0])
        return
    name = f"journeyml_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PostgresSession(_with_database(admin, name))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_store_uri(backend: str, folder: Path, postgres: PostgresSession) -> str:
    """A URI of an empty store on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{folder / f'store-{uuid.uuid4().hex[:8]}.db'}"
    return postgres.new_schema()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_uri(backend: str, tmp_path: Path, postgres: PostgresSession) -> str:
    """The URI of an empty store (no schema yet), on each backend in turn."""
    return new_store_uri(backend, tmp_path, postgres)


@pytest.fixture
def store(store_uri: str):  # type: ignore[no-untyped-def]
    """An open, empty store on each backend in turn."""
    from journeyml.store import EventStore

    es = EventStore.open(store_uri)
    yield es
    es.close()
