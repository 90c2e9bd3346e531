"""Message rendering for every channel.

Posts are written by strangers. Everything that comes from a post (excerpt, author name,
URL) is made inert for the target format before it is placed in a message:

- Slack mrkdwn: `&`, `<`, `>` become entities (so `<!channel>`, `<!here>` and
  `<https://evil|官方通知>` show as text, ping nobody and link nowhere), the formatting
  characters `* _ ~ \\`` become their full-width forms, and user text goes in `verbatim`
  text objects (no auto-linking of URLs, channels or mentions). Silences compare values
  NFKC-folded (`alerts.silences.normalize`), so a name copied from an alert still matches.
- Email HTML: `html.escape` on every value; the only links are the posts' own URLs (the
  alert's post, a digest's incidents: `list_items`), and only when they are http(s).
- Every incident alert shows the post id it is about and a ready-made
  `yujing silence add --post ID` (`silence_command`). Commands and ids sit in code spans
  and are pasteable as shown (`slack_code`, `robot_code`): inside a code span only what
  could end the span or make a mention/link is replaced, never `_`.
- WeChat counts are what they are: 在看 (looks, stored as `observed`) and 阅读 (reads,
  "10万+" at WeChat's cap) instead of Weibo's 转发 (reposts) (`spread_unit`).
- Every incident alert says when its figures were measured ("截至 As of", on the config's
  clock: a message held by quiet hours or retried after an outage is not "now") and when
  the post was published, with its age then.
- Chinese team-chat robots (DingTalk, WeCom/企业微信, Feishu/飞书): markdown and mention
  syntax (`<@userid>`, `<at user_id="all">`, `[text](url)`, `#`, `*`…) become full-width
  look-alikes; Feishu gets a `post` message whose text elements are literal.
- User text is collapsed to one line (no new paragraphs, quotes or headings) and cut
  cleanly to each channel's limits (never inside an entity or a UTF-8 character).

The payload is the dict `alerts.stage.build_payload` stores in the notification log.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shlex
import unicodedata
from urllib.parse import quote
from zoneinfo import ZoneInfo

from nlp.lexicon import category_label, signal_label

LEVEL_ICON = {"watch": "🟡", "warning": "🟠", "critical": "🔴"}
LEVEL_ZH = {"watch": "关注", "warning": "预警", "critical": "紧急"}
EVENT_ZH = {
    "open": "新事件 new",
    "escalate": "升级 escalated",
    "joined": "新帖加入 another post joined",
    "remind": "提醒(未确认) reminder: not acknowledged",
    "resolve": "已平息 resolved",
    "noresponse": "品牌未回应 no brand response",
    "answered": "品牌已回应 brand answered",
}
ELLIPSIS = "…"
DEFAULT_TZ = "Asia/Shanghai"  # payloads stored before they carried the config's timezone
READS_CAP = 100_001  # WeChat stops counting reads here and shows "10万+" (ingest.wechat)

# Slack Block Kit limits
SLACK_HEADER_LIMIT = 150
SLACK_SECTION_LIMIT = 3000
SLACK_FIELD_LIMIT = 2000
SLACK_FALLBACK_LIMIT = 4000
# Robot limits (as their APIs enforce them)
DINGTALK_LIMIT = 20000  # bytes of the whole request body (errcode 460101 beyond)
WECOM_LIMIT = 4096  # bytes of markdown.content (errcode 40058 beyond)
FEISHU_LIMIT = 20000  # bytes of the whole request body (20 KB)
ROBOT_LIMITS = {"dingtalk": DINGTALK_LIMIT, "wecom": WECOM_LIMIT, "feishu": FEISHU_LIMIT}


# --- text helpers -------------------------------------------------------------------------


_SURROGATE = re.compile("[\ud800-\udfff]")
# bidirectional controls: an unclosed U+202E in a post or an author's name would show the
# rest of an email subject or a Slack field reversed (the incident id to ack, a count)
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe_chars(text: str) -> str:
    """Text every channel can encode and show as written: lone surrogates (bad UTF-16 in a
    payload) become U+FFFD, bidirectional controls are dropped."""
    return _BIDI.sub("", _SURROGATE.sub("\ufffd", text))


def one_line(text: object) -> str:
    """User text on one line: every run of whitespace (newlines too) becomes one space,
    then `safe_chars`."""
    return safe_chars(" ".join(str(text or "").split()))


def printable(text: object) -> str:
    """User text for a terminal or a log line: one line, control and format characters
    dropped (an escape sequence in a post must not drive the console that shows it)."""
    return "".join(ch for ch in one_line(text) if unicodedata.category(ch) not in ("Cc", "Cf"))


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending with … when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS if limit > 0 else ""


def local_time(when: dt.datetime, tz: str) -> str:
    """Like "2026-05-01 10:00 Asia/Shanghai": people read times on the config's clock, not
    UTC, and the zone is named so nobody has to guess."""
    return f"{when.astimezone(ZoneInfo(tz)).strftime('%Y-%m-%d %H:%M')} {tz}"


def clip_bytes(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary, ending with … when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = max(limit - len(ELLIPSIS.encode("utf-8")), 0)
    return data[:room].decode("utf-8", errors="ignore").rstrip() + ELLIPSIS


_SLACK_FORMAT = str.maketrans({"*": "＊", "_": "＿", "~": "～", "`": "｀"})


def slack_escape(text: object) -> str:
    """Make text inert in Slack mrkdwn: entities for & < >, full-width formatting chars."""
    text = safe_chars(str(text if text is not None else ""))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.translate(_SLACK_FORMAT)


def slack_text(text: object, limit: int) -> str:
    """Escaped user text cut cleanly to `limit` characters (never inside an entity)."""
    raw = one_line(text)
    escaped = slack_escape(raw)
    if len(escaped) <= limit:
        return escaped
    keep = limit
    while keep > 0:
        escaped = slack_escape(clip(raw, keep))
        if len(escaped) <= limit:
            return escaped
        keep -= max(1, (len(escaped) - limit) // 4)
    return ""


_ROBOT = str.maketrans(
    {
        "\\": "＼",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "~": "～",
        "#": "＃",
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "<": "＜",
        ">": "＞",
        "|": "｜",
        "!": "！",
        "@": "＠",
        "&": "＆",
    }
)


def robot_escape(text: object) -> str:
    """Inert in DingTalk/WeCom/Feishu markdown: control and mention characters become
    their full-width look-alikes (natural in Chinese text), on one line."""
    return one_line(text).translate(_ROBOT)


def slack_code(text: object) -> str:
    """Text for a Slack code span (a command, an id), shown as it will be pasted: Slack
    formats nothing inside a code span, so only `&`, `<`, `>` become entities (Slack shows
    them as the characters) and a backtick, which would end the span, its full-width form."""
    text = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("`", "｀")


_ROBOT_CODE = str.maketrans({k: v for k, v in _ROBOT.items() if k != ord("_")})


def robot_code(text: object) -> str:
    """Text for a robot's code span (a command, an id): as `robot_escape`, except that `_`
    stays (brand codes, incident and WeChat post ids have it; inside a code span it is no
    markup), so a command pastes as shown."""
    return one_line(text).translate(_ROBOT_CODE)


_URL_OK = re.compile(r"^https?://[A-Za-z0-9\-._~:/?#@!$&+,;=%]+$")


URL_LIMIT = 1000  # longer URLs are shown nowhere rather than blow a message's limits


def safe_url(url: object) -> str | None:
    """The post's URL when it is a plain http(s) URL (non-ASCII percent-encoded) of at
    most `URL_LIMIT` characters, else None. Quotes, brackets, parentheses, pipes and
    whitespace are never allowed through. (A 2,900-character WeChat link made the Slack
    context element longer than Slack's 3,000: every retry failed and held the incident's
    later messages back.)"""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if not re.match(r"^https?://", url, re.IGNORECASE):
        return None
    url = "".join(quote(ch) if ord(ch) > 127 else ch for ch in url)
    return url if len(url) <= URL_LIMIT and _URL_OK.match(url) else None


_safe_url = safe_url  # the name earlier callers used


# --- facts ----------------------------------------------------------------------------------


def _num(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


def author_reach(p: dict) -> str:
    followers = p.get("author_followers")
    tags = []
    if p.get("author_verified"):
        tags.append("认证 verified")
    if p.get("author_verified_type") == 3:
        tags.append("媒体 media")
    if (followers or 0) >= 100_000:
        tags.append("KOL")
    reach = f"{_num(followers)} 粉丝 followers"
    return reach + (" · " + " · ".join(tags) if tags else "")


def categories_text(p: dict) -> str:
    codes = p.get("categories") or ([p["category"]] if p.get("category") else [])
    labels = [
        f"{category_label(c, 'zh')} {category_label(c, 'en')}"
        if category_label(c, "zh") != c
        else c
        for c in codes
        if c != "negative"
    ]
    return " / ".join(labels) or "负面 negative"


def spread_unit(platform: object) -> tuple[str, str]:
    """What a post's `observed` counts, (zh, en): WeChat articles have no reposts, their 在看
    (looks) stand in for them (docs/warehouse.md, spread/stage.py); Weibo's are 转发."""
    return ("在看", "looks") if platform == "wechat" else ("转发", "reposts")


