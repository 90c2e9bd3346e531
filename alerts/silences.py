"""Silences: mute alerts by brand, author, post or keyword until they expire.

As in Alertmanager, a silence is a set of matchers with a start, an expiry, an author and
a comment; it applies while active, and it is a separate stage: the incident still opens,
escalates and resolves, only its notifications are muted. A silence matches an alert when
every matcher it sets matches: brand (code or name), author name, post id, keyword (a
substring of the post's text). The post is the one that caused the event: the lead post of
the incident's open or latest escalation (or the post it reposts), never any other post
grouped into the incident, so silencing one handled post does not hide another post's
escalation (`alerts.stage`).

Values compare as people copy them: NFKC-normalised, case-folded, runs of whitespace as
one space (`normalize`). The alerts show ASCII `_`, `*`, `~` and backquotes as their
full-width look-alikes to keep them inert in Slack mrkdwn; NFKC folds those back, so a
name or keyword copied from an alert matches. Every incident alert shows its post id and
a ready-made `yujing silence add --post ID` (`alerts.render.silence_command`).

A silenced notification is recorded in the log as `silenced`. When the silence ends while
its incident is still open at the same level, the stage sends it then (once: the same row);
one about an incident that resolved meanwhile stays muted.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
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
        k: str(v).strip() for k, v in matchers.items() if k in MATCHER_KEYS and v and normalize(v)
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


def normalize(value: object) -> str:
    """A value as a silence compares it: NFKC (full-width look-alikes and compatibility
    forms become their plain characters), case-folded, whitespace runs as one space."""
    text = unicodedata.normalize("NFKC", str(value if value is not None else ""))
    return " ".join(unicodedata.normalize("NFKC", text.casefold()).split())


def matches(matchers: dict, alert: dict) -> bool:
    """Does a silence with these matchers cover the alert?

    `alert` keys: brand, brand_name, author_name, post_ids (or post_id), text: the post the
    alert is about (`alerts.stage`: the incident's lead post), its whole text.
    """
    if "brand" in matchers and normalize(matchers["brand"]) not in (
        normalize(alert.get("brand")),
        normalize(alert.get("brand_name")),
    ):
        return False
    if "author" in matchers and normalize(matchers["author"]) != normalize(
        alert.get("author_name")
    ):
        return False
    if "post" in matchers:
        posts = set(alert.get("post_ids") or ()) | {alert.get("post_id")}
        if normalize(matchers["post"]) not in {normalize(p) for p in posts if p is not None}:
            return False
    if "keyword" in matchers and normalize(matchers["keyword"]) not in normalize(alert.get("text")):
        return False
    return True


def silenced_by(active: list[dict], alert: dict) -> str | None:
    """The id of the first active silence that matches the alert, or None."""
    for silence in active:
        if matches(silence["matchers"], alert):
            return silence["silence_id"]
    return None
