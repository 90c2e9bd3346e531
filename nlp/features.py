"""Vectorised features for the sentiment model: hashed character n-grams and tokens.

Character 1–3-grams carry most of the sentiment signal in short Chinese posts and are
robust to segmentation errors and new words. Instead of building n-grams string by string
in Python (scikit-learn's analyzers), a whole batch is joined into one code-point array
and every n-gram is hashed with integer arithmetic in NumPy, so featurising costs a few
microseconds per post — several times less than segmenting the same post with jieba,
which is what lets the scorer beat `jieba.lcut` on throughput (bench/nlp_throughput.py).

Besides plain n-grams a post gets:

- negation-scoped copies of the n-grams that start within a few characters after a
  negation word (不是很好 → NEG:很, NEG:很好, NEG:好 …), so "不好" and "好" can weigh
  differently even when the bigram is not in the training data; the scope starts after a
  comparison or a verb of meeting (没有想象中那么|好, 没遇到过|假货), and words that only
  contain a negation (不过 "but", 特别 "very"; lexicon.NOT_NEGATIONS) have none;
- degree-scoped copies after an intensifier (太/非常/极其 …) so 太差 and 有点差 differ;
- tokens: emoticons (`EMO_怒`) and lexicon hits (`LEX:problem:safety`, `LEX:cue`, …),
  hashed into the same space with a stable hash (murmurhash3, not Python's salted hash).

`HashedFeatures.transform` gives raw counts; nlp/sentiment_model.py applies TF-IDF.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import sparse

from nlp.lexicon import mask_not_negations

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_NEG_SALT = np.uint64(0x9E3779B97F4A7C15)
_DEG_SALT = np.uint64(0xD1B54A32D192ED03)
_CONTRAST_SALT = np.uint64(0x8CB92BA72F3D8DD7)
# a contrast's scope runs to the end of its sentence ("但是，质量太差": past the comma)
_SENTENCE_ENDS = np.array([ord(c) for c in "\0\n。.!！?？;；"], dtype=np.uint64)
_SEPARATORS = np.array([0, 32], dtype=np.uint64)  # batch separator and space
# a negation or degree word's scope ends at a clause boundary ("不差，挺好": 挺 is not negated)
_CLAUSE_ENDS = np.array([ord(c) for c in "\0 ,，。.!！?？;；:：、~"], dtype=np.uint64)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise on uint64 (wrapping arithmetic)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@cache
def _scope_patterns() -> tuple[re.Pattern, re.Pattern]:
    from nlp.lexicon import COMPARISONS, DEGREE, ENCOUNTERS, NEGATIONS, trie_regex

    negations = [n for n in NEGATIONS if n not in ("杜绝", "防止", "预防", "避免")]
    # the scope starts at what is evaluated or denied, after a comparison ("没有想象中那么|好")
    # or a verb of meeting it ("从来没遇到过|质量问题")
    skipped = trie_regex([*COMPARISONS, *ENCOUNTERS, *(f"{e}过" for e in ENCOUNTERS)])
    negation = f"(?:{trie_regex(negations)})(?:{skipped})*"
    return re.compile(negation), re.compile(trie_regex(DEGREE))


@cache
def _contrast_pattern() -> re.Pattern:
    from nlp.lexicon import CONTRASTS, trie_regex

    return re.compile(trie_regex(CONTRASTS))


@cache
def _token_hash(token: str, bits: int) -> int:
    from sklearn.utils import murmurhash3_32

    return murmurhash3_32(token, seed=20261122, positive=True) & ((1 << bits) - 1)


@dataclass(frozen=True)
class HashedFeatures:
    """Raw-count features of a batch; the configuration is stored with the model."""

    bits: int = 20
    ngram_max: int = 3
    scope: int = 3  # characters after a negation/degree word whose n-grams are marked
    negation: bool = True
    degree: bool = True
    # n-grams in a negation's scope are counted only in their negated form, so "不差"
    # does not also count as "差"
    replace_negated: bool = True
    # contrast-scoped copies of the n-grams in the `contrast` characters after 但是/不过/可是
    # …, to the end of the sentence; 0: none (models trained before 2026-12-02)
    contrast: int = 0
    # presence (1) instead of counts: with the model's 1 + log(tf), binary TF; off in the
    # committed model (bench/nlp_variants.py, variant binary)
    binary: bool = False

    @property
    def n_features(self) -> int:
        return 1 << self.bits

    def config(self) -> dict:
        return {
            "bits": self.bits,
            "ngram_max": self.ngram_max,
            "scope": self.scope,
            "negation": self.negation,
            "degree": self.degree,
            "replace_negated": self.replace_negated,
            **({"contrast": self.contrast} if self.contrast else {}),
            **({"binary": True} if self.binary else {}),
        }

    def transform(
        self, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None
    ) -> sparse.csr_matrix:
        """Counts of hashed features, one row per text (texts must not contain NUL)."""
        n_docs = len(texts)
        shape = (n_docs, self.n_features)
        if n_docs == 0:
            return sparse.csr_matrix(shape, dtype=np.float32)
        joined = "\0".join(texts) + "\0"
        codes = np.frombuffer(joined.encode("utf-32-le", "replace"), dtype=np.uint32)
        codes = codes.astype(np.uint64)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n_docs)
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int32), lengths + 1)
        sep = np.isin(codes, _SEPARATORS)
        breaks = np.concatenate(([0], np.cumsum(sep)))  # separators in codes[:i] = breaks[i]
        total = len(codes)
        shift = np.uint64(64 - self.bits)

        rows, cols = [], []
        neg_mark = deg_mark = None
        if self.negation or self.degree:
            neg_re, deg_re = _scope_patterns()
            seps = np.flatnonzero(np.isin(codes, _CLAUSE_ENDS))
            if self.negation:
                # 不过 ("but"), 特别 ("very") and the like deny nothing
                neg_mark = self._marks(neg_re, mask_not_negations(joined), total, seps)
            if self.degree:
                deg_mark = self._marks(deg_re, joined, total, seps)
        con_mark = None
        if self.contrast:
            ends = np.flatnonzero(np.isin(codes, _SENTENCE_ENDS))
            con_mark = self._marks(_contrast_pattern(), joined, total, ends, self.contrast)

        h = np.zeros(total, dtype=np.uint64)
        for n in range(1, self.ngram_max + 1):
            m = total - n + 1
            if m <= 0:
                break
            # hash of the n-gram starting at each position, built from the (n-1)-gram's
            h = _mix(h[:m] ^ codes[n - 1 : n - 1 + m] ^ np.uint64(n))
            ok = (breaks[n:] - breaks[:m]) == 0  # no separator inside the n-gram
            idx = np.flatnonzero(ok)
            plain = idx[~neg_mark[idx]] if self.replace_negated and neg_mark is not None else idx
            rows.append(doc_of[plain])
            cols.append((h[plain] >> shift).astype(np.int64))
            marks = ((neg_mark, _NEG_SALT), (deg_mark, _DEG_SALT), (con_mark, _CONTRAST_SALT))
            for mark, salt in marks:
                if mark is None:
                    continue
                scoped = idx[mark[idx]]
                if len(scoped):
                    rows.append(doc_of[scoped])
                    cols.append((_mix(h[scoped] ^ salt) >> shift).astype(np.int64))

        if tokens is not None:
            t_rows, t_cols = [], []
            for i, doc_tokens in enumerate(tokens):
                for token in doc_tokens:
                    t_rows.append(i)
                    t_cols.append(_token_hash(token, self.bits))
            if t_rows:
                rows.append(np.asarray(t_rows, dtype=np.int32))
                cols.append(np.asarray(t_cols, dtype=np.int64))

        r = np.concatenate(rows)
        c = np.concatenate(cols)
        data = np.ones(len(r), dtype=np.float32)
        matrix = sparse.csr_matrix((data, (r, c)), shape=shape, dtype=np.float32)
        matrix.sum_duplicates()
        if self.binary:
            matrix.data[:] = 1.0
        return matrix

    def _marks(
        self,
        pattern: re.Pattern,
        joined: str,
        total: int,
        seps: np.ndarray,
        scope: int | None = None,
    ) -> np.ndarray | None:
        """Positions within `scope` (default `self.scope`) characters after a match of
        `pattern`, up to the next of `seps`."""
        scope = self.scope if scope is None else scope
        ends = np.fromiter((m.end() for m in pattern.finditer(joined)), dtype=np.int64)
        if not len(ends):
            return None
        # the scope stops at the next separator, so a text's features never depend on
        # the text after it in the batch
        stops = np.minimum(ends + scope, seps[np.searchsorted(seps, ends)])
        mark = np.zeros(total + scope + 1, dtype=np.int32)
        np.add.at(mark, ends, 1)
        np.add.at(mark, stops, -1)
        return np.cumsum(mark)[:total] > 0
