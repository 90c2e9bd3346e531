"""Scoring posts: calibrated sentiment, complaint-ness, categories and escalation signals.

`Scorer` is the production scorer (the committed in-domain model, nlp/sentiment_model.py);
`SnowNLPScorer` is the baseline (snownlp's bundled model) kept for comparison in `bench/`.
Both score batches and never raise on a bad post: an unusable text gets a `Score` with
`error` set and `sentiment` None, and so does a post the model raised on or gave no finite
probability for, with `failed` set (the model, not the text, is the problem: a later try may
work; nlp/stage.py retries it). A batch the model raises on is bisected (nlp/isolate.py),
so one such post costs no other post its score.

A complaint is more than negative sentiment. The complaint score weighs lexicon evidence
(nlp/lexicon.py) — problem terms (异物, 不给退, 乱收费), complaint cues (投诉, 讨说法),
escalation signals (12315, 曝光, 维权群) and, for clearly negative posts, topic terms
(客服, 快递) — as a noisy-OR, and scales it by how negative the post reads:

    evidence = 1 − Π(1 − w_i)          negativity = clip((1 − P(positive)) / 0.6, 0, 1)
    complaint_score = evidence × negativity,   complaint = complaint_score ≥ 0.5

so "这电影太悲伤了" (negative, no complaint vocabulary) is not a complaint, "没有异物，放心"
(negated) is not one either, and "奶粉里有异物" is one even when its wording is neutral.
Complaints told in everyday words no lexicon lists ("等了两小时饭都凉了") are found by the
model's complaint-text head (nlp/sentiment_model.py): a post that reads as a customer's
complaint (P ≥ COMPLAINT_TEXT_AT) and leans negative (P(positive) < COMPLAINT_TEXT_BELOW),
and is neither a question nor a report, is a complaint, its score 0.5 · P / COMPLAINT_TEXT_AT when
that is higher. On a hand-labelled probe written without the lexicon's words
(tests/nlp/fixtures/complaint_probe_fresh.tsv) this raised complaint recall from 0.45 to
0.64 at precision 0.79 (was 0.86).
Topic terms add one weight however many categories they name, and only a clearly negative
post (P(positive) < 0.15) that denies none of its problems gets the larger one.
Categories are reported for complaints; signals for complaints and negative posts.

How a post reads adjusts this (`read_post`; the words are in nlp/lexicon.py):

- a question ("请问…怎么申请退款？") or a report (a 【headline】, 获悉/通报/审结, an advice
  column, a rumour rebuttal, with no first person) counts its problem terms and cues at
  REPORTED_WEIGHT and its topics not at all; a question's signals are dropped, a report's
  signals add no evidence and are kept only if it is a complaint;
- sarcasm (真是好样的, praise with [微笑], 丢件能力yyds) is read as clearly negative: the
  model sees the praise, so P(positive) is capped at SARCASM_SENTIMENT;
- a repost whose own words agree with the quoted complaint (同款, 我也是, 支持维权) takes the
  quoted evidence at full weight instead of QUOTED_WEIGHT, and the model reads the quoted
  post with them; so does one whose own reaction is clearly negative (angry emoticons such
  as "[怒][怒]", or own words with P(positive) < REACTION_BELOW), unless the quoted post is
  a report or a question.

Escalation signals (12315, 曝光, 抵制) add evidence only beside other evidence (a problem, a
cue, a topic or the complaint-text head): "被偷了，报警了" is no complaint about us.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from nlp import lexicon
from nlp.isolate import Failed, isolate, reason
from nlp.lexicon import CUE, PROBLEM, SIGNAL, TOPIC, Hits
from nlp.normalize import NormalizedText, normalize

CHUNK = 2048  # posts featurised at once (bounds memory for huge batches)
QUOTED_WEIGHT = 0.6  # evidence found only in the quoted post of a repost counts less
# ... unless the reposter's own reaction is clearly negative (angry emoticons, or own words
# reading below this): then it counts in full, like agreement (not for a quoted report or
# question)
REACTION_BELOW = 0.15
# evidence in a question or a news item counts less: a question about 退款 or a report on
# 12315 statistics is not someone's complaint, though a question full of problems can be
REPORTED_WEIGHT = 0.6
# the model reads the praise in sarcasm ("真是好样的[微笑]"); a sarcastic post is at most this
SARCASM_SENTIMENT = 0.1
COMPLAINT_AT = 0.5
# the complaint-text head: how sure it must be, and how negative the post must lean
COMPLAINT_TEXT_AT, COMPLAINT_TEXT_BELOW = 0.6, 0.5
_CATEGORY_WEIGHT = {c.code: c.weight for c in lexicon.CATEGORIES}
_SIGNAL_WEIGHT = {s.code: s.weight for s in lexicon.SIGNALS}
_TOPIC_WEIGHT, _TOPIC_WEIGHT_NEGATIVE = 0.35, 0.55
# a topic term alone (价格, 快递) makes a complaint only in a clearly negative post
TOPIC_NEGATIVE_BELOW = 0.15
# signals that say the poster complains (投诉到, 维权群, 黑猫投诉) are evidence of their own
_COMPLAINING_SIGNALS = frozenset(
    t for s in lexicon.SIGNALS for t in s.terms if any(c in t for c in lexicon.COMPLAINT_CUES)
)


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@dataclass(slots=True)
class Score:
    """One post's scores. `sentiment` is P(positive) in [0, 1], None when unusable or
    failed. `failed`: the model could not score it this time (`error` says why), unlike an
    unusable text, which no retry changes."""

    sentiment: float | None
    negative: bool = False
    complaint: bool = False
    complaint_score: float = 0.0
    categories: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    error: str | None = None
    failed: bool = False

    def to_json_dict(self) -> dict:
        """The `yujing score` output object (a contract other tools parse): sentiment,
        negative, complaint, categories, signals, and error only for a line that could not
        be scored (unusable, or the model failed on it)."""
        data = {
            "sentiment": None if self.sentiment is None else round(float(self.sentiment), 4),
            "negative": bool(self.negative),
            "complaint": bool(self.complaint),
            "categories": list(self.categories),
            "signals": list(self.signals),
        }
        if self.error is not None:
            data["error"] = self.error
        return data


# what a blank line may hold besides whitespace: a byte-order mark (a file saved by
# Notepad), NUL, zero-width characters; such a line is empty, not "markup"
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\x00\u200b\u200c\u200d\u2060"))


def unusable_reason(raw: object, norm: NormalizedText) -> str | None:
    """Why a post cannot be scored, or None."""
    if raw is None or (isinstance(raw, str) and not raw.translate(_INVISIBLE).strip()):
        return "empty text"
    if not isinstance(raw, str | bytes | bytearray):
        return f"not text ({type(raw).__name__})"
    if norm.is_empty:
        return "nothing left after removing links, mentions and markup"
    text = norm.scoring_text
    if text.count("\ufffd") * 2 > len(text):
        return "not valid UTF-8 text"
    if not norm.scoring_emoticons and not any(_is_han(ch) for ch in text):
        # GBK read as UTF-8 leaves U+FFFD among stray letters: the encoding is the problem
        return "not valid UTF-8 text" if "\ufffd" in text else "no Chinese text"
    return None


INQUIRY, QUESTION, RHETORICAL, NEWS, PRAISE, MOCK, IRONY, AGREE, GRIEF = (
    "inquiry",
    "question",
    "rhetorical",
    "news",
    "praise",
    "mock",
    "irony",
    "agree",
    "grief",
)


@cache
def _reading_matcher() -> tuple[re.Pattern, dict[str, str]]:
    kinds: dict[str, str] = {}
    for kind, words in (
        (QUESTION, lexicon.QUESTION_WORDS),
        (RHETORICAL, lexicon.RHETORICAL_QUESTIONS),
        (INQUIRY, lexicon.INQUIRY_MARKERS),
        (NEWS, lexicon.NEWS_MARKERS),
        (PRAISE, lexicon.PRAISE),
        (MOCK, lexicon.MOCK_PRAISE),
        (IRONY, lexicon.IRONY),
        (AGREE, lexicon.AGREEMENT),
        (GRIEF, lexicon.GRIEF),
    ):
        for w in words:
            kinds[w.lower()] = kind
    return re.compile(lexicon.trie_regex(kinds), re.I), kinds


_SENTENCE = re.compile(r"[^。!?！？\n]+[。!?！？]?")
_FIRST_PERSON = re.compile(r"[我俺咱]|本人")
# a plea to spread the word (【求转发】, 求扩散, 希望有人关注) is a complainant's voice, not a
# newsroom's, however much it looks like a headline
_PLEA = re.compile(
    r"【\s*(?:求|扩散|避雷|曝光|维权|投诉|吐槽|紧急)|求(?:转发|扩散|关注|帮助)|希望.{0,6}关注"
)


@dataclass(frozen=True, slots=True)
class Reading:
    """How a post reads, beyond its words' sentiment."""

    inquiry: bool = False  # asks for information ("请问…怎么申请退款？")
    news: bool = False  # reports (a headline, a bulletin, an advice column, a rebuttal)
    sarcastic: bool = False  # praise that means the opposite
    agrees: bool = False  # a repost whose own words agree with the quoted complaint
    angry: bool = False  # ... or whose own emoticons are angry ([怒], [抓狂])
    quotes_report: bool = False  # the quoted post asks or reports (see `inquiry`, `news`)
    grieves: bool = False  # its own words are sad (悲伤, 难过): a feeling, not a grievance
    asks: bool = False  # its last clause asks for information ("有什么办法分辨吗？")