def reads_text(reads) -> str:
    """A WeChat read count as WeChat shows it: "10万+" at its cap (stored as 100001)."""
    if not isinstance(reads, int | float):
        return one_line(reads) or "—"
    return "10万+" if reads >= READS_CAP else _num(reads)


def timezone_of(p: dict) -> str:
    """The config's timezone the payload was made under (older payloads: Asia/Shanghai)."""
    tz = p.get("timezone")
    if isinstance(tz, str) and tz:
        try:
            ZoneInfo(tz)
            return tz
        except (ValueError, KeyError, OSError):
            pass
    return DEFAULT_TZ


def when(value: object) -> dt.datetime | None:
    """A payload's ISO time as an aware datetime (naive means UTC, as the warehouse stores
    it), or None when absent or unreadable."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def short_time(moment: dt.datetime, tz: str) -> str:
    """Like "05-01 10:00" on the `tz` clock."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


def age_text(delta: dt.timedelta) -> str:
    """An age like "48 min", "2 h 5 min" or "3 d 4 h"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def measured_at(p: dict) -> dt.datetime | None:
    """When the alert's figures were measured: the lead post's spread estimate
    (`measured_at`), else (older payloads) when the payload was made (`at`)."""
    return when(p.get("measured_at")) or when(p.get("at"))


def counts_text(p: dict) -> str:
    zh, en = spread_unit(p.get("platform"))
    counts = f"{zh} {en} {_num(p.get('observed'))}"
    if p.get("platform") == "wechat" and p.get("reads") is not None:
        counts += f" · 阅读 reads {reads_text(p['reads'])}"
    if p.get("comments") is not None:
        counts += f" · 评论 comments {_num(p.get('comments'))}"
    if p.get("likes") is not None:
        counts += f" · 赞 likes {_num(p.get('likes'))}"
    return counts


RELATED_LABEL = "相关帖子 Related posts"


def facts(p: dict) -> list[tuple[str, str]]:
    """(label, value) pairs every channel shows; values not yet escaped."""
    level = p.get("level") or "watch"
    level_text = f"{LEVEL_ZH.get(level, level)} {level}"
    if p.get("previous_level"):
        level_text = f"{p['previous_level']} → {level_text}"
    tz = timezone_of(p)
    measured, posted = measured_at(p), when(p.get("posted_at"))
    now_label = f"截至 As of {short_time(measured, tz)} {tz}" if measured else "当前 Now"
    out = [
        ("级别 Level", level_text),
        ("品牌 Brand", f"{p.get('brand_name') or p.get('brand', '')} ({p.get('platform', '')})"),
        ("类别 Category", categories_text(p)),
        (
            "信号 Signals",
            "、".join(
                f"{signal_label(s, 'zh')} {signal_label(s, 'en')}" for s in p.get("signals") or []
            )
            or "—",
        ),
        ("作者 Author", f"{one_line(p.get('author_name')) or '?'} · {author_reach(p)}"),
        (now_label, counts_text(p)),
    ]
    if posted:
        shown = short_time(posted, tz) + ("" if measured else f" {tz}")
        if measured and measured >= posted:
            shown += f" (帖龄 age {age_text(measured - posted)})"
        out.append(("发布 Posted", shown))
    zh, _ = spread_unit(p.get("platform"))
    out += [
        ("速度 Velocity", f"{p.get('velocity_per_10min', 0) or 0:,.0f} {zh}/10 min"),
        (
            "24h 预测 Predicted",
            f"{_num(p.get('predicted'))} (区间 interval {_num(p.get('low'))}–{_num(p.get('high'))})",
        ),
        ("爆发概率 P(viral)", p_viral_text(p)),
    ]
    if (p.get("posts") or 1) > 1:
        out.append((RELATED_LABEL, f"{p['posts'] - 1}"))
    return out


def higher_peak(now: float, peak: float) -> str | None:
    """The peak P(viral) as shown ("37%") when it is higher than `now` and reads
    differently once rounded; else None (a lower or equal-looking peak says nothing)."""
    shown = f"{peak:.0%}"
    return shown if peak > now and shown != f"{now:.0%}" else None


def p_viral_text(p: dict) -> str:
    """The lead post's P(viral), and the incident's peak beside it when that was higher
    (past the spread model's horizon a post's P(viral) is 0, whatever it had been)."""
    now, peak = p.get("p_viral", 0) or 0, p.get("peak_p_viral") or 0
    higher = higher_peak(now, peak)
    return f"{now:.0%}" + (f" (事件峰值 incident peak {higher})" if higher else "")


def related_count(r: dict) -> str:
    """A related post's count with its unit: "1,234 reposts", "12 在看 looks"."""
    zh, en = spread_unit(r.get("platform"))
    return (
        f"{_num(r.get('observed'))} {en}"
        if zh == "转发"
        else f"{_num(r.get('observed'))} {zh} {en}"
    )


