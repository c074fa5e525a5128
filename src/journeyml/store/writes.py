"""Inserting many rows that may already be stored, counting the new ones: the one write path of
events, predictions and outcomes.

SQLite: one ``INSERT … ON CONFLICT DO NOTHING`` prepared once and run for every row by the
driver's ``executemany`` (the rows go in as they are, no per-row work in Python), whose row
count is the rows inserted. PostgreSQL: the rows go by ``COPY`` into a temporary staging table
of the connection (emptied at commit, so one call per transaction and table), then one
``INSERT … SELECT … ON CONFLICT DO NOTHING``: 4× faster here than SQLAlchemy's multi-row
``VALUES`` for batches of 500 events, a statement psycopg parses again on each call.

Both run inside the caller's transaction: all rows are stored, or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table

from journeyml.store.driver import driver_cursor


def insert_new(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[Column[Any]]
) -> int:
    """Insert ``rows`` (dicts with the same keys) into ``table``, skipping those whose ``key``
    is already there; returns how many were inserted."""
    if not rows:
        return 0
    names = list(rows[0])
    cols = ", ".join(f'"{n}"' for n in names)
    keys = ", ".join(f'"{c.name}"' for c in key)
    if conn.dialect.name == "postgresql":
        return _copy_insert(conn, table.name, rows, names, cols, keys)
    sql = (
        f'INSERT INTO "{table.name}" ({cols}) VALUES ({", ".join(f":{n}" for n in names)}) '
        f"ON CONFLICT ({keys}) DO NOTHING"
    )
    with driver_cursor(conn, sql) as cursor:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)


def _copy_insert(
    conn: Connection,
    table: str,
    rows: Sequence[dict[str, Any]],
    names: list[str],
    cols: str,
    keys: str,
) -> int:
    staging = f"{table}_staging"
    with driver_cursor(conn, f'COPY "{staging}"') as cursor:
        cursor.execute(  # the columns' types, no constraints, no defaults
            f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}" ON COMMIT DELETE ROWS AS '
            f'SELECT {cols} FROM "{table}" WITH NO DATA'
        )
        with cursor.copy(f'COPY "{staging}" ({cols}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[n] for n in names])
        cursor.execute(
            f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM "{staging}" '
            f"ON CONFLICT ({keys}) DO NOTHING"
        )
        return int(cursor.rowcount)