PLAIN = Reading()  # a post not read: no complaint vocabulary to read it for


# the last clause asks for information: a question word that seeks an answer (什么,
# 哪, 还是, 能不能, 有没有 …) and a question mark or 吗. Not a bare 吗 ("这正常吗", "你们就是
# 这么卖东西的吗" are indignation), nor 呢 (it ends statements: "到现在也没见到人呢")
_ENDS_ASKING = re.compile(
    r"(?:什么|哪|还是|要不要|能不能|可不可以|有没有(?!搞错|人管)|是否)[^。!！?？，,；;]*"
    r"(?:[?？]|吗)[\s?？~～。.!！]*$"
)


def _asks(text: str) -> bool:
    # the pattern needs a question mark or 吗: most posts have none (a search costs more)
    if "?" not in text and "？" not in text and "吗" not in text:
        return False
    return _ENDS_ASKING.search(text.strip()) is not None


def _all_questions(text: str) -> bool:
    sentences = [x.strip(" ,，~") for x in _SENTENCE.findall(text)]
    sentences = [x for x in sentences if x]
    return bool(sentences) and all(x[-1] in "?？吗呢" for x in sentences)


@cache
def _contrast() -> re.Pattern:
    return re.compile(lexicon.trie_regex(lexicon.CONTRASTS))


