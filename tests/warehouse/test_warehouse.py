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
HEAD = "0012"


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
    assert upgrade(warehouse) == HEAD
    assert upgrade(warehouse) == HEAD
    assert current_revision(warehouse) == HEAD
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
        ("0011", every),
        ("0010", every),
        ("0009", every),
        ("0008", every),
        ("0007", every),
        ("0006", every),
        ("0005", every),
        ("0004", every),
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
    assert upgrade(warehouse) == HEAD
    assert views() == every
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM v_mentions_daily")).scalar_one() == 1


# the columns of the views 0005 changed, as revision 0004 left them
VIEWS_0004 = {
    "v_top_complaints": "platform post_id brand tracking_state author_name author_followers "
    "author_verified url excerpt created_at complaint categories signals sentiment "
    "estimated_at observed predicted low high p_viral velocity_per_10min",
    "v_incident_timeline": "incident_id brand platform root_post_id category event level "
    "receiver at crossed_viral_at lead_minutes",
    "v_alert_outcomes": "incident_id brand platform root_post_id category level status "
    "opened_at peak_p_viral first_alert_at crossed_viral_at went_viral lead_minutes",
}


# the view columns revision 0011 added (last in each view)
ADDED_BY_0011 = {
    "v_incident_timeline": ("crossed_before_seen",),
    "v_alert_outcomes": ("crossed_before_seen",),
}


def _view_columns(engine, view):
    from sqlalchemy import inspect

    return [c["name"] for c in inspect(engine).get_columns(view)]


def test_0005_downgrade_restores_the_0004_views_and_upgrades_again(warehouse):
    """Downgrading 0005 brings back the views as 0004 had them (their columns, and their
    answers: the watch-level outbox record was the first alert), twice over, and upgrading
    again brings back today's. (The rendered SQL after the downgrade was also compared with
    what revision 0004's code creates: identical on both backends.)"""
    from alembic import command

    from warehouse.db import _alembic_config
    from warehouse.schema import brand_responses, incidents, notifications

    t0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [_mention(created=t0)])
        conn.execute(
            incidents.insert().values(
                incident_id="i", brand="mumu", platform="weibo", root_post_id="1",
                category="refund", level="warning", status="open", opened_at=t0,
                updated_at=t0, level_changed_at=t0, last_growth_at=t0,
                crossed_viral_at=t0 + dt.timedelta(hours=4), peak_p_viral=0.5, evidence="{}",
            )
        )  # fmt: skip
        conn.execute(
            notifications.insert(),
            [
                {
                    "dedupe_key": f"i:{event}", "incident_id": "i", "event": event,
                    "level": level, "receiver": receiver, "channel": channel, "status": "sent",
                    "attempts": 1, "created_at": t0, "sent_at": t0 + dt.timedelta(hours=h),
                    "payload": "{}",
                }
                for event, level, receiver, channel, h in (
                    ("open", "watch", "outbox", "outbox", 0),
                    ("escalate", "warning", "pr-slack", "slack", 3),
                )
            ],
        )  # fmt: skip
        conn.execute(
            brand_responses.insert().values(
                platform="weibo", post_id="1", brand="mumu", checked_at=t0, comments_seen=1,
                responded_at=t0 + dt.timedelta(minutes=30),
            )
        )  # fmt: skip

    def lead_and_minutes():
        with warehouse.connect() as conn:
            lead = conn.execute(text("SELECT lead_minutes FROM v_alert_outcomes")).scalar_one()
            minutes = conn.execute(
                text("SELECT minutes_to_response FROM v_complaint_responses")
            ).scalar_one()
        return round(float(lead)), round(float(minutes), 3)

    assert lead_and_minutes() == (60, 30.0)
    assert "first_recorded_at" in _view_columns(warehouse, "v_alert_outcomes")
    for _ in range(2):
        with warehouse.begin() as conn:
            command.downgrade(_alembic_config(conn), "0004")
        assert current_revision(warehouse) == "0004"
        for view, columns in VIEWS_0004.items():
            assert _view_columns(warehouse, view) == columns.split(), view
        assert lead_and_minutes() == (240, 30.0)  # 0004: the outbox record was the alert
        assert upgrade(warehouse) == HEAD
        assert "first_recorded_at" in _view_columns(warehouse, "v_alert_outcomes")
        assert lead_and_minutes() == (60, 30.0)


