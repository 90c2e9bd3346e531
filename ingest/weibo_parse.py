"""Weibo statuses as the platform sends them, parsed into `Mention`s.

Handles `idstr`/`mid`/`id`, `created_at` like `Tue May 31 17:46:55 +0800 2011`, HTML text
(entities, `<a>` links, topics and @mentions), counts as ints or as the strings the web
endpoints send (`"1.2万"`, `"100万+"`), users (`followers_count`, `verified`,
`verified_type`), reposts (`retweeted_status`, `pid`), long posts (`isLongText`, with
`longText.longTextContent` when the API includes it) and deleted posts (`deleted: "1"`).
Anything unusable or absurd raises ParseError whose message is the quarantine reason.
Text is made storable on the way (`storable`): no NUL, no lone UTF-16 surrogate.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(万|w|W|亿|k|K)?\s*\+?\s*$")
_UNITS = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "k": 1_000, "K": 1_000}
WEIBO_EPOCH = dt.datetime(2009, 8, 1, tzinfo=dt.UTC)  # Sina Weibo opened on 14 Aug 2009
MAX_COUNT = 10**10  # more than all Weibo accounts: anything above is garbage
MAX_FUTURE = dt.timedelta(hours=1)  # tolerated clock skew for "created in the future"
_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ParseError(ValueError):
    """An item that cannot be stored; the message is the quarantine reason."""


def quarantine_reason(exc: Exception) -> str:
    """Why an item was set aside: a ParseError's own message; for anything else (a field
    of a type nobody expected, caught so one item cannot sink its page) the exception's
    type and message, so the quarantine says what broke."""
    if isinstance(exc, ParseError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def storable(text: str) -> str:
    """`text` as every warehouse can store it. PostgreSQL refuses NUL in text (dropped);
    no database takes a lone UTF-16 surrogate, which Weibo's 140-character cut leaves
    when it splits an emoji's pair (a split pair is joined again, a lone half becomes
    U+FFFD)."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


@dataclass
class Mention:
    """One post as the warehouse stores it (before brand assignment)."""

    platform: str
    post_id: str
    text: str
    created_at: dt.datetime
    author_id: str | None
    author_name: str | None
    author_followers: int | None
    author_verified: bool
    verified_type: int | None
    url: str | None
    root_id: str | None
    parent_id: str | None
    reposts: int | None
    comments: int | None
    likes: int | None
    title: str | None = None
    reads: int | None = None
    looks: int | None = None
    deleted: bool = False
    is_long_text: bool = False


ParsedPost = Mention  # the name of the first version


def parse_count(value, field: str = "count") -> int | None:
    """123, "123", "1.2万", "100万+", "3亿", "1,234" → int; None/"" → None; garbage,
    negative or absurd values → ParseError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ParseError(f"{field} is a boolean: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ParseError(f"{field} is not a number: {value!r}")
        number = int(value)
    else:
        match = _COUNT.match(str(value).replace(",", ""))
        if not match:
            raise ParseError(f"unreadable {field} {value!r}")
        number = int(float(match.group(1)) * _UNITS.get(match.group(2) or "", 1))
    if number < 0:
        raise ParseError(f"negative {field} {value!r}")
    if number > MAX_COUNT:
        raise ParseError(f"absurd {field} {value!r}")
    return number


def parse_weibo_time(value, now: dt.datetime | None = None) -> dt.datetime:
    """`Tue May 31 17:46:55 +0800 2011` → aware UTC; relative ("5分钟前") and impossible
    times raise ParseError."""
    try:
        when = dt.datetime.strptime(str(value), "%a %b %d %H:%M:%S %z %Y").astimezone(dt.UTC)
    except ValueError:
        raise ParseError(f"unreadable created_at {value!r}") from None
    if when < WEIBO_EPOCH:
        raise ParseError(f"created_at {value!r} is before Weibo existed")
    if now is not None and when > now + MAX_FUTURE:
        raise ParseError(f"created_at {value!r} is in the future")
    return when


def clean_html(text: str) -> str:
    """Text as a reader sees it: tags dropped (link text kept), entities decoded, and
    storable."""
    text = storable(text or "").replace("<br />", "\n").replace("<br/>", "\n").replace("<br>", "\n")
    return _SPACE.sub(" ", html.unescape(_TAG.sub("", text))).strip()


def mid_to_bid(mid: str) -> str:
    """A status mid as the base62 id in its weibo.com URL (`4950000000537651` → `Q4kv…`)."""
    digits = str(mid)
    parts = []
    for end in range(len(digits), 0, -7):
        start = max(end - 7, 0)
        number, chunk = int(digits[start:end]), ""
        while number:
            number, rest = divmod(number, 62)
            chunk = _BASE62[rest] + chunk
        parts.append(chunk.rjust(4, "0") if start > 0 else (chunk or "0"))
    return "".join(reversed(parts))


def bid_to_mid(bid: str) -> str:
    """The status mid of a weibo.com URL's base62 id (the inverse of `mid_to_bid`);
    ValueError when it is not one."""
    if not bid or not bid.isascii() or not bid.isalnum():
        raise ValueError(f"not a Weibo base62 id: {bid!r}")
    parts = []
    for end in range(len(bid), 0, -4):
        start = max(end - 4, 0)
        number = 0
        for ch in bid[start:end]:
            number = number * 62 + _BASE62.index(ch)
        if start > 0 and number >= 10_000_000:
            raise ValueError(f"not a Weibo base62 id: {bid!r}")
        parts.append(str(number).rjust(7, "0") if start > 0 else str(number))
    return "".join(reversed(parts))


def status_id(obj: dict, what: str) -> str:
    """The id of a status (`idstr`, `id`, else `mid`), digits; else ParseError."""
    ids = {str(obj[k]) for k in ("idstr", "id") if obj.get(k) not in (None, "")}
    if len(ids) > 1:
        raise ParseError(f"{what} has conflicting ids {sorted(ids)}")
    value = next(iter(ids), None) or str(obj.get("mid") or "")
    if not value.isdigit():
        raise ParseError(f"{what} without a usable id ({value!r})")
    return value


def text_field(value, field: str) -> str | None:
    """A text field as the contract types it: a string or absent. Anything else (a number,
    a list) is a malformed item, refused here with a reason rather than failing the
    page's insert."""
    if value is None or isinstance(value, str):
        return value
    raise ParseError(f"{field} is {type(value).__name__}, not text")