_SENTENCE_END = re.compile(r"[。!?！？\n]")


def after_contrast(text: str, hits: Hits | None) -> str | None:
    """What follows the last "but" (但是, 不过, 可是 …; lexicon.CONTRASTS) that has a problem
    term after it in its sentence, to the sentence's end: "快递收到了，不过碎了" is about 碎了.
    None without one (不过敏 is no "but": lexicon.NOT_NEGATIONS tells them apart)."""
    if hits is None:
        return None
    problems = [h.start for h in hits.hits if h.kind == PROBLEM and not h.negated]
    if not problems:
        return None
    masked = lexicon.mask_not_negations(text)
    point = None
    for m in _contrast().finditer(text):
        if m.group() == "不过" and masked[m.start() : m.end()] == "不过":
            continue  # masked only where it means "but"
        found = _SENTENCE_END.search(text, m.end())
        end = found.start() if found else len(text)
        if any(m.end() <= i < end for i in problems):
            point = text[m.end() : end]
    return point


def read_post(norm: NormalizedText, hits: Hits, quotes_report: bool = False) -> Reading:
    """Whether the post asks, reports, mocks or agrees (see nlp/lexicon.py for the words);
    `quotes_report`: what its quoted post does (the caller reads that)."""
    text = norm.scoring_text
    pattern, kinds = _reading_matcher()
    found: set[str] = set()
    for m in pattern.finditer(text):
        kind = kinds[m.group().lower()]
        if kind == NEWS and lexicon.is_negated(text, m.start()):
            continue  # "这不是谣言"
        found.add(kind)
    inquiry = INQUIRY in found or (QUESTION in found and _all_questions(text))
    news = (
        (NEWS in found or text.startswith("【"))
        and _FIRST_PERSON.search(text) is None
        and _PLEA.search(text) is None
    )
    emoticons = set(norm.scoring_emoticons) & lexicon.SARCASTIC_EMOTICONS
    problem = any(h.kind == PROBLEM and not h.negated for h in hits.hits)
    sarcastic = (
        IRONY in found
        or (bool(emoticons) and bool(found & {PRAISE, MOCK}))
        or (MOCK in found and problem)
    )
    agrees = AGREE in found and bool(norm.quoted_text and norm.own_text)
    angry = bool(lexicon.ANGRY_EMOTICONS & set(norm.scoring_emoticons))
    grieves = GRIEF in found and not sarcastic
    return Reading(
        inquiry and not sarcastic,
        news and not inquiry,
        sarcastic,
        agrees,
        angry,
        quotes_report,
        grieves=grieves,
        asks=_asks(text),
    )


