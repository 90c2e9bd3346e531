"""The HTTP call every platform client shares: retries with jittered backoff on 5xx,
timeouts and garbled bodies, platform errors raised by the client's `check`, and no
secret in any log line or exception message."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import requests

from ingest.errors import MalformedResponse, SourceError

log = logging.getLogger(__name__)

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


class JsonHttp:
    """JSON over HTTP with retries.

    `check(response, body)` raises the platform's own errors (rate limits, bad tokens);
    5xx answers, timeouts, dropped connections and bodies that are not JSON are retried up
    to `max_retries` times, sleeping a full-jitter backoff (uniform in
    [0, min(30, 0.5·2^attempt)] s, or the server's Retry-After when it sends one).
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
    ):
        self.name = name
        self._secret = secret
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_retries = max_retries
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.calls = 0
        self.retries = 0

    def __repr__(self) -> str:
        return f"JsonHttp({self.name!r})"

    def backoff(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), 60.0)
            except ValueError:
                pass
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
