"""Answers a real vendor may give and the simulator never does, over real sockets: a
scripted vendor on loopback (`Vendor`) serves them to the real clients, the real ingest
run and refresh, on SQLite and PostgreSQL. Short pages that say `has_more`, article
fields of the wrong type or too long for their column, a publish time with its own UTC
offset, read counts at WeChat's "10万+" cap, Retry-After as an HTTP date; and, on the
simulator, a vendor outage during a spread run."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import make_clients, stored
from sqlalchemy import insert, select

from ingest.errors import RateLimited, SourceError
from ingest.refresh import REPOST_GAP, fetch_repost_timeline, refresh_wechat_metrics
from ingest.run import BACKOFF_QUERY, ingest_source, search_terms
from ingest.wechat import FieldMap, WeChatClient
from ingest.weibo import WeiboClient
from ingest.weibo_parse import parse_weibo_time
from simulator.server import weibo_time
from spread.model import Estimate
from spread.stage import raise_for_failed_refresh, track_spread
from warehouse.cursors import cursor_queries, get_cursor
from warehouse.schema import (
    mentions,
    metric_snapshots,
    quarantine,
    reposts,
    spread_estimates,
    tracked_posts,
)
from yujing.clock import ManualClock

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
KEY = "vendor-Key/with+odd=chars"

Answer = tuple[int, object, dict]


class Vendor:
    """A WeChat vendor (or Weibo) on 127.0.0.1 whose answers the test scripts:
    `answer(path, params, body) -> (status, JSON body, headers)`. Every request is kept
    in `requests` as (path, params, body)."""

    def __init__(self, answer: Callable[[str, dict, object], Answer]):
        self.answer = answer
        self.requests: list[tuple[str, dict, object]] = []
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _answer(self) -> None:
                url = urlparse(self.path)
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size)) if size else None
                vendor.requests.append((url.path, params, body))
                status, payload, headers = vendor.answer(url.path, params, body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Vendor:
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def pages(self, keyword: str) -> list[int]:
        return [int(p["page"]) for path, p, _ in self.requests if p.get("keyword") == keyword]


def page(items: list, total: int | None = None, has_more: bool | None = False) -> Answer:
    data = {"items": items, "total": len(items) if total is None else total}
    if has_more is not None:
        data["has_more"] = has_more
    return 200, {"code": 0, "data": data}, {}


def article(token: str, title: str, when, reads=100, **fields) -> dict:
    return {
        "biz": "MzA1MjM0NTY3OA==",
        "account_name": "某某育儿",
        "title": title,
        "digest": title[:54] if isinstance(title, str) else None,
        "content": f"<p>{title}</p>",
        "url": f"https://mp.weixin.qq.com/s/{token}",
        "publish_time": when,
        "read_num": reads,
        "like_num": 1,
        "old_like_num": 2,
        **fields,
    }


def only_for(keyword: str, items: list) -> Callable[[str, dict, object], Answer]:
    """The vendor answers `items` on page 1 for `keyword`, nothing for anything else."""
    return lambda path, p, body: page(
        items if p.get("keyword") == keyword and p.get("page") == "1" else []
    )


def wechat(vendor: Vendor, **kwargs) -> WeChatClient:
    kwargs.setdefault("sleep", lambda seconds: None)
    return WeChatClient(vendor.url, KEY, **kwargs)


def cursors(engine, config, platform: str) -> set:
    with engine.connect() as conn:
        return {get_cursor(conn, platform, t) for t in search_terms(config)}


def quarantined(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(quarantine.c.reason)).scalars())


# --- paging: has_more, total, short and empty pages ----------------------------------------


def twenty_a_page(count: int, gap: int, cap: int = 1000):
    """(articles, answer): `count` 沐沐奶粉 articles `gap` seconds apart, newest first,
    served by a vendor that gives 20 a page whatever is asked, up to `cap` results a
    window, with the contract's `total` (uncapped) and `has_more`."""
    newest = int(NOW.timestamp()) - 60
    articles = [
        article(f"Article{i:06d}", f"沐沐奶粉 第{i}篇", newest - gap * i) for i in range(count)
    ]

    def answer(path, p, body):
        if p.get("keyword") != "沐沐奶粉":
            return page([])
        hits = [a for a in articles if int(p["start"]) <= a["publish_time"] <= int(p["end"])]
        n, size = int(p["page"]), 20
        chunk = hits[(n - 1) * size : min(n * size, cap)]
        return page(chunk, total=len(hits), has_more=n * size < min(len(hits), cap))

    return articles, answer


