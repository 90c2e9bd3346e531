"""The analyst views give the same, hand-checked answers on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from warehouse.schema import (
    brand_responses,
    incidents,
    mentions,
    notifications,
    scores,
    spread_estimates,
    tracked_posts,
)
from warehouse.views import render, view_files, view_name

UTC = dt.UTC
T0 = dt.datetime(2026, 5, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai: still 2026-05-01 there
T1 = dt.datetime(2026, 5, 1, 16, 30, tzinfo=UTC)  # 00:30 in Shanghai: already 2026-05-02


def _mention(post_id, created, brand="mumu", platform="weibo", competitor=False):
    return {
        "platform": platform,
        "post_id": post_id,
        "brand": brand,
        "author_name": f"user{post_id}",
        "author_followers": 100,
        "author_verified": False,
        "text": f"post {post_id} 沐沐奶粉",
        "created_at": created,
        "raw": "{}",
        "ingested_at": created,
        "is_competitor": competitor,
    }


def _score(post_id, negative, complaint, categories=(), at=T1, model="m1"):
    return {
        "platform": "weibo",
        "post_id": post_id,
        "model_version": model,
        "sentiment": 0.1 if negative else 0.9,
        "negative": negative,
        "complaint": complaint,
        "categories": json.dumps(list(categories)),
        "signals": "[]",
        "error": None,
        "scored_at": at,
    }


@pytest.fixture
def seeded(warehouse):
    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                _mention("1", T0),
                _mention("2", T0),
                _mention("3", T1),
                _mention("4", T1),
                _mention("9", T1, brand="kuaixian", competitor=True),
            ],
        )
        conn.execute(
            scores.insert(),
            [
                # post 1 was rescored by a newer model: only the newer score counts
                _score("1", False, False, model="m0", at=T0),
                _score("1", True, True, ["quality", "safety"], model="m1"),
                _score("2", False, False),
                _score("3", True, True, ["refund"]),
                # post 4 not scored yet
                _score("9", True, False),
            ],
        )
        conn.execute(
            tracked_posts.insert(),
            [
                {
                    "platform": "weibo",
                    "post_id": "1",
                    "brand": "mumu",
                    "state": "hot",
                    "created_at": T0,
                    "tracked_since": T0,
                    "next_check_at": T1,
                }
            ],
        )
        conn.execute(
            spread_estimates.insert(),
            [
                {
                    "platform": "weibo",
                    "post_id": "1",
                    "estimated_at": T0 + dt.timedelta(minutes=m),
                    "model_version": "s1",
                    "observed": obs,
                    "predicted": obs * 3.0,
                    "low": obs * 2.0,
                    "high": obs * 4.0,
                    "p_viral": p,
                    "velocity_per_10min": 5.0,
                }
                for m, obs, p in [(10, 50, 0.2), (20, 120, 0.7)]
            ],
        )
        conn.execute(
            incidents.insert(),
            [
                {
                    "incident_id": "inc1",
                    "brand": "mumu",
                    "platform": "weibo",
                    "root_post_id": "1",
                    "category": "safety",
                    "level": "critical",
                    "status": "open",
                    "opened_at": T0 + dt.timedelta(minutes=10),
                    "updated_at": T1,
                    "level_changed_at": T1,
                    "last_growth_at": T1,
                    "crossed_viral_at": T0 + dt.timedelta(minutes=100),
                    "resolved_at": None,
                    "peak_p_viral": 0.7,
                    "evidence": "{}",
                },
                {
                    "incident_id": "inc2",
                    "brand": "mumu",
                    "platform": "weibo",
                    "root_post_id": "3",
                    "category": "refund",
                    "level": "watch",
                    "status": "resolved",
                    "opened_at": T1,
                    "updated_at": T1,
                    "level_changed_at": T1,
                    "last_growth_at": T1,
                    "resolved_at": T1 + dt.timedelta(hours=2),
                    "crossed_viral_at": None,
                    "peak_p_viral": 0.2,
                    "evidence": "{}",
                },
            ],
        )
        conn.execute(
            notifications.insert(),
            [
                {
                    "dedupe_key": f"inc1:{event}:{level}:pr-slack",
                    "incident_id": "inc1",
                    "event": event,
                    "level": level,
                    "receiver": "pr-slack",
                    "channel": "slack",
                    "status": status,
                    "attempts": 1,
                    "created_at": T0,
                    "sent_at": T0 + dt.timedelta(minutes=minutes) if minutes else None,
                    "payload": "{}",
                }
                for event, level, status, minutes in [
                    ("open", "warning", "sent", 15),
                    ("escalate", "critical", "sent", 40),
                    ("remind", "critical", "failed", None),
                ]
            ],
        )
    return warehouse


def _rows(engine, sql):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_mentions_daily_uses_shanghai_days_and_latest_scores(seeded):
    rows = _rows(
        seeded,
        "SELECT day, brand, mentions, scored, negative, complaints, negative_share "
        "FROM v_mentions_daily ORDER BY day, brand",
    )
    assert rows == [
        ("2026-05-01", "mumu", 2, 2, 1, 1, 0.5),
        ("2026-05-02", "kuaixian", 1, 1, 1, 0, 1.0),
        ("2026-05-02", "mumu", 2, 1, 1, 1, 1.0),
    ]


def test_complaint_categories_are_exploded(seeded):
    rows = _rows(
        seeded,
        "SELECT day, brand, category, complaints FROM v_complaint_categories_daily "
        "ORDER BY day, category",
    )
    assert rows == [
        ("2026-05-01", "mumu", "quality", 1),
        ("2026-05-01", "mumu", "safety", 1),
        ("2026-05-02", "mumu", "refund", 1),
    ]


def test_top_complaints_carry_the_latest_estimate(seeded):
    rows = _rows(seeded, "SELECT post_id, observed, predicted, p_viral FROM v_top_complaints")
    assert rows == [("1", 120, 360.0, 0.7)]


def test_incident_timeline_and_lead_times(seeded):
    rows = _rows(
        seeded,
        "SELECT event, level, lead_minutes FROM v_incident_timeline "
        "WHERE incident_id = 'inc1' ORDER BY at",
    )
    assert [(e, lvl, round(m)) for e, lvl, m in rows] == [
        ("opened", None, 90),
        ("notified:open", "warning", 85),
        ("notified:escalate", "critical", 60),
        ("crossed_viral", None, 0),
    ]
    outcomes = _rows(
        seeded,
        "SELECT incident_id, went_viral, lead_minutes FROM v_alert_outcomes ORDER BY incident_id",
    )
    assert [(i, v, None if m is None else round(m)) for i, v, m in outcomes] == [
        ("inc1", 1, 85),
        ("inc2", 0, None),
    ]


def test_complaint_responses_and_their_summary(seeded):
    with seeded.begin() as conn:
        conn.execute(
            brand_responses.insert(),
            [
                {
                    "platform": "weibo",
                    "post_id": "1",  # answered 45 minutes after it was posted
                    "brand": "mumu",
                    "checked_at": T1,
                    "comments_seen": 12,
                    "responded_at": T0 + dt.timedelta(minutes=45),
                    "response_id": "c1",
                    "responder_uid": "5503128761",
                    "responder_name": "沐沐奶粉官方微博",
                    "response_text": "已私信",
                },
                {
                    "platform": "weibo",
                    "post_id": "3",  # never answered
                    "brand": "mumu",
                    "checked_at": T1,
                    "comments_seen": 4,
                    "responded_at": None,
                    "response_id": None,
                    "responder_uid": None,
                    "responder_name": None,
                    "response_text": None,
                },
            ],
        )
    rows = _rows(
        seeded,
        "SELECT post_id, day, category, answered, minutes_to_response, last_reposts "
        "FROM v_complaint_responses ORDER BY post_id",
    )
    assert [(p, str(d), c, a, None if m is None else round(m), r) for p, d, c, a, m, r in rows] == [
        ("1", "2026-05-01", "safety", 1, 45, 120),
        ("3", "2026-05-02", "refund", 0, None, 0),
    ]
    summary = _rows(
        seeded,
        "SELECT brand, category, complaints, answered, share_answered, "
        "median_minutes_to_response, avg_minutes_to_response, avg_reposts_answered, "
        "avg_reposts_unanswered FROM v_response_summary ORDER BY category",
    )
    assert [
        (b, c, n, a, float(s), None if md is None else round(float(md)),
         None if m is None else round(float(m)), ra, ru)
        for b, c, n, a, s, md, m, ra, ru in summary
    ] == [
        ("mumu", "refund", 1, 0, 0.0, None, None, None, 0),
        ("mumu", "safety", 1, 1, 1.0, 45, 45, 120, None),
    ]  # fmt: skip


def test_median_response_time_even_and_odd(seeded):
    delays = {"mumu": [90, 10, 40, 20], "xingche": [20, 90, 10]}  # medians 30 and 20
    with seeded.begin() as conn:
        for brand, minutes in delays.items():
            for i, m in enumerate(minutes):
                pid = f"{brand}-{i}"
                conn.execute(mentions.insert().values(**_mention(pid, T0, brand=brand)))
                conn.execute(
                    brand_responses.insert().values(
                        platform="weibo", post_id=pid, brand=brand, checked_at=T1,
                        comments_seen=1, responded_at=T0 + dt.timedelta(minutes=m),
                    )
                )  # fmt: skip
    rows = _rows(
        seeded,
        "SELECT brand, median_minutes_to_response FROM v_response_summary "
        "WHERE category = 'uncategorised' ORDER BY brand",
    )
    assert [(b, round(float(m))) for b, m in rows] == [("mumu", 30), ("xingche", 20)]


def test_brand_and_category_benchmarks_put_competitors_beside_us(seeded):
    daily = _rows(
        seeded,
        "SELECT day, brand, is_competitor, mentions, share_of_voice, negative_share, "
        "complaint_share FROM v_brand_benchmark_daily ORDER BY day, brand",
    )
    assert [(str(d), b, c, n, round(float(v), 3), s, p) for d, b, c, n, v, s, p in daily] == [
        ("2026-05-01", "mumu", 0, 2, 1.0, 0.5, 0.5),
        ("2026-05-02", "kuaixian", 1, 1, 0.333, 1.0, 0.0),
        ("2026-05-02", "mumu", 0, 2, 0.667, 1.0, 1.0),
    ]
    weekly = _rows(
        seeded,
        "SELECT week, brand, mentions, share_of_voice FROM v_brand_benchmark_weekly ORDER BY brand",
    )
    # 2026-05-01 is a Friday: both days fall in the week of Monday 2026-04-27
    assert [(str(w), b, n, round(float(v), 2)) for w, b, n, v in weekly] == [
        ("2026-04-27", "kuaixian", 1, 0.2),
        ("2026-04-27", "mumu", 4, 0.8),
    ]
    categories = _rows(
        seeded,
        "SELECT day, brand, category, complaints, complaint_share "
        "FROM v_category_benchmark_daily ORDER BY day, category",
    )
    assert [(str(d), b, c, n, float(s)) for d, b, c, n, s in categories] == [
        ("2026-05-01", "mumu", "quality", 1, 0.5),
        ("2026-05-01", "mumu", "safety", 1, 0.5),
        ("2026-05-02", "mumu", "refund", 1, 1.0),
    ]


def test_every_view_is_documented(seeded):
    from yujing.config import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    for path in view_files():
        assert f"`{view_name(path)}`" in doc, f"{view_name(path)} missing from docs/warehouse.md"


def test_docs_example_queries_run_on_both_backends(warehouse):
    """Every ```sql example in docs/warehouse.md runs, also on a day with mentions but
    nothing scored yet (a share over zero scored posts is NULL, not a division error)."""
    import re

    from yujing.config import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    examples = re.findall(r"```sql\n(.*?)```", doc, re.S)
    assert examples
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [_mention("1", T0), _mention("2", T1)])
        conn.execute(scores.insert(), [_score("1", negative=True, complaint=False)])
    for sql in examples:
        with warehouse.connect() as conn:
            rows = conn.execute(text(sql)).all()
        if "negative_share" in sql:
            assert [(str(d), b, s if s is None else float(s)) for d, b, s in rows] == [
                ("2026-05-01", "mumu", 1.0),
                ("2026-05-02", "mumu", None),
            ]


def test_unknown_macros_and_dialects_are_refused():
    with pytest.raises(ValueError, match="unknown SQL macro"):
        render("SELECT {{ nope(x) }}", "sqlite")
    with pytest.raises(NotImplementedError):
        render("SELECT 1", "mysql")


def test_every_table_and_column_is_documented():
    import re

    from warehouse.schema import metadata
    from yujing.config import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"### `(\w+)`[^\n]*\n(.*?)(?=\n### |\n## |\Z)", doc, re.S))
    for table in metadata.sorted_tables:
        assert table.name in sections, f"table {table.name} missing from docs/warehouse.md"
        for column in table.columns:
            assert f"`{column.name}`" in sections[table.name], (
                f"{table.name}.{column.name} missing from docs/warehouse.md"
            )


def test_every_table_of_a_migrated_warehouse_is_documented_and_listed(warehouse):
    """Also the tables no model defines (the migrations' version table), and README's list
    of tables names every one analysts query."""
    import re

    from sqlalchemy import inspect

    from warehouse.db import VERSION_TABLE
    from warehouse.schema import metadata
    from yujing.config import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^### `(\w+)`", doc, re.M))
    tables = set(inspect(warehouse).get_table_names())
    assert VERSION_TABLE in tables
    assert tables - sections == set()
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    listed = readme[readme.index("## The warehouse") :].split("## ", 2)[1]
    missing = [t.name for t in metadata.sorted_tables if f"`{t.name}`" not in listed]
    assert missing == []


# --- regression tests: response categories, paging alerts, exact minutes, multi-brand posts


def _tracked(post_id, brand="mumu", at=T0):
    return {
        "platform": "weibo",
        "post_id": post_id,
        "brand": brand,
        "state": "hot",
        "created_at": at,
        "tracked_since": at,
        "next_check_at": at,
    }


def _response(post_id, brand="mumu", minutes=None, posted=T0):
    return {
        "platform": "weibo",
        "post_id": post_id,
        "brand": brand,
        "checked_at": posted + dt.timedelta(hours=1),
        "comments_seen": 3,
        "responded_at": None if minutes is None else posted + dt.timedelta(minutes=minutes),
    }


def _incident(incident_id, root, brand="mumu", category="refund", opened=T0, crossed=None):
    return {
        "incident_id": incident_id,
        "brand": brand,
        "platform": "weibo",
        "root_post_id": root,
        "category": category,
        "level": "warning",
        "status": "open",
        "opened_at": opened,
        "updated_at": opened,
        "level_changed_at": opened,
        "last_growth_at": opened,
        "crossed_viral_at": crossed,
        "peak_p_viral": 0.5,
        "evidence": "{}",
    }


def _note(incident_id, event, level, receiver, channel, sent, status="sent"):
    return {
        "dedupe_key": f"{incident_id}:{event}:{level}:{receiver}",
        "incident_id": incident_id,
        "event": event,
        "level": level,
        "receiver": receiver,
        "channel": channel,
        "status": status,
        "attempts": 1,
        "created_at": sent,
        "sent_at": sent if status == "sent" else None,
        "payload": "{}",
    }


def test_response_category_falls_back_to_the_complaints_own_score(warehouse):
    """A tracked complaint that never became an incident is filed under its own scored
    category (safety first, as incidents are), not 'uncategorised'."""
    cases = {  # post: (categories, minutes to the reply or None)
        "p0": (["refund"], 10),
        "p1": (["refund"], None),
        "p2": (["quality", "safety"], 30),  # safety first, as alerts.engine.main_category
        "p3": ([], 20),  # no category at all
    }
    with warehouse.begin() as conn:
        for pid, (categories, minutes) in cases.items():
            conn.execute(mentions.insert().values(**_mention(pid, T0)))
            conn.execute(scores.insert().values(**_score(pid, True, True, categories)))
            conn.execute(tracked_posts.insert().values(**_tracked(pid)))
            conn.execute(brand_responses.insert().values(**_response(pid, minutes=minutes)))
    rows = _rows(warehouse, "SELECT post_id, category FROM v_complaint_responses ORDER BY post_id")
    assert rows == [("p0", "refund"), ("p1", "refund"), ("p2", "safety"), ("p3", "uncategorised")]
    summary = _rows(
        warehouse,
        "SELECT category, complaints, answered, median_minutes_to_response "
        "FROM v_response_summary ORDER BY category",
    )
    assert [(c, n, a, float(m)) for c, n, a, m in summary] == [
        ("refund", 2, 1, 10.0),
        ("safety", 1, 1, 30.0),
        ("uncategorised", 1, 1, 20.0),
    ]


def test_response_category_takes_only_the_same_brands_incident(warehouse):
    """A post naming two of our brands has a response row per brand; each takes the
    category of its own brand's incident, or its score's when that brand has none."""
    with warehouse.begin() as conn:
        for brand in ("mumu", "xingche"):
            conn.execute(mentions.insert().values(**_mention("p", T0, brand=brand)))
            conn.execute(brand_responses.insert().values(**_response("p", brand=brand)))
        conn.execute(scores.insert().values(**_score("p", True, True, ["delivery"])))
        conn.execute(tracked_posts.insert().values(**_tracked("p")))
        conn.execute(incidents.insert().values(**_incident("x1", "p", "xingche", "pricing")))
    rows = _rows(
        warehouse, "SELECT brand, post_id, category FROM v_complaint_responses ORDER BY brand"
    )
    assert rows == [("mumu", "p", "delivery"), ("xingche", "p", "pricing")]


@pytest.fixture
def paged(warehouse):
    """Incident A: a watch-level outbox record at T0, Slack paged at warning 3 h later,
    viral 4 h after T0. Incident B: only outbox records and a brand-answered note to
    Slack; never viral. Incident C: paged on Slack and email at once, viral 30 min later."""
    hours = lambda h: T0 + dt.timedelta(hours=h)  # noqa: E731
    with warehouse.begin() as conn:
        conn.execute(
            incidents.insert(),
            [
                _incident("A", "a", crossed=hours(4)),
                _incident("B", "b"),
                _incident("C", "c", crossed=hours(1.5)),
            ],
        )
        conn.execute(
            notifications.insert(),
            [
                _note("A", "open", "watch", "outbox", "outbox", hours(0)),
                _note("A", "escalate", "warning", "pr-slack", "slack", hours(3)),
                _note("A", "escalate", "warning", "outbox", "outbox", hours(2.5), "failed"),
                _note("B", "open", "watch", "outbox", "outbox", hours(0)),
                _note("B", "answered", None, "pr-slack", "slack", hours(0.5)),
                _note("B", "noresponse", "watch", "pr-slack", "slack", hours(0.6)),
                _note("B", "resolve", "watch", "outbox", "outbox", hours(2)),
                _note("C", "open", "critical", "pr-email", "email", hours(1.25)),
                _note("C", "open", "critical", "pr-slack", "slack", hours(1)),
            ],
        )
    return warehouse


def test_alert_outcomes_count_only_notifications_that_paged_someone(paged):
    when = lambda t: None if t is None else str(t)[:16]  # noqa: E731
    rows = _rows(
        paged,
        "SELECT incident_id, first_alert_at, went_viral, lead_minutes FROM v_alert_outcomes "
        "WHERE first_alert_at IS NOT NULL ORDER BY incident_id",
    )
    assert [(i, when(f), v, m if m is None else float(m)) for i, f, v, m in rows] == [
        ("A", "2026-05-01 18:30", 1, 60.0),  # Slack at 3 h, not the outbox record at 0 h
        ("C", "2026-05-01 16:30", 1, 30.0),
    ]
    rows = _rows(
        paged,
        "SELECT incident_id, first_alert_at, first_recorded_at, alerted, went_viral, "
        "lead_minutes FROM v_alert_outcomes ORDER BY incident_id",
    )
    assert [(i, when(f), when(r), a, v, m if m is None else float(m)) for i, f, r, a, v, m in rows] == [
        ("A", "2026-05-01 18:30", "2026-05-01 15:30", 1, 1, 60.0),
        ("B", None, "2026-05-01 15:30", 0, 0, None),
        ("C", "2026-05-01 16:30", "2026-05-01 16:30", 1, 1, 30.0),
    ]  # fmt: skip
    precision = _rows(paged, "SELECT AVG(went_viral) FROM v_alert_outcomes WHERE alerted = 1")
    assert float(precision[0][0]) == 1.0  # B paged nobody: not an alert that missed


def test_an_alert_delivered_in_a_summary_counts_from_when_the_summary_went_out(warehouse):
    # a reviewer found every incident the PR team heard of in an hourly summary (its own
    # row folded, over the receiver's limit) counted as never alerted
    hours = lambda h: T0 + dt.timedelta(hours=h)  # noqa: E731
    with warehouse.begin() as conn:
        conn.execute(incidents.insert(), [
            _incident("D", "d", crossed=hours(3)), _incident("E", "e", crossed=hours(3))])  # fmt: skip
        conn.execute(notifications.insert(), [
            {**_note("D", "open", "warning", "pr-slack", "slack", hours(1), "folded"),
             "sent_at": hours(2), "external_id": "summary:pr-slack:20260501T16"},
            {**_note("E", "open", "warning", "pr-slack", "slack", hours(1), "folded"),
             "external_id": "summary:pr-slack:20260501T16"},  # the summary not yet out
        ])  # fmt: skip
    rows = _rows(warehouse, "SELECT incident_id, alerted, lead_minutes FROM v_alert_outcomes "
                            "ORDER BY incident_id")  # fmt: skip
    assert [(i, a, m if m is None else float(m)) for i, a, m in rows] == [
        ("D", 1, 60.0),
        ("E", 0, None),
    ]
    rows = _rows(warehouse, "SELECT incident_id, event, paged, is_alert FROM v_incident_timeline "
                            "WHERE event LIKE 'notified:%' ORDER BY incident_id")  # fmt: skip
    assert rows == [("D", "notified:open", 1, 1)]


def test_incident_timeline_marks_which_notifications_paged(paged):
    rows = _rows(
        paged,
        "SELECT incident_id, event, receiver, paged, is_alert FROM v_incident_timeline "
        "WHERE event LIKE 'notified:%' ORDER BY incident_id, at, receiver",
    )
    assert rows == [
        ("A", "notified:open", "outbox", 0, 0),
        ("A", "notified:escalate", "pr-slack", 1, 1),
        ("B", "notified:open", "outbox", 0, 0),
        ("B", "notified:answered", "pr-slack", 1, 0),
        ("B", "notified:noresponse", "pr-slack", 1, 0),
        ("B", "notified:resolve", "outbox", 0, 0),
        ("C", "notified:open", "pr-slack", 1, 1),
        ("C", "notified:open", "pr-email", 1, 1),
    ]
    other = _rows(paged, "SELECT DISTINCT paged, is_alert FROM v_incident_timeline "
                         "WHERE event NOT LIKE 'notified:%'")  # fmt: skip
    assert other == [(None, 0)]


def test_minutes_are_exact_and_the_same_type_on_both_backends(warehouse):
    """Replies exactly 30 minutes after posts with odd seconds and microseconds are 30.0
    minutes on both backends (julianday was off by microseconds on SQLite), 1 µs more is
    more, and minutes are floats on both (PostgreSQL gave Decimal)."""
    base = dt.datetime(2026, 5, 1, 0, 0, 7, 123456, tzinfo=UTC)
    delays = {f"p{i}": dt.timedelta(minutes=30) for i in range(20)}
    delays["late"] = dt.timedelta(minutes=30, microseconds=1)
    delays["days"] = dt.timedelta(days=3, minutes=1, seconds=30)
    with warehouse.begin() as conn:
        for i, (pid, delay) in enumerate(delays.items()):
            posted = base + dt.timedelta(minutes=37 * i, seconds=11 * i, microseconds=999 * i)
            conn.execute(mentions.insert().values(**_mention(pid, posted)))
            conn.execute(
                brand_responses.insert().values(
                    **{**_response(pid, posted=posted), "responded_at": posted + delay}
                )
            )
    rows = dict(_rows(warehouse, "SELECT post_id, minutes_to_response FROM v_complaint_responses"))
    assert all(type(m) is float for m in rows.values()), {type(m) for m in rows.values()}
    assert {rows[f"p{i}"] for i in range(20)} == {30.0}
    assert rows["late"] == 1_800_000_001 / 60e6 and rows["days"] == 3 * 1440 + 1.5
    within = _rows(
        warehouse, "SELECT COUNT(*) FROM v_complaint_responses WHERE minutes_to_response <= 30"
    )
    assert within == [(20,)]


def test_top_complaints_list_a_post_under_every_brand_it_mentions(warehouse):
    """tracked_posts keeps one brand per post (the alphabetically first); the view lists
    the post once per brand it mentions, ours and competitors', with is_competitor."""
    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                _mention("p", T0, brand="kuaixian", competitor=True),
                _mention("p", T0, brand="mumu"),
                _mention("p", T0, brand="xingche"),
                _mention("q", T0, brand="mumu"),
            ],
        )
        conn.execute(
            scores.insert(), [_score("p", True, True, ["delivery"]), _score("q", True, True)]
        )
        conn.execute(tracked_posts.insert(), [_tracked("p", "kuaixian"), _tracked("q")])
    brands = _rows(warehouse, "SELECT post_id, brand FROM v_top_complaints ORDER BY 1, 2")
    assert brands == [("p", "kuaixian"), ("p", "mumu"), ("p", "xingche"), ("q", "mumu")]
    rows = _rows(
        warehouse,
        "SELECT post_id, brand, is_competitor, tracking_state FROM v_top_complaints "
        "ORDER BY post_id, brand",
    )
    assert rows == [
        ("p", "kuaixian", 1, "hot"),
        ("p", "mumu", 0, "hot"),
        ("p", "xingche", 0, "hot"),
        ("q", "mumu", 0, "hot"),
    ]


def test_top_complaints_in_the_documented_order_are_the_same_on_both_backends(warehouse):
    """A tracked post not estimated yet has NULL observed and p_viral. PostgreSQL sorts
    NULLs first in a DESC order, SQLite last: the order docs/warehouse.md prescribes for
    v_top_complaints (and its example query) must give the same rows on both, the posts
    without figures last."""
    import re

    from yujing.config import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    (row,) = [line for line in doc.splitlines() if line.startswith("| `v_top_complaints` |")]
    (order,) = re.findall(r"`(ORDER BY [^`]+)`", row)
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [_mention(p, T0) for p in ("a", "b", "c")])
        conn.execute(scores.insert(), [_score(p, True, True) for p in ("a", "b", "c")])
        conn.execute(tracked_posts.insert(), [_tracked(p) for p in ("a", "b", "c")])
        conn.execute(
            spread_estimates.insert(),
            [
                {
                    "platform": "weibo", "post_id": pid, "estimated_at": T1,
                    "model_version": "s1", "observed": observed, "predicted": observed * 2.0,
                    "low": observed * 1.0, "high": observed * 3.0, "p_viral": p_viral,
                    "velocity_per_10min": 1.0,
                }
                for pid, observed, p_viral in (("a", 120, 0.7), ("b", 30, 0.9))
            ],
        )  # fmt: skip
    # "c" is tracked but not estimated yet: NULL observed and p_viral
    listed = _rows(warehouse, f"SELECT post_id FROM v_top_complaints {order}")  # noqa: S608
    assert listed == [("a",), ("b",), ("c",)], order
    examples = [sql for sql in re.findall(r"```sql\n(.*?)```", doc, re.S) if "v_top_" in sql]
    assert examples, "docs/warehouse.md has no example query of v_top_complaints"
    for sql in examples:
        assert [r[0] for r in _rows(warehouse, sql)] == ["a", "b", "c"], sql


def test_times_a_hair_before_a_whole_second_count_as_that_second_on_both_backends(warehouse):
    """SQLite's strftime('%s') and date() round a stored time to the millisecond before
    they cut the fraction: 00:29:59.999600 read as 00:30:00 (and minutes_between added the
    .999600 again: a second too many), and 15:59:59.999999 UTC as 16:00, the next Shanghai
    day. Minutes and days must be the exact ones, as on PostgreSQL."""
    midnight = dt.datetime(2026, 5, 3, 16, 0, tzinfo=UTC)  # 00:00 of 05-04 in Shanghai
    cases = {  # post: (posted, replied)
        "r1": (T0, T0 + dt.timedelta(minutes=29, seconds=59, microseconds=999600)),
        "r2": (T0 + dt.timedelta(microseconds=999500), T0 + dt.timedelta(minutes=30)),
        "r3": (T0 - dt.timedelta(microseconds=1), T0 + dt.timedelta(minutes=5)),
        "r4": (T0, T0 + dt.timedelta(minutes=7, microseconds=999400)),  # was right before
        "d1": (midnight - dt.timedelta(microseconds=1), midnight + dt.timedelta(minutes=1)),
        "d2": (midnight - dt.timedelta(microseconds=500), midnight + dt.timedelta(minutes=1)),
        "d3": (midnight, midnight + dt.timedelta(minutes=1)),
    }
    with warehouse.begin() as conn:
        for pid, (posted, replied) in cases.items():
            conn.execute(mentions.insert().values(**_mention(pid, posted)))
            conn.execute(
                brand_responses.insert().values(
                    **{**_response(pid, posted=posted), "responded_at": replied}
                )
            )
    minutes = dict(
        _rows(warehouse, "SELECT post_id, minutes_to_response FROM v_complaint_responses")
    )
    assert minutes == {
        pid: (replied - posted) / dt.timedelta(microseconds=1) / 60e6
        for pid, (posted, replied) in cases.items()
    }
    days = dict(_rows(warehouse, "SELECT post_id, day FROM v_complaint_responses"))
    assert days == {
        pid: posted.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
        for pid, (posted, _) in cases.items()
    }
    assert days["d1"] == days["d2"] == "2026-05-03" and days["d3"] == "2026-05-04"
    daily = _rows(warehouse, "SELECT day, mentions FROM v_mentions_daily ORDER BY day")
    assert daily == [("2026-05-01", 4), ("2026-05-03", 2), ("2026-05-04", 1)]


def test_weekly_benchmark_is_the_sum_of_its_days_when_a_brand_becomes_a_competitor(warehouse):
    """On the day a brand becomes a competitor, v_mentions_daily has two rows for it (one per
    is_competitor); the weekly view joined each to the day's complaint responses, counting
    them twice. A week's figures are the sums of its days."""
    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                _mention("1", T0, brand="xingche"),
                _mention("2", T0, brand="xingche"),
                _mention("3", T0, brand="xingche", competitor=True),  # same Shanghai day
                _mention("4", T1, brand="xingche", competitor=True),
            ],
        )
        conn.execute(scores.insert(), [_score(p, True, True) for p in ("1", "2", "3", "4")])
        conn.execute(
            brand_responses.insert(),
            [
                _response("1", "xingche", minutes=20),
                _response("2", "xingche"),
                _response("4", "xingche", minutes=5, posted=T1),
            ],
        )
    daily = _rows(
        warehouse,
        "SELECT mentions, complaints, complaints_tracked, complaints_answered "
        "FROM v_brand_benchmark_daily WHERE brand = 'xingche' ORDER BY day",
    )
    assert daily == [(3, 3, 2, 1), (1, 1, 1, 1)]
    weekly = _rows(
        warehouse,
        "SELECT week, is_competitor, mentions, complaints, complaints_tracked, "
        "complaints_answered FROM v_brand_benchmark_weekly WHERE brand = 'xingche'",
    )
    assert weekly == [("2026-04-27", 1, 4, 4, 3, 2)]