# events rendered as a title and a list of lines rather than one incident's facts
LIST_EVENTS = ("summary", "digest", "ops")
LINK_LABEL = "原帖 post"
_LINK_LIMIT = URL_LIMIT


def list_items(p: dict) -> list[tuple[object, str | None]]:
    """A list event's (line, link) pairs. `links`, when present, runs beside `lines`: the
    URL of the post a line is about (a digest's incidents), shown as a real link when it
    is a plain http(s) URL (`safe_url`). The lines themselves are text: a URL a stranger
    wrote into a post never becomes a link."""
    links = p.get("links") or []
    out = []
    for i, line in enumerate(p.get("lines", [])):
        url = safe_url(links[i]) if i < len(links) else None
        out.append((line, url if url and len(url) <= _LINK_LIMIT else None))
    return out


def title(p: dict) -> str:
    """A one-line title (no user text in it)."""
    event = p.get("event")
    if event == "summary":
        return f"Yujing 汇总 summary: {p.get('count', 0)} more alerts (rate limit 限流)"
    if event == "digest":
        return f"Yujing 每日简报 daily digest {p.get('day', '')}"
    if event == "ops":
        return one_line(p.get("title") or "Yujing 运维 ops notice")
    level = p.get("level") or "watch"
    what = EVENT_ZH.get(event, event or "")
    if event == "remind" and isinstance(p.get("reminder"), int) and p["reminder"] > 0:
        what = f"提醒#{p['reminder']}(未确认) reminder #{p['reminder']}"
    return (
        f"{LEVEL_ICON.get(level, '')} [{LEVEL_ZH.get(level, level)} {level.upper()}] "
        f"{one_line(p.get('brand_name') or p.get('brand', ''))} · {what}"
    ).strip()