def test_short_pages_are_followed_while_the_vendor_says_has_more(sqlite_engine, config):
    """A vendor serving at most 20 a page (fewer than asked) but saying `has_more`: every
    article of the window is stored, not only the first page's."""
    _, answer = twenty_a_page(80, gap=60)
    with Vendor(answer) as vendor:
        result = ingest_source(sqlite_engine, config, wechat(vendor), "wechat", ManualClock(NOW))
        assert vendor.pages("沐沐奶粉") == [1, 2, 3, 4]  # and no 5th: has_more said no more
    assert result["stored"] == 80 and result["splits"] == 0
    assert cursors(sqlite_engine, config, "wechat") == {NOW}


def test_has_more_on_an_empty_page_ends_paging(sqlite_engine, config):
    """A vendor that says `has_more` for ever: short pages are followed, an empty page
    ends the window (no endless paging), and the run completes."""
    when = int(NOW.timestamp()) - 60
    first = [article(f"Forever{i:05d}", f"沐沐奶粉 {i}", when - i) for i in range(3)]

    def answer(path, p, body):
        items = first if p.get("keyword") == "沐沐奶粉" and p["page"] == "1" else []
        return page(items, total=3, has_more=True)

    with Vendor(answer) as vendor:
        result = ingest_source(sqlite_engine, config, wechat(vendor), "wechat", ManualClock(NOW))
        assert vendor.pages("沐沐奶粉") == [1, 2]
        assert all(vendor.pages(t) == [1] for t in search_terms(config) if t != "沐沐奶粉")
    assert result["stored"] == 3 and result["queries"] == result["queries_total"]
    assert cursors(sqlite_engine, config, "wechat") == {NOW}


def test_a_vendor_without_has_more_ends_on_a_short_page(sqlite_engine, config):
    """No `has_more` in the answer (a FieldMap vendor): a short page is the last one, as
    on Weibo."""
    when = int(NOW.timestamp()) - 60
    items = [article(f"NoMore{i:06d}", f"沐沐奶粉 {i}", when - i) for i in range(3)]

    def answer(path, p, body):
        mine = p.get("keyword") == "沐沐奶粉" and p["page"] == "1"
        return page(items if mine else [], has_more=None)

    with Vendor(answer) as vendor:
        result = ingest_source(sqlite_engine, config, wechat(vendor), "wechat", ManualClock(NOW))
        assert vendor.pages("沐沐奶粉") == [1]
    assert result["stored"] == 3


@pytest.mark.parametrize("cap", [60, 15])
def test_a_wechat_window_past_the_vendor_cap_is_split(warehouse, config, cap):
    """At the vendor's deep-paging cap (60 here, 20 a page; or 15, below one page)
    `has_more` turns false while `total` says there are more: the window is split, as
    on Weibo, and nothing is lost."""
    everything, answer = twenty_a_page(150, gap=7, cap=cap)
    with Vendor(answer) as vendor:
        result = ingest_source(warehouse, config, wechat(vendor), "wechat", ManualClock(NOW))
    assert result["splits"] > 0 and result["over_cap_seconds"] == 0
    assert {p for _, p, _ in stored(warehouse, "wechat")} == {
        a["url"].rsplit("/", 1)[1] for a in everything
    }


# --- one odd item never sinks its page ------------------------------------------------------


