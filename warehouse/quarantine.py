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


def quarantine_item(
    conn: Connection, source: str, reason: str, raw: object, now: dt.datetime
) -> bool:
    """Store one rejected item; the same payload from the same source is kept once.

    Returns True when the item was new.
    """
    text = raw_text(raw)
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    row = {
        "source": source,
        "reason": reason[:2000],
        "payload_hash": digest,
        "raw": text,
        "received_at": now,
    }
    return insert_ignore(conn, quarantine, [row], keys=["source", "payload_hash"]) == 1
