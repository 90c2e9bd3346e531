"""Negation handling: the training phrases that teach it and the committed model's reading."""

from __future__ import annotations

import pytest

from nlp.lexicon import NEGATIVE_WORDS, POSITIVE_WORDS
from nlp.negation_examples import examples


def test_phrases_flip_polarity_only_under_negation():
    phrases = dict((text, label) for label, text in examples()[0])

    assert phrases["一点也不差"] == 1 and phrases["太差"] == 0 and phrases["差"] == 0
    assert phrases["质量不贵"] == 1 and phrases["服务不太满意"] == 0
    assert phrases["不是很好"] == 0 and phrases["很好"] == 1
    assert len(phrases) == len(examples()[0])  # no text carries two labels


def test_the_probe_holds_out_whole_evaluative_words():
    train, probe = examples(held_out_every=5)
    held_words = set(NEGATIVE_WORDS[::5]) | set(POSITIVE_WORDS[::5])
    assert probe and train
    assert all(any(w in text for w in held_words) for _, text in probe)
    # a training phrase may contain a held-out word only inside a longer word (差 in 差劲)
    trained_words = (set(NEGATIVE_WORDS) | set(POSITIVE_WORDS)) - held_words
    assert all(any(w in text for w in trained_words) for _, text in train)
    assert not {text for _, text in train} & {text for _, text in probe}


@pytest.mark.parametrize(
    "text",
    [
        "一点也不差",
        "说实话一点也不差",
        "不难吃",
        "这个价格真的不贵",
        "房间一点都不脏",
        "并不难用",
        "没有想象中那么差",
        "这家其实没有传说中那么难吃",
    ],
)
def test_a_negated_complaint_word_reads_positive(scorer, text):
    assert scorer.score(text).sentiment > 0.5


@pytest.mark.parametrize(
    "text",
    [
        "不是很好",
        "一点都不好",
        "这次的包装不太满意",
        "客服一点也不耐心",
        "并不推荐",
        "差",
        "太难吃了",
        "实物没有图片上那么好看",
        "没有宣传的那么好",
    ],
)
def test_a_negated_praise_word_or_a_plain_complaint_reads_negative(scorer, text):
    assert scorer.score(text).sentiment < 0.5