def model_tokens(norm: NormalizedText, hits: Hits) -> list[str]:
    """The non-n-gram features of a post: emoticons and lexicon hits."""
    tokens = [f"EMO_{e}" for e in norm.scoring_emoticons]
    # how the post is built says something too (topic and @ posts lean positive on Weibo)
    if norm.topics:
        tokens.append("META:topic")
    if norm.mentions:
        tokens.append("META:mention")
    if norm.links:
        tokens.append("META:link")
    if norm.cards:
        tokens.append("META:card")
    if norm.is_repost:
        tokens.append("META:repost" if norm.own_text else "META:bare_repost")
    tokens += [f"POL:negated{sign}" for sign in lexicon.negated_polarity(norm.scoring_text)]
    for h in hits.hits:
        if h.kind == CUE:
            tokens.append("LEX:cue:neg" if h.negated else "LEX:cue")
        else:
            tokens.append(f"LEX:{h.kind}:{h.code}{':neg' if h.negated else ''}")
    return tokens


def complaint_of(
    own: Hits,
    quoted: Hits | None,
    sentiment: float,
    negative: bool,
    reading: Reading = PLAIN,
    complaint_text: float = 0.0,
    hinted: bool = False,
) -> tuple[bool, float, list[str], list[str]]:
    """(complaint, complaint_score, categories, signals) from lexicon hits, sentiment and
    the model's P(complaint text); `hinted`: a category hint (lexicon.CATEGORY_HINTS) names
    what happened, which lets an escalation signal count."""
    reported = reading.inquiry or reading.news
    if not own.hits and quoted is None:
        # no lexicon evidence (half of all posts): only the complaint-text head can speak,
        # as below
        score = 0.0
        if sentiment < COMPLAINT_TEXT_BELOW and not reported and not reading.grieves:
            score = max(score, min(1.0, COMPLAINT_AT * complaint_text / COMPLAINT_TEXT_AT))
        return score >= COMPLAINT_AT, score, [], []
    weights: list[float] = []
    signal_weights: list[float] = []
    topic_weight = _TOPIC_WEIGHT_NEGATIVE if sentiment < TOPIC_NEGATIVE_BELOW else _TOPIC_WEIGHT
    denied = [h for h in own.hits if h.kind == PROBLEM]
    if denied and all(h.negated for h in denied):
        # "没有任何隐形消费": a post that denies the problems it names is not about them
        topic_weight = _TOPIC_WEIGHT
    problem: list[str] = []
    topics: list[str] = []
    signals: list[str] = []
    topic_evidence = 0.0
    reacts = (
        quoted is not None
        and not reading.quotes_report
        and (sentiment < REACTION_BELOW or (reading.angry and sentiment < COMPLAINT_TEXT_BELOW))
    )
    quoted_scale = 1.0 if reading.agrees or reacts else QUOTED_WEIGHT
    for hits, scale in ((own, 1.0), (quoted, quoted_scale)):
        if hits is None:
            continue
        if reported:
            scale *= REPORTED_WEIGHT
        for code in hits.codes(PROBLEM):
            weights.append(_CATEGORY_WEIGHT[code] * scale)
            problem.append(code)
        # a report on 投诉 or 12315 is not someone complaining or threatening to call it;
        # a question about them is not either, though a question may carry a 投诉 cue
        if not reading.news:
            cues = {h.term for h in hits.live(CUE)}
            weights += [lexicon.COMPLAINT_CUE_WEIGHT * scale] * min(len(cues), 2)
        for code in hits.codes(SIGNAL):
            if not reading.inquiry:
                signals.append(code)
            if not reported:
                signal_weights.append(_SIGNAL_WEIGHT[code] * scale)
        # an illness with no product behind it (外婆住院了) is no evidence of a complaint
        # and names no category (the lexicon made it a topic)
        about = [h for h in hits.live(TOPIC) if h.term not in lexicon.SYMPTOMS]
        topics += [h.code for h in about]
        # what a post is about counts once, however many categories it names
        if not reported and about:
            topic_evidence = max(topic_evidence, topic_weight * scale)
    weights.append(topic_evidence)
    # an escalation signal escalates a complaint but makes none by itself: 报警 after a
    # theft, 拉黑 after a break-up, 很多人都说 about a sad film. It counts beside other
    # evidence, the complaint-text head, a hint of what happened (摄像头…报警了) or a
    # signal that is itself a complaint (投诉到工信部, 拉了维权群)
    complaining = any(
        h.term in _COMPLAINING_SIGNALS for hs in (own, quoted) if hs for h in hs.live(SIGNAL)
    )
    if any(weights) or complaining or hinted or complaint_text >= COMPLAINT_TEXT_AT:
        weights += signal_weights
    evidence = 1.0 - math.prod(1.0 - w for w in weights)
    negativity = min(1.0, max(0.0, (1.0 - sentiment) / 0.6))
    score = evidence * negativity
    # the head reads review-like wording: grief with nothing named ("这电影太悲伤了") is not
    # enough for it alone, though lexicon evidence still makes a sad post a complaint
    if sentiment < COMPLAINT_TEXT_BELOW and not reported and not reading.grieves:
        score = max(score, min(1.0, COMPLAINT_AT * complaint_text / COMPLAINT_TEXT_AT))
    complaint = score >= COMPLAINT_AT
    categories: list[str] = []
    if complaint:
        found = set(problem) | set(topics)
        categories = [c for c in lexicon.CATEGORY_CODES if c in found]
    kept_signals = []
    # a report mentioning a regulator is no escalation unless it is a complaint
    if complaint or (negative and not reading.news):
        kept_signals = [s for s in lexicon.SIGNAL_CODES if s in signals]
    return complaint, score, categories, kept_signals