SUBJECT_EXCERPT = 24  # characters of the post in a subject or a Slack notification


def distinguishing(p: dict) -> list[str]:
    """What tells one incident's alert from another's in a subject or a notification: the
    category, the start of the post (user text: not yet escaped) and the incident id."""
    if p.get("event") in LIST_EVENTS:
        return []
    code = p.get("category") or next(iter(p.get("categories") or []), None)
    label = category_label(code, "zh") if code and code != "negative" else "负面"
    out = [one_line(label)]
    excerpt = clip(one_line(p.get("excerpt")), SUBJECT_EXCERPT)
    if excerpt:
        out.append(f"“{excerpt}”")
    if p.get("incident_id"):
        out.append(one_line(p["incident_id"]))
    return out


def headline(p: dict) -> str:
    """The title and what tells this alert apart (`distinguishing`): email subjects and
    Slack notification text. Holds user text: escape it for the medium."""
    return " · ".join([title(p), *distinguishing(p)])


def email_subject(p: dict) -> str:
    return clip(one_line(headline(p)), 200)


SILENCE_FOR = "1d"


def silence_command(p: dict) -> str | None:
    """A ready-made `yujing silence add --post ID` for the post the alert is about (the
    incident's lead post, which is what a post silence matches), shell-quoted, so it
    can be pasted as it is; None without a post id. Not yet escaped for a channel."""
    post_id = p.get("post_id")
    if not post_id:
        return None
    post_id = one_line(post_id)
    return (
        f"yujing silence add --post {shlex.quote(post_id)} --for {SILENCE_FOR} "
        f'--comment "原因 reason"'
    )


