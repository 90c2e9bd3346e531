"""Short labelled phrases that teach the sentiment model how negation composes.

The labelled corpora almost never say "一点也不差" or "不难吃", and when a negation sits
near 差 there it is mostly inside a complaint ("忍不住给差评", "没有最差只有更差"), so a
model trained on them alone reads "一点也不差" as negative: 不 and 差 are each strong
signs of a complaint. These phrases are built from the lexicon's evaluative words
(nlp/lexicon.py): a negated negative word is praise (质量一点也不差 → 1), a negated
positive word is a complaint (一点都不好吃 → 0), and the plain forms with degree words
keep their own polarity (太差 → 0, 很满意 → 1), so the model learns the contrast rather
than "一点也不 is positive". They join training at a small weight (TrainParams) and never
the domain gate or the calibration.

`examples(held_out_every=k)` splits by evaluative word: the phrases of every k-th word
are returned apart, so `yujing train` can report how the model reads negations of words
it never saw negated in these phrases.
"""

from __future__ import annotations

from nlp.lexicon import NEGATIVE_WORDS, POSITIVE_WORDS

# fmt: off
SUBJECTS = ("", "质量", "味道", "服务", "东西", "这家店", "感觉", "其实")
# the comparison with expectations negates whatever it compares, in both directions: taught
# one way only (没有想象中那么差 → praise), the model read "没有想象中那么好" as praise too
COMPARED = ("没有想象中那么", "没有想象的那么", "没有传说中那么")
# negations that turn a negative word into (mild) praise: 不差, 一点也不贵, 没那么难吃
NEGATING_NEGATIVE = (
    "不", "一点也不", "一点都不", "并不", "也不", "没那么", "没有那么", "不算", *COMPARED,
)
# negations that turn a positive word into a complaint: 不好吃, 不太满意, 一点也不方便
NEGATING_POSITIVE = (
    "不", "一点也不", "一点都不", "并不", "不太", "不是很", "没那么", "不怎么", *COMPARED,
    "没有想象中", "没有宣传的那么",
)
DEGREE_NEGATIVE = ("", "很", "太", "非常", "有点", "真", "特别")
DEGREE_POSITIVE = ("", "很", "非常", "挺", "真", "特别")
# fmt: on


def _phrases(word: str, positive: bool) -> list[tuple[int, str]]:
    label = int(positive)
    negations = NEGATING_POSITIVE if positive else NEGATING_NEGATIVE
    degrees = DEGREE_POSITIVE if positive else DEGREE_NEGATIVE
    out = []
    for subject in SUBJECTS:
        out += [(1 - label, f"{subject}{n}{word}") for n in negations]
        out += [(label, f"{subject}{d}{word}") for d in degrees]
    return out


def examples(held_out_every: int = 0) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(training phrases, held-out phrases) as (label, text); with `held_out_every` k > 0,
    the phrases of every k-th evaluative word (of each polarity) are held out."""
    train: list[tuple[int, str]] = []
    held: list[tuple[int, str]] = []
    for positive, words in ((False, NEGATIVE_WORDS), (True, POSITIVE_WORDS)):
        for i, word in enumerate(words):
            phrases = _phrases(word, positive)
            (held if held_out_every and i % held_out_every == 0 else train).extend(phrases)
    return _unique(train), _unique(held)


def _unique(rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """First label wins for a text built twice (差 and 差劲 both give "不差…" prefixes)."""
    seen: dict[str, int] = {}
    for label, text in rows:
        seen.setdefault(text, label)
    return [(label, text) for text, label in seen.items()]
