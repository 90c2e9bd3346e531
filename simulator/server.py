"""The local Weibo + WeChat simulator: real HTTP on loopback, following the API contracts.

Weibo Open Platform v2 under `/2/`:
  `search/statuses/limited.json` (q, starttime, endtime, count ≤ 50, page, sort=time;
  newest first; nothing past the search cap of 1,000 results; `total_number`),
  `statuses/count.json` (ids, ≤ 100), `statuses/repost_timeline.json` (id, count ≤ 200,
  page, since_id, max_id), `comments/show.json` (id, count, page),
with the platform's JSON shapes (`created_at` like `Tue May 31 17:46:55 +0800 2011`, HTML
text, users with followers and verification, `retweeted_status`, `isLongText`, deleted
stubs) and error bodies (`{"error", "error_code", "request"}`: 10022/10023/10024 rate
limits, 21327 expired and 21332 invalid tokens). Auth: `access_token` parameter or an
`Authorization: OAuth2 …` header.
The WeChat vendor feed under `/wechat/` follows ingest/WECHAT_CONTRACT.md (auth:
`Authorization: Bearer …` or `key`).

Time: story time = (clock − start) × speed (`speed` story seconds per clock second); every
timestamp served is the clock time of its story moment, so a pipeline on the same clock
(the system clock in `make run`, a ManualClock in tests) sees a consistent live stream.

Test hooks: `GET /_sim/truth[?platform=weibo]` (everything published so far, with the
brands each post is about), `GET|POST /_sim/faults` (see `Faults`).
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import html
import json
import math
import random
import re
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse
from zoneinfo import ZoneInfo

from simulator import phrases
from simulator.world import (
    COMMENT_BASE,
    DEFAULT_INCIDENTS,
    MAX_INDEX_DELAY,
    PER_CASCADE,
    REPOST_BASE,
    SPAN_HOURS,
    Post,
    User,
    build_world,
)
from yujing.clock import Clock, SystemClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEARCH_CAP = 1000
LONG_TEXT = 140
READS_CAP = 100_001  # WeChat shows "10万+"; vendors report 100001
_LINK = re.compile(r"http://t\.cn/\w+")
_TOPIC = re.compile(r"#([^#\s]{1,30})#")
_AT = re.compile(r"@([\w\-]{2,30})")


def weibo_time(when: dt.datetime) -> str:
    """Weibo's `created_at`: `Tue May 31 17:46:55 +0800 2011`."""
    return when.astimezone(SHANGHAI).strftime("%a %b %d %H:%M:%S %z %Y")


def weibo_html(text: str) -> str:
    """Plain text as the API sends it: entities escaped, links, topics and @s as <a>."""
    out = html.escape(text, quote=False)
    out = _LINK.sub(
        lambda m: f'<a href="{m.group(0)}" title="{m.group(0)}" target="_blank">网页链接</a>', out
    )
    out = _TOPIC.sub(
        lambda m: (
            f'<a href="https://s.weibo.com/weibo?q=%23{quote(m.group(1))}%23">#{m.group(1)}#</a>'
        ),
        out,
    )
    return _AT.sub(lambda m: f'<a href="/n/{quote(m.group(1))}">@{m.group(1)}</a>', out)


def count_text(n: int) -> str:
    """Counts as Weibo's web endpoints show them: 9999, 1.2万, 100万+."""
    if n >= 1_000_000:
        return "100万+"
    if n >= 10_000:
        return f"{n / 10_000:.1f}万"
    return str(n)