def _ack_hint(p: dict, code=one_line) -> str:
    """The incident id, its `yujing ack` command, the post id and its silence command,
    each made a pasteable code span by `code` (plain text: as they are)."""
    iid = one_line(p.get("incident_id", ""))
    hint = f"incident {code(iid)} · 确认 ack: {code('yujing ack ' + iid)}"
    command = silence_command(p)
    if command:
        hint += f" · 帖子 post {code(p.get('post_id'))} · 静音 mute: {code(command)}"
    return hint


def plain_text(p: dict) -> str:
    """Plain text (email text part, outbox, webhook `text`)."""
    lines = [title(p)]
    if p.get("event") in LIST_EVENTS:
        lines += [one_line(x) + (f" {url}" if url else "") for x, url in list_items(p)]
        if p.get("count", 0) > len(p.get("lines", [])) and p.get("event") == "summary":
            lines.append(f"… {p['count'] - len(p['lines'])} more")
        return "\n".join(lines)
    lines.append(f"“{one_line(p.get('excerpt', ''))}”")
    lines += [f"{k}: {one_line(v)}" for k, v in facts(p)]
    lines += [f"· {one_line(r)}" for r in p.get("reasons") or []]
    url = safe_url(p.get("url"))
    if url:
        lines.append(f"原帖 Post: {url}")
    for r in p.get("related") or []:
        if safe_url(r.get("url")):
            lines.append(f"相关 Related: {safe_url(r['url'])} ({related_count(r)})")
    lines.append(_ack_hint(p))
    return "\n".join(lines)


