"""The Weibo and WeChat clients against the simulator over real sockets: the endpoints,
and every fault — rate limits, 5xx, timeouts, malformed JSON, token expiry — with the
token never showing up in a log line, an exception or a repr."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import requests
from conftest import START, make_clients

from ingest.clients import client_from_url
from ingest.errors import MalformedResponse, PostGone, RateLimited, SourceError, TokenExpired
from ingest.http import redact
from ingest.wechat import FieldMap, WeChatClient
from ingest.weibo import WeiboClient


def later(clock, hours=3):
    clock.advance(dt.timedelta(hours=hours))
    return clock.now()


def test_search_counts_timelines_and_comments(sim, clock, clients):
    weibo, wechat = clients
    now = later(clock)
    page = weibo.search("沐沐", START, now, page=1, count=20)
    assert len(page) == 20 and page.total > 20
    times = [weibo.parse(s).created_at for s in page if "deleted" not in s]
    assert times == sorted(times, reverse=True)  # newest first
    incident = next(p for p in sim.posts if p.kind == "incident")
    ids = [p.post_id for p in sim.visible("weibo")]
    ids += [str(4_900_000_000_000_000 + i) for i in range(250 - len(ids))]  # unknown: left out
    before = sim.request_counts["/2/statuses/count.json"]
    counts = weibo.counts(ids)
    assert sim.request_counts["/2/statuses/count.json"] - before == 3  # 100 ids a call
    by_id = {c["idstr"]: c for c in counts}
    assert by_id[incident.post_id]["reposts"] == sim.reposts_of(incident) > 0
    first = weibo.repost_timeline(incident.post_id, page=1, count=50)
    assert len(first) == 50 and first.total == sim.reposts_of(incident)
    newest = int(first[0]["idstr"])
    assert not weibo.repost_timeline(incident.post_id, since_id=newest)
    older = weibo.repost_timeline(incident.post_id, count=10, max_id=int(first[-1]["idstr"]) - 1)
    assert all(int(r["idstr"]) < int(first[-1]["idstr"]) for r in older)
    assert all(r["user"]["followers_count"] >= 0 and r["created_at"] for r in first)
    comments = weibo.comments(incident.post_id, count=5)
    assert len(comments) == 5 and comments.total > 5
    articles = wechat.search("沐沐奶粉", START, now, page=1, count=10)
    assert articles and all(wechat.parse(a).platform == "wechat" for a in articles)
    metrics = wechat.metrics([a["url"] for a in articles])
    assert {m["url"] for m in metrics} == {a["url"] for a in articles}


def test_a_client_from_a_connection_uri(sim, clock):
    weibo = client_from_url("weibo", f"http://:{sim.token}@{sim.weibo_url.split('//')[1]}")
    assert weibo.base_url == sim.weibo_url
    assert isinstance(weibo, WeiboClient) and sim.token not in repr(weibo)
    assert isinstance(weibo.search("沐沐", START, later(clock)), list)


@pytest.mark.parametrize(
    ("faults", "code"),
    [
        ({"rate_limit": 1}, 10023),  # HTTP 429 with Retry-After
        ({"rate_limit_code": 1, "rate_limit_error": 10022}, 10022),  # HTTP 403, IP limit
        ({"rate_limit_code": 1, "rate_limit_error": 10024}, 10024),  # per-API limit
    ],
)
def test_rate_limits_raise_without_retrying(sim, clock, clients, faults, code):
    weibo, _ = clients
    sim.set_faults(**faults)
    calls = weibo.http.calls
    with pytest.raises(RateLimited, match="rate limit") as caught:
        weibo.search("沐沐", START, later(clock))
    assert caught.value.code == code and weibo.http.calls == calls + 1
    if "rate_limit" in faults:
        assert caught.value.retry_after == 2.0
    assert isinstance(weibo.search("沐沐", START, clock.now()), list)  # the limit has passed


def test_wechat_rate_limit(sim, clock, clients):
    _, wechat = clients
    sim.set_faults(rate_limit=1)
    with pytest.raises(RateLimited):
        wechat.search("沐沐", START, later(clock))
    sim.set_faults(rate_limit_code=1)  # HTTP 200 with code 42900
    with pytest.raises(RateLimited):
        wechat.search("沐沐", START, clock.now())


def test_server_errors_and_malformed_json_are_retried_with_jittered_backoff(sim, clock):
    sleeps: list[float] = []
    weibo, _ = make_clients(sim, sleep=sleeps.append)
    sim.set_faults(server_error=2, malformed=1)
    assert isinstance(weibo.search("沐沐", START, later(clock)), list)
    assert len(sleeps) == 3 and weibo.http.retries == 3
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0 and 0 <= sleeps[2] <= 2.0
    sim.set_faults(server_error=10)
    with pytest.raises(SourceError, match="failed after 5 tries .HTTP 502"):
        weibo.search("沐沐", START, clock.now())
    sim.clear_faults()
    sim.set_faults(malformed=10)
    with pytest.raises(MalformedResponse) as caught:
        weibo.search("沐沐", START, clock.now())
    assert caught.value.raw.startswith('{"statuses"')
    sim.clear_faults()


def test_timeouts_are_retried(sim, clock):
    weibo, _ = make_clients(sim, timeout=0.3, max_retries=2)
    sim.set_faults(slow=0.6, slow_requests=1)  # the first answer comes too late
    assert isinstance(weibo.search("沐沐", START, later(clock)), list)
    assert weibo.http.retries == 1
    sim.set_faults(slow=0.6, slow_requests=5)
    with pytest.raises(SourceError, match="ReadTimeout"):
        weibo.search("沐沐", START, clock.now())
    sim.clear_faults()


def test_a_deleted_post_is_gone_not_an_error(sim, clock, clients):
    weibo, _ = clients
    later(clock)
    with pytest.raises(PostGone):
        weibo.repost_timeline("4949999999999999")


def test_expired_or_invalid_tokens_fail_clearly_and_the_token_never_leaks(sim, clock, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3 logs every URL at DEBUG
    weibo, wechat = make_clients(sim)
    sim.set_faults(token_expired=True)
    with pytest.raises(TokenExpired, match="21327.*Airflow Connection 'weibo_default'") as w:
        weibo.search("沐沐", START, later(clock))
    with pytest.raises(TokenExpired, match="Airflow Connection 'wechat_default'") as c:
        wechat.search("沐沐", START, clock.now())
    assert w.value.conn_id == "weibo_default" and w.value.code == 21327
    sim.clear_faults()
    wrong = WeiboClient(sim.weibo_url, "not-the-token", conn_id="weibo_prod", sleep=lambda s: None)
    with pytest.raises(TokenExpired, match="21332.*'weibo_prod'") as bad:
        wrong.search("沐沐", START, clock.now())
    # every other path that logs: retries, malformed answers, timeouts, dead servers
    sim.set_faults(server_error=1, malformed=1)
    weibo.search("沐沐", START, clock.now())
    sim.clear_faults()
    # a vendor key sent as a query parameter is in every URL urllib3 logs at DEBUG
    keyed = WeChatClient(
        sim.wechat_url, sim.token, fields=FieldMap(auth="param:key"), sleep=lambda s: None
    )
    assert keyed.search("沐沐", START, clock.now()) is not None
    sim.set_faults(server_error=1)
    keyed.search("沐沐", START, clock.now())
    sim.clear_faults()
    assert "&key=***" in caplog.text  # the line is kept, the key is not
    dead = WeiboClient("http://127.0.0.1:9/2", sim.token, max_retries=1, sleep=lambda s: None)
    with pytest.raises(SourceError) as down:
        dead.search("沐沐", START, clock.now())
    texts = [caplog.text, str(w.value), str(c.value), str(bad.value), str(down.value)]
    texts += [repr(weibo), repr(wechat), repr(weibo.http), repr(wrong), repr(keyed)]
    assert "ConnectionError" in str(down.value)
    assert all(sim.token not in t and "not-the-token" not in t for t in texts)
    assert "GET /2/search/statuses/limited.json" in caplog.text  # urllib3 did log the calls


def test_a_token_from_a_secret_file_works_and_never_leaks_in_any_quoting(sim, clock, caplog):
    caplog.set_level(logging.DEBUG)
    weibo = WeiboClient(sim.weibo_url, sim.token + "\n", sleep=lambda s: None)
    wechat = WeChatClient(sim.wechat_url, f" {sim.token}\r\n", sleep=lambda s: None)
    assert isinstance(weibo.search("沐沐", START, later(clock)), list)  # trailing newline trimmed
    assert isinstance(wechat.search("沐沐", START, clock.now()), list)
    leaks = []
    for client in (
        WeiboClient(sim.weibo_url, "2.00Secret\nToken"),  # an invalid header value, which
        WeChatClient(sim.wechat_url, "vendor'Key\rX"),  # requests quotes with repr()
    ):
        with pytest.raises(SourceError, match="InvalidHeader") as caught:
            client.search("沐沐", START, clock.now())
        leaks.append(str(caught.value))
    assert all("Secret" not in t and "Token" not in t for t in (*leaks, caplog.text))
    assert all("vendor" not in t and "Key" not in t for t in (*leaks, caplog.text))
    assert redact("header: 'OAuth2 tok\\n' url: ?key=a%2Bb%2Fc", "a+b/c") == (
        "header: 'OAuth2 tok\\n' url: ?key=***"
    )


def test_faults_over_http_and_auth_forms(sim, clock):
    later(clock)
    session = requests.Session()
    url = f"{sim.weibo_url}/search/statuses/limited.json"
    ok = session.get(url, params={"q": "沐沐", "access_token": sim.token})
    assert ok.status_code == 200 and ok.json()["statuses"]
    header = session.get(
        url, params={"q": "沐沐"}, headers={"Authorization": f"OAuth2 {sim.token}"}
    )
    assert header.status_code == 200
    missing = session.get(url, params={"q": "沐沐"})
    assert missing.json()["error_code"] == 21301
    set_ = session.post(f"{sim.base_url}/_sim/faults", json={"server_error": 1, "only": "count"})
    assert set_.json()["faults"]["server_error"] == 1
    assert session.get(url, params={"q": "沐沐", "access_token": sim.token}).status_code == 200
    count = session.get(
        f"{sim.weibo_url}/statuses/count.json", params={"ids": "1", "access_token": sim.token}
    )
    assert count.status_code == 502
    assert session.post(f"{sim.base_url}/_sim/faults", json={"nonsense": 1}).status_code == 400