def with_hints(
    categories: list[str],
    signals: list[str],
    norm: NormalizedText,
    protected=None,
    signals_too: bool = True,
) -> tuple[list[str], list[str]]:
    """A complaint's categories and signals plus those its everyday wording names ("驿站说已经
    签收了" is delivery, "材料递到金融监管局了" a regulator); see lexicon.CATEGORY_HINTS."""
    found = lexicon.hinted_codes(norm.scoring_text, protected)
    if norm.quoted_text and norm.quoted_text not in norm.scoring_text:
        found |= lexicon.hinted_codes(norm.quoted_text, protected)
    categories = [c for c in lexicon.CATEGORY_CODES if c in found or c in categories]
    if signals_too:
        signals = [s for s in lexicon.SIGNAL_CODES if s in found or s in signals]
    return categories, signals


# 2026-12-02: a negation is judged with 非…不可 seen in the whole post, not a 20-character
# window ("这次我非投诉到消协去不可" asserts the complaint)
# 2026-12-02: a problem named after "but" is judged on what follows it (`after_contrast`)
RULES_REVISION = 3


@cache
def lexicon_digest() -> str:
    """A hash of the lexicon and complaint rule, part of the model version."""
    data = {
        "categories": [(c.code, c.terms, c.topics, c.weight) for c in lexicon.CATEGORIES],
        "hints": [lexicon.CATEGORY_HINTS, lexicon.SIGNAL_HINTS],
        "signals": [(s.code, s.terms, s.weight) for s in lexicon.SIGNALS],
        "cues": lexicon.COMPLAINT_CUES,
        "negations": lexicon.NEGATIONS,
        "cancel": [lexicon.HEDGES, lexicon.SHADOWED, sorted(lexicon.SYMPTOMS)],
        "context": lexicon.PRODUCT_CONTEXT,
        "reading": [
            lexicon.INQUIRY_MARKERS,
            lexicon.QUESTION_WORDS,
            lexicon.RHETORICAL_QUESTIONS,
            lexicon.NEWS_MARKERS,
            lexicon.PRAISE,
            lexicon.MOCK_PRAISE,
            lexicon.IRONY,
            sorted(lexicon.SARCASTIC_EMOTICONS),
            sorted(lexicon.ANGRY_EMOTICONS),
            lexicon.AGREEMENT,
            lexicon.GRIEF,
        ],
        "rule": [
            QUOTED_WEIGHT,
            COMPLAINT_AT,
            _TOPIC_WEIGHT,
            _TOPIC_WEIGHT_NEGATIVE,
            TOPIC_NEGATIVE_BELOW,
            REPORTED_WEIGHT,
            SARCASM_SENTIMENT,
            REACTION_BELOW,
            COMPLAINT_TEXT_AT,
            COMPLAINT_TEXT_BELOW,
        ],
        # a change in how the rules read text that no list above shows
        "revision": RULES_REVISION,
    }
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:6]


@dataclass(slots=True)
class Prepared:
    """A post ready for the model: its normalised form, lexicon hits and model inputs."""

    norm: NormalizedText
    error: str | None
    text: str = ""
    tokens: list[str] = field(default_factory=list)
    hits: Hits | None = None
    quoted_hits: Hits | None = None
    reading: Reading = PLAIN
    failed: bool = False  # normalising raised: a failure, not a verdict on the text


