"""Rejected input, kept with the reason so nothing is silently lost."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import Connection

from warehouse.schema import quarantine
from warehouse.writes import insert_ignore


def raw_text(raw: object) -> str:
    """The payload as stored: text stays text, anything else becomes JSON."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        return raw
    return json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str)


def quarantine_key(text: str, reason: str, post_id: str | None = None) -> str:
    """The `payload_hash` that keys a rejected item (with its source): for an item with a
    post id, SHA-256 of the post id and the reason, so the same bad post read again with
    other counts (ingest re-reads an overlap window; reposts and likes grow) is the same
    row; for one without, SHA-256 of the whole payload."""
    if post_id:
        text = json.dumps(["post", post_id, reason], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def quarantine_item(
    conn: Connection,
    source: str,
    reason: str,
    raw: object,
    now: dt.datetime,
    *,
    post_id: str | None = None,
) -> bool:
    """Store one rejected item, once: an item with a `post_id` once per source, post and
    reason, whatever else in it changed; one without, once per source and payload. The
    row keeps the first payload and when it was first rejected (later copies are not
    stored: nothing is updated).

    Returns True when the item was new.
    """
    text = raw_text(raw)
    reason = reason[:2000]
    row = {
        "source": source,
        "reason": reason,
        "payload_hash": quarantine_key(text, reason, post_id),
        "raw": text,
        "received_at": now,
    }
    return insert_ignore(conn, quarantine, [row], keys=["source", "payload_hash"]) == 1
