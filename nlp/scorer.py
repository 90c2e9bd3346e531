"""Scoring posts: calibrated sentiment, complaint-ness, categories and escalation signals.

`Scorer` is the production scorer (the committed in-domain model, nlp/sentiment_model.py);
`SnowNLPScorer` is the baseline (snownlp's bundled model) kept for comparison in `bench/`.
Both score batches and never raise on a bad post: an unusable text gets a `Score` with
`error` set and `sentiment` None.

A complaint is more than negative sentiment. The complaint score weighs lexicon evidence
(nlp/lexicon.py) — problem terms (异物, 不给退, 乱收费), complaint cues (投诉, 讨说法),
escalation signals (12315, 曝光, 维权群) and, for clearly negative posts, topic terms
(客服, 快递) — as a noisy-OR, and scales it by how negative the post reads:

    evidence = 1 − Π(1 − w_i)          negativity = clip((1 − P(positive)) / 0.6, 0, 1)
    complaint_score = evidence × negativity,   complaint = complaint_score ≥ 0.5

so "这电影太悲伤了" (negative, no complaint vocabulary) is not a complaint, "没有异物，放心"
(negated) is not one either, and "奶粉里有异物" is one even when its wording is neutral.
Categories are reported for complaints; signals for complaints and negative posts.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from nlp import lexicon
from nlp.lexicon import CUE, PROBLEM, SIGNAL, TOPIC, Hits
from nlp.normalize import NormalizedText, normalize

CHUNK = 2048  # posts featurised at once (bounds memory for huge batches)
QUOTED_WEIGHT = 0.6  # evidence found only in the quoted post of a repost counts less
COMPLAINT_AT = 0.5
_CATEGORY_WEIGHT = {c.code: c.weight for c in lexicon.CATEGORIES}
_SIGNAL_WEIGHT = {s.code: s.weight for s in lexicon.SIGNALS}
_TOPIC_WEIGHT, _TOPIC_WEIGHT_NEGATIVE = 0.35, 0.55
# a topic term alone (价格, 快递) makes a complaint only in a clearly negative post
TOPIC_NEGATIVE_BELOW = 0.15


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@dataclass(slots=True)
class Score:
    """One post's scores. `sentiment` is P(positive) in [0, 1], None when unusable."""

    sentiment: float | None
    negative: bool = False
    complaint: bool = False
    complaint_score: float = 0.0
    categories: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json_dict(self) -> dict:
        """The `yujing score` output object (a contract other tools parse): sentiment,
        negative, complaint, categories, signals, and error only for an unusable line."""
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