# --- Slack ------------------------------------------------------------------------------------


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def slack_blocks(p: dict, *, current: bool = False) -> tuple[str, list[dict]]:
    """(fallback text, Block Kit blocks). `current=True` renders the incident's root
    message as it stands now (updated in place when the level rises or it resolves)."""
    head = title(p)
    if current:
        level = p.get("level") or "watch"
        state = (
            "✅ 已平息 resolved" if p.get("status") == "resolved" else f"当前 now {level.upper()}"
        )
        head = (
            f"{LEVEL_ICON.get(level, '')} {one_line(p.get('brand_name') or p.get('brand', ''))}"
            f" · {state}"
        )
    # the notification text: what tells this alert from the others (escaped user text)
    fallback = slack_text(" · ".join([head, *distinguishing(p)]), SLACK_FALLBACK_LIMIT)
    header = {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(head, SLACK_HEADER_LIMIT), "emoji": True},
    }
    if p.get("event") in LIST_EVENTS:
        lines = [
            f"• {slack_text(x, 500)}"
            + (f" <{url.replace('&', '&amp;')}|{LINK_LABEL}>" if url else "")
            for x, url in list_items(p)
        ]
        body, used = [], 0
        for line in lines:
            if used + len(line) + 1 > SLACK_SECTION_LIMIT - 20:
                body.append(f"… +{len(lines) - len(body)}")
                break
            body.append(line)
            used += len(line) + 1
        return fallback, [
            header,
            {"type": "section", "text": _mrkdwn("\n".join(body) or "—")},
        ]
    blocks: list[dict] = [
        header,
        {
            "type": "section",
            "text": _mrkdwn("> " + slack_text(p.get("excerpt", ""), SLACK_SECTION_LIMIT - 2)),
        },
        {
            "type": "section",
            "fields": [
                _mrkdwn(f"*{k}*\n{slack_text(v, SLACK_FIELD_LIMIT - len(k) - 4)}")
                for k, v in facts(p)
                if k != RELATED_LABEL
            ][:10],
        },
    ]
    related = _slack_related(p)
    if related:
        blocks.append({"type": "section", "text": _mrkdwn(related)})
    if p.get("reasons"):
        blocks.append(
            {
                "type": "context",
                "elements": [_mrkdwn(slack_text("; ".join(p["reasons"]), SLACK_FIELD_LIMIT))],
            }
        )
    url = safe_url(p.get("url"))
    link = f"<{url.replace('&', '&amp;')}|查看原帖 Open post> · " if url else ""
    # code spans hold exactly what to paste (`slack_code`): `yujing ack mumu_milk-…`
    iid = slack_code(clip(one_line(p.get("incident_id", "")), 100))
    hint = f"{link}incident `{iid}` · 确认 ack: `yujing ack {iid}`"
    command = silence_command(p)
    if command:  # the post id in full and a command that mutes it, both copyable
        post = slack_code(clip(one_line(p.get("post_id")), 200))
        hint += f"\n帖子 post `{post}` · 静音 mute: `{slack_code(clip(command, 500))}`"
    blocks.append({"type": "context", "elements": [_mrkdwn(hint)]})
    return fallback, blocks


RELATED_SHOWN = 5  # related posts listed on Slack; the rest are counted ("and N more")


def _slack_related(p: dict) -> str | None:
    """The incident's other posts, most spread first: platform, id (copyable, for a
    silence), a link when the URL is plain http(s), the count; "and N more" past the list."""
    related = p.get("related") or []
    total = max((p.get("posts") or 1) - 1, len(related))
    if total <= 0:
        return None
    lines, used = [], 0
    for r in related[:RELATED_SHOWN]:
        url = safe_url(r.get("url"))
        link = (
            f" <{url.replace('&', '&amp;')}|{LINK_LABEL}>"
            if url and len(url) <= _LINK_LIMIT
            else ""
        )
        line = (
            f"• {slack_text(r.get('platform'), 20)} `{slack_code(clip(one_line(r.get('post_id')), 100))}`"
            f"{link} ({slack_text(related_count(r), 100)})"
        )
        if used + len(line) + 1 > SLACK_SECTION_LIMIT - 200:
            break
        lines.append(line)
        used += len(line) + 1
    if total > len(lines):
        lines.append(f"… 还有 and {total - len(lines)} more")
    return f"*{RELATED_LABEL} ({total})*\n" + "\n".join(lines)


