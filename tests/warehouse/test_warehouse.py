"""Warehouse behaviour on SQLite and PostgreSQL: migrations, UTC, idempotent writes."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from warehouse.cursors import get_cursor, set_cursor
from warehouse.db import VERSION_TABLE, current_revision, upgrade
from warehouse.quarantine import quarantine_item
from warehouse.schema import mentions, metadata, metric_snapshots, quarantine
from warehouse.writes import insert_ignore, upsert

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _mention(post_id="1", brand="mumu", created=None):
    return {
        "platform": "weibo",
        "post_id": post_id,
        "brand": brand,
        "text": "沐沐奶粉 有异物 <b>",
        "created_at": created or dt.datetime(2026, 5, 1, 10, 0, tzinfo=SHANGHAI),
        "raw": "{}",
        "ingested_at": dt.datetime(2026, 5, 1, 2, 5, tzinfo=dt.UTC),
        "author_verified": False,
        "is_competitor": False,
    }


def test_migrations_are_idempotent_and_match_the_schema(warehouse):
    assert upgrade(warehouse) == "0004"
    assert upgrade(warehouse) == "0004"
    assert current_revision(warehouse) == "0004"
    with warehouse.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        diff = [d for d in compare_metadata(context, metadata) if VERSION_TABLE not in str(d)]
    assert diff == []


def test_downgrade_keeps_the_views_of_the_revision_it_returns_to(warehouse):
    """Each revision's downgrade leaves the views the older revision had (0002 created those
    numbered before 080), and upgrading again restores them all."""
    from alembic import command
    from sqlalchemy import inspect

    from warehouse.db import _alembic_config
    from warehouse.views import view_files, view_name

    def views() -> set[str]:
        return set(inspect(warehouse).get_view_names())

    every = {view_name(p) for p in view_files()}
    assert views() == every
    for revision, expected in (
        ("0003", every),
        ("0002", {view_name(p) for p in view_files(below="080")}),
        ("0001", set()),
    ):
        with warehouse.begin() as conn:
            command.downgrade(_alembic_config(conn), revision)
        assert current_revision(warehouse) == revision
        assert views() == expected, revision
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [_mention()])
    assert upgrade(warehouse, "0002") == "0002"
    assert views() == {view_name(p) for p in view_files(below="080")}
    assert upgrade(warehouse) == "0004"
    assert views() == every
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM v_mentions_daily")).scalar_one() == 1


def test_timestamps_are_stored_utc_and_read_back_aware(warehouse):
    with warehouse.begin() as conn:
        insert_ignore(conn, mentions, [_mention()], keys=["platform", "post_id", "brand"])
    with warehouse.connect() as conn:
        created = conn.execute(select(mentions.c.created_at)).scalar_one()
    assert created.tzinfo is not None
    assert created == dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    assert created.utcoffset() == dt.timedelta(0)


def test_naive_datetimes_are_refused(warehouse):
    row = _mention(created=dt.datetime(2026, 5, 1, 10, 0))
    with pytest.raises(Exception, match="naive datetime"):
        with warehouse.begin() as conn:
            insert_ignore(conn, mentions, [row], keys=["platform", "post_id", "brand"])


def test_insert_ignore_counts_only_new_rows(warehouse):
    keys = ["platform", "post_id", "brand"]
    with warehouse.begin() as conn:
        assert insert_ignore(conn, mentions, [_mention("1"), _mention("2")], keys) == 2
    with warehouse.begin() as conn:
        assert insert_ignore(conn, mentions, [_mention("2"), _mention("3")], keys) == 1
        # the same post about another brand is its own row
        assert insert_ignore(conn, mentions, [_mention("3", brand="xingche")], keys) == 1
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(mentions)).scalar_one() == 4


def test_upsert_converges(warehouse):
    at = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    row = {"platform": "weibo", "post_id": "1", "observed_at": at, "reposts": 5}
    keys = ["platform", "post_id", "observed_at"]
    with warehouse.begin() as conn:
        upsert(conn, metric_snapshots, [row], keys)
        upsert(conn, metric_snapshots, [{**row, "reposts": 7}], keys)
        upsert(conn, metric_snapshots, [{**row, "reposts": 7}], keys)
    with warehouse.connect() as conn:
        assert conn.execute(select(metric_snapshots.c.reposts)).scalars().all() == [7]


def test_cursor_never_moves_backwards(warehouse):
    t1 = dt.datetime(2026, 5, 1, 1, tzinfo=dt.UTC)
    t2 = t1 + dt.timedelta(hours=1)
    with warehouse.begin() as conn:
        assert get_cursor(conn, "weibo", "沐沐") is None
        set_cursor(conn, "weibo", "沐沐", t2, now=t2)
        set_cursor(conn, "weibo", "沐沐", t1, now=t2)
        assert get_cursor(conn, "weibo", "沐沐") == t2


def test_quarantine_keeps_each_payload_once_with_its_reason(warehouse):
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    with warehouse.begin() as conn:
        assert quarantine_item(conn, "weibo", "missing field idstr", {"text": "坏"}, now)
        assert not quarantine_item(conn, "weibo", "missing field idstr", {"text": "坏"}, now)
        assert quarantine_item(conn, "weibo", "bad json", b"{not json", now)
    with warehouse.connect() as conn:
        rows = conn.execute(select(quarantine.c.reason, quarantine.c.raw)).all()
    assert sorted(rows) == [("bad json", "{not json"), ("missing field idstr", '{"text": "坏"}')]