def prepare(raw: object, protected=None) -> Prepared:
    """Normalise one post and find its lexicon terms; never raises."""
    try:
        norm = normalize(raw)
        error = unusable_reason(raw, norm)
    except Exception as exc:  # noqa: BLE001 - one bad post must not sink the batch
        return Prepared(normalize(""), f"cannot normalise text: {reason(exc)}", failed=True)
    if error is not None:
        return Prepared(norm, error)
    text = norm.scoring_text
    hits = lexicon.match(text, protected)
    quoted_hits = None
    quotes_report = False
    if norm.quoted_text and (norm.own_text or norm.emoticons):
        quoted_hits = lexicon.match(norm.quoted_text, protected)
        if quoted_hits.hits:
            quoted = read_post(NormalizedText(norm.quoted_text), quoted_hits)
            quotes_report = quoted.inquiry or quoted.news
    reading = PLAIN
    # how a post reads only matters with complaint vocabulary or a sarcastic emoticon
    # (the check costs about as much as the lexicon match, so most posts skip it)
    if (
        hits.hits
        or quoted_hits is not None
        or lexicon.SARCASTIC_EMOTICONS & set(norm.scoring_emoticons)
    ):
        reading = read_post(norm, hits, quotes_report)
    if reading.agrees:
        # "我也是" carries no sentiment of its own: the model reads what is agreed with
        text = norm.full
    return Prepared(norm, None, text, model_tokens(norm, hits), hits, quoted_hits, reading)


def problem_categories(item: Prepared) -> set[str]:
    """The categories a post's problem terms name (异物, 不给退), in its own words or the
    post it quotes; its other categories come from topics (客服, 快递) or hints (签收)."""
    return {
        c for hits in (item.hits, item.quoted_hits) if hits is not None for c in hits.codes(PROBLEM)
    }


def _hinted(item: Prepared, protected) -> bool:
    """Whether a post with an escalation signal has a category hint outside the signal's
    own words ("把他拉黑了": 拉黑 is a signal and a hint, and hints nothing about us)."""
    found = False
    for hits, text in (
        (item.hits, item.norm.scoring_text),
        (item.quoted_hits, item.norm.quoted_text),
    ):
        signals = hits.live(SIGNAL) if hits is not None else []
        if not signals:
            continue
        chars = list(text)
        for h in signals:
            chars[h.start : h.start + len(h.term)] = " " * len(h.term)
        codes = lexicon.hinted_codes("".join(chars), protected)
        found = found or any(c in codes for c in lexicon.CATEGORY_CODES)
    return found


