"""Weibo/WeChat text as the models should see it.

Posts arrive with HTML, short links, @mentions, #topics#, `{%…%}` markup, emoticons like
`[怒]`, traditional characters, full-width forms, invisible characters and repost chains
(`我的话//@某人:被转的话`). Emoticons are strong sentiment signals, so they are taken out of
the text and kept as feature tokens (`EMO_怒`) rather than deleted; the reposter's own words
are separated from the quoted chain so a neutral "转发" of an angry post is not read as the
reposter's anger (and an angry comment on a neutral post is).

`normalize` is on the scoring hot path, so it is a handful of compiled regular expressions;
traditional→simplified conversion (OpenCC, pure Python and slow) only runs on text that
contains a character OpenCC would change.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Longest text kept: a 10,000-character post is scored on its first 5,000 characters.
MAX_CHARS = 5000

_TAG = re.compile(r"<\s*(br|p|div|/p|/div)\b[^>]*>|<[a-zA-Z/!][^<>]{0,500}>", re.I)
# a link stops at a repost marker glued to it ("t.cn/A6xyz//@user:"), which would otherwise
# swallow the marker and read the quoted post as the reposter's own words
_URL = re.compile(
    r"(?:https?://|www\.)(?:[A-Za-z0-9\-._~:?#@!$&'()*+,;=%]|/(?!/\s*@))+|"
    r"t\.cn/[A-Za-z0-9]+|dwz\.cn/[A-Za-z0-9]+|"
    r"[OL]?网页链接|\[?网页链接\]?",
    re.I,
)
_NAME = r"[\w\u4e00-\u9fff\-]{1,30}"
_REPLY = re.compile(rf"^\s*回复\s*@{_NAME}\s*[:：]")
_MENTION = re.compile(rf"@({_NAME})")
_MARKUP = re.compile(r"\{%(.*?)%\}", re.S)
_TOPIC = re.compile(r"#([^#\n]{1,60})#")
EMOTICON = re.compile(r"\[([\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9]{0,7})\]")
# zero-width, bidi, BOM, variation selectors and C0/C1 controls except tab/newline
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff"
    "\ufff9-\ufffb\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# a run of punctuation → one mark; four or more of any other character but a digit → three
# (哈哈哈哈哈 → 哈哈哈, but not 10000). One pass, and only over text that doubles a character.
_REPEATS = re.compile(r"([!?。,，、.~…;；:：\-—*=_+])\1+|(\D)\2{3,}")
_DOUBLED = re.compile(r"(.)\1", re.S)
_SPACES = re.compile(r"\s+")
_HAN = "[\u4e00-\u9fff\u3400-\u4dbf]"
# Single characters spelled apart to dodge keyword filters (沐 沐 奶 粉, 维-权-群, 曝.光.了):
# three or more Han characters each separated by the same one separator are joined again.
# Commas and 、 are left alone: 甜，脆，好吃 and 油、盐、酱 are ordinary writing.
_SPACER = re.compile(r"[ \-/|\\·._*~+]")  # a plain scan first (as below, one character)
_SPACED_HAN = re.compile(rf"{_HAN}([ \-/|\\·._*~+])(?:{_HAN}\1)+{_HAN}")
# Combining marks stacked on Han characters (strike-through 客̶服̶, Tibetan 送༵来༵, enclosing
# circles …): decoration or filter evasion, never meaning in Chinese. The blocks that
# decorated text draws from, not every mark in Unicode (a 300-range class is 40× slower).
_MARKS = (
    "[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f"
    "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0f18\u0f19\u0f35\u0f37\u0f39\u0f71-\u0f84"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
_MARKS_AFTER_HAN = re.compile(rf"(?<={_HAN}){_MARKS}+")
_ANY_MARK = re.compile(_MARKS)  # a plain scan first: the lookbehind costs at every position
_REPOST_CHAIN = re.compile(rf"//\s*@{_NAME}\s*[:：]?")
_REPOST_ONLY = frozenset({"", "转发微博", "转发", "轉發微博", "repost", "Repost", "转"})


@cache
def _opencc():
    from opencc import OpenCC

    return OpenCC("t2s")


@cache
def _conversion_triggers() -> tuple[frozenset[str], frozenset[str], re.Pattern]:
    """What OpenCC t2s would change: characters it converts on their own, and phrases it
    converts as a whole (with the characters they hold). A set lookup, not a regular
    expression class of these 4,000 characters, which took a sixth of all scoring time;
    and 么, which t2s changes only inside 么麼, no longer sends a quarter of Weibo posts
    through the (pure Python, slow) converter for nothing."""
    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"
    chars: set[str] = set()
    for line in (folder / "TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        if key and key != value.split(" ")[0]:
            chars.add(key)
    phrases: set[str] = set()
    for line in (folder / "TSPhrases.txt").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        if key and key != value.split(" ")[0]:
            phrases.add(key)
    phrase_chars = frozenset("".join(phrases)) - chars
    pattern = re.compile("|".join(sorted(map(re.escape, phrases), key=len, reverse=True)))
    return frozenset(chars), phrase_chars, pattern


@cache
def _any_trigger() -> frozenset[str]:
    chars, phrase_chars, _ = _conversion_triggers()
    return chars | phrase_chars


def _would_convert(text: str) -> bool:
    """Whether OpenCC t2s would change `text` (exact: its output is the input otherwise)."""
    if _any_trigger().isdisjoint(text):  # one pass over the text for most posts
        return False
    chars, phrase_chars, phrases = _conversion_triggers()
    if not chars.isdisjoint(text):
        return True
    return not phrase_chars.isdisjoint(text) and phrases.search(text) is not None


# OpenCC t2s keeps 著 (著名 is simplified too), so traditional 著火 "on fire", 著凉, 睡著,
# 等著 stayed 著 and matched nothing. 著 before these, or after these verbs, is 着
# (zháo / zhe); 著名, 显著, 原著 are left alone. (tw2s converts 著 everywhere, also in
# simplified 显著 and 原著.)
_ZHUO = re.compile(
    "著(?=[火凉涼急迷陆陸地手])|(?<=[睡看等拿穿带帶跟接顺順向朝沿随隨按照本冲衝忍憋盯站坐躺])著(?![作名称稱])"
)


def to_simplified(text: str) -> str:
    """Traditional → simplified (OpenCC t2s), skipped when there is nothing to convert."""
    if "著" in text:
        text = _ZHUO.sub("着", text)
    if not _would_convert(text):
        return text
    return _opencc().convert(text)


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A post cleaned for scoring."""

    own_text: str  # the reposter's own words (the whole post when it is not a repost)
    quoted_text: str = ""  # the quoted repost chain, cleaned the same way
    emoticons: tuple[str, ...] = ()  # in the own words, e.g. ("怒", "泪")
    quoted_emoticons: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    links: int = 0
    cards: int = 0  # `{%…%}` link cards / topic links
    is_repost: bool = False
    truncated: bool = False

    @property
    def full(self) -> str:
        """Own words and quoted chain together (what a reader of the repost sees)."""
        return f"{self.own_text} {self.quoted_text}".strip()

    @property
    def emoticon_tokens(self) -> tuple[str, ...]:
        """Emoticons as feature tokens: `[怒]` → `EMO_怒`."""
        return tuple(f"EMO_{e}" for e in self.emoticons)

    @property
    def is_empty(self) -> bool:
        return not (self.own_text or self.quoted_text or self.emoticons or self.quoted_emoticons)

    @property
    def scoring_text(self) -> str:
        """The text whose sentiment is the post's: the own words, or the quoted post when
        the reposter added nothing (a bare "转发微博")."""
        if self.own_text or self.emoticons:
            return self.own_text
        return self.quoted_text

    @property
    def scoring_emoticons(self) -> tuple[str, ...]:
        if self.own_text or self.emoticons:
            return self.emoticons
        return self.quoted_emoticons


