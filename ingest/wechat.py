"""WeChat official-account articles from a data vendor (WeChat has no public search).

    client = WeChatClient("https://vendor.example.com", api_key, conn_id="wechat_default")

The contract (ingest/WECHAT_CONTRACT.md) is the shape vendors sell: articles by keyword
and time window, newest first, with `read_num` (阅读), `like_num` (在看) and
`old_like_num` (点赞), plus a metrics refresh by article URL. A real vendor whose API
differs plugs in through `FieldMap`: request parameter names, where the items, total,
has_more and error code sit in the answer (dotted paths), each article field's name, the
time format and how the key is sent. Nothing else changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import requests

from ingest.errors import RateLimited, SourceError, TokenExpired
from ingest.http import JsonHttp
from ingest.weibo import Page
from ingest.weibo_parse import (
    MAX_FUTURE,
    Mention,
    ParseError,
    clean_html,
    parse_count,
    text_field,
)
from yujing.clock import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
WECHAT_EPOCH = dt.datetime(2012, 8, 1, tzinfo=dt.UTC)  # official accounts opened Aug 2012
READS_CAP = 100_001  # WeChat stops counting reads here and shows "10万+"
MAX_ID = 64  # mentions.author_id is VARCHAR(64)


@dataclass(frozen=True)
class FieldMap:
    """How one vendor spells the contract. Defaults: ingest/WECHAT_CONTRACT.md."""

    # requests
    search_path: str = "/v1/articles"
    metrics_path: str = "/v1/articles/metrics"
    keyword: str = "keyword"
    start: str = "start"
    end: str = "end"
    page: str = "page"
    page_size: str = "page_size"
    metrics_urls: str = "urls"
    max_page_size: int = 50
    metrics_batch: int = 50
    auth: str = "bearer"  # "bearer" (Authorization header) or "param:NAME" (query param)
    # answers (dotted paths into the JSON)
    code: str = "code"
    ok_codes: tuple = (0,)
    rate_limit_codes: tuple = (42900,)
    auth_codes: tuple = (40101,)
    items: str = "data.items"
    total: str = "data.total"
    has_more: str = "data.has_more"  # absent: a short page is the last
    metrics: str = "data"
    # article fields
    biz: str = "biz"
    account: str = "account_name"
    title: str = "title"
    digest: str = "digest"
    content: str = "content"
    url: str = "url"
    publish_time: str = "publish_time"
    time_format: str = "unix"  # "unix", "unix_ms", or a strptime format (China time unless %z)
    reads: str = "read_num"
    looks: str = "like_num"  # 在看
    likes: str = "old_like_num"  # 点赞


def dig(obj, path: str):
    """obj["a"]["b"] for path "a.b"; None when any step is missing."""
    for key in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def read_count(value, field: str = "read_num") -> int | None:
    """A WeChat read count: as `parse_count`, except that a capped count ("10万+", or any
    count of 10万 or more with a "+") is the cap, 100001, as the number form says it: read
    as 100000 it would drop by one between a search and a refresh."""
    count = parse_count(value, field)
    if isinstance(value, str) and value.strip().endswith("+") and count >= READS_CAP - 1:
        return READS_CAP
    return count


def account_id(value, field: str = "biz") -> str | None:
    """The official account's id (`biz`) as `author_id`. A number is taken as its digits;
    an id longer than the column becomes a stable hash of it: the article is still a real
    mention (quarantining it would hide it from the PR team) and one account keeps one id."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    value = text_field(value, field)
    if not value:
        return None
    if len(value) > MAX_ID:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return value


def article_id(url: str) -> str:
    """A stable id for an article URL: the short link's token (`/s/<token>`), else
    `<__biz>_<mid>_<idx>` of the long form, else a hash of the URL."""
    parsed = urlparse(url.strip())
    if parsed.path.startswith("/s/") and len(parsed.path) > 3:
        token = parsed.path[3:].strip("/")
        if re.fullmatch(r"[\w\-]{6,64}", token):
            return token
    query = parse_qs(parsed.query)
    if all(k in query for k in ("__biz", "mid", "idx")):
        key = f"{query['__biz'][0]}_{query['mid'][0]}_{query['idx'][0]}"
        if len(key) <= 64 and re.fullmatch(r"[\w\-=+/]+", key):
            return key
    return hashlib.sha256(url.strip().encode()).hexdigest()[:32]