class Faults:
    """Fault switches for API requests (under /2/ and /wechat/), thread-safe.

    Counters (how many upcoming matching requests fail): `rate_limit` (HTTP 429 with
    error_code 10023 / vendor code 42900 and a Retry-After of `retry_after` seconds),
    `rate_limit_code` (HTTP 403 with error_code `rate_limit_error`, default 10023; the
    vendor answers code 42900), `server_error` (502 HTML page), `malformed` (a truncated
    JSON body), `bad_item` (one broken status or article added to the next result page).
    Switches: `token_expired` (21327 / vendor 40101 until cleared), `slow` (seconds added
    to each matching request, for `slow_requests` requests or until cleared),
    `string_counts` (counts as "1.2万"/"100万+" strings, as the web endpoints send them).
    Targeting: `after` lets that many matching requests through first; `only` limits
    faults to paths containing that text (e.g. "search", "repost_timeline", "wechat").
    """

    COUNTERS = ("rate_limit", "rate_limit_code", "server_error", "malformed", "bad_item")
    DEFAULTS = {
        **dict.fromkeys(COUNTERS, 0),
        "token_expired": False,
        "slow": 0.0,
        "slow_requests": None,
        "string_counts": False,
        "after": 0,
        "only": "",
        "rate_limit_error": 10023,
        "retry_after": 2,
    }

    def __init__(self, initial: dict | None = None):
        self._lock = threading.Lock()
        self._values = dict(self.DEFAULTS)
        self.update(**(initial or {}))

    def update(self, **changes) -> dict:
        unknown = set(changes) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        with self._lock:
            for key, value in changes.items():
                default = self.DEFAULTS[key]
                if isinstance(default, bool):
                    value = (
                        value
                        if isinstance(value, bool)
                        else str(value).lower() in ("1", "true", "yes")
                    )
                elif key in self.COUNTERS or key in ("after", "rate_limit_error"):
                    value = int(value)
                elif key == "slow_requests":
                    value = None if value in (None, "", "none") else int(value)
                elif key in ("slow", "retry_after"):
                    value = float(value)
                else:
                    value = str(value)
                self._values[key] = value
            return dict(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values = dict(self.DEFAULTS)

    def state(self) -> dict:
        with self._lock:
            return dict(self._values)

    def take(self, path: str) -> tuple[str | None, float, bool]:
        """(fault for this request or None, seconds to stall, string counts)."""
        with self._lock:
            v = self._values
            if v["only"] and v["only"] not in path:
                return None, 0.0, False
            if v["after"] > 0:
                v["after"] -= 1
                return None, 0.0, v["string_counts"]
            slow = v["slow"]
            if slow and v["slow_requests"] is not None:
                if v["slow_requests"] > 0:
                    v["slow_requests"] -= 1
                else:
                    slow = 0.0
            if v["token_expired"]:
                return "token_expired", slow, v["string_counts"]
            for name in self.COUNTERS:
                if v[name] > 0:
                    v[name] -= 1
                    return name, slow, v["string_counts"]
            return None, slow, v["string_counts"]


class _Index:
    """One search term's posts in time order, with their created second for windows."""

    __slots__ = ("story", "created", "posts")

    def __init__(self, posts: list[Post], created):
        self.posts = posts
        self.story = [p.story_at for p in posts]
        self.created = [created(p.story_at) for p in posts]


class Simulator:
    def __init__(
        self,
        config,
        seed: int = 0,
        clock: Clock | None = None,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sim-token",
        faults: dict | None = None,
        *,
        span_hours: float = SPAN_HOURS,
        rate: float = 6.0,
        incidents: list[dict] | tuple[dict, ...] | None = DEFAULT_INCIDENTS,
        search_cap: int = SEARCH_CAP,
        index_delay: bool = True,
        deleted_rate: float = 0.01,
        malformed_rate: float = 0.005,
    ):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.config = config
        self.seed = seed
        self.clock = clock or SystemClock()
        self.speed = float(speed)
        self.token = token
        self.search_cap = search_cap
        self.start_at = self.clock.now()
        self._start_ts = self.start_at.timestamp()
        self.posts: list[Post] = build_world(
            config.brands,
            seed=seed,
            span_hours=span_hours,
            rate=rate,
            incidents=incidents,
            deleted_rate=deleted_rate,
            malformed_rate=malformed_rate,
            index_delay=index_delay,
        )
        self.by_id = {p.post_id: p for p in self.posts}
        self._story = [p.story_at for p in self.posts]
        self.faults = Faults(faults)
        self.request_counts: Counter = Counter()
        self.recent_requests: deque = deque(maxlen=2000)
        self._indexes: dict[tuple[str, str], _Index] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def weibo_url(self) -> str:
        """Base URL of the Weibo API (like https://api.weibo.com/2)."""
        return f"{self.base_url}/2"

    @property
    def wechat_url(self) -> str:
        """Base URL of the WeChat vendor feed."""
        return f"{self.base_url}/wechat"

    def start(self) -> Simulator:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def set_faults(self, **faults) -> dict:
        """Switch faults on or off (see `Faults`); returns the fault state."""
        return self.faults.update(**faults)

    def clear_faults(self) -> None:
        self.faults.clear()

    # --- time -----------------------------------------------------------------------------
    def story_now(self) -> float:
        return (self.clock.now() - self.start_at).total_seconds() * self.speed

    def wall_ts(self, story_seconds: float) -> float:
        return self._start_ts + story_seconds / self.speed

    def at(self, story_seconds: float) -> dt.datetime:
        """The clock time of a story moment (what the APIs report)."""
        return dt.datetime.fromtimestamp(self.wall_ts(story_seconds), dt.UTC)

    def created_second(self, story_seconds: float) -> int:
        return math.floor(self.wall_ts(story_seconds))

    def visible(self, platform: str | None = None) -> list[Post]:
        """Posts published so far (searchable or not yet)."""
        end = bisect.bisect_right(self._story, self.story_now())
        return [p for p in self.posts[:end] if platform is None or p.platform == platform]

    def reposts_of(self, post: Post) -> int:
        return post.reposts_at(self.story_now())

    # --- ground truth ------------------------------------------------------------------------
    def served_text(self, post: Post) -> str:
        """The plain text an ingest sees once the HTML is cleaned (long posts truncated)."""
        if post.platform == "wechat":
            return f"{post.title} {post.text}"
        return post.text if len(post.text) <= LONG_TEXT else post.text[:LONG_TEXT]

    def brands_of(self, post: Post) -> list[str]:
        """The configured brands an ingest should file the post under."""
        text = _LINK.sub("网页链接", self.served_text(post))
        return [b.code for b in self.config.brands if b.matches(text)]

    def post_url(self, post: Post) -> str:
        if post.platform == "wechat":
            return f"https://mp.weixin.qq.com/s/{post.post_id}"
        return f"https://weibo.com/{post.user.uid}/{post.post_id}"

    def truth(self, platform: str | None = None) -> dict:
        """Everything published so far: what a perfect ingest stores, and what it skips."""
        now = self.story_now()
        posts = []
        for p in self.visible(platform):
            posts.append(
                {
                    "platform": p.platform,
                    "post_id": p.post_id,
                    "url": self.post_url(p),
                    "kind": p.kind,
                    "scenario": p.scenario,
                    "brand": p.brand_code,
                    "brands": self.brands_of(p),
                    "created_at": self.at(p.story_at).isoformat(),
                    "searchable_at": self.at(p.searchable_at).isoformat(),
                    "searchable": p.searchable_at <= now,
                    "deleted": p.deleted,
                    "malformed": p.malformed,
                    "reposts": p.reposts_at(now),
                    "comments": p.comments_at(now),
                    "author_followers": p.user.followers,
                }
            )
        return {
            "now": self.clock.now().isoformat(),
            "story_seconds": now,
            "speed": self.speed,
            "posts": posts,
        }

    def expected_mentions(self, platform: str | None = None) -> set[tuple[str, str, str]]:
        """(platform, post_id, brand) a perfect ingest has stored by now: searchable,
        not deleted, well-formed, about a configured brand."""
        now = self.story_now()
        return {
            (p.platform, p.post_id, code)
            for p in self.visible(platform)
            if p.searchable_at <= now and not p.deleted and not p.malformed
            for code in self.brands_of(p)
        }

    # --- search index ----------------------------------------------------------------------
    def index(self, platform: str, term: str) -> _Index:
        key = (platform, term)
        with self._lock:
            found = self._indexes.get(key)
        if found is None:
            hits = [
                p
                for p in self.posts
                if p.platform == platform
                and term in (p.text if platform == "weibo" else f"{p.title} {p.text}")
            ]
            found = _Index(hits, self.created_second)
            with self._lock:
                self._indexes[key] = found
        return found

    def search(
        self, platform: str, term: str, start: float, end: float, page: int, count: int
    ) -> tuple[list[Post], int]:
        """One newest-first page of searchable posts created in [start, end] (unix seconds,
        inclusive, by the created second), and the total (uncapped) number of hits."""
        idx = self.index(platform, term)
        now = self.story_now()
        lo = bisect.bisect_left(idx.created, math.ceil(start))
        hi = min(
            bisect.bisect_right(idx.created, math.floor(end)), bisect.bisect_right(idx.story, now)
        )
        if hi <= lo:
            return [], 0
        # posts older than the longest index delay are all searchable; newer ones may not be yet
        cut = min(hi, max(lo, bisect.bisect_left(idx.story, now - MAX_INDEX_DELAY)))
        tail = [p for p in idx.posts[cut:hi] if p.searchable_at <= now]
        total = (cut - lo) + len(tail)
        offset = (page - 1) * count
        stop = min(offset + count, self.search_cap, total)
        out = []
        for k in range(offset, stop):
            out.append(
                tail[len(tail) - 1 - k] if k < len(tail) else idx.posts[cut - 1 - (k - len(tail))]
            )
        return out, total

    # --- Weibo rendering ------------------------------------------------------------------
    def user_json(self, user: User) -> dict:
        rng = random.Random(user.uid)
        city = rng.choice(phrases.CITIES)
        return {
            "id": user.uid,
            "idstr": str(user.uid),
            "class": 1,
            "screen_name": user.name,
            "name": user.name,
            "province": str(rng.randint(11, 65)),
            "city": str(rng.randint(1, 20)),
            "location": city,
            "description": "",
            "url": "",
            "profile_image_url": f"https://tvax{rng.randint(1, 4)}.sinaimg.cn/crop.0.0.180.180.50/{user.uid:x}ly8g.jpg",
            "profile_url": f"u/{user.uid}",
            "domain": "",
            "gender": rng.choice("fm"),
            "followers_count": user.followers,
            "friends_count": rng.randint(20, 1500),
            "statuses_count": rng.randint(10, 30000),
            "favourites_count": rng.randint(0, 500),
            "created_at": weibo_time(
                dt.datetime(
                    2010 + rng.randint(0, 12), rng.randint(1, 12), rng.randint(1, 28), tzinfo=dt.UTC
                )
            ),
            "following": False,
            "allow_all_act_msg": False,
            "geo_enabled": True,
            "verified": user.verified,
            "verified_type": user.verified_type,
            "verified_reason": {
                3: f"{city}媒体官方微博",
                0: "知名博主",
                220: "美食/母婴达人",
                200: "达人",
            }.get(user.verified_type, ""),
            "allow_all_comment": True,
            "bi_followers_count": rng.randint(0, 300),
            "lang": "zh-cn",
            "mbtype": 0,
            "mbrank": 0,
        }

    def _counts(self, post: Post, now: float, as_text: bool) -> dict:
        reposts = post.reposts_at(now)
        comments = post.comments_at(now)
        likes = post.likes_base + int(post.like_ratio * reposts)
        fmt = count_text if as_text else int
        return {
            "reposts_count": fmt(reposts),
            "comments_count": fmt(comments),
            "attitudes_count": fmt(likes),
        }

    def status_json(
        self, post: Post, now: float | None = None, string_counts: bool = False
    ) -> dict:
        now = self.story_now() if now is None else now
        created = weibo_time(self.at(post.story_at))
        if post.deleted:
            return {
                "created_at": created,
                "id": int(post.post_id),
                "idstr": post.post_id,
                "mid": post.post_id,
                "deleted": "1",
                "text": "此微博已被作者删除。",
            }
        long = len(post.text) > LONG_TEXT
        text = weibo_html(post.text[:LONG_TEXT] if long else post.text)
        if long:
            text += f'...<a href="/status/{post.post_id}">全文</a>'
        status = {
            "created_at": created,
            "id": int(post.post_id),
            "idstr": post.post_id,
            "mid": post.post_id,
            "can_edit": False,
            "text": text,
            "textLength": len(post.text) * 2,
            "source_allowclick": 0,
            "source_type": 1,
            "source": f'<a href="http://app.weibo.com/t/feed/6vtZb0" rel="nofollow">{post.source}</a>',
            "favorited": False,
            "truncated": False,
            "in_reply_to_status_id": "",
            "in_reply_to_user_id": "",
            "in_reply_to_screen_name": "",
            "pic_urls": [],
            "geo": None,
            "is_paid": False,
            "user": self.user_json(post.user),
            **self._counts(post, now, string_counts),
            "isLongText": long,
            "visible": {"type": 0, "list_id": 0},
            "mblogtype": 0,
        }
        if post.retweeted is not None:
            status["retweeted_status"] = self.status_json(post.retweeted, now, string_counts)
        if post.malformed == "relative_time":
            status["created_at"] = "5分钟前"
        elif post.malformed == "no_user":
            status["user"] = None
        elif post.malformed == "negative_count":
            status["reposts_count"] = -3
        elif post.malformed == "bad_count":
            status["attitudes_count"] = "很多"
        elif post.malformed == "no_id":
            for key in ("id", "idstr", "mid"):
                status.pop(key)
        return status

    def reposter(self, post: Post, j: int) -> User:
        key = post.seq * PER_CASCADE + j
        uid = 5_000_000_000 + key * 7919 % 1_000_000_000
        followers = post.repost_followers[j]
        rng = random.Random(uid)
        vtype = -1
        if followers >= 1_000_000:
            vtype = rng.choice((3, 0, 220))
        elif followers >= 100_000 and rng.random() < 0.5:
            vtype = 0
        kind = (
            "media"
            if vtype == 3
            else ("kol" if vtype in (0, 220) and followers > 1e6 else "person")
        )
        return User(uid, phrases.nickname(rng, kind), followers, vtype)

    def _repost_text(self, post: Post, j: int) -> str:
        rng = random.Random(REPOST_BASE + post.seq * PER_CASCADE + j)
        return phrases.repost_text(rng, post.brand_name)

    def repost_json(self, post: Post, j: int, root: dict) -> dict:
        rid = REPOST_BASE + post.seq * PER_CASCADE + j
        parent = post.repost_parents[j]
        text = self._repost_text(post, j) or "转发微博"
        item = {
            "created_at": weibo_time(self.at(post.repost_story_times[j])),
            "id": rid,
            "idstr": str(rid),
            "mid": str(rid),
            "text": None,
            "source": '<a href="http://app.weibo.com/t/feed/6vtZb0" rel="nofollow">Android</a>',
            "reposts_count": 0,
            "comments_count": 0,
            "attitudes_count": 0,
            "user": self.user_json(self.reposter(post, j)),
            "retweeted_status": root,
        }
        if parent >= 0:
            item["pid"] = REPOST_BASE + post.seq * PER_CASCADE + parent
            text += f"//@{self.reposter(post, parent).name}:{self._repost_text(post, parent)}"
        item["text"] = weibo_html(text)
        return item

    def official_user(self, post: Post, impostor: bool = False) -> User:
        """The brand's official Weibo account (uid from the config; an enterprise blue V),
        or a look-alike with the same screen name and another uid."""
        brand = next((b for b in self.config.brands if b.code == post.brand_code), None)
        uids = (brand.official_accounts.get("weibo") or ["0"]) if brand else ["0"]
        name = f"{post.brand_name}官方微博"
        if impostor:
            return User(7_100_000_000 + post.seq, name, 35)
        return User(int(uids[0]), name, 860_000, verified_type=2)

    def comment_json(self, post: Post, j: int, status: dict) -> dict:
        cid = COMMENT_BASE + post.seq * PER_CASCADE + j
        rng = random.Random(cid)
        special = post.special_comments.get(j)
        if special:
            user = self.official_user(post, impostor=special == "impostor")
            text = (
                "您好，非常抱歉给您带来不好的体验！已私信您，请提供订单信息，我们马上核实处理。"
                if special == "official"
                else "官方客服在此，私信加V领取赔偿，名额有限"
            )
            return {
                "created_at": weibo_time(self.at(post.comment_story_times[j])),
                "id": cid,
                "idstr": str(cid),
                "mid": str(cid),
                "text": html.escape(text, quote=False),
                "source": "微博 weibo.com",
                "user": self.user_json(user),
                "status": status,
            }
        user = User(
            6_000_000_000 + cid % 1_000_000_000,
            phrases.nickname(rng),
            int(rng.lognormvariate(5.5, 1.5)),
        )
        return {
            "created_at": weibo_time(self.at(post.comment_story_times[j])),
            "id": cid,
            "idstr": str(cid),
            "mid": str(cid),
            "text": html.escape(phrases.comment_text(rng), quote=False),
            "source": '<a href="http://app.weibo.com/t/feed/6vtZb0" rel="nofollow">iPhone客户端</a>',
            "user": self.user_json(user),
            "status": status,
        }

    # --- WeChat rendering --------------------------------------------------------------------
    def article_metrics(self, post: Post, now: float) -> dict:
        age = max(now - post.story_at, 0.0)
        reads = int(post.final_reads * (1 - math.exp(-age / (3 * 3600))))
        reads += int(post.final_reads * 0.2 * min(post.reposts_at(now), 500) / 500)
        return {
            "read_num": min(reads, READS_CAP),
            "like_num": int(reads * post.like_ratio) + (post.likes_base if reads else 0),
            "old_like_num": int(reads * post.like_ratio * 2) + (post.likes_base if reads else 0),
        }

    def article_json(self, post: Post, now: float) -> dict:
        biz = base64.b64encode(str(post.user.uid).encode()).decode()
        return {
            "biz": biz,
            "account_name": post.user.name,
            "title": post.title,
            "digest": post.text[:54],
            "content": "".join(
                f"<p>{html.escape(part)}。</p>" for part in post.text.split("。") if part
            ),
            "url": self.post_url(post),
            "cover": f"https://mmbiz.qpic.cn/mmbiz_jpg/{post.post_id}/0?wx_fmt=jpeg",
            "publish_time": int(self.wall_ts(post.story_at)),
            **self.article_metrics(post, now),
        }


_BAD_STATUS = {
    "created_at": "Tue May 31 17:46:55 +0800 2011",
    "idstr": "",
    "text": "坏数据",
    "user": {},
}
_BAD_ARTICLE = {"title": "无链接的文章", "publish_time": "yesterday", "read_num": -1}


def _handler(sim: Simulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave together: no 40 ms stalls
        wbufsize = 1 << 16

        def log_message(self, *args) -> None:  # quiet: tests and `make run` read their own logs
            pass

        def _send(self, status: int, body: object, headers: dict | None = None) -> None:
            data = (
                body
                if isinstance(body, bytes)
                else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            )
            self.send_response(status)
            ctype = "text/html" if data.startswith(b"<") else "application/json"
            self.send_header("Content-Type", f"{ctype}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _weibo_error(
            self, status: int, code: int, message: str, path: str, headers=None
        ) -> None:
            self._send(status, {"error": message, "error_code": code, "request": path}, headers)

        def _params(self) -> dict:
            url = urlparse(self.path)
            params: dict = {k: v[-1] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if raw:
                if "json" in (self.headers.get("Content-Type") or ""):
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = None
                    if isinstance(body, dict):
                        params.update(body)
                    else:
                        params["_bad_body"] = True
                else:
                    params.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
            return params

        def _token(self, params: dict) -> str:
            header = self.headers.get("Authorization", "")
            if header.startswith(("OAuth2 ", "Bearer ")):
                return header.split(" ", 1)[1].strip()
            return str(params.get("access_token") or params.get("key") or "")

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def _route(self) -> None:
            path = urlparse(self.path).path
            params = self._params()
            if path == "/_sim/truth":
                return self._send(200, sim.truth(params.get("platform") or None))
            if path == "/_sim/faults":
                if self.command == "POST":
                    try:
                        state = sim.set_faults(
                            **{k: v for k, v in params.items() if not k.startswith("_")}
                        )
                    except (TypeError, ValueError) as exc:
                        return self._send(400, {"error": str(exc)})
                    return self._send(200, {"faults": state})
                return self._send(200, {"faults": sim.faults.state()})
            weibo = path.startswith("/2/")
            if not (weibo or path.startswith("/wechat/")):
                return self._send(404, {"error": "not found", "error_code": 10004, "request": path})
            sim.request_counts[path] += 1
            sim.recent_requests.append(path)
            fault, slow, as_text = sim.faults.take(path)
            if slow:
                time.sleep(slow)
            token = self._token(params)
            if fault == "token_expired" or token != sim.token:
                if weibo:
                    if fault == "token_expired":
                        return self._weibo_error(403, 21327, "expired_token", path)
                    code = 21332 if token else 21301
                    return self._weibo_error(
                        403, code, "invalid_access_token" if token else "auth faild!", path
                    )
                return self._send(401, {"code": 40101, "message": "invalid or expired api key"})
            retry = {"Retry-After": f"{sim.faults.state()['retry_after']:g}"}
            if fault == "rate_limit":
                if weibo:
                    return self._weibo_error(
                        429, 10023, "User requests out of rate limit!", path, retry
                    )
                return self._send(429, {"code": 42900, "message": "rate limited"}, retry)
            if fault == "rate_limit_code":
                if weibo:
                    code = sim.faults.state()["rate_limit_error"]
                    message = {
                        10022: "IP requests out of rate limit!",
                        10024: "User requests for (API) out of rate limit!",
                    }.get(code, "User requests out of rate limit!")
                    return self._weibo_error(403, code, message, path)
                return self._send(200, {"code": 42900, "message": "quota exhausted"})
            if fault == "server_error":
                return self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
            if fault == "malformed":
                return self._send(200, b'{"statuses": [{"idstr": "1", "text": "\xe6\xb2')
            try:
                if weibo:
                    return self._weibo(path[3:], params, as_text, bad_item=fault == "bad_item")
                return self._wechat(path[len("/wechat/") :], params, bad_item=fault == "bad_item")
            except (ValueError, KeyError, TypeError) as exc:
                if weibo:
                    return self._weibo_error(
                        400, 10008, f"param error, see doc for more info: {exc}", path
                    )
                return self._send(400, {"code": 40001, "message": f"bad request: {exc}"})

        # --- Weibo ---------------------------------------------------------------------
        def _weibo(self, endpoint: str, params: dict, as_text: bool, bad_item: bool) -> None:
            now = sim.story_now()
            if endpoint == "search/statuses/limited.json":
                count = min(max(int(params.get("count", 10)), 1), 50)
                page = max(int(params.get("page", 1)), 1)
                posts, total = sim.search(
                    "weibo",
                    params["q"],
                    float(params.get("starttime", 0)),
                    float(params.get("endtime", 4e9)),
                    page,
                    count,
                )
                statuses = [sim.status_json(p, now, as_text) for p in posts]
                if bad_item:
                    statuses.insert(0, dict(_BAD_STATUS))
                return self._send(200, {"statuses": statuses, "hits": total, "total_number": total})
            if endpoint == "statuses/count.json":
                ids = [i for i in str(params["ids"]).split(",") if i]
                if len(ids) > 100:
                    return self._weibo_error(
                        400,
                        10017,
                        "parameter (ids)'s value invalid, more than 100 ids",
                        "/2/" + endpoint,
                    )
                out = []
                for post_id in ids:
                    post = sim.by_id.get(post_id)
                    if (
                        post is None
                        or post.platform != "weibo"
                        or post.story_at > now
                        or post.deleted
                    ):
                        continue
                    c = sim._counts(post, now, as_text)
                    out.append(
                        {
                            "id": int(post_id),
                            "idstr": post_id,
                            "reposts": c["reposts_count"],
                            "comments": c["comments_count"],
                            "attitudes": c["attitudes_count"],
                        }
                    )
                return self._send(200, out)
            if endpoint in ("statuses/repost_timeline.json", "comments/show.json"):
                post = sim.by_id.get(str(params["id"]))
                if post is None or post.platform != "weibo" or post.story_at > now:
                    return self._weibo_error(
                        400, 20101, "target weibo does not exist!", "/2/" + endpoint
                    )
                count = min(max(int(params.get("count", 20)), 1), 200)
                page = max(int(params.get("page", 1)), 1)
                base = (
                    REPOST_BASE if endpoint.startswith("statuses") else COMMENT_BASE
                ) + post.seq * PER_CASCADE
                since = int(params.get("since_id") or 0)
                max_id = int(params.get("max_id") or 0)
                visible = (
                    post.reposts_at(now)
                    if endpoint.startswith("statuses")
                    else post.comments_at(now)
                )
                top = visible - 1 if not max_id else min(visible - 1, max_id - base)
                bottom = max(since - base + 1, 0) if since else 0
                total = max(top - bottom + 1, 0)
                first = top - (page - 1) * count
                js = (
                    range(first, max(first - count, bottom - 1), -1)
                    if first >= bottom
                    else range(0)
                )
                root = sim.status_json(post, now, as_text)
                if endpoint.startswith("statuses"):
                    items = [sim.repost_json(post, j, root) for j in js]
                    key = "reposts"
                else:
                    items = [sim.comment_json(post, j, root) for j in js]
                    key = "comments"
                return self._send(
                    200,
                    {
                        key: items,
                        "total_number": total,
                        "previous_cursor": 0,
                        "next_cursor": items[-1]["id"] - 1 if len(items) == count else 0,
                        "hasvisible": False,
                    },
                )
            return self._weibo_error(403, 10014, "Insufficient app permissions!", "/2/" + endpoint)

        # --- WeChat vendor feed --------------------------------------------------------
        def _wechat(self, endpoint: str, params: dict, bad_item: bool) -> None:
            now = sim.story_now()
            if endpoint == "v1/articles":
                size = min(max(int(params.get("page_size", 20)), 1), 50)
                page = max(int(params.get("page", 1)), 1)
                posts, total = sim.search(
                    "wechat",
                    params["keyword"],
                    float(params.get("start", 0)),
                    float(params.get("end", 4e9)),
                    page,
                    size,
                )
                items = [sim.article_json(p, now) for p in posts]
                if bad_item:
                    items.insert(0, dict(_BAD_ARTICLE))
                return self._send(
                    200,
                    {
                        "code": 0,
                        "data": {
                            "items": items,
                            "total": total,
                            "page": page,
                            "has_more": page * size < min(total, sim.search_cap),
                        },
                    },
                )
            if endpoint == "v1/articles/metrics":
                if params.get("_bad_body"):
                    return self._send(400, {"code": 40001, "message": "body must be a JSON object"})
                urls = params.get("urls") or []
                if not isinstance(urls, list) or len(urls) > 50:
                    return self._send(400, {"code": 40001, "message": "urls: a list of at most 50"})
                out = []
                for url in urls:
                    post = sim.by_id.get(str(url).rstrip("/").rsplit("/", 1)[-1])
                    if post is not None and post.platform == "wechat" and post.story_at <= now:
                        out.append({"url": url, **sim.article_metrics(post, now)})
                return self._send(200, {"code": 0, "data": out})
            return self._send(404, {"code": 40400, "message": "unknown endpoint"})

    return Handler