# --- email ------------------------------------------------------------------------------------


# the charset in the page too: an outbox page opened from disk has no MIME header
_HTML_HEAD = '<html><head><meta charset="utf-8"></head><body>'


def email_html(p: dict, chart_cid: str | None, *, chart_file: str | None = None) -> str:
    """The HTML part; every value escaped. `chart_cid` names the inline chart image;
    `chart_file` (an outbox page) a PNG file beside the page instead."""
    e = lambda v: html.escape(  # noqa: E731
        safe_chars(str(v if v is not None else "")), quote=True
    )
    src = f"cid:{chart_cid}" if chart_cid else quote(chart_file) if chart_file else None
    chart = f'<p><img src="{e(src)}" alt="spread chart 传播趋势" width="640"></p>' if src else ""
    head = f"<h2 style='margin:0 0 8px'>{e(title(p))}</h2>"
    if p.get("event") in LIST_EVENTS:
        items = "".join(
            f"<li>{e(one_line(x))}"
            + (f' <a href="{e(url)}">{e(LINK_LABEL)}</a>' if url else "")
            + "</li>"
            for x, url in list_items(p)
        )
        return f"{_HTML_HEAD}{head}<ul>{items}</ul>{chart}</body></html>"
    rows = "".join(
        f"<tr><th align='left' style='padding-right:12px'>{e(k)}</th><td>{e(v)}</td></tr>"
        for k, v in facts(p)
    )
    reasons = "".join(f"<li>{e(one_line(r))}</li>" for r in p.get("reasons") or [])
    url = safe_url(p.get("url"))
    link = f'<p><a href="{e(url)}">查看原帖 Open the post</a></p>' if url else ""
    related = "".join(
        f'<li><a href="{e(safe_url(r.get("url")))}">{e(r.get("platform"))} {e(r.get("post_id"))}'
        f"</a> ({e(related_count(r))})</li>"
        for r in p.get("related") or []
        if safe_url(r.get("url"))
    )
    related = f"<p>相关帖子 Related posts:</p><ul>{related}</ul>" if related else ""
    return (
        f"{_HTML_HEAD}{head}"
        f"<blockquote style='border-left:4px solid #c0392b;padding-left:8px'>"
        f"{e(one_line(p.get('excerpt', '')))}</blockquote>"
        f"<table>{rows}</table><ul>{reasons}</ul>{chart}{link}{related}"
        f"<p style='color:#777'>{e(_ack_hint(p))}</p>"
        f"</body></html>"
    )


# --- webhooks ---------------------------------------------------------------------------------


def webhook_json(note: dict) -> dict:
    """The generic JSON webhook body: the facts as data (raw text: the consumer escapes
    for its own medium), plus a rendered title and plain text."""
    p = note["payload"]
    return {
        "version": 1,
        "dedupe_key": note["dedupe_key"],
        "receiver": note.get("receiver"),
        "title": title(p),
        "text": plain_text(p),
        **{k: v for k, v in p.items() if k != "series"},
    }


def _robot_lines(p: dict, excerpt_limit: int, max_lines: int) -> list[str]:
    lines = [f"### {robot_escape(title(p))}"]
    if p.get("event") in LIST_EVENTS:
        items = list_items(p)
        lines += [
            f"- {robot_escape(x)}" + (f" [{LINK_LABEL}]({url})" if url else "")
            for x, url in items[:max_lines]
        ]
        if len(items) > max_lines:
            lines.append(f"- … +{len(items) - max_lines}")
        return lines
    lines.append(f"> {robot_escape(clip(one_line(p.get('excerpt', '')), excerpt_limit))}")
    lines.append("")
    lines += [f"- **{robot_escape(k)}**: {robot_escape(v)}" for k, v in facts(p)]
    url = safe_url(p.get("url"))
    if url:
        lines.append(f"- [查看原帖 Open post]({url})")
    lines.append(f"- {_ack_hint(p, code=lambda v: '`' + robot_code(v) + '`')}")
    return lines