def test_odd_article_fields_are_quarantined_alone_and_the_rest_stored(warehouse, config):
    """Fields of the wrong type are refused with a reason naming the field; a `biz` too
    long for `author_id` (VARCHAR(64)) is stored as a stable hash; every other article
    and every other term is stored, and every cursor moves."""
    t = int(NOW.timestamp()) - 600
    long_biz = "M" * 65
    odd = [
        article("OddAccount01", "沐沐奶粉 差评", t, account_name=["某某育儿", "x"]),
        article("OddTitle0001", {"t": "沐沐奶粉"}, t, digest="沐沐奶粉 摘要"),
        article("OddDigest001", "沐沐奶粉 x", t, content=None, digest=123),
        article("OddContent01", "沐沐奶粉 y", t, content=["<p>沐沐奶粉</p>"]),
        article("OddBiz000001", "沐沐奶粉 z", t, biz={"id": 1}),
        article("LongBiz00001", "沐沐奶粉 长", t, biz=long_biz),
        article("LongBiz00002", "沐沐奶粉 长2", t - 1, biz=long_biz),
        article("GoodArticle1", "沐沐奶粉 测评", t - 5),
    ]

    def answer(path, p, body):
        if p.get("page") != "1":
            return page([])
        if p.get("keyword") == "沐沐奶粉":
            return page(odd)
        if p.get("keyword") == "星辰汽车":
            return page([article("XingcheArt01", "星辰汽车 召回", t)])
        return page([])

    with Vendor(answer) as vendor:
        result = ingest_source(warehouse, config, wechat(vendor), "wechat", ManualClock(NOW))
    assert result["queries"] == result["queries_total"] and result["failed_queries"] == 0
    assert quarantined(warehouse) == [
        "account_name is list, not text",
        "biz is dict, not text",
        "content is list, not text",
        "digest is int, not text",
        "title is dict, not text",
    ]
    assert {p for _, p, _ in stored(warehouse, "wechat")} == {
        "LongBiz00001",
        "LongBiz00002",
        "GoodArticle1",
        "XingcheArt01",
    }
    with warehouse.connect() as conn:
        authors = dict(conn.execute(select(mentions.c.post_id, mentions.c.author_id)).all())
    assert authors["LongBiz00001"] == authors["LongBiz00002"] != long_biz  # stable
    assert len(authors["LongBiz00001"]) <= 64
    assert authors["GoodArticle1"] == "MzA1MjM0NTY3OA=="
    assert cursors(warehouse, config, "wechat") == {NOW}


def test_a_value_too_big_for_its_column_is_quarantined_not_the_page(warehouse, config):
    """Whatever a parser lets through, a value that does not fit its warehouse column
    (a 70-digit Weibo id, an integer past the column's range) is quarantined alone, on
    PostgreSQL (which refuses it) as on SQLite (which would have stored it)."""

    def status(post_id: str, text: str, **user) -> dict:
        return {
            "created_at": weibo_time(NOW - dt.timedelta(minutes=5)),
            "idstr": post_id,
            "text": text,
            "user": {"idstr": "1002", "screen_name": "宝妈", "followers_count": 10, **user},
        }

    page_ = [
        status("9" * 70, "沐沐奶粉 一"),
        status("4960000000000002", "沐沐奶粉 二", verified_type=2**40),
        status("4960000000000003", "沐沐奶粉 三"),
    ]

    def answer(path, p, body):
        mine = p.get("q") == "沐沐奶粉" and p.get("page") == "1"
        statuses = page_ if mine else []
        return 200, {"statuses": statuses, "total_number": len(statuses)}, {}

    with Vendor(answer) as vendor:
        weibo = WeiboClient(f"{vendor.url}/2", KEY, sleep=lambda s: None)
        result = ingest_source(warehouse, config, weibo, "weibo", ManualClock(NOW))
    assert result["queries"] == result["queries_total"]
    assert stored(warehouse, "weibo") == {("weibo", "4960000000000003", "mumu")}
    reasons = quarantined(warehouse)
    assert len(reasons) == 2
    assert "post_id" in reasons[0] + reasons[1] and "verified_type" in reasons[0] + reasons[1]


def test_a_total_number_running_high_does_not_split_for_ever(sqlite_engine, config):
    """Weibo's `total_number` can run high. A first page short of a page with a total
    above it is taken as a cap below one page and the window split; a re-read bringing
    fewer than that page did shows there was no such cap, and the window ends there: one
    call more, nothing lost, no second reported over the cap."""
    newest = NOW - dt.timedelta(minutes=1)
    statuses = [
        {
            "created_at": weibo_time(newest - dt.timedelta(minutes=i)),
            "idstr": f"49600000000001{i:02d}",
            "text": f"沐沐奶粉 第{i}条",
            "user": {"idstr": "1002", "screen_name": "宝妈", "followers_count": 10},
        }
        for i in range(12)
    ]

    def answer(path, p, body):
        lo, hi = int(p["starttime"]), int(p["endtime"])
        hits = [
            s
            for s in statuses
            if p["q"] == "沐沐奶粉" and lo <= parse_weibo_time(s["created_at"]).timestamp() <= hi
        ]
        n, size = int(p["page"]), int(p["count"])
        return 200, {"statuses": hits[(n - 1) * size : n * size], "total_number": 1000}, {}

    with Vendor(answer) as vendor:
        weibo = WeiboClient(f"{vendor.url}/2", KEY, sleep=lambda s: None)
        result = ingest_source(sqlite_engine, config, weibo, "weibo", ManualClock(NOW))
        calls = [p for _, p, _ in vendor.requests if p["q"] == "沐沐奶粉"]
    assert len(calls) == 2 and result["splits"] == 1 and result["over_cap_seconds"] == 0
    assert result["stored"] == 12 and result["queries"] == result["queries_total"]
    assert cursors(sqlite_engine, config, "weibo") == {NOW}