def unusable_reason(raw: object, norm: NormalizedText) -> str | None:
    """Why a post cannot be scored, or None."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return "empty text"
    if not isinstance(raw, str | bytes | bytearray):
        return f"not text ({type(raw).__name__})"
    if norm.is_empty:
        return "nothing left after removing links, mentions and markup"
    text = norm.scoring_text
    if text.count("\ufffd") * 2 > len(text):
        return "not valid UTF-8 text"
    if not norm.scoring_emoticons and not any(_is_han(ch) for ch in text):
        return "no Chinese text"
    return None


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
    own: Hits, quoted: Hits | None, sentiment: float, negative: bool
) -> tuple[bool, float, list[str], list[str]]:
    """(complaint, complaint_score, categories, signals) from lexicon hits and sentiment."""
    weights: list[float] = []
    topic_weight = _TOPIC_WEIGHT_NEGATIVE if sentiment < TOPIC_NEGATIVE_BELOW else _TOPIC_WEIGHT
    problem: list[str] = []
    topics: list[str] = []
    signals: list[str] = []
    for hits, scale in ((own, 1.0), (quoted, QUOTED_WEIGHT)):
        if hits is None:
            continue
        for code in hits.codes(PROBLEM):
            weights.append(_CATEGORY_WEIGHT[code] * scale)
            problem.append(code)
        cues = {h.term for h in hits.live(CUE)}
        weights += [lexicon.COMPLAINT_CUE_WEIGHT * scale] * min(len(cues), 2)
        for code in hits.codes(SIGNAL):
            weights.append(_SIGNAL_WEIGHT[code] * scale)
            signals.append(code)
        for code in hits.codes(TOPIC):
            weights.append(topic_weight * scale)
            topics.append(code)
    evidence = 1.0 - math.prod(1.0 - w for w in weights)
    negativity = min(1.0, max(0.0, (1.0 - sentiment) / 0.6))
    score = evidence * negativity
    complaint = score >= COMPLAINT_AT
    categories: list[str] = []
    if complaint:
        found = set(problem) | set(topics)
        categories = [c for c in lexicon.CATEGORY_CODES if c in found]
    kept_signals = []
    if complaint or negative:
        kept_signals = [s for s in lexicon.SIGNAL_CODES if s in signals]
    return complaint, score, categories, kept_signals


@cache
def lexicon_digest() -> str:
    """A hash of the lexicon and complaint rule, part of the model version."""
    data = {
        "categories": [(c.code, c.terms, c.topics, c.weight) for c in lexicon.CATEGORIES],
        "signals": [(s.code, s.terms, s.weight) for s in lexicon.SIGNALS],
        "cues": lexicon.COMPLAINT_CUES,
        "negations": lexicon.NEGATIONS,
        "rule": [
            QUOTED_WEIGHT,
            COMPLAINT_AT,
            _TOPIC_WEIGHT,
            _TOPIC_WEIGHT_NEGATIVE,
            TOPIC_NEGATIVE_BELOW,
        ],
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


def prepare(raw: object, protected=None) -> Prepared:
    """Normalise one post and find its lexicon terms; never raises."""
    try:
        norm = normalize(raw)
        error = unusable_reason(raw, norm)
    except Exception as exc:  # noqa: BLE001 - one bad post must not sink the batch
        return Prepared(normalize(""), f"cannot normalise text: {type(exc).__name__}")
    if error is not None:
        return Prepared(norm, error)
    text = norm.scoring_text
    hits = lexicon.match(text, protected)
    quoted_hits = None
    if norm.quoted_text and (norm.own_text or norm.emoticons):
        quoted_hits = lexicon.match(norm.quoted_text, protected)
    return Prepared(norm, None, text, model_tokens(norm, hits), hits, quoted_hits)


class _BaseScorer:
    model_version: str = "base"
    negative_below: float = 0.4
    protected = None  # brand names inside which lexicon terms are ignored

    def _probabilities(self, items: list[Prepared]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def score(self, text: str) -> Score:
        """Score one post (prefer `score_batch` for many)."""
        return self.score_batch([text])[0]

    def score_batch(self, texts: Sequence[str]) -> list[Score]:
        """Scores in input order; an unusable post gets a Score with `error` set."""
        items = [prepare(t, self.protected) for t in texts]
        usable = [i for i, item in enumerate(items) if item.error is None]
        probs: dict[int, float] = {}
        for start in range(0, len(usable), CHUNK):
            chunk = usable[start : start + CHUNK]
            try:
                values = self._probabilities([items[i] for i in chunk])
            except Exception as exc:  # noqa: BLE001 - fall back to one by one
                values = self._one_by_one([items[i] for i in chunk], exc)
            probs.update(zip(chunk, values, strict=True))
        results = []
        for i, item in enumerate(items):
            p = probs.get(i)
            if item.error is not None or p is None or not np.isfinite(p):
                results.append(Score(None, error=item.error or "model returned no score"))
                continue
            p = float(min(1.0, max(0.0, p)))
            negative = p < self.negative_below
            complaint, cscore, cats, sigs = complaint_of(item.hits, item.quoted_hits, p, negative)
            results.append(Score(p, negative, complaint, round(cscore, 4), cats, sigs))
        return results

    def _one_by_one(self, items: list[Prepared], exc: Exception) -> list[float]:
        out = []
        for item in items:
            try:
                out.append(float(self._probabilities([item])[0]))
            except Exception:  # noqa: BLE001
                out.append(float("nan"))
        return out


class Scorer(_BaseScorer):
    """The committed in-domain model (see nlp/sentiment_model.py and `yujing train`)."""

    def __init__(self, model, model_version: str, negative_below: float = 0.4, protected=None):
        self.model = model
        self.model_version = model_version
        self.negative_below = negative_below
        self.protected = protected

    @classmethod
    def load(
        cls, extra_words: Iterable[str] = (), negative_below: float = 0.4, path=None
    ) -> Scorer:
        """The committed model (offline). `extra_words` (brand names, products) join the
        jieba dictionary and are protected from lexicon matches inside them."""
        from nlp.segment import register_words
        from nlp.sentiment_model import MODEL_PATH, load

        words = [w for w in dict.fromkeys(extra_words) if w]
        register_words(words)
        model, version = load(path or MODEL_PATH)
        return cls(
            model,
            f"{version}-{lexicon_digest()}",
            negative_below,
            lexicon.protected_pattern(words),
        )

    def _probabilities(self, items: list[Prepared]) -> np.ndarray:
        return self.model.predict_proba([i.text for i in items], [i.tokens for i in items])


class SnowNLPScorer(_BaseScorer):
    """Baseline: snownlp's bundled sentiment model (slow, trained on product reviews), with
    the same normalisation and complaint rule as `Scorer`."""

    def __init__(self, negative_below: float = 0.4, protected=None):
        import snownlp

        self.negative_below = negative_below
        self.protected = protected
        self.model_version = f"snownlp-{getattr(snownlp, '__version__', '0.12.3')}"

    @classmethod
    def load(cls, extra_words: Iterable[str] = (), negative_below: float = 0.4):
        words = [w for w in dict.fromkeys(extra_words) if w]
        return cls(negative_below, lexicon.protected_pattern(words))

    def _probabilities(self, items: list[Prepared]) -> np.ndarray:
        from snownlp import SnowNLP

        return np.array([SnowNLP(i.text).sentiments if i.text else 0.5 for i in items])


def brand_words(config) -> list[str]:
    """Brand names, aliases, keywords and products from the config, without repeats."""
    words = [w for b in config.brands for w in (b.name, *b.aliases, *b.keywords, *b.products)]
    return list(dict.fromkeys(w for w in words if w))


def scorer_for_config(config) -> Scorer:
    """The production scorer with the config's brands in its dictionary."""
    return Scorer.load(
        extra_words=brand_words(config), negative_below=config.thresholds.negative_below
    )