def test_0006_downgrade_restores_the_0005_views_and_upgrades_again(warehouse):
    """Downgrading 0006 drops official_accounts and brings back the views as 0005 had them
    (the same SQL, their columns, and their answers: the brand's own statement counted as a
    complaint against it), twice over; upgrading again brings back today's."""
    from alembic import command
    from sqlalchemy import inspect

    from warehouse.db import _alembic_config
    from warehouse.official_accounts import sync_official_accounts
    from warehouse.schema import scores, tracked_posts
    from warehouse.views import render_0007, view_files, view_name
    from yujing.config import load_config

    migration = _migration("0006")
    t0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    notice = {**_mention(created=t0), "author_id": "5503128761"}  # mumu's official account
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [notice])
        conn.execute(
            scores.insert().values(
                platform="weibo", post_id="1", model_version="m1", sentiment=0.1, negative=True,
                complaint=True, categories='["safety"]', signals="[]", scored_at=t0,
            )
        )  # fmt: skip
        conn.execute(
            tracked_posts.insert().values(
                platform="weibo", post_id="1", brand="mumu", state="hot", created_at=t0,
                tracked_since=t0, next_check_at=t0,
            )
        )  # fmt: skip
    sync_official_accounts(warehouse, load_config(), t0)

    def answers():
        with warehouse.connect() as conn:
            return (
                conn.execute(text("SELECT complaints FROM v_mentions_daily")).scalar_one(),
                conn.execute(text("SELECT count(*) FROM v_top_complaints")).scalar_one(),
                conn.execute(
                    text("SELECT count(*) FROM v_complaint_categories_daily")
                ).scalar_one(),
            )

    today = {view_name(p): _view_columns(warehouse, view_name(p)) for p in view_files()}
    assert answers() == (0, 0, 0)
    for _ in range(2):
        with warehouse.begin() as conn:
            command.downgrade(_alembic_config(conn), "0005")
        assert current_revision(warehouse) == "0005"
        assert not inspect(warehouse).has_table("official_accounts")
        assert [name for name, _ in migration.VIEWS_0005] == [p.name for p in view_files()]
        for _, sql in migration.VIEWS_0005:
            name = migration._name(sql)
            kept = [c for c in today[name] if c not in ADDED_BY_0011.get(name, ())]
            assert _view_columns(warehouse, name) == kept, name  # columns kept
            if warehouse.dialect.name == "sqlite":  # the very SQL 0005 created
                with warehouse.connect() as conn:
                    stored = conn.execute(
                        text("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = :n"),
                        {"n": name},
                    ).scalar_one()
                rendered = render_0007(sql, "sqlite")  # the macros of 0005 to 0007
                assert stored == rendered[rendered.index("CREATE VIEW") :].strip(), name
        assert answers() == (1, 1, 1)  # 0005: the statement was a complaint
        assert upgrade(warehouse) == HEAD
        assert inspect(warehouse).has_table("official_accounts")
        sync_official_accounts(warehouse, load_config(), t0)
        assert answers() == (0, 0, 0)


