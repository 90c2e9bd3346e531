"""Per (source, query) ingest cursors: where the next incremental fetch starts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select

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