def _user_id(user: dict) -> str | None:
    value = str(user.get("idstr") or user.get("id") or "")
    return value if value.isdigit() else None


def parse_status(status, now: dt.datetime | None = None) -> Mention:
    """One status (a search hit or a repost) as a Mention; ParseError says why not."""
    if not isinstance(status, dict):
        raise ParseError(f"status is not an object but {type(status).__name__}")
    post_id = status_id(status, "status")
    created = parse_weibo_time(status.get("created_at"), now)
    if str(status.get("deleted", "")) == "1":
        return Mention(
            "weibo",
            post_id,
            clean_html(text_field(status.get("text"), "text") or ""),
            created,
            None,
            None,
            None,
            False,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            deleted=True,
        )
    user = status.get("user")
    if not isinstance(user, dict) or not user:
        raise ParseError("status without a user")
    uid = _user_id(user)
    if uid is None:
        raise ParseError(f"user without a usable id ({user.get('idstr') or user.get('id')!r})")
    if "text" not in status and not status.get("longText"):
        raise ParseError("status without text")
    long_text = bool(status.get("isLongText"))
    full = None
    if long_text and isinstance(status.get("longText"), dict):
        full = text_field(status["longText"].get("longTextContent"), "longText.longTextContent")
    text = clean_html(full or text_field(status.get("text"), "text") or "")
    root = parent = None
    retweeted = status.get("retweeted_status")
    if isinstance(retweeted, dict):
        root = str(retweeted.get("idstr") or retweeted.get("id") or retweeted.get("mid") or "")
        root = root if root.isdigit() else None
        pid = str(status.get("pid") or "")
        parent = pid if pid.isdigit() else root
    verified_type = user.get("verified_type")
    mid = str(status.get("mid") or post_id)
    return Mention(
        platform="weibo",
        post_id=post_id,
        text=text,
        created_at=created,
        author_id=uid,
        author_name=text_field(user.get("screen_name"), "user.screen_name")
        or text_field(user.get("name"), "user.name"),
        author_followers=parse_count(user.get("followers_count"), "followers_count"),
        author_verified=bool(user.get("verified")),
        verified_type=verified_type
        if isinstance(verified_type, int) and not isinstance(verified_type, bool)
        else None,
        url=f"https://weibo.com/{uid}/{mid_to_bid(mid) if mid.isdigit() else post_id}",
        root_id=root,
        parent_id=parent,
        reposts=parse_count(status.get("reposts_count"), "reposts_count"),
        comments=parse_count(status.get("comments_count"), "comments_count"),
        likes=parse_count(status.get("attitudes_count"), "attitudes_count"),
        is_long_text=long_text,
    )


def parse_repost(item, root_post_id: str, now: dt.datetime | None = None) -> dict:
    """One `repost_timeline` entry as a `reposts` row (who reposted, when, from whom)."""
    post = parse_status(item, now)
    if post.deleted:
        raise ParseError("deleted repost")
    return {
        "platform": "weibo",
        "root_post_id": root_post_id,
        "repost_id": post.post_id,
        "parent_id": post.parent_id or root_post_id,
        "created_at": post.created_at,
        "user_id": post.author_id,
        "followers": post.author_followers,
        "verified": post.author_verified,
    }
