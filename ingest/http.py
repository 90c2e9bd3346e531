"""The HTTP call every platform client shares: retries with jittered backoff on 5xx,
timeouts and garbled bodies, platform errors raised by the client's `check`, and no
secret in any log line or exception message."""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from urllib.parse import quote, quote_plus

import requests

from ingest.errors import MalformedResponse, SourceError
from yujing.clock import Clock, SystemClock

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 24 * 3600.0  # a vendor's daily quota is the longest wait worth honouring
MAX_RETRY_SLEEP = 60.0  # the most a retry sleeps inside a task
# urllib3 logs every request's URL (query string included) at DEBUG
URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")

RAW_KEEP = 100_000  # characters of a malformed body kept for the quarantine
_TRANSIENT = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def redact(text: str, secret: str | None) -> str:
    """`text` without `secret` in any form a message can quote it in: as is, trimmed, as
    repr() and ascii() escape it (requests' InvalidHeader quotes the header value with
    repr, so a token ending in a newline appears as `…token\\n`), and URL-encoded (a
    key sent as a query parameter appears in the URL of connection errors)."""
    if not secret:
        return text
    forms = {secret, secret.strip()}
    forms |= {f(s) for s in tuple(forms) for f in (_repr_body, _ascii_body, quote, quote_plus)}
    for form in sorted(filter(None, forms), key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def _repr_body(text: str) -> str:
    return repr(text)[1:-1]


def _ascii_body(text: str) -> str:
    return ascii(text)[1:-1]


def retry_after_seconds(
    value: str | None, now: dt.datetime, limit: float = MAX_RETRY_AFTER
) -> float | None:
    """Seconds a Retry-After header asks for: RFC 9110 allows delay-seconds or an
    HTTP-date, which is read against `now` (the injected clock, so replays agree). None
    when absent or unreadable; clamped to [0, limit], so a garbled or far-future value
    can neither overflow a timedelta nor silence a platform for days."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000": an HTTP-date is always GMT
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), limit)


class _RedactUrls(logging.Filter):
    """Strips secrets out of urllib3's DEBUG lines. A key sent as a query parameter is in
    every URL urllib3 logs (`"GET /v1/articles?...&key=<secret>"`), which Airflow writes
    to the task log at DEBUG: the secret itself, in any quoting, and the value of any
    parameter that carries one become `***`; the line is otherwise kept."""

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._names: set[str] = set()
        self.secrets: tuple[str, ...] = ()  # replaced whole: filter() reads it unlocked
        self.params: re.Pattern | None = None

    def add(self, secret: str | None, params: Iterable[str] = ()) -> None:
        with self._lock:
            # every client's secret applies to every urllib3 line: a toy one ("tok") would
            # mangle them all; a short key sent in the URL is still masked by its `params`
            if secret and len(secret.strip()) >= 8 and secret not in self.secrets:
                self.secrets = (*self.secrets, secret)
            self._names.update(params)
            if self._names:
                names = "|".join(sorted(re.escape(quote_plus(n)) for n in self._names))
                self.params = re.compile(rf"(?<=[?&])((?:{names})=)[^&\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's to report, not ours
            return True
        clean = message
        for secret in self.secrets:
            clean = redact(clean, secret)
        if self.params is not None:
            clean = self.params.sub(r"\1***", clean)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_URL_FILTER = _RedactUrls()


def hide_in_url_logs(secret: str | None, params: Iterable[str] = ()) -> None:
    """Keep `secret` (and the values of the query parameters `params`) out of the URLs
    urllib3 logs; for the whole process, as urllib3's loggers are."""
    _URL_FILTER.add(secret, params)
    for name in URL_LOGGERS:
        logging.getLogger(name).addFilter(_URL_FILTER)  # a no-op once added


class JsonHttp:
    """JSON over HTTP with retries.

    `check(response, body)` raises the platform's own errors (rate limits, bad tokens);
    5xx answers, timeouts, dropped connections and bodies that are not JSON are retried up
    to `max_retries` times, sleeping a full-jitter backoff (uniform in
    [0, min(30, 0.5·2^attempt)] s, or the server's Retry-After when it sends one, up
    to a minute). `clock` reads Retry-After dates; `secret_params` are query parameters
    that carry the secret, masked in urllib3's URL logs as the secret itself is.
    """

    def __init__(
        self,
        name: str,
        secret: str | None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Clock | None = None,
        secret_params: Iterable[str] = (),
    ):
        self.name = name
        self._secret = secret
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_retries = max_retries
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.clock = clock or SystemClock()
        self.calls = 0
        self.retries = 0
        hide_in_url_logs(secret, secret_params)

    def __repr__(self) -> str:
        return f"JsonHttp({self.name!r})"

    def retry_after(self, response, limit: float = MAX_RETRY_AFTER) -> float | None:
        """The response's Retry-After in seconds from now (see `retry_after_seconds`)."""
        return retry_after_seconds(response.headers.get("Retry-After"), self.clock.now(), limit)

    def backoff(self, attempt: int, retry_after: str | None = None) -> float:
        wait = retry_after_seconds(retry_after, self.clock.now(), MAX_RETRY_SLEEP)
        if wait is not None:
            return wait
        return self.rng.uniform(0, min(30.0, 0.5 * 2**attempt))

    def request(self, method: str, url: str, check: Callable, **kwargs):
        """Send, retrying transient failures; returns the decoded JSON body."""
        last, raw = "", ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.retries += 1
            self.calls += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except _TRANSIENT as exc:
                last = type(exc).__name__
                log.warning("%s: %s on %s (attempt %d)", self.name, last, url, attempt + 1)
                if attempt < self.max_retries:
                    self.sleep(self.backoff(attempt))
                continue
            except requests.RequestException as exc:  # invalid URL and the like: no retry
                raise SourceError(
                    f"{self.name}: {type(exc).__name__}: {redact(str(exc), self._secret)}"
                ) from None
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                log.warning("%s: %s on %s (attempt %d)", self.name, last, url, attempt + 1)
                if attempt < self.max_retries:
                    self.sleep(self.backoff(attempt, response.headers.get("Retry-After")))
                continue
            try:
                body = response.json()
            except ValueError:
                body = None
            check(response, body)  # raises RateLimited / TokenExpired / SourceError
            if body is None:
                last = "malformed JSON"
                raw = redact(response.text[:RAW_KEEP], self._secret)
                log.warning("%s: malformed JSON from %s (attempt %d)", self.name, url, attempt + 1)
                if attempt < self.max_retries:
                    self.sleep(self.backoff(attempt))
                continue
            return body
        if last == "malformed JSON":
            raise MalformedResponse(f"{self.name}: {url} kept answering malformed JSON", raw)
        raise SourceError(f"{self.name}: {url} failed after {self.max_retries + 1} tries ({last})")
