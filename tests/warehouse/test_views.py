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