def _markup(match: re.Match) -> str:
    inner = match.group(1).strip()
    return f" #{inner.strip('#')}# " if inner.startswith("#") else f" {inner} "


def _one_or_three(m: re.Match) -> str:
    return m.group(1) or m.group(2) * 3


def _clean(text: str) -> tuple[str, tuple[str, ...]]:
    """(text without emoticons, emoticons) for one side of a repost."""
    emoticons = tuple(EMOTICON.findall(text)) if "[" in text else ()
    if emoticons:
        text = EMOTICON.sub(" ", text)
    if "#" in text:
        text = _TOPIC.sub(r" \1 ", text)
    if _DOUBLED.search(text):
        text = _REPEATS.sub(_one_or_three, text)
    text = _SPACES.sub(" ", text)
    if _SPACER.search(text):
        text = _SPACED_HAN.sub(lambda m: m.group(0).replace(m.group(1), ""), text)
    return text.strip(), emoticons


def normalize(raw: object) -> NormalizedText:
    """Clean one post; never raises (None and non-text become empty, bad bytes are replaced)."""
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw).decode("utf-8", errors="replace")
    elif not isinstance(raw, str):
        raw = "" if raw is None else str(raw)
    text = raw
    truncated = len(text) > MAX_CHARS
    if truncated:
        text = text[:MAX_CHARS]
    if _SURROGATE.search(text):  # lone surrogates from bad UTF-8 (surrogateescape)
        text = _SURROGATE.sub("\ufffd", text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(html.unescape(text))
    text = _INVISIBLE.sub("", text)
    if not unicodedata.is_normalized("NFKC", text):  # a quick check, most posts are
        text = unicodedata.normalize("NFKC", text)  # full-width letters, digits, punctuation
    if _ANY_MARK.search(text):
        text = _MARKS_AFTER_HAN.sub("", text)
    text = to_simplified(text)
    at = "@" in text  # replies, repost chains and mentions all need one
    if at:
        text = _REPLY.sub(" ", text)
    cards = 0
    if "{%" in text:
        text, cards = _MARKUP.subn(_markup, text)
    links = 0
    if "." in text or "链接" in text:
        text, links = _URL.subn(" ", text)
    chain = _REPOST_CHAIN.search(text) if at else None
    own, quoted = (text[: chain.start()], text[chain.start() :]) if chain else (text, "")
    mentions = tuple(_MENTION.findall(text)) if at else ()
    topics = ()
    if "#" in text:
        topics = tuple(dict.fromkeys(t.strip() for t in _TOPIC.findall(text) if t.strip()))
    if at:
        own = _MENTION.sub(" ", own)
    own_text, emoticons = _clean(own)
    if own_text in _REPOST_ONLY:
        own_text = ""
    quoted_text, quoted_emoticons = "", ()
    if quoted:
        quoted = _MENTION.sub(" ", _REPOST_CHAIN.sub(" ", quoted))
        quoted_text, quoted_emoticons = _clean(quoted)
    return NormalizedText(
        own_text=own_text,
        quoted_text=quoted_text,
        emoticons=emoticons,
        quoted_emoticons=quoted_emoticons,
        topics=topics,
        mentions=mentions,
        links=links,
        cards=cards,
        is_repost=chain is not None,
        truncated=truncated,
    )
