"""Per (source, query) ingest cursors: where the next incremental fetch starts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, select

from warehouse.schema import ingest_cursors
from warehouse.writes import upsert


def get_cursor(conn: Connection, source: str, query: str) -> dt.datetime | None:
    return conn.execute(
        select(ingest_cursors.c.cursor_at).where(
            ingest_cursors.c.source == source, ingest_cursors.c.query == query
        )
    ).scalar_one_or_none()


def set_cursor(
    conn: Connection, source: str, query: str, at: dt.datetime, now: dt.datetime
) -> None:
    """Advance the cursor (never moves it backwards)."""
    current = get_cursor(conn, source, query)
    if current is not None and current >= at:
        return
    upsert(
        conn,
        ingest_cursors,
        [{"source": source, "query": query, "cursor_at": at, "updated_at": now}],
        keys=["source", "query"],
    )


def cursor_queries(conn: Connection, source: str, prefix: str) -> list[str]:
    """The queries of `source` that start with `prefix` (a family of cursors, such as one
    row per gap to fill)."""
    return list(
        conn.execute(
            select(ingest_cursors.c.query).where(
                ingest_cursors.c.source == source,
                ingest_cursors.c.query.startswith(prefix, autoescape=True),
            )
        ).scalars()
    )


def delete_cursor(conn: Connection, source: str, query: str) -> bool:
    """Remove a cursor that has served its purpose; True if there was one."""
    result = conn.execute(
        delete(ingest_cursors).where(
            ingest_cursors.c.source == source, ingest_cursors.c.query == query
        )
    )
    return result.rowcount > 0


def put_cursor(
    conn: Connection, source: str, query: str, at: dt.datetime, now: dt.datetime
) -> None:
    """Set the cursor to `at`, backwards too: for a row that marks the end of a span
    still to fetch (which moves down as the span is filled), not a high-water mark."""
    upsert(
        conn,
        ingest_cursors,
        [{"source": source, "query": query, "cursor_at": at, "updated_at": now}],
        keys=["source", "query"],
    )
