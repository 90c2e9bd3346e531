"""Weibo Open Platform v2 client: keyword search, metric refresh, repost timelines.

    client = WeiboClient("https://api.weibo.com/2", access_token, conn_id="weibo_default")

In production the base URL and token come from the Airflow Connection `weibo_default`
(host + schema, password); against the simulator they are `Simulator.weibo_url` and
`Simulator.token`. The token travels in the `Authorization: OAuth2 …` header Weibo
accepts, never in a URL, so no access log or debug line can leak it; it is not in the
client's repr or in any exception message.

Platform errors become exceptions the ingest run acts on: HTTP 429, error codes
10022/10023/10024 and a bare HTTP 403 → RateLimited (with the Retry-After, if sent: seconds
or an HTTP date, read against the injected `clock`); 21327/21332 (and the
other 213xx token errors) → TokenExpired naming the Connection; 5xx, timeouts and
garbled JSON are retried with jittered backoff (ingest.http.JsonHttp).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable

import requests

from ingest.errors import PostGone, RateLimited, SourceError, TokenExpired
from ingest.http import JsonHttp
from ingest.weibo_parse import Mention, parse_status
from yujing.clock import Clock

RATE_LIMIT_CODES = {10022, 10023, 10024}  # IP / user / user-per-API hourly limits
TOKEN_CODES = {21301, 21314, 21315, 21316, 21317, 21319, 21327, 21332}
SEARCH_PAGE_SIZE = 50  # the most search/statuses/limited returns per page
SEARCH_CAP = 1000  # Weibo search returns no more than this per query and window
GONE_CODES = {20101, 20112, 20132}  # target weibo does not exist / not allowed / not visible
COUNTS_BATCH = 100  # statuses/count takes at most 100 ids
REPOST_PAGE_SIZE = 200


class Page(list):
    """A page of items (a plain list) that also carries the API's `total_number`, and
    whether the API says more pages follow (`has_more`; None when it does not say, as
    Weibo never does: then a short page is the last)."""

    total: int | None = None
    has_more: bool | None = None

    def __init__(self, items=(), total: int | None = None, has_more: bool | None = None):
        super().__init__(items)
        self.total = total
        self.has_more = has_more


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class WeiboClient:
    platform = "weibo"
    search_cap = SEARCH_CAP
    page_size = SEARCH_PAGE_SIZE

    def __init__(
        self,
        base_url: str,
        access_token: str,
        session: requests.Session | None = None,
        timeout: float = 10,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 4,
        conn_id: str = "weibo_default",
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ):
        # A token read from a secret file often ends in a newline: sent as is, it makes an
        # invalid header (and an exception quoting it).
        access_token = (access_token or "").strip()
        if not access_token:
            raise TokenExpired(
                f"no Weibo access token: set it as the password of the Airflow Connection "
                f"{conn_id!r}",
                conn_id,
            )
        self.base_url = base_url.rstrip("/")
        self.conn_id = conn_id
        self._token = access_token
        self.http = JsonHttp(
            f"weibo[{conn_id}]", access_token, session, timeout, max_retries, sleep, rng, clock
        )

    def __repr__(self) -> str:
        return f"WeiboClient({self.base_url!r}, conn_id={self.conn_id!r})"

    # --- transport ------------------------------------------------------------------------
    def _check(self, response, body) -> None:
        code = _int_or_none(body.get("error_code")) if isinstance(body, dict) else None
        message = body.get("error", "") if isinstance(body, dict) else ""
        if code in TOKEN_CODES or (response.status_code == 401 and code is None):
            raise TokenExpired(
                f"Weibo rejected the access token (error {code or 401}: {message or 'unauthorized'}): "
                f"renew it in the Airflow Connection {self.conn_id!r}",
                self.conn_id,
                code,
            )
        if (
            response.status_code == 429
            or code in RATE_LIMIT_CODES
            or (response.status_code == 403 and code is None)
        ):
            raise RateLimited(
                f"Weibo rate limit (HTTP {response.status_code}, error {code}: {message}): "
                "stopping this run",
                self.http.retry_after(response),
                code,
            )
        if code in GONE_CODES:
            raise PostGone(f"Weibo error {code}: {message}")
        if code is not None or response.status_code >= 400:
            raise SourceError(
                f"Weibo error {code or response.status_code}: {message or 'unexpected response'} "
                f"({response.request.path_url.split('?')[0] if response.request else ''})"
            )

    def _get(self, endpoint: str, **params):
        return self.http.request(
            "GET",
            f"{self.base_url}/{endpoint}",
            self._check,
            params=params,
            headers={"Authorization": f"OAuth2 {self._token}"},
        )

    # --- endpoints ------------------------------------------------------------------------
    def search(
        self,
        q: str,
        start: dt.datetime,
        end: dt.datetime,
        page: int = 1,
        count: int = SEARCH_PAGE_SIZE,
    ) -> Page:
        """One page of `search/statuses/limited.json`: statuses created in [start, end]
        (unix seconds, both inclusive) containing `q`, newest first."""
        body = self._get(
            "search/statuses/limited.json",
            q=q,
            starttime=int(start.timestamp()),
            endtime=int(end.timestamp()),
            count=count,
            page=page,
            sort="time",
        )
        statuses = body.get("statuses") if isinstance(body, dict) else None
        if not isinstance(statuses, list):
            raise SourceError("Weibo search answered without a `statuses` list")
        return Page(statuses, _int_or_none(body.get("total_number")))

    def counts(self, ids: list[str]) -> list[dict]:
        """`statuses/count.json` for any number of ids (100 per call): `id`, `reposts`,
        `comments`, `attitudes` of each post that still exists."""
        out: list[dict] = []
        ids = [str(i) for i in ids]
        for i in range(0, len(ids), COUNTS_BATCH):
            body = self._get("statuses/count.json", ids=",".join(ids[i : i + COUNTS_BATCH]))
            if not isinstance(body, list):
                raise SourceError("Weibo statuses/count answered without a list")
            out.extend(body)
        return out

    def repost_timeline(
        self,
        id: str,  # noqa: A002 - the API's parameter name
        page: int = 1,
        count: int = REPOST_PAGE_SIZE,
        since_id: str | int | None = None,
        max_id: str | int | None = None,
    ) -> Page:
        """One page of `statuses/repost_timeline.json`: reposts of `id` newer than
        `since_id` (and not newer than `max_id`), newest first."""
        params = {"id": str(id), "count": count, "page": page}
        if since_id:
            params["since_id"] = str(since_id)
        if max_id:
            params["max_id"] = str(max_id)
        body = self._get("statuses/repost_timeline.json", **params)
        reposts = body.get("reposts") if isinstance(body, dict) else None
        if not isinstance(reposts, list):
            raise SourceError("Weibo repost_timeline answered without a `reposts` list")
        return Page(reposts, _int_or_none(body.get("total_number")))

    def comments(
        self,
        id: str,  # noqa: A002 - the API's parameter name
        page: int = 1,
        count: int = 50,
        since_id: str | int | None = None,
    ) -> Page:
        """One page of `comments/show.json`, newest first."""
        params = {"id": str(id), "count": count, "page": page}
        if since_id:
            params["since_id"] = str(since_id)
        body = self._get("comments/show.json", **params)
        comments = body.get("comments") if isinstance(body, dict) else None
        if not isinstance(comments, list):
            raise SourceError("Weibo comments/show answered without a `comments` list")
        return Page(comments, _int_or_none(body.get("total_number")))

    @staticmethod
    def parse(item, now: dt.datetime | None = None) -> Mention:
        return parse_status(item, now)
