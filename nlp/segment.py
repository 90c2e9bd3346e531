"""jieba segmentation, initialised once per process with Yujing's own dictionary.

Brand names, aliases and products from the config and the complaint vocabulary of
nlp/lexicon.py are added as user words, so `沐沐奶粉`, `黑猫投诉` or `12315` stay whole
instead of being split. The tokenizer is a private `jieba.Tokenizer` (not jieba's global
one, which other code may configure differently), built lazily on first use: loading
jieba's dictionary takes about a second and 100 MB, so code that only registers brand
words (the scorer) pays nothing until something actually segments.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

_lock = threading.RLock()
_tokenizer = None
_words: dict[str, None] = {}  # registered user words, in order
_added: set[str] = set()


def register_words(words: Iterable[str]) -> None:
    """Add user words (brand names, products) to the process-wide dictionary."""
    with _lock:
        new = [w.strip() for w in words if w and w.strip() and w.strip() not in _words]
        for word in new:
            _words[word] = None
        if _tokenizer is not None:
            _add(_tokenizer, new)


def _add(tok, words: Iterable[str]) -> None:
    for word in words:
        if word not in _added:
            # at least the frequency that keeps the word whole in jieba's DAG
            tok.add_word(word, freq=max(tok.suggest_freq(word, tune=False), 1000))
            _added.add(word)


def tokenizer(extra_words: Iterable[str] = ()):
    """The process-wide jieba tokenizer with the lexicon and registered words loaded."""
    global _tokenizer
    with _lock:
        register_words(extra_words)
        if _tokenizer is None:
            import jieba

            from nlp.lexicon import all_terms

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            _add(tok, all_terms())
            _add(tok, list(_words))
            _tokenizer = tok
        return _tokenizer


def segment(text: str, extra_words: Iterable[str] = (), hmm: bool = True) -> list[str]:
    """Words of a normalised text, without whitespace tokens."""
    if not isinstance(text, str) or not text:
        return []
    return [w for w in tokenizer(extra_words).lcut(text, HMM=hmm) if not w.isspace()]


def is_initialised() -> bool:
    return _tokenizer is not None
