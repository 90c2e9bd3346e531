"""Silences: mute alerts by brand, author, post or keyword until they expire.

As in Alertmanager, a silence is a set of matchers with a start, an expiry, an author and
a comment; it applies while active, and it is a separate stage: the incident still opens,
escalates and resolves, only its notifications are muted. A silence matches an alert when
every matcher it sets matches: brand (code or name), author name, post id (the root post
or any post of the incident), keyword (a substring of a post's text, case-insensitive).
A silenced notification is recorded in the log as `silenced` and never sent later for
the same event; the next event (an escalation, say) is checked again.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from sqlalchemy import Connection, select, update

from warehouse.schema import silences

MATCHER_KEYS = ("brand", "author", "post", "keyword")


def add_silence(
    conn: Connection,
    matchers: dict,
    until: dt.datetime,
    now: dt.datetime,
    created_by: str,
    comment: str,
) -> str:
    """Store a silence active from `now` to `until`; returns its id."""
    matchers = {
        k: str(v).strip() for k, v in matchers.items() if k in MATCHER_KEYS and v and str(v).strip()
    }
    if not matchers:
        raise ValueError("a silence needs at least one of --brand, --author, --post, --keyword")
    if until <= now:
        raise ValueError("a silence must expire in the future")
    silence_id = uuid.uuid4().hex[:12]
    conn.execute(
        silences.insert().values(
            silence_id=silence_id,
            matchers=json.dumps(matchers, ensure_ascii=False, sort_keys=True),
            starts_at=now,
            expires_at=until,
            created_by=created_by[:100],
            comment=comment,
        )
    )
    return silence_id


def _decode(row) -> dict:
    return {**row, "matchers": json.loads(row["matchers"])}


def active_silences(conn: Connection, now: dt.datetime) -> list[dict]:
    rows = conn.execute(
        select(silences)
        .where(silences.c.starts_at <= now, silences.c.expires_at > now)
        .order_by(silences.c.starts_at, silences.c.silence_id)
    ).mappings()
    return [_decode(r) for r in rows]


def all_silences(conn: Connection) -> list[dict]:
    rows = conn.execute(
        select(silences).order_by(silences.c.expires_at.desc(), silences.c.silence_id)
    ).mappings()
    return [_decode(r) for r in rows]


def expire_silence(conn: Connection, silence_id: str, now: dt.datetime) -> bool:
    """End an active silence now; False when there is no such active silence."""
    result = conn.execute(
        update(silences)
        .where(silences.c.silence_id == silence_id, silences.c.expires_at > now)
        .values(expires_at=now)
    )
    return result.rowcount == 1


def matches(matchers: dict, alert: dict) -> bool:
    """Does a silence with these matchers cover the alert?

    `alert` keys: brand, brand_name, author_name, post_ids (or post_id), text.
    """
    if "brand" in matchers and matchers["brand"] not in (
        alert.get("brand"),
        alert.get("brand_name"),
    ):
        return False
    if "author" in matchers and matchers["author"] != (alert.get("author_name") or ""):
        return False
    if "post" in matchers:
        posts = set(alert.get("post_ids") or ()) | {alert.get("post_id")}
        if matchers["post"] not in posts:
            return False
    if (
        "keyword" in matchers
        and matchers["keyword"].casefold() not in (alert.get("text") or "").casefold()
    ):
        return False
    return True


def silenced_by(active: list[dict], alert: dict) -> str | None:
    """The id of the first active silence that matches the alert, or None."""
    for silence in active:
        if matches(silence["matchers"], alert):
            return silence["silence_id"]
    return None