def test_0007_downgrade_drops_gone_at_keeps_the_rows_and_views_and_upgrades_again(warehouse):
    from alembic import command
    from sqlalchemy import inspect

    from warehouse.db import _alembic_config
    from warehouse.schema import brand_responses

    t0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [_mention()])
        conn.execute(brand_responses.insert().values(
            platform="weibo", post_id="1", brand="mumu", checked_at=t0, comments_seen=2,
            gone_at=t0))  # fmt: skip
    today = {v: _view_columns(warehouse, v) for v in inspect(warehouse).get_view_names()}

    def columns():
        return [c["name"] for c in inspect(warehouse).get_columns("brand_responses")]

    for _ in range(2):
        with warehouse.begin() as conn:
            command.downgrade(_alembic_config(conn), "0006")
        assert "gone_at" not in columns()
        assert {v: _view_columns(warehouse, v) for v in today} == {
            v: [c for c in cols if c not in ADDED_BY_0011.get(v, ())] for v, cols in today.items()
        }
        with warehouse.connect() as conn:
            assert conn.execute(text("SELECT post_id FROM v_complaint_responses")).all() == [("1",)]
        assert upgrade(warehouse) == HEAD and "gone_at" in columns()


def _stored_views(engine) -> dict[str, str]:
    """{view: its SQL as the database keeps it} (SQLite: the text it was created with)."""
    query = "SELECT name, sql FROM sqlite_master WHERE type = 'view'"
    if engine.dialect.name == "postgresql":
        query = "SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema()"
    with engine.connect() as conn:
        return dict(conn.execute(text(query)).all())


def test_0008_downgrade_restores_the_0007_views_and_upgrades_again(warehouse):
    """Downgrading 0008 brings back the views as 0007 rendered them (on SQLite: local_day
    and minutes_between on the whole stored text, which rounds .9995 s up; PostgreSQL's did
    not change), twice over; upgrading again brings back today's."""
    from alembic import command

    from warehouse.db import _alembic_config
    from warehouse.schema import brand_responses
    from warehouse.views import render_0007, sql_view_name, view_sources_before

    posted = dt.datetime(2026, 5, 3, 15, 59, 59, 999999, tzinfo=dt.UTC)
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [_mention(created=posted)])
        conn.execute(brand_responses.insert().values(
            platform="weibo", post_id="1", brand="mumu", checked_at=posted, comments_seen=1,
            responded_at=posted + dt.timedelta(minutes=30)))  # fmt: skip

    def answers():
        with warehouse.connect() as conn:
            return tuple(conn.execute(text(
                "SELECT day, minutes_to_response FROM v_complaint_responses")).one())  # fmt: skip

    today = _stored_views(warehouse)
    assert answers() == ("2026-05-03", 30.0)
    for _ in range(2):
        with warehouse.begin() as conn:
            command.downgrade(_alembic_config(conn), "0007")
        assert current_revision(warehouse) == "0007"
        if warehouse.dialect.name == "sqlite":
            old = {}
            for _, sql in view_sources_before("0008"):
                rendered = render_0007(sql, "sqlite")
                old[sql_view_name(rendered)] = rendered[rendered.index("CREATE VIEW") :].strip()
            assert _stored_views(warehouse) == old
            assert answers() == ("2026-05-04", 30.0)  # 0007: rounded into the next day
        else:  # PostgreSQL's views did not change
            assert answers() == ("2026-05-03", 30.0)
        assert upgrade(warehouse) == HEAD
        assert _stored_views(warehouse) == today
        assert answers() == ("2026-05-03", 30.0)