# --- publish time with an explicit offset ---------------------------------------------------


@pytest.mark.parametrize(
    ("time_format", "sent"),
    [
        ("%Y-%m-%dT%H:%M:%S%z", "2026-05-01T11:30:00+0000"),  # its own offset: kept
        ("%Y-%m-%dT%H:%M:%S%z", "2026-05-01T13:30:00+0200"),
        ("%Y-%m-%d %H:%M:%S", "2026-05-01 19:30:00"),  # no offset: China time
    ],
)
def test_a_publish_time_keeps_its_own_utc_offset(sqlite_engine, config, time_format, sent):
    item = article("Q6dDwxlGejkc5bJFIoxSLi", "沐沐奶粉结块投诉", sent)
    with Vendor(only_for("沐沐奶粉", [item])) as vendor:
        client = wechat(vendor, fields=FieldMap(time_format=time_format))
        assert ingest_source(sqlite_engine, config, client, "wechat", ManualClock(NOW))["stored"]
    with sqlite_engine.connect() as conn:
        created = conn.execute(select(mentions.c.created_at)).scalar_one()
    assert created == dt.datetime(2026, 5, 1, 11, 30, tzinfo=dt.UTC)


# --- read counts at WeChat's cap ------------------------------------------------------------


def test_reads_at_the_wechat_cap_never_go_backwards(sqlite_engine, config):
    """WeChat stops counting at 100001 and shows "10万+": search answering 100001 and a
    refresh answering "10万+" are the same count, never a drop to 100000."""
    clock = ManualClock(NOW)
    when = int(NOW.timestamp()) - 600
    items = [
        article("CapNumber001", "沐沐奶粉 一", when, reads=100001),
        article("CapString001", "沐沐奶粉 二", when, reads="10万+"),
        article("Exact10Wan01", "沐沐奶粉 三", when, reads="10万"),
    ]
    refreshed = {"CapNumber001": "10万+", "CapString001": "100001", "Exact10Wan01": "10万"}

    def answer(path, p, body):
        if path.endswith("/metrics"):
            data = [
                {"url": u, "read_num": refreshed[u.rsplit("/", 1)[1]], "like_num": 1}
                for u in body["urls"]
            ]
            return 200, {"code": 0, "data": data}, {}
        return only_for("沐沐奶粉", items)(path, p, body)

    with Vendor(answer) as vendor:
        client = wechat(vendor)
        ingest_source(sqlite_engine, config, client, "wechat", clock)
        with sqlite_engine.connect() as conn:
            urls = dict(conn.execute(select(mentions.c.post_id, mentions.c.url)).all())
        clock.advance(dt.timedelta(minutes=10))
        assert refresh_wechat_metrics(sqlite_engine, client, urls, clock) == 3
    with sqlite_engine.connect() as conn:
        rows = conn.execute(
            select(metric_snapshots.c.post_id, metric_snapshots.c.reads).order_by(
                metric_snapshots.c.observed_at
            )
        ).all()
    reads: dict[str, list] = {}
    for post_id, count in rows:
        reads.setdefault(post_id, []).append(count)
    assert reads == {
        "CapNumber001": [100001, 100001],
        "CapString001": [100001, 100001],
        "Exact10Wan01": [100000, 100000],
    }