class _BaseScorer:
    model_version: str = "base"
    negative_below: float = 0.4
    protected = None  # brand names inside which lexicon terms are ignored
    category_model = None  # nlp.category_model.CategoryModel: categories the lexicon misses

    def _probabilities(self, items: list[Prepared]) -> np.ndarray:  # pragma: no cover
        """One row per item: P(positive), P(complaint text)."""
        raise NotImplementedError

    def score(self, text: str) -> Score:
        """Score one post (prefer `score_batch` for many)."""
        return self.score_batch([text])[0]

    def score_batch(self, texts: Sequence[str]) -> list[Score]:
        """Scores in input order; an unusable post gets a Score with `error` set."""
        items = [prepare(t, self.protected) for t in texts]
        usable = [i for i, item in enumerate(items) if item.error is None]
        probs: dict[int, list[float] | Failed] = {}
        for start in range(0, len(usable), CHUNK):
            chunk = usable[start : start + CHUNK]
            # a chunk the model raises on is bisected: the posts behind it get Failed
            for i, row in zip(
                chunk, isolate(self._probabilities, [items[i] for i in chunk]), strict=True
            ):
                if not isinstance(row, Failed):
                    row = np.asarray(row, dtype=np.float64)
                    if row.shape != (2,):
                        raise ValueError(f"model gave {row.shape} probabilities for a post")
                    row = row.tolist()
                probs[i] = row
        points = self._points(items, probs)
        results = []
        for i, item in enumerate(items):
            row = probs.get(i)
            if item.error is not None:
                results.append(Score(None, error=item.error, failed=item.failed))
                continue
            if isinstance(row, Failed) or not all(map(math.isfinite, row)):
                why = f"model raised {row.reason}" if isinstance(row, Failed) else "no finite score"
                results.append(Score(None, error=f"model failed: {why}", failed=True))
                continue
            p, complaint_text = (min(1.0, max(0.0, v)) for v in row)
            reading = item.reading
            if complaint_text >= COMPLAINT_TEXT_AT and reading is PLAIN:
                # prepare() reads only posts with complaint words; one the complaint head
                # would call a complaint is read too (a question or a report is not one)
                reading = read_post(item.norm, item.hits)
            if reading.sarcastic:
                p = min(p, SARCASM_SENTIMENT)
            negative = p < self.negative_below
            # the complaint is judged on what follows "but" when a problem is named there:
            # "快递收到了，不过碎了" reads mildly positive (0.63) as a whole; the sentiment
            # itself stays the post's overall tone (a mixed review is labelled positive)
            point = min(p, points.get(i, 1.0))
            complaint, cscore, cats, sigs = complaint_of(
                item.hits,
                item.quoted_hits,
                point,
                negative,
                reading,
                complaint_text,
                _hinted(item, self.protected),
            )
            if complaint:
                # a question about 12315 is no threat to call it (as in complaint_of)
                cats, sigs = with_hints(
                    cats, sigs, item.norm, self.protected, signals_too=not reading.inquiry
                )
                if reading.asks and not cats and not sigs:
                    # the head reads "充电宝能带上去吗？要注意什么？" like a review; a question
                    # that names no problem is a complaint only on lexicon evidence
                    complaint, cscore, cats, sigs = complaint_of(
                        item.hits, item.quoted_hits, point, negative, reading, 0.0, False
                    )
            results.append(Score(p, negative, complaint, round(cscore, 4), cats, sigs))
        if self.category_model is not None:
            self._add_learned_categories(items, results)
        return results

    def _points(self, items: list[Prepared], probs: dict) -> dict[int, float]:
        """P(positive) of what follows "but" in each post that names a problem there
        (`after_contrast`), read by the model in one batch; few posts have one. A post
        whose "but" part the model fails on is judged as a whole, and only that post
        (the batch is bisected as the main reading is)."""
        found = {}
        for i, item in enumerate(items):
            if i in probs and not isinstance(probs[i], Failed):
                point = after_contrast(item.norm.scoring_text, item.hits)
                if point:
                    found[i] = prepare(point, self.protected)
        usable = [i for i, item in found.items() if item.error is None]
        if not usable:
            return {}
        rows = isolate(self._probabilities, [found[i] for i in usable])
        return {
            i: float(r[0])
            for i, r in zip(usable, rows, strict=True)
            if not isinstance(r, Failed) and math.isfinite(r[0])
        }

    def _add_learned_categories(self, items: list[Prepared], results: list[Score]) -> None:
        """Add the categories the category model reads in each complaint to those the
        lexicon named ("耳机戴了一周左边就不响了" names no quality term), and drop those
        the lexicon named that it rules out (客服 in "找客服申请价保" is no service
        complaint; nlp/category_model.py); it never makes a post a complaint."""
        found = [i for i, r in enumerate(results) if r.complaint]
        learned = self.category_model.categories(
            [items[i].text for i in found],
            [results[i].categories for i in found],
            [problem_categories(items[i]) for i in found],
        )
        for i, codes in zip(found, learned, strict=True):
            results[i].categories = [c for c in lexicon.CATEGORY_CODES if c in codes]


DEFAULT_NEGATIVE_BELOW = 0.4


def threshold_suffix(negative_below: float) -> str:
    """The part of a model version that says which `negative` threshold scored it: a
    score's `negative` is decided when it is scored, so a new threshold is a new version
    and rescores the history once, as a new model does ("" for the default 0.4, so
    versions scored before this suffix existed stay valid)."""
    if negative_below == DEFAULT_NEGATIVE_BELOW:
        return ""
    return f"-neg{negative_below:g}"


def brand_suffix(words: Iterable[str]) -> str:
    """The part of a model version that says which brand words the scorer protected: a
    digest of `lexicon.protected_words` ("" when none). Protection changes scores: a
    lexicon term inside a brand name is no evidence, and a brand named beside a symptom
    makes it a product problem. Measured with bench/brand_words.py (3,000 posts per
    corpus, brand terms written in as the simulator does): for the shipped config's names,
    which hold no lexicon term, dropping every brand word changed a stored flag or list
    (`negative`, `complaint`, `categories`, `signals`) of 0 simulator posts, 1 food-delivery
    review and 4 of 2,033 milk reviews ("刚换了沐沐，宝宝就过敏了" loses its safety
    complaint without 沐沐); one alias less changed at most one post. A name holding a term
    (the lexicon's example 无忧快递: 快递 is a delivery topic) changed the flags of 14.7% and
    the sentiment of 75.3% of the delivery reviews naming it. So a changed word list is a
    new version and the history is rescored once, by the sweep that rescores a new model
    (nlp/stage.py: the last 48 h first), and `negative`, `complaint` and the categories of
    every post follow the config in force, as for `thresholds.negative_below`.

    Storage: the old version's rows stay in `scores` (no retention touches them; they
    are how an old alert was scored); `v_latest_scores` and every analyst view read each
    post's newest row, so they move to the new scores as the sweep reaches them, and the
    pipeline (enrolment, alerts) reads the current version only. Each edit thus adds a
    row per mention (233 bytes with its key's index on PostgreSQL: 0.23 GB a million);
    rows of a version no longer in force can be deleted once the sweep is done
    (docs/warehouse.md, `scores`). Digesting only
    the words that hold a lexicon term would spare edits like a new alias, but a bare
    alias beside a symptom changes the verdict too (the example above), so every
    protected word counts; the order, repeats and search phrases that protect nothing do
    not. jieba also gets the words as user words, but no score reads its segments (the
    model's features are character n-grams, nlp/features.py), so they are not digested."""
    kept = lexicon.protected_words(words)
    if not kept:
        return ""
    digest = hashlib.sha256(json.dumps(kept, ensure_ascii=False).encode()).hexdigest()
    return f"-b{digest[:8]}"