def _feishu_rows(p: dict, excerpt_limit: int, max_lines: int) -> list[list[dict]]:
    """Feishu `post` content: literal text elements (still made inert: robot_escape)."""

    def text(value: str) -> list[dict]:
        return [{"tag": "text", "text": value}]

    if p.get("event") in LIST_EVENTS:
        items = list_items(p)
        rows = [
            text(robot_escape(x)) + ([{"tag": "a", "text": LINK_LABEL, "href": url}] if url else [])
            for x, url in items[:max_lines]
        ]
        if len(items) > max_lines:
            rows.append(text(f"… +{len(items) - max_lines}"))
        return rows
    rows = [text("“" + robot_escape(clip(one_line(p.get("excerpt", "")), excerpt_limit)) + "”")]
    rows += [text(f"{robot_escape(k)}: {robot_escape(v)}") for k, v in facts(p)]
    url = safe_url(p.get("url"))
    if url:
        rows.append([{"tag": "a", "text": "查看原帖 Open post", "href": url}])
    rows.append(text(_ack_hint(p, code=robot_code)))  # literal text: pasteable as shown
    return rows


def _body_bytes(body: dict) -> int:
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def robot_message(kind: str, p: dict) -> dict:
    """The JSON body for a DingTalk, WeCom or Feishu group robot, within its size limit."""
    if kind not in ROBOT_LIMITS:
        raise ValueError(f"unknown robot kind {kind!r}")
    limit = ROBOT_LIMITS[kind]
    head = clip(robot_escape(title(p)), 64)
    body: dict = {}
    for excerpt_limit, max_lines in ((140, 50), (80, 20), (40, 10), (0, 5)):
        lines = _robot_lines(p, excerpt_limit, max_lines)
        if kind == "dingtalk":
            body = {
                "msgtype": "markdown",
                "markdown": {"title": head, "text": "\n".join(lines)},
                "at": {"isAtAll": False},
            }
            size = _body_bytes(body)
        elif kind == "wecom":
            body = {"msgtype": "markdown", "markdown": {"content": "\n".join(lines)}}
            size = len(body["markdown"]["content"].encode("utf-8"))
        else:
            body = {
                "msg_type": "post",
                "content": {
                    "post": {
                        "zh_cn": {
                            "title": head,
                            "content": _feishu_rows(p, excerpt_limit, max_lines),
                        }
                    }
                },
            }
            size = _body_bytes(body)
        if size <= limit:
            return body
    # still too large (absurd inputs): hard cut of the text, by bytes
    if kind == "dingtalk":
        overhead = _body_bytes(body) - len(body["markdown"]["text"].encode("utf-8"))
        body["markdown"]["text"] = clip_bytes(body["markdown"]["text"], limit - overhead - 16)
    elif kind == "wecom":
        body["markdown"]["content"] = clip_bytes(body["markdown"]["content"], limit)
    else:
        _clip_feishu_rows(body, limit)
    return body


def _clip_feishu_rows(body: dict, limit: int) -> None:
    """Keep five rows and cut the text of each by bytes until the body fits: five rows of
    one huge line each are still far over the limit."""
    post = body["content"]["post"]["zh_cn"]
    rows = post["content"][:5]
    post["content"] = []
    room = (limit - _body_bytes(body)) // max(len(rows), 1)
    while True:
        post["content"] = [
            [{**e, "text": clip_bytes(e["text"], max(room, 0))} if "text" in e else e for e in row]
            for row in rows
        ]
        if _body_bytes(body) <= limit or room <= 0:
            return
        room -= max(room // 8, 16)  # JSON escapes and element overhead: shrink until it fits


def dingtalk_markdown(p: dict) -> dict:
    """A DingTalk robot markdown message within DingTalk's 20,000-byte body limit."""
    return robot_message("dingtalk", p)