def test_a_bad_metrics_item_is_quarantined_once_whatever_its_counts(sqlite_engine, config):
    """Every refresh re-reads a tracked article with grown counts: an item that cannot be
    read was quarantined again each time (keyed on the whole payload), not once."""
    clock = ManualClock(NOW)
    when = int(NOW.timestamp()) - 600
    items = [
        article("GoodArticle1", "沐沐奶粉 一", when),
        article("BadArticle01", "沐沐奶粉 二", when),
    ]
    reads = iter(range(100, 1000, 100))

    def answer(path, p, body):
        if path.endswith("/metrics"):
            n = next(reads)
            data = [
                {"url": u, "read_num": n, "like_num": "abc" if "Bad" in u else 1}
                for u in body["urls"]
            ]
            return 200, {"code": 0, "data": data}, {}
        return only_for("沐沐奶粉", items)(path, p, body)

    with Vendor(answer) as vendor:
        client = wechat(vendor)
        ingest_source(sqlite_engine, config, client, "wechat", clock)
        with sqlite_engine.connect() as conn:
            urls = dict(conn.execute(select(mentions.c.post_id, mentions.c.url)).all())
        for _ in range(3):
            clock.advance(dt.timedelta(minutes=10))
            assert refresh_wechat_metrics(sqlite_engine, client, urls, clock) == 1
    assert quarantined(sqlite_engine) == ["metrics of BadArticle01: unreadable like_num 'abc'"]


# --- Retry-After as seconds or as an HTTP date ----------------------------------------------


def _http_date(when: dt.datetime) -> str:
    return format_datetime(when, usegmt=True)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_a_wechat_retry_after_holds_later_runs_back(sqlite_engine, config, form):
    clock = ManualClock(NOW)
    value = "7200" if form == "seconds" else _http_date(NOW + dt.timedelta(hours=2))
    limited = (429, {"code": 42900, "message": "rate limited"}, {"Retry-After": value})
    with Vendor(lambda path, p, body: limited) as vendor:
        client = wechat(vendor, clock=clock)
        first = ingest_source(sqlite_engine, config, client, "wechat", clock)
        assert first["backoff_until"] == (NOW + dt.timedelta(hours=2)).isoformat()
        clock.advance(dt.timedelta(minutes=10))
        calls = len(vendor.requests)
        later = ingest_source(sqlite_engine, config, client, "wechat", clock)
        assert later["rate_limited"] and len(vendor.requests) == calls  # not even asked
    with sqlite_engine.connect() as conn:
        assert get_cursor(conn, "wechat", BACKOFF_QUERY) == NOW + dt.timedelta(hours=2)


def test_a_weibo_retry_after_date_is_read_and_5xx_backoff_sleeps_until_it(config):
    clock = ManualClock(NOW)
    answers = iter(
        [
            (429, {"error": "limit", "error_code": 10023}, {"Retry-After": _http_date(NOW)}),
            (429, {}, {"Retry-After": _http_date(NOW + dt.timedelta(minutes=30))}),
            (503, {}, {"Retry-After": _http_date(NOW + dt.timedelta(seconds=12))}),
            (503, {}, {"Retry-After": _http_date(NOW + dt.timedelta(hours=5))}),
            (200, {"statuses": [], "total_number": 0}, {}),
        ]
    )
    sleeps: list[float] = []
    with Vendor(lambda path, p, body: next(answers)) as vendor:
        weibo = WeiboClient(f"{vendor.url}/2", KEY, sleep=sleeps.append, clock=clock)
        for expected in (0.0, 1800.0):  # a date now (or past): nothing to wait
            with pytest.raises(RateLimited) as caught:
                weibo.search("沐沐", NOW - dt.timedelta(hours=1), NOW)
            assert caught.value.retry_after == expected
        assert weibo.search("沐沐", NOW - dt.timedelta(hours=1), NOW) == []
    assert sleeps == [12.0, 60.0]  # a 5xx's Retry-After, capped at a minute


def test_retry_after_values_are_read_and_clamped():
    from ingest.http import retry_after_seconds

    assert retry_after_seconds("120", NOW) == 120.0
    assert retry_after_seconds(" 1.5 ", NOW) == 1.5
    assert retry_after_seconds(_http_date(NOW + dt.timedelta(seconds=90)), NOW) == 90.0
    assert retry_after_seconds("Fri, 01 May 2026 12:01:30 +0000", NOW) == 90.0
    assert retry_after_seconds(_http_date(NOW - dt.timedelta(hours=1)), NOW) == 0.0
    assert retry_after_seconds("-5", NOW) == 0.0
    assert retry_after_seconds("1e12", NOW) == 24 * 3600.0  # a day at most
    assert retry_after_seconds("1e12", NOW, limit=60) == 60.0
    for garbage in (None, "", "soon", "nan", "inf", "Fri, 99 Foo 2026"):
        assert retry_after_seconds(garbage, NOW) is None


# --- a vendor outage during a spread run ----------------------------------------------------