class Scorer(_BaseScorer):
    """The committed in-domain model (see nlp/sentiment_model.py and `yujing train`)."""

    def __init__(
        self,
        model,
        model_version: str,
        negative_below: float = 0.4,
        protected=None,
        category_model=None,
    ):
        self.model = model
        self.model_version = model_version
        self.negative_below = negative_below
        self.protected = protected
        self.category_model = category_model

    @classmethod
    def load(
        cls,
        extra_words: Iterable[str] = (),
        negative_below: float = 0.4,
        path=None,
        categories: bool = True,
    ) -> Scorer:
        """The committed models (offline). `extra_words` (brand names, products) join the
        jieba dictionary and are protected from lexicon matches inside them; without
        `categories` only the lexicon names categories (the baseline `yujing
        train-categories` and bench/complaint_probe.py compare against)."""
        from nlp.segment import register_words
        from nlp.sentiment_model import MODEL_PATH, load

        words = [w for w in dict.fromkeys(extra_words) if w]
        register_words(words)
        model, version = load(path or MODEL_PATH)
        category_model, rules = None, lexicon_digest()
        if categories:
            from nlp import category_model as learned

            category_model, digest = learned.load(learned.MODEL_PATH)
            unknown = set(category_model.codes) - set(lexicon.CATEGORY_CODES)
            if unknown:
                raise ValueError(
                    f"{learned.MODEL_PATH}: categories {sorted(unknown)} are not in the "
                    "lexicon (run `yujing train-categories`)"
                )
            rules = f"{rules}c{digest}"
        return cls(
            model,
            f"{version}-{rules}{threshold_suffix(negative_below)}{brand_suffix(words)}",
            negative_below,
            lexicon.protected_pattern(words),
            category_model,
        )

    def _probabilities(self, items: list[Prepared]) -> np.ndarray:
        positive, complaint_text = self.model.predict(
            [i.text for i in items], [i.tokens for i in items]
        )
        return np.column_stack([positive, complaint_text])


class SnowNLPScorer(_BaseScorer):
    """Baseline: snownlp's bundled sentiment model (slow, trained on product reviews), with
    the same normalisation and complaint rule as `Scorer`."""

    def __init__(self, negative_below: float = 0.4, protected=None):
        import snownlp

        self.negative_below = negative_below
        self.protected = protected
        self.model_version = (
            f"snownlp-{getattr(snownlp, '__version__', '0.12.3')}{threshold_suffix(negative_below)}"
        )

    @classmethod
    def load(cls, extra_words: Iterable[str] = (), negative_below: float = 0.4):
        words = [w for w in dict.fromkeys(extra_words) if w]
        scorer = cls(negative_below, lexicon.protected_pattern(words))
        scorer.model_version += brand_suffix(words)
        return scorer

    def _probabilities(self, items: list[Prepared]) -> np.ndarray:
        from snownlp import SnowNLP

        # snownlp has no complaint reading: its complaints come from the lexicon alone
        positive = [SnowNLP(i.text).sentiments if i.text else 0.5 for i in items]
        return np.column_stack([positive, np.zeros(len(items))])


def brand_words(config) -> list[str]:
    """Brand names, aliases, keywords and products from the config, without repeats."""
    words = [w for b in config.brands for w in (b.name, *b.aliases, *b.keywords, *b.products)]
    return list(dict.fromkeys(w for w in words if w))


def scorer_for_config(config) -> Scorer:
    """The production scorer with the config's brands in its dictionary."""
    return Scorer.load(
        extra_words=brand_words(config), negative_below=config.thresholds.negative_below
    )