class WeChatClient:
    platform = "wechat"
    search_cap = 1000  # vendors cap deep paging too; the ingest run splits windows past it
    page_size = 50

    def __init__(
        self,
        base_url: str,
        api_key: str,
        session: requests.Session | None = None,
        timeout: float = 10,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 4,
        conn_id: str = "wechat_default",
        fields: FieldMap | None = None,
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ):
        api_key = (api_key or "").strip()  # a key from a secret file may end in a newline
        if not api_key:
            raise TokenExpired(
                f"no WeChat vendor API key: set it as the password of the Airflow Connection "
                f"{conn_id!r}",
                conn_id,
            )
        self.base_url = base_url.rstrip("/")
        self.conn_id = conn_id
        self.fields = fields or FieldMap()
        self.page_size = min(self.page_size, self.fields.max_page_size)
        self._key = api_key
        self.http = JsonHttp(
            f"wechat[{conn_id}]",
            api_key,
            session,
            timeout,
            max_retries,
            sleep,
            rng,
            clock,
            secret_params=self._auth()[1],  # a key in the URL: kept out of urllib3's logs
        )

    def __repr__(self) -> str:
        return f"WeChatClient({self.base_url!r}, conn_id={self.conn_id!r})"

    def _auth(self) -> tuple[dict, dict]:
        if self.fields.auth.startswith("param:"):
            return {}, {self.fields.auth.split(":", 1)[1]: self._key}
        return {"Authorization": f"Bearer {self._key}"}, {}

    def _check(self, response, body) -> None:
        f = self.fields
        code = dig(body, f.code) if isinstance(body, dict) else None
        if response.status_code == 401 or code in f.auth_codes:
            raise TokenExpired(
                f"the WeChat vendor rejected the API key (code {code or 401}): renew it in "
                f"the Airflow Connection {self.conn_id!r}",
                self.conn_id,
                code,
            )
        if response.status_code == 429 or code in f.rate_limit_codes:
            raise RateLimited(
                f"WeChat vendor rate limit (HTTP {response.status_code}, code {code}): "
                "stopping this run",
                self.http.retry_after(response),
                code,
            )
        if response.status_code >= 400 or (body is not None and code not in (None, *f.ok_codes)):
            raise SourceError(f"WeChat vendor error {code or response.status_code}")

    def search(
        self, q: str, start: dt.datetime, end: dt.datetime, page: int = 1, count: int = 50
    ) -> Page:
        """One page of articles published in [start, end] mentioning `q`, newest first."""
        f = self.fields
        headers, auth = self._auth()
        body = self.http.request(
            "GET",
            f"{self.base_url}{f.search_path}",
            self._check,
            params={
                f.keyword: q,
                f.start: int(start.timestamp()),
                f.end: int(end.timestamp()),
                f.page: page,
                f.page_size: min(count, f.max_page_size),
                **auth,
            },
            headers=headers,
        )
        items = dig(body, f.items)
        if not isinstance(items, list):
            raise SourceError(f"WeChat vendor answered without {f.items}")
        total = dig(body, f.total)
        more = dig(body, f.has_more)
        return Page(
            items,
            total if isinstance(total, int) and not isinstance(total, bool) else None,
            bool(more) if isinstance(more, bool | int) else None,
        )

    def metrics(self, urls: list[str]) -> list[dict]:
        """Fresh metrics by article URL, as {"url", "read_num", "like_num", "old_like_num"}
        (the contract's names, whatever the vendor calls them)."""
        f = self.fields
        headers, auth = self._auth()
        out = []
        for i in range(0, len(urls), f.metrics_batch):
            body = self.http.request(
                "POST",
                f"{self.base_url}{f.metrics_path}",
                self._check,
                json={f.metrics_urls: urls[i : i + f.metrics_batch]},
                params=auth,
                headers=headers,
            )
            data = dig(body, f.metrics)
            if not isinstance(data, list):
                raise SourceError(f"WeChat vendor metrics answered without {f.metrics}")
            for item in data:
                if isinstance(item, dict):
                    out.append(
                        {
                            "url": item.get(f.url),
                            "read_num": item.get(f.reads),
                            "like_num": item.get(f.looks),
                            "old_like_num": item.get(f.likes),
                        }
                    )
        return out

    def _time(self, value) -> dt.datetime:
        fmt = self.fields.time_format
        try:
            if fmt == "unix":
                return dt.datetime.fromtimestamp(float(value), dt.UTC)
            if fmt == "unix_ms":
                return dt.datetime.fromtimestamp(float(value) / 1000, dt.UTC)
            when = dt.datetime.strptime(str(value), fmt)
            if when.tzinfo is None:  # a format without %z: the vendor's times are China time
                when = when.replace(tzinfo=SHANGHAI)
            return when.astimezone(dt.UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            raise ParseError(f"unreadable publish_time {value!r}") from None

    def parse(self, item, now: dt.datetime | None = None) -> Mention:
        """One vendor article as a Mention (ParseError with the reason otherwise)."""
        f = self.fields
        if not isinstance(item, dict):
            raise ParseError(f"article is not an object but {type(item).__name__}")
        url = dig(item, f.url)
        if not url or not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ParseError(f"article without a usable url ({url!r})")
        published = self._time(dig(item, f.publish_time))
        if published < WECHAT_EPOCH:
            raise ParseError(
                f"publish_time {dig(item, f.publish_time)!r} is before WeChat articles existed"
            )
        if now is not None and published > now + MAX_FUTURE:
            raise ParseError(f"publish_time {dig(item, f.publish_time)!r} is in the future")
        # every text field typed, even the one not used: a list or a number is a malformed
        # article, refused with the field's name rather than failing its page's insert
        title = clean_html(text_field(dig(item, f.title), f.title) or "")
        content = text_field(dig(item, f.content), f.content)
        digest = text_field(dig(item, f.digest), f.digest)
        author_name = text_field(dig(item, f.account), f.account)
        body = clean_html(content or digest or "")
        if not title and not body:
            raise ParseError("article without title or text")
        return Mention(
            platform="wechat",
            post_id=article_id(url),
            text=f"{title}\n{body}".strip(),
            title=title or None,
            created_at=published,
            author_id=account_id(dig(item, f.biz), f.biz),
            author_name=author_name,
            author_followers=None,
            author_verified=True,  # official accounts are registered entities
            verified_type=None,
            url=url,
            root_id=None,
            parent_id=None,
            reposts=None,
            comments=None,
            likes=parse_count(dig(item, f.likes), "old_like_num"),
            reads=read_count(dig(item, f.reads)),
            looks=parse_count(dig(item, f.looks), "like_num"),
        )