class LastCount:
    model_version = "last-count"

    def predict_many(self, observations):
        last = [o.count_snapshots[-1][1] if o.count_snapshots else 0 for o in observations]
        return [Estimate(n, 0, 0, 0, 0.0, 0.0, self.model_version) for n in last]


@pytest.mark.parametrize(
    ("faults", "down", "up"),
    [
        ({"server_error": 50, "only": "wechat"}, "wechat", "weibo"),
        ({"token_expired": True, "only": "wechat"}, "wechat", "weibo"),
        ({"server_error": 50, "only": "/2/"}, "weibo", "wechat"),
    ],
)
def test_one_platform_down_still_writes_every_spread_estimate(
    warehouse, config, sim, clock, faults, down, up
):
    """One platform failing past its retries (or its token refused) during a spread run:
    the other platform's counts are stored and its post estimated; the failed platform's
    post gets no estimate from old counts (it would read as a stalled cascade) and is
    tried again; every schedule moves, and the step after it fails, naming the platform."""
    weibo, wechat_ = make_clients(sim)
    clock.advance(dt.timedelta(hours=4))
    ingest_source(warehouse, config, weibo, "weibo", clock)
    ingest_source(warehouse, config, wechat_, "wechat", clock)
    now = clock.now()
    with warehouse.begin() as conn:
        for platform in ("weibo", "wechat"):
            pid, brand, created = conn.execute(
                select(mentions.c.post_id, mentions.c.brand, mentions.c.created_at)
                .where(mentions.c.platform == platform)
                .limit(1)
            ).one()
            row = dict(platform=platform, post_id=pid, brand=brand, state="hot")
            row.update(created_at=created, tracked_since=now, next_check_at=now)
            conn.execute(insert(tracked_posts), {**row, "last_growth_at": created})
    clock.advance(dt.timedelta(minutes=10))
    sim.set_faults(**faults)
    result = track_spread(warehouse, config, clock, LastCount(), weibo=weibo, wechat=wechat_)
    assert list(result["refreshed"]["failed"]) == [down]
    assert result["unmeasured"] == 1
    with pytest.raises(SourceError, match=f"{down}.*1 of 2 due posts got no new counts") as caught:
        raise_for_failed_refresh(result)
    assert sim.token not in str(caught.value)
    with warehouse.connect() as conn:
        fresh = conn.execute(
            select(metric_snapshots.c.platform).where(metric_snapshots.c.observed_at == clock.now())
        ).scalars()
        estimated = conn.execute(select(spread_estimates.c.platform)).scalars().all()
        checked = conn.execute(select(tracked_posts.c.last_checked_at)).scalars().all()
    assert set(fresh) == {up}
    assert sorted(estimated) == [up]
    assert checked == [clock.now(), clock.now()]
    with warehouse.connect() as conn:  # the down platform's post: tried again next run
        states = dict(conn.execute(select(tracked_posts.c.platform, tracked_posts.c.state)).all())
    assert states[down] == "hot"


# --- Weibo repost timelines: bursts past the page limit, deletions while paging -----------

ROOT = "4950000000000001"
FIRST_REPOST = 4990000000000000


class RepostTimeline:
    """Weibo's `statuses/repost_timeline.json` for one post, as the contract says: `count`
    up to 200, `page`, `since_id` (newer than) and `max_id` (not newer than), newest
    first, `total_number`. `ids` are the reposts that exist now (the test adds and
    deletes); `before(params)` runs before each answer; `refuse` maps a call number to
    a rate-limit answer."""

    def __init__(self, count: int):
        self.ids = list(range(FIRST_REPOST, FIRST_REPOST + count))
        self.calls = 0
        self.before: Callable[[dict], None] = lambda params: None
        self.refuse: set[int] = set()

    def answer(self, path, p, body) -> Answer:
        self.calls += 1
        if self.calls in self.refuse:
            return 429, {"error": "User requests out of rate limit!", "error_code": 10023}, {}
        self.before(p)
        since, top = int(p.get("since_id") or 0), int(p.get("max_id") or 0)
        ids = sorted((i for i in self.ids if i > since and (not top or i <= top)), reverse=True)
        count, page_ = min(int(p.get("count", 20)), 200), int(p.get("page", 1))
        chunk = ids[(page_ - 1) * count : page_ * count]
        return 200, {"reposts": [self.repost(i) for i in chunk], "total_number": len(ids)}, {}

    @staticmethod
    def repost(repost_id: int) -> dict:
        when = NOW - dt.timedelta(hours=6) + dt.timedelta(seconds=repost_id - FIRST_REPOST)
        root = {"idstr": ROOT, "created_at": weibo_time(NOW - dt.timedelta(hours=7))}
        return {
            "created_at": weibo_time(when),
            "idstr": str(repost_id),
            "mid": str(repost_id),
            "text": "转发微博",
            "user": {"idstr": str(5_000_000_000 + repost_id % 10**6), "followers_count": 10},
            "retweeted_status": {**root, "text": "沐沐奶粉", "user": {"idstr": "1"}},
        }