def test_0009_downgrade_restores_the_0008_weekly_benchmark_and_upgrades_again(warehouse):
    """Downgrading 0009 brings back v_brand_benchmark_weekly as 0008 had it (its SQL, and
    its answer: the responses of the day a brand became a competitor counted twice), twice
    over; upgrading again brings back today's."""
    from alembic import command

    from warehouse.db import _alembic_config
    from warehouse.schema import brand_responses
    from warehouse.views import render, sql_view_name, view_sources_before

    t0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [
            {**_mention("1", created=t0)},
            {**_mention("2", created=t0), "is_competitor": True},
        ])  # fmt: skip
        conn.execute(brand_responses.insert().values(
            platform="weibo", post_id="1", brand="mumu", checked_at=t0, comments_seen=1,
            responded_at=t0 + dt.timedelta(minutes=30)))  # fmt: skip

    def tracked_answered():
        with warehouse.connect() as conn:
            row = conn.execute(text(
                "SELECT complaints_tracked, complaints_answered FROM v_brand_benchmark_weekly"
            )).one()  # fmt: skip
        return tuple(int(v) for v in row)

    today = _stored_views(warehouse)
    assert tracked_answered() == (1, 1)
    for _ in range(2):
        with warehouse.begin() as conn:
            command.downgrade(_alembic_config(conn), "0008")
        assert current_revision(warehouse) == "0008"
        if warehouse.dialect.name == "sqlite":
            old = {}
            for _, sql in view_sources_before("0009"):
                rendered = render(sql, "sqlite")
                old[sql_view_name(rendered)] = rendered[rendered.index("CREATE VIEW") :].strip()
            assert _stored_views(warehouse) == old
        assert _stored_views(warehouse) != today
        assert tracked_answered() == (2, 2)  # 0008: counted once per is_competitor row
        assert upgrade(warehouse) == HEAD
        assert _stored_views(warehouse) == today
        assert tracked_answered() == (1, 1)


