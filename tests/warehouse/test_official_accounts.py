"""A brand's own official-account post (its apology, its recall notice) is a mention of the
brand but never a negative post or complaint against it in the analyst views; the
`official_accounts` table they read is kept in sync with the config."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text

from warehouse.schema import mentions, scores, tracked_posts
from yujing.clock import ManualClock
from yujing.config import DEFAULT_CONFIG_PATH, load_config

UTC = dt.UTC
T0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 2026-05-01
MUMU_OFFICIAL = "5503128761"  # config/yujing.yaml: mumu's Weibo account
XINGCHE_OFFICIAL = "6120087532"


def _mention(post_id, brand, author_id, competitor=False):
    return {
        "platform": "weibo",
        "post_id": post_id,
        "brand": brand,
        "author_id": author_id,
        "author_name": f"user{author_id}",
        "author_followers": 100,
        "author_verified": False,
        "text": f"post {post_id}",
        "created_at": T0,
        "raw": "{}",
        "ingested_at": T0,
        "is_competitor": competitor,
    }


def _score(post_id, categories):
    return {
        "platform": "weibo",
        "post_id": post_id,
        "model_version": "m1",
        "sentiment": 0.1,
        "negative": True,
        "complaint": True,
        "categories": json.dumps(categories),
        "signals": "[]",
        "error": None,
        "scored_at": T0,
    }


def _tracked(post_id, brand):
    return {
        "platform": "weibo",
        "post_id": post_id,
        "brand": brand,
        "state": "hot",
        "created_at": T0,
        "tracked_since": T0,
        "next_check_at": T0,
    }


def _rows(engine, sql):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _sync(engine, config=None, at=T0):
    from warehouse.official_accounts import sync_official_accounts

    return sync_official_accounts(engine, config or load_config(), at)


@pytest.fixture
def statement(warehouse):
    """mumu's recall notice (by its official account, also naming xingche) and a customer's
    complaint about mumu, both scored negative complaints and tracked."""
    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                _mention("notice", "mumu", MUMU_OFFICIAL),
                _mention("notice", "xingche", MUMU_OFFICIAL),  # not xingche's own account
                _mention("cust", "mumu", "42"),
            ],
        )
        conn.execute(scores.insert(), [_score("notice", ["safety"]), _score("cust", ["quality"])])
        conn.execute(tracked_posts.insert(), [_tracked("notice", "mumu"), _tracked("cust", "mumu")])
    _sync(warehouse)
    return warehouse


def test_mentions_daily_counts_the_statement_as_a_mention_only(statement):
    rows = _rows(
        statement,
        "SELECT brand, mentions, scored, negative, complaints, negative_share, complaint_share "
        "FROM v_mentions_daily ORDER BY brand",
    )
    assert [(b, m, s, n, c, float(ns), float(cs)) for b, m, s, n, c, ns, cs in rows] == [
        ("mumu", 2, 2, 1, 1, 0.5, 0.5),  # the customer's complaint counts, the notice not
        ("xingche", 1, 1, 1, 1, 1.0, 1.0),  # mumu's account is no account of xingche's
    ]


def test_complaint_categories_leave_out_the_statement(statement):
    rows = _rows(
        statement,
        "SELECT brand, category, complaints FROM v_complaint_categories_daily ORDER BY 1, 2",
    )
    assert rows == [("mumu", "quality", 1), ("xingche", "safety", 1)]


def test_top_complaints_leave_out_the_statement_under_its_own_brand(statement):
    rows = _rows(statement, "SELECT post_id, brand FROM v_top_complaints ORDER BY 1, 2")
    assert rows == [("cust", "mumu"), ("notice", "xingche")]


def test_benchmarks_leave_out_the_statement(statement):
    daily = _rows(
        statement,
        "SELECT brand, mentions, complaints, negative_share, complaint_share "
        "FROM v_brand_benchmark_daily ORDER BY brand",
    )
    weekly = _rows(
        statement,
        "SELECT brand, mentions, complaints, negative_share, complaint_share "
        "FROM v_brand_benchmark_weekly ORDER BY brand",
    )
    for rows in (daily, weekly):
        assert [(b, m, c, float(n), float(s)) for b, m, c, n, s in rows] == [
            ("mumu", 2, 1, 0.5, 0.5),
            ("xingche", 1, 1, 1.0, 1.0),
        ]
    categories = _rows(
        statement,
        "SELECT brand, category, complaints, complaint_share FROM v_category_benchmark_daily "
        "ORDER BY 1, 2",
    )
    assert [(b, c, n, float(s)) for b, c, n, s in categories] == [
        ("mumu", "quality", 1, 0.5),
        ("xingche", "safety", 1, 1.0),
    ]


def _accounts(engine):
    from warehouse.schema import official_accounts as table

    with engine.connect() as conn:
        return sorted(
            (r.brand, r.platform, r.uid, r.updated_at) for r in conn.execute(select(table))
        )


def test_the_sync_is_idempotent(warehouse):
    first = _sync(warehouse)
    assert first == {"added": 3, "removed": 0}
    assert _accounts(warehouse) == [
        ("kuaixian", "weibo", "7012345678", T0),
        ("mumu", "weibo", MUMU_OFFICIAL, T0),
        ("xingche", "weibo", XINGCHE_OFFICIAL, T0),
    ]
    later = T0 + dt.timedelta(minutes=5)
    assert _sync(warehouse, at=later) == {"added": 0, "removed": 0}
    assert [a[3] for a in _accounts(warehouse)] == [T0, T0, T0]  # a rerun changes nothing


def test_an_account_removed_from_the_config_stops_being_excluded(statement, tmp_path):
    def mumu_complaints():
        return _rows(statement, "SELECT complaints FROM v_mentions_daily WHERE brand = 'mumu'")

    assert mumu_complaints() == [(1,)]
    edited = tmp_path / "yujing.yaml"
    source = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    assert f'official_accounts: {{weibo: ["{MUMU_OFFICIAL}"]}}' in source
    edited.write_text(
        source.replace(
            f'official_accounts: {{weibo: ["{MUMU_OFFICIAL}"]}}',
            'official_accounts: {weibo: ["5503120000"], wechat: ["MzA1MjM0NTY3OA=="]}',
        ),
        encoding="utf-8",
    )
    later = T0 + dt.timedelta(minutes=5)
    assert _sync(statement, load_config(edited), later) == {"added": 2, "removed": 1}
    assert [(b, p, u) for b, p, u, _ in _accounts(statement) if b == "mumu"] == [
        ("mumu", "wechat", "MzA1MjM0NTY3OA=="),
        ("mumu", "weibo", "5503120000"),
    ]
    assert mumu_complaints() == [(2,)]  # the old account's notice counts again
    assert _sync(statement) == {"added": 1, "removed": 2}  # and back
    assert mumu_complaints() == [(1,)]


def test_the_escalate_check_step_syncs_before_checking(warehouse):
    from yujing.resources import Resources
    from yujing.tasks import check_responses

    class _Resources(Resources):
        def source_client(self, platform):
            return None

    res = _Resources(config=load_config(), engine=warehouse, clock=ManualClock(T0))
    check_responses(res)
    assert [a[:3] for a in _accounts(warehouse)] == [
        ("kuaixian", "weibo", "7012345678"),
        ("mumu", "weibo", MUMU_OFFICIAL),
        ("xingche", "weibo", XINGCHE_OFFICIAL),
    ]


def test_db_upgrade_syncs_the_official_accounts(tmp_path, monkeypatch, capsys):
    from warehouse.db import make_engine
    from yujing.cli import main

    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    engine = make_engine(url)
    assert len(_accounts(engine)) == 3
    # an unloadable config does not stop the upgrade: the sync is skipped, with a note
    monkeypatch.setenv("YUJING_CONFIG", str(tmp_path / "missing.yaml"))
    assert main(["db", "upgrade", "--url", url]) == 0
    assert "official accounts not synced" in capsys.readouterr().err
    assert len(_accounts(engine)) == 3
    engine.dispose()