def stored_reposts(engine) -> list[int]:
    with engine.connect() as conn:
        return sorted(int(i) for i in conn.execute(select(reposts.c.repost_id)).scalars())


def repost_gaps(engine) -> list[str]:
    with engine.connect() as conn:
        return cursor_queries(conn, "weibo", REPOST_GAP)


def test_a_repost_burst_past_the_page_limit_is_fetched_over_the_next_refreshes(warehouse):
    """More new reposts between two refreshes than one refresh reads (50 pages of 200):
    the newest 10,000 are stored and the gap below them is remembered, so the next
    refresh reads the newer ones and the rest of the burst; nothing is lost or stored
    twice, and the refresh after that reads nothing more."""
    timeline = RepostTimeline(12_000)
    clock = ManualClock(NOW)
    with Vendor(timeline.answer) as vendor:
        weibo = WeiboClient(f"{vendor.url}/2", KEY, sleep=lambda s: None)
        assert fetch_repost_timeline(warehouse, weibo, ROOT, clock) == 10_000
        assert timeline.calls == 50 and repost_gaps(warehouse) == [f"{REPOST_GAP} {ROOT} 0"]
        timeline.ids += range(FIRST_REPOST + 12_000, FIRST_REPOST + 12_100)
        clock.advance(dt.timedelta(minutes=10))
        assert fetch_repost_timeline(warehouse, weibo, ROOT, clock) == 2_100
        clock.advance(dt.timedelta(minutes=10))
        assert fetch_repost_timeline(warehouse, weibo, ROOT, clock) == 0
    assert stored_reposts(warehouse) == sorted(timeline.ids) and repost_gaps(warehouse) == []


def test_a_rate_limit_mid_burst_keeps_what_was_stored_and_the_gap(warehouse):
    """Weibo refusing the 30th page: the 29 pages read are stored, the gap below them is
    remembered and read on the next refresh; a rerun at the same time stores nothing."""
    timeline = RepostTimeline(12_000)
    timeline.refuse = {30}
    clock = ManualClock(NOW)
    with Vendor(timeline.answer) as vendor:
        weibo = WeiboClient(f"{vendor.url}/2", KEY, sleep=lambda s: None)
        assert fetch_repost_timeline(warehouse, weibo, ROOT, clock) == 29 * 200
        assert stored_reposts(warehouse) == sorted(timeline.ids)[-29 * 200 :]
        assert repost_gaps(warehouse) == [f"{REPOST_GAP} {ROOT} 0"]
        clock.advance(dt.timedelta(minutes=10))
        assert fetch_repost_timeline(warehouse, weibo, ROOT, clock) == 12_000 - 29 * 200
        assert fetch_repost_timeline(warehouse, weibo, ROOT, clock) == 0  # a rerun
    assert stored_reposts(warehouse) == sorted(timeline.ids) and repost_gaps(warehouse) == []


def test_a_repost_deleted_while_paging_does_not_hide_another(warehouse):
    """A repost on page 1 deleted before page 2 is asked for: page numbers would shift
    by one and one older repost would never be served; paging by id loses none."""
    timeline = RepostTimeline(300)
    deleted = FIRST_REPOST + 250  # on page 1 (the newest 200)

    def delete_once(params):
        if timeline.calls == 2 and deleted in timeline.ids:
            timeline.ids.remove(deleted)

    timeline.before = delete_once
    clock = ManualClock(NOW)
    with Vendor(timeline.answer) as vendor:
        weibo = WeiboClient(f"{vendor.url}/2", KEY, sleep=lambda s: None)
        fetch_repost_timeline(warehouse, weibo, ROOT, clock)
        clock.advance(dt.timedelta(minutes=10))
        fetch_repost_timeline(warehouse, weibo, ROOT, clock)
    assert set(timeline.ids) <= set(stored_reposts(warehouse))
