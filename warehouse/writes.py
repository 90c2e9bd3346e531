"""Idempotent writes that behave the same on SQLite and PostgreSQL.

Both dialects support INSERT ... ON CONFLICT, so a retried task that writes the same
rows again changes nothing (insert_ignore) or converges to the same values (upsert).

Every statement carries RETURNING: SQLAlchemy then sends a batch as one multi-row INSERT
("insertmanyvalues") instead of the driver's executemany, which psycopg2 runs as one
round trip per row (snapshot writes were 4.5x slower on PostgreSQL in `bench/load.py`
at 10k); the returned keys also count what was new, exactly, on both backends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

_BATCH = 500


def _dialect_insert(conn: Connection, table: Table):
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"warehouse backend {conn.dialect.name!r} is not supported")


def _batches(rows: Sequence[dict], keys: Sequence[str]) -> Iterable[Sequence[dict]]:
    """The rows in key order, in batches. Every writer then takes row locks in the same
    order: two tasks writing overlapping keys in opposite orders (two brands' scoring runs
    over the same posts) could deadlock on PostgreSQL. (A stable sort: of rows with one
    key, the first given still comes first.)"""
    ordered = sorted(rows, key=lambda r: tuple(str(r.get(k)) for k in keys))
    for start in range(0, len(ordered), _BATCH):
        yield ordered[start : start + _BATCH]


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict], keys: Sequence[str]) -> int:
    """Insert rows whose key is new; rows already present are left as they are.

    Returns how many rows were new.
    """
    inserted = 0
    for batch in _batches(rows, keys):
        stmt = (
            _dialect_insert(conn, table)
            .on_conflict_do_nothing(index_elements=list(keys))
            .returning(table.c[keys[0]])
        )
        inserted += len(conn.execute(stmt, list(batch)).all())
    return inserted


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert rows, or update the named columns of the row with the same key."""
    for batch in _batches(rows, keys):
        base = _dialect_insert(conn, table)
        columns = update if update is not None else [c for c in batch[0] if c not in keys]
        stmt = base.on_conflict_do_update(
            index_elements=list(keys), set_={c: base.excluded[c] for c in columns}
        ).returning(table.c[keys[0]])
        conn.execute(stmt, list(batch)).all()
