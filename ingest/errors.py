"""What can go wrong talking to a platform, as exceptions the ingest run acts on."""

from __future__ import annotations


class SourceError(RuntimeError):
    """A platform call that failed for good (after retries)."""


class RateLimited(SourceError):
    """The platform asked us to slow down: stop this run cleanly, resume next run.

    `retry_after`: seconds the platform asked us to wait (Retry-After), if it said.
    """

    def __init__(self, message: str, retry_after: float | None = None, code: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.code = code


class TokenExpired(SourceError):
    """The access token is expired or invalid: nothing works until ops renew it in the
    Airflow Connection `conn_id` (the message names it)."""

    def __init__(self, message: str, conn_id: str | None = None, code: int | None = None):
        super().__init__(message)
        self.conn_id = conn_id
        self.code = code


class MalformedResponse(SourceError):
    """The platform kept answering something that is not the documented JSON; `raw` is
    (the start of) the body, for the quarantine."""

    def __init__(self, message: str, raw: str = ""):
        super().__init__(message)
        self.raw = raw


class PostGone(SourceError):
    """The post asked about no longer exists or is no longer visible (deleted, hidden)."""
