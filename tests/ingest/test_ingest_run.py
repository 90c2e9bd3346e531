"""Incremental ingest, exactly once, on SQLite and PostgreSQL, against the simulator over
real sockets: reruns, a crash between pages, overlaps and late-indexed posts, windows past
the search cap, rate limits mid-run, malformed answers and items, items of the wrong shape
or with text a database cannot store, terms the platform keeps refusing, token expiry."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import make_clients, row_count, stored
from sqlalchemy import select

from ingest.errors import SourceError, TokenExpired
from ingest.run import BACKOFF_QUERY, ingest_source, search_terms
from simulator.server import Simulator, weibo_time
from spread.stage import refresh_metrics
from spread.tracking import HOT, TrackedPost
from warehouse.cursors import cursor_queries, get_cursor
from warehouse.schema import mentions, metric_snapshots, quarantine, reposts


def run_every(engine, config, client, platform, clock, minutes, times, **kwargs):
    results = []
    for _ in range(times):
        clock.advance(dt.timedelta(minutes=minutes))
        results.append(ingest_source(engine, config, client, platform, clock, **kwargs))
    return results


def test_incremental_runs_store_every_mention_exactly_once(warehouse, config, sim, clock, clients):
    weibo, wechat = clients
    for _ in range(9):
        clock.advance(dt.timedelta(minutes=20))
        progress: list[int] = []
        result = ingest_source(warehouse, config, weibo, "weibo", clock, progress=progress.append)
        assert progress == sorted(progress) and progress[-1:] == (
            [result["stored"]] if result["stored"] else []
        )
        ingest_source(warehouse, config, wechat, "wechat", clock)
    again = ingest_source(warehouse, config, weibo, "weibo", clock)  # a rerun at the same time
    assert again["stored"] == 0 and again["snapshots"] == 0
    assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")
    assert stored(warehouse, "wechat") == sim.expected_mentions("wechat")
    truth = sim.truth()["posts"]
    assert any(p["kind"] == "decoy" and p["searchable"] for p in truth)  # excluded: not stored
    assert any(len(p["brands"]) == 1 and p["brand"] == "kuaixian" for p in truth)
    with warehouse.connect() as conn:
        rows = conn.execute(select(mentions)).mappings().all()
        cursors = {t: get_cursor(conn, "weibo", t) for t in search_terms(config)}
        reasons = conn.execute(select(quarantine.c.reason)).scalars().all()
    assert set(cursors.values()) == {clock.now()}
    assert {r["brand"] for r in rows if r["is_competitor"]} == {"kuaixian"}
    assert all(
        json.loads(r["raw"])["idstr"] == r["post_id"] for r in rows if r["platform"] == "weibo"
    )
    assert all(r["created_at"].tzinfo is not None for r in rows)
    broken = [p for p in truth if p["malformed"] and p["searchable"] and p["platform"] == "weibo"]
    assert len(reasons) == len(broken) > 0  # each malformed item quarantined once, with why
    assert row_count(warehouse, metric_snapshots) >= len(
        {(r["platform"], r["post_id"]) for r in rows}
    )


class CrashOnCall:
    """A client whose n-th search call dies like a killed worker (between pages)."""

    def __init__(self, client, n):
        self.client, self.n, self.calls = client, n, 0
        self.search_cap, self.page_size = client.search_cap, client.page_size
        self.parse = client.parse

    def search(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.n:
            raise SystemExit("worker killed")
        return self.client.search(*args, **kwargs)


class WithItems:
    """The simulator's client with `items` put on top of the first page it gets: what a
    platform can send and the simulator never does (fields of the wrong type, text no
    database can store)."""

    def __init__(self, client, items):
        self.client, self.items = client, list(items)
        self.search_cap, self.page_size = client.search_cap, client.page_size
        self.parse, self.counts = client.parse, client.counts

    def _first(self, page):
        page[:0], self.items = self.items, []
        return page

    def search(self, *args, **kwargs):
        return self._first(self.client.search(*args, **kwargs))

    def repost_timeline(self, *args, **kwargs):
        return self._first(self.client.repost_timeline(*args, **kwargs))


def weibo_status(post_id: str, text, when: dt.datetime, **user) -> dict:
    return {
        "created_at": weibo_time(when),
        "idstr": post_id,
        "mid": post_id,
        "text": text,
        "reposts_count": 0,
        "comments_count": 0,
        "attitudes_count": 0,
        "user": {"idstr": "1002", "screen_name": "宝妈", "followers_count": 10, **user},
    }


def _quarantined(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(select(quarantine.c.reason)).scalars().all()


def test_an_item_of_the_wrong_shape_is_quarantined_alone_and_the_cursor_moves(
    warehouse, config, sim, clock
):
    weibo, _ = make_clients(sim)
    clock.advance(dt.timedelta(hours=2))
    when = clock.now() - dt.timedelta(minutes=1)
    good = weibo_status("4960000000000001", "沐沐奶粉 客服不理人", when)
    odd = [
        weibo_status("4960000000000002", 123, when),  # text a number
        weibo_status("4960000000000003", "沐沐奶粉 差", when, screen_name=123),
    ]
    result = ingest_source(
        warehouse, config, WithItems(weibo, [odd[0], good, odd[1]]), "weibo", clock
    )
    assert result["queries"] == result["queries_total"] and result["failed_queries"] == 0
    reasons = _quarantined(warehouse)
    assert sorted(reasons) == ["text is int, not text", "user.screen_name is int, not text"]
    extra = {("weibo", "4960000000000001", "mumu")}  # on the same page: stored
    assert stored(warehouse, "weibo") == sim.expected_mentions("weibo") | extra
    with warehouse.connect() as conn:
        assert {get_cursor(conn, "weibo", t) for t in search_terms(config)} == {clock.now()}


def test_text_no_database_can_store_is_made_storable(warehouse, config, sim, clock):
    weibo, _ = make_clients(sim)
    clock.advance(dt.timedelta(hours=1))
    when = clock.now() - dt.timedelta(minutes=1)
    items = [  # Weibo's 140-character cut can split an emoji's UTF-16 pair
        weibo_status("4960000000000011", "沐沐奶粉 奶粉结块\ud83d", when),
        weibo_status(
            "4960000000000012", "沐沐奶粉 a\x00b \ud83d\ude00", when, screen_name="宝\x00妈"
        ),
    ]
    result = ingest_source(warehouse, config, WithItems(weibo, items), "weibo", clock)
    assert result["queries"] == result["queries_total"]
    with warehouse.connect() as conn:
        rows = conn.execute(
            select(mentions.c.post_id, mentions.c.text, mentions.c.author_name, mentions.c.raw)
            .where(mentions.c.post_id.in_(["4960000000000011", "4960000000000012"]))
            .order_by(mentions.c.post_id)
        ).all()
    assert [(r.text, r.author_name) for r in rows] == [
        ("沐沐奶粉 奶粉结块\ufffd", "宝妈"),
        ("沐沐奶粉 ab \U0001f600", "宝妈"),  # a split pair is joined again
    ]
    assert json.loads(rows[0].raw)["text"] == "沐沐奶粉 奶粉结块\ufffd"
    assert stored(warehouse, "weibo") >= sim.expected_mentions("weibo")


def test_a_repost_of_the_wrong_shape_is_quarantined_alone(warehouse, sim, clock):
    weibo, _ = make_clients(sim)
    clock.advance(dt.timedelta(hours=3))
    incident = next(p for p in sim.posts if p.kind == "incident")
    real = weibo.repost_timeline(incident.post_id, count=1)[0]
    odd = {**real, "idstr": "4960000000000021", "mid": "4960000000000021", "text": 123}
    odd.pop("id", None)
    tracked = TrackedPost("weibo", incident.post_id, "mumu", HOT, sim.at(incident.story_at), None)
    done = refresh_metrics(warehouse, [tracked], clock, weibo=WithItems(weibo, [odd]))
    assert done["weibo_reposts"] == sim.reposts_of(incident) > 0  # the others are stored
    assert row_count(warehouse, reposts) == sim.reposts_of(incident)
    assert _quarantined(warehouse) == [f"repost of {incident.post_id}: text is int, not text"]


def test_a_repost_too_long_for_its_columns_is_quarantined_alone(warehouse, sim, clock):
    """A repost whose parent or reposter id is longer than its 64-character column: on
    PostgreSQL the whole timeline's insert failed (a DataError, not a SourceError, so the
    spread run failed for every tracked post). Checked against the columns per item, it
    is quarantined alone on both databases and the other reposts are stored."""
    weibo, _ = make_clients(sim)
    clock.advance(dt.timedelta(hours=3))
    incident = next(p for p in sim.posts if p.kind == "incident")
    real = weibo.repost_timeline(incident.post_id, count=1)[0]
    real.pop("id", None)
    odd = [
        {**real, "idstr": "4960000000000031", "mid": "4960000000000031", "pid": "9" * 70},
        {
            **real,
            "idstr": "4960000000000032",
            "mid": "4960000000000032",
            "user": {**real["user"], "idstr": "8" * 70, "id": None},
        },
    ]
    tracked = TrackedPost("weibo", incident.post_id, "mumu", HOT, sim.at(incident.story_at), None)
    done = refresh_metrics(warehouse, [tracked], clock, weibo=WithItems(weibo, odd))
    assert done["failed"] == {}
    assert done["weibo_reposts"] == sim.reposts_of(incident) > 0  # the others are stored
    assert row_count(warehouse, reposts) == sim.reposts_of(incident)
    assert sorted(_quarantined(warehouse)) == [
        f"repost of {incident.post_id}: parent_id of 70 characters, over the 64 "
        "reposts.parent_id holds",
        f"repost of {incident.post_id}: user_id of 70 characters, over the 64 "
        "reposts.user_id holds",
    ]


def test_reposts_past_the_page_limit_are_all_fetched_over_later_refreshes(
    warehouse, sim, clock, monkeypatch
):
    """An incident whose new reposts outrun what one refresh reads (2 pages of 10 here):
    each refresh stores the newest and remembers the gap below them, and later refreshes
    fill the gaps (paging by `max_id`, as the contract has it). Caught up, every repost
    the simulator serves is stored, once."""
    import ingest.refresh as refresh
    from simulator.world import PER_CASCADE, REPOST_BASE

    monkeypatch.setattr(refresh, "REPOST_PAGE", 10)
    monkeypatch.setattr(refresh, "MAX_REPOST_PAGES", 2)
    weibo, _ = make_clients(sim)
    incident = next(p for p in sim.posts if p.kind == "incident")
    clock.advance(dt.timedelta(seconds=incident.story_at + 36 * 60))
    burst = []
    for _ in range(8):  # the burst: more new reposts every 2 minutes than 20
        burst.append(refresh.fetch_repost_timeline(warehouse, weibo, incident.post_id, clock))
        clock.advance(dt.timedelta(minutes=2))
    assert burst.count(20) > 1 and sum(burst) < sim.reposts_of(incident)
    with warehouse.connect() as conn:
        assert len(cursor_queries(conn, "weibo", refresh.REPOST_GAP)) > 1  # gaps remembered
    for _ in range(100):  # no new reposts: the gaps are filled, 2 pages a refresh
        refresh.fetch_repost_timeline(warehouse, weibo, incident.post_id, clock)
        with warehouse.connect() as conn:
            if not cursor_queries(conn, "weibo", refresh.REPOST_GAP):
                break
    assert refresh.fetch_repost_timeline(warehouse, weibo, incident.post_id, clock) == 0
    with warehouse.connect() as conn:
        ids = (
            conn.execute(
                select(reposts.c.repost_id).where(reposts.c.root_post_id == incident.post_id)
            )
            .scalars()
            .all()
        )
    first = REPOST_BASE + incident.seq * PER_CASCADE
    assert len(ids) == len(set(ids)) == sim.reposts_of(incident)
    assert set(ids) == {str(first + j) for j in range(sim.reposts_of(incident))}


def test_a_term_the_platform_keeps_refusing_does_not_starve_the_others(
    warehouse, config, sim, clock
):
    weibo, _ = make_clients(sim, max_retries=1)
    terms = search_terms(config)
    behind = []
    for _ in range(2):  # the failing term stays the stalest, so it goes first every run
        clock.advance(dt.timedelta(minutes=30))
        sim.set_faults(server_error=2, only="search")  # 5xx past the client's retry
        result = ingest_source(warehouse, config, weibo, "weibo", clock)
        assert result["failed_queries"] == 1 and result["queries"] == len(terms) - 1
        with warehouse.connect() as conn:
            cursors = {t: get_cursor(conn, "weibo", t) for t in terms}
        behind.append([t for t in terms if cursors[t] != clock.now()])
    assert len(behind[0]) == 1 and behind[1] == behind[0]  # the others moved on, twice
    assert cursors[behind[0][0]] is None
    sim.set_faults(server_error=2 * len(terms), only="search")  # every term: fail loudly
    clock.advance(dt.timedelta(minutes=5))
    with pytest.raises(SourceError, match=f"every search term failed .{len(terms)} of"):
        ingest_source(warehouse, config, weibo, "weibo", clock)
    sim.clear_faults()
    clock.advance(dt.timedelta(minutes=5))
    ingest_source(warehouse, config, weibo, "weibo", clock)
    assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")


def test_a_crash_between_pages_loses_and_duplicates_nothing(warehouse, config, sim, clock, clients):
    weibo, _ = clients
    weibo.page_size = 5  # many pages per window, so the crash lands between two of them
    clock.advance(dt.timedelta(hours=5))
    crashing = CrashOnCall(weibo, 3)
    with pytest.raises(SystemExit):
        ingest_source(warehouse, config, crashing, "weibo", clock)
    partial = stored(warehouse, "weibo")
    assert len(partial) == 10 and partial < sim.expected_mentions("weibo")  # pages 1-2 stored
    with warehouse.connect() as conn:  # the first term's window was cut short: no cursor
        assert all(get_cursor(conn, "weibo", t) is None for t in search_terms(config))
    ingest_source(warehouse, config, weibo, "weibo", clock)  # Airflow's retry
    assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")


def test_the_overlap_catches_posts_the_search_index_had_not_seen_yet(warehouse, config, sim, clock):
    weibo, _ = make_clients(sim)
    blind = config.model_copy(
        update={"thresholds": config.thresholds.model_copy(update={"ingest_overlap_minutes": 0})}
    )
    run_every(warehouse, blind, weibo, "weibo", clock, minutes=5, times=48)
    missed = sim.expected_mentions("weibo") - stored(warehouse, "weibo")
    assert missed  # without an overlap, posts indexed after a run passed their second are lost
    run_every(warehouse, config, weibo, "weibo", clock, minutes=5, times=48)  # 10 min overlap
    recent = {m for m in sim.expected_mentions("weibo") if m not in missed}
    assert recent <= stored(warehouse, "weibo")
    assert stored(warehouse, "weibo") == sim.expected_mentions("weibo") - missed


def test_a_window_over_the_search_cap_is_split(warehouse, config, clock):
    with Simulator(config, seed=2, clock=clock, search_cap=60, rate=30) as sim:
        weibo, _ = make_clients(sim)
        weibo.page_size, weibo.search_cap = 20, 60  # the client knows the cap
        clock.advance(dt.timedelta(hours=3))
        first = ingest_source(warehouse, config, weibo, "weibo", clock)
        assert first["splits"] > 0 and first["over_cap_seconds"] == 0
        assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")


def test_a_cap_the_client_did_not_know_is_found_from_total_number(warehouse, config, clock):
    with Simulator(config, seed=3, clock=clock, search_cap=50, rate=30) as sim:
        weibo, _ = make_clients(sim)
        weibo.page_size = 20  # believes the cap is 1,000; the server stops at 50
        clock.advance(dt.timedelta(hours=2))
        result = ingest_source(warehouse, config, weibo, "weibo", clock)
        assert result["splits"] > 0
        assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")


def test_a_cap_below_one_page_is_found_from_total_number(warehouse, config, clock):
    """A server capping search at 30 while the client asks 50 a page: the first page
    comes back short with a `total_number` far above it. That is a cap too: the window
    is split and nothing is lost (it was taken as complete, and the rest never fetched)."""
    with Simulator(config, seed=3, clock=clock, search_cap=30, rate=30) as sim:
        weibo, _ = make_clients(sim)
        assert weibo.page_size == 50 and weibo.search_cap == 1000
        clock.advance(dt.timedelta(hours=2))
        result = ingest_source(warehouse, config, weibo, "weibo", clock)
        assert result["splits"] > 0 and result["over_cap_seconds"] == 0
        assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")


def test_a_rate_limit_mid_run_stops_cleanly_and_the_next_run_resumes(warehouse, config, sim, clock):
    weibo, _ = make_clients(sim)
    clock.advance(dt.timedelta(hours=4))
    sim.set_faults(rate_limit=1, after=4, retry_after=120)  # the 5th call is refused
    first = ingest_source(warehouse, config, weibo, "weibo", clock)
    assert first["rate_limited"] and 0 < first["queries"] < first["queries_total"]
    assert first["backoff_until"] == (clock.now() + dt.timedelta(seconds=120)).isoformat()
    with warehouse.connect() as conn:
        done = [t for t in search_terms(config) if get_cursor(conn, "weibo", t) == clock.now()]
        assert len(done) == first["queries"]
        assert get_cursor(conn, "weibo", BACKOFF_QUERY) == clock.now() + dt.timedelta(seconds=120)
    clock.advance(dt.timedelta(seconds=60))
    calls = weibo.http.calls
    early = ingest_source(warehouse, config, weibo, "weibo", clock)  # still inside Retry-After
    assert early["rate_limited"] and weibo.http.calls == calls  # not even asked
    clock.advance(dt.timedelta(seconds=61))
    second = ingest_source(warehouse, config, weibo, "weibo", clock)
    assert not second["rate_limited"] and second["queries"] == second["queries_total"]
    assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")


def test_malformed_answers_and_items_are_quarantined_and_the_rest_stored(
    warehouse, config, sim, clock
):
    weibo, _ = make_clients(sim, max_retries=1)
    clock.advance(dt.timedelta(hours=2))
    sim.set_faults(malformed=2, bad_item=1, after=1)  # one term's answer stays garbled
    result = ingest_source(warehouse, config, weibo, "weibo", clock)
    assert result["failed_queries"] == 1 and result["queries"] == result["queries_total"] - 1
    with warehouse.connect() as conn:
        reasons = conn.execute(select(quarantine.c.reason, quarantine.c.raw)).all()
    assert any("malformed response" in r and raw.startswith('{"statuses"') for r, raw in reasons)
    assert any("usable id" in r for r, _ in reasons)  # the broken item, its page stored
    clock.advance(dt.timedelta(minutes=5))
    ingest_source(warehouse, config, weibo, "weibo", clock)
    assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")


def test_an_expired_token_fails_the_run_naming_the_connection(warehouse, config, sim, clock):
    weibo, _ = make_clients(sim)
    clock.advance(dt.timedelta(hours=1))
    sim.set_faults(token_expired=True, after=3)
    with pytest.raises(TokenExpired, match="weibo_default"):
        ingest_source(warehouse, config, weibo, "weibo", clock)
    sim.clear_faults()  # ops renewed the token
    ingest_source(warehouse, config, weibo, "weibo", clock)
    assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")


def test_the_first_run_looks_back_one_day_or_as_configured(warehouse, config, sim, clock):
    weibo, _ = make_clients(sim)
    clock.advance(dt.timedelta(hours=3))
    ingest_source(warehouse, config, weibo, "weibo", clock, lookback=dt.timedelta(hours=1))
    cutoff = clock.now() - dt.timedelta(hours=1)
    got = stored(warehouse, "weibo")
    assert got and all(
        sim.at(sim.by_id[post_id].story_at) >= cutoff - dt.timedelta(seconds=1)
        for _, post_id, _ in got
    )
    assert got < sim.expected_mentions("weibo")


def test_unknown_platforms_are_refused(warehouse, config, clients, clock):
    with pytest.raises(ValueError, match="unknown platform"):
        ingest_source(warehouse, config, clients[0], "douyin", clock)


def test_runs_partitioned_by_brand_store_the_same_as_one_run(warehouse, config, sim, clock):
    from nlp.stage import score_new_mentions, unscored

    weibo, _ = make_clients(sim)
    clock.advance(dt.timedelta(hours=3))
    for brand in config.brands:  # as the DAG's mapped tasks do (in any order)
        result = ingest_source(warehouse, config, weibo, "weibo", clock, brands=[brand.code])
        assert result["queries_total"] == len(brand.search_terms)
    assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")

    class Fixed:
        model_version = "fixed-1"

        def score_batch(self, texts):
            from nlp.scorer import Score

            return [Score(0.5) for _ in texts]

    for brand in config.brands:
        score_new_mentions(warehouse, Fixed(), clock, brand=brand.code)
    assert unscored(warehouse, "fixed-1", 10) == []


def test_a_whole_scheduled_day_of_faults_stores_every_mention_exactly_once(
    warehouse, config, sim, clock
):
    """288 five-minute Weibo runs and 144 ten-minute WeChat runs, each facing a seeded
    random fault: rate limits (HTTP and Weibo codes), 5xx bursts, malformed answers, broken
    items, web-style string counts, and a token outage. A run that fails is what Airflow
    would mark failed; the schedule simply goes on."""
    import random

    from ingest.errors import SourceError

    weibo, wechat = make_clients(sim)
    rng = random.Random(20261130)
    faults = [
        {},
        {},
        {},
        {"rate_limit": 1, "retry_after": 60},
        {"rate_limit_code": 1, "rate_limit_error": rng.choice([10022, 10023, 10024])},
        {"server_error": 2},
        {"server_error": 9},  # more than the client retries: the run fails
        {"malformed": 1},
        {"bad_item": 1},
        {"string_counts": True},
        {"after": 3, "server_error": 9},  # fails mid-run, after some pages
    ]
    failures = 0
    for step in range(288):
        sim.clear_faults()
        if 100 <= step < 112:  # an hour without a valid token
            sim.set_faults(token_expired=True)
        else:
            sim.set_faults(**rng.choice(faults))
        clock.advance(dt.timedelta(minutes=5))
        for client, platform in ((weibo, "weibo"), (wechat, "wechat")):
            if platform == "wechat" and step % 2:
                continue
            try:
                ingest_source(warehouse, config, client, platform, clock)
            except SourceError:
                failures += 1
    sim.clear_faults()
    clock.advance(dt.timedelta(minutes=5))
    for client, platform in ((weibo, "weibo"), (wechat, "wechat")):
        ingest_source(warehouse, config, client, platform, clock)
    assert failures > 12  # the faults really bit
    for platform in ("weibo", "wechat"):
        with warehouse.connect() as conn:
            rows = conn.execute(
                select(mentions.c.post_id, mentions.c.brand).where(mentions.c.platform == platform)
            ).all()
        assert len(rows) == len(set(rows))
        assert stored(warehouse, platform) == sim.expected_mentions(platform)


def _quarantine_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(quarantine.c.source, quarantine.c.reason, quarantine.c.raw).order_by(
                    quarantine.c.id
                )
            )
        ]


class WeChatWithItems(WithItems):
    def __init__(self, client, items):
        self.client, self.items = client, list(items)
        self.search_cap, self.page_size = client.search_cap, client.page_size
        self.parse, self.fields = client.parse, client.fields


def test_the_same_bad_post_is_quarantined_once_whatever_its_counts(warehouse, config, sim, clock):
    """Each run re-reads an overlap window, so a post that cannot be stored comes back,
    its counts grown: it is quarantined once per reason, with the payload first rejected.
    Another reason, or another post, is another row; an item without a usable id is
    keyed on its whole payload."""
    weibo, wechat = make_clients(sim)
    clock.advance(dt.timedelta(hours=2))
    when = clock.now() - dt.timedelta(minutes=1)

    def bad(reposts, post_id="4960000000000041", text=123, **user):
        return {**weibo_status(post_id, text, when, **user), "reposts_count": reposts}

    def article(reads, title=123, url="https://mp.weixin.qq.com/s/AbCdEf123456"):
        return {"url": url, "publish_time": int(when.timestamp()), "title": title,
                "content": "沐沐奶粉 结块", "biz": "MzA5", "account_name": "宝妈说",
                "read_num": reads, "like_num": 1, "old_like_num": 2}  # fmt: skip

    no_id = {"text": 123, "reposts_count": 5}
    runs = [
        ([bad(5), no_id], [article(100)]),
        ([bad(9), {**no_id, "reposts_count": 9}], [article(250)]),  # counts grew
        (
            [bad(12), bad(12, text="沐沐奶粉 差", screen_name=123)],
            [{**article(900, title="沐沐奶粉"), "content": 456}],
        ),
        ([bad(5, post_id="4960000000000042")], []),
    ]
    for weibo_items, wechat_items in runs:
        clock.advance(dt.timedelta(minutes=5))
        ingest_source(warehouse, config, WithItems(weibo, weibo_items), "weibo", clock)
        ingest_source(warehouse, config, WeChatWithItems(wechat, wechat_items), "wechat", clock)
    rows = _quarantine_rows(warehouse)
    assert [(source, reason) for source, reason, _ in rows] == [
        ("weibo", "text is int, not text"),
        ("weibo", "status without a usable id ('')"),
        ("wechat", "title is int, not text"),
        ("weibo", "status without a usable id ('')"),  # no id: another payload, another row
        ("weibo", "user.screen_name is int, not text"),  # the same post, another reason
        ("wechat", "content is int, not text"),
        ("weibo", "text is int, not text"),  # another post
    ]
    assert json.loads(rows[0][2])["reposts_count"] == 5  # the payload first rejected
    assert json.loads(rows[2][2])["read_num"] == 100
    assert json.loads(rows[6][2])["idstr"] == "4960000000000042"