def _migration(revision):
    import importlib.util

    from warehouse.db import MIGRATIONS

    (path,) = (MIGRATIONS / "versions").glob(f"{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"_migration_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_writes_reach_the_database_in_key_order(warehouse):
    # two writers of overlapping keys in opposite orders (two brands' scoring runs over the
    # same posts) could each lock a row the other needs next: a deadlock on PostgreSQL.
    # Taken in one order by every writer, they cannot (the deadlock itself is a race no
    # test reproduces reliably; this checks the order the statements carry).
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "INSERT INTO mentions" in statement or "INSERT INTO metric_snapshots" in statement:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            seen.extend(v for v in values if isinstance(v, str) and v.startswith("p"))

    at = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    ids = ["p3", "p1", "p4", "p2"]
    event.listen(warehouse, "before_cursor_execute", record)
    try:
        with warehouse.begin() as conn:
            insert_ignore(
                conn, mentions, [_mention(i) for i in ids], ["platform", "post_id", "brand"]
            )
        assert seen == ["p1", "p2", "p3", "p4"]
        seen.clear()
        snaps = [{"platform": "weibo", "post_id": i, "observed_at": at, "reposts": 1} for i in ids]
        with warehouse.begin() as conn:
            upsert(conn, metric_snapshots, snaps, ["platform", "post_id", "observed_at"])
        assert seen == ["p1", "p2", "p3", "p4"]
    finally:
        event.remove(warehouse, "before_cursor_execute", record)


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


def test_quarantine_keeps_a_bad_post_once_per_reason_with_its_first_payload(warehouse):
    """An item with a post id is keyed on (source, post id, reason): read again with grown
    counts it is not stored again, and the row keeps the first payload and time."""
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    later = now + dt.timedelta(minutes=5)
    with warehouse.begin() as conn:
        assert quarantine_item(conn, "weibo", "bad", {"idstr": "1", "n": 5}, now, post_id="1")
        assert not quarantine_item(conn, "weibo", "bad", {"idstr": "1", "n": 9}, later, post_id="1")
        assert quarantine_item(conn, "weibo", "worse", {"idstr": "1", "n": 9}, later, post_id="1")
        assert quarantine_item(conn, "weibo", "bad", {"idstr": "2", "n": 9}, later, post_id="2")
        assert quarantine_item(conn, "wechat", "bad", {"idstr": "1", "n": 9}, later, post_id="1")
    with warehouse.connect() as conn:
        rows = conn.execute(
            select(quarantine.c.source, quarantine.c.reason, quarantine.c.raw,
                   quarantine.c.received_at).order_by(quarantine.c.id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("weibo", "bad", '{"idstr": "1", "n": 5}', now),
        ("weibo", "worse", '{"idstr": "1", "n": 9}', later),
        ("weibo", "bad", '{"idstr": "2", "n": 9}', later),
        ("wechat", "bad", '{"idstr": "1", "n": 9}', later),
    ]


def test_0010_downgrade_restores_the_0009_alert_views_and_upgrades_again(warehouse):
    """Downgrading 0010 brings back v_alert_outcomes and v_incident_timeline as 0009 had
    them (an alert delivered in a summary counted as never sent); upgrading again brings
    back today's."""
    from alembic import command

    from warehouse.db import _alembic_config
    from warehouse.schema import incidents, notifications

    t0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    with warehouse.begin() as conn:
        conn.execute(incidents.insert().values(
            incident_id="mumu-1", brand="mumu", platform="weibo", root_post_id="1",
            category="refund", level="warning", status="open", opened_at=t0, updated_at=t0,
            level_changed_at=t0, last_growth_at=t0, peak_p_viral=0.4, evidence="{}"))  # fmt: skip
        conn.execute(notifications.insert().values(
            dedupe_key="mumu-1:open:warning:pr-slack", incident_id="mumu-1", event="open",
            level="warning", receiver="pr-slack", channel="slack", status="folded",
            attempts=0, created_at=t0, sent_at=t0 + dt.timedelta(hours=1),
            external_id="summary:pr-slack:20260501T02", payload="{}"))  # fmt: skip

    def alerted():
        with warehouse.connect() as conn:
            outcome = conn.execute(text("SELECT alerted FROM v_alert_outcomes")).scalar_one()
            notified = conn.execute(text(
                "SELECT COUNT(*) FROM v_incident_timeline WHERE event = 'notified:open'"
            )).scalar_one()  # fmt: skip
        return int(outcome), int(notified)

    today = _stored_views(warehouse)
    assert alerted() == (1, 1)
    for _ in range(2):
        with warehouse.begin() as conn:
            command.downgrade(_alembic_config(conn), "0009")
        assert current_revision(warehouse) == "0009"
        assert _stored_views(warehouse) != today
        assert alerted() == (0, 0)
        assert upgrade(warehouse) == HEAD
        assert _stored_views(warehouse) == today
        assert alerted() == (1, 1)


def test_0011_downgrade_restores_the_0010_alert_views_drops_the_flag_and_upgrades_again(
    warehouse,
):
    """Downgrading 0011 brings back v_alert_outcomes and v_incident_timeline as 0010 had
    them (a lead time for a post already viral when first seen, no crossed_before_seen
    column) and drops incidents.crossed_before_seen, keeping the rows, twice over;
    upgrading again brings back today's views, and the flag reads NULL (not known)."""
    from alembic import command
    from sqlalchemy import inspect

    from warehouse.db import _alembic_config
    from warehouse.schema import incidents, notifications
    from warehouse.views import render, sql_view_name, view_sources_before

    t0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    with warehouse.begin() as conn:
        conn.execute(incidents.insert().values(
            incident_id="mumu-1", brand="mumu", platform="weibo", root_post_id="1",
            category="refund", level="critical", status="open", opened_at=t0, updated_at=t0,
            level_changed_at=t0, last_growth_at=t0, crossed_viral_at=t0,
            crossed_before_seen=True, peak_p_viral=1.0, evidence="{}"))  # fmt: skip
        conn.execute(notifications.insert().values(
            dedupe_key="mumu-1:open:critical:pr-slack", incident_id="mumu-1", event="open",
            level="critical", receiver="pr-slack", channel="slack", status="sent",
            attempts=1, created_at=t0, sent_at=t0 + dt.timedelta(minutes=5),
            payload="{}"))  # fmt: skip

    def outcome():
        with warehouse.connect() as conn:
            return tuple(conn.execute(text(
                "SELECT went_viral, lead_minutes FROM v_alert_outcomes")).one())  # fmt: skip

    def columns(name):
        return [c["name"] for c in inspect(warehouse).get_columns(name)]

    today = _stored_views(warehouse)
    assert outcome() == (1, None)
    assert columns("v_alert_outcomes")[-1] == "crossed_before_seen"
    assert columns("v_incident_timeline")[-1] == "crossed_before_seen"
    for _ in range(2):
        with warehouse.begin() as conn:
            command.downgrade(_alembic_config(conn), "0010")
        assert current_revision(warehouse) == "0010"
        assert "crossed_before_seen" not in columns("incidents")
        assert "crossed_before_seen" not in columns("v_alert_outcomes")
        if warehouse.dialect.name == "sqlite":
            old = {}
            for _, sql in view_sources_before("0011"):
                rendered = render(sql, "sqlite")
                old[sql_view_name(rendered)] = rendered[rendered.index("CREATE VIEW") :].strip()
            assert _stored_views(warehouse) == old
        assert _stored_views(warehouse) != today
        assert outcome() == (1, -5.0)  # 0010: "alerted 5 min after it went viral"
        assert upgrade(warehouse) == HEAD
        assert _stored_views(warehouse) == today
        assert "crossed_before_seen" in columns("incidents")
        with warehouse.connect() as conn:
            flag = conn.execute(text(
                "SELECT crossed_before_seen FROM v_alert_outcomes")).scalar_one()  # fmt: skip
        assert flag is None  # not known for an incident recorded before 0011
        assert outcome() == (1, -5.0)
        with warehouse.begin() as conn:  # as the escalation stage records it today
            conn.execute(incidents.update().values(crossed_before_seen=True))
        assert outcome() == (1, None)


def test_views_of_a_revision_before_0011_build_without_the_crossing_flag(warehouse):
    """A warehouse made by an older checkout has no incidents.crossed_before_seen until
    0011 adds it, yet the revisions before it (0002 to 0010) create today's view files: the
    flag reads NULL there instead of failing the upgrade."""
    from alembic import command

    from warehouse.db import _alembic_config

    with warehouse.begin() as conn:
        command.downgrade(_alembic_config(conn), "0009")
    assert upgrade(warehouse, "0010") == "0010"  # today's files, without the column
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM v_alert_outcomes")).scalar_one() == 0
    assert upgrade(warehouse) == HEAD


def test_0012_downgrade_drops_the_scoring_failures_keeps_the_scores_and_upgrades_again(
    warehouse,
):
    """0012 adds `score_failures` (posts the model failed on, retried later). Downgrading
    drops it and nothing else (scores stay; a post still being retried has no score row, so
    0011's code scores it on its next run); upgrading again brings the table back, twice
    over."""
    from alembic import command
    from sqlalchemy import inspect

    from warehouse.db import _alembic_config
    from warehouse.schema import score_failures, scores

    t0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    score = {"platform": "weibo", "post_id": "1", "model_version": "v1", "sentiment": 0.2,
             "negative": True, "complaint": False, "categories": "[]", "signals": "[]",
             "scored_at": t0}  # fmt: skip
    failure = {"platform": "weibo", "post_id": "2", "model_version": "v1", "attempts": 1,
               "error": "scorer raised MemoryError", "first_failed_at": t0,
               "last_failed_at": t0}  # fmt: skip
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [_mention("1"), _mention("2")])
        conn.execute(scores.insert(), [score])
        conn.execute(score_failures.insert(), [failure])
    for _ in range(2):
        with warehouse.begin() as conn:
            command.downgrade(_alembic_config(conn), "0011")
        assert current_revision(warehouse) == "0011"
        assert not inspect(warehouse).has_table("score_failures")
        with warehouse.connect() as conn:
            assert conn.execute(select(func.count()).select_from(scores)).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM v_latest_scores")).scalar_one() == 1
        assert upgrade(warehouse) == HEAD
        with warehouse.begin() as conn:
            assert conn.execute(select(func.count()).select_from(score_failures)).scalar_one() == 0
            conn.execute(score_failures.insert(), [failure])
