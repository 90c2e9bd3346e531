"""Complaint categories learned from labelled complaints, beside the lexicon.

Why: the lexicon names a category only when a post uses words it lists. On complaints
written by people who never saw it, it named under half of the categories the labellers
did (micro recall 0.45 on the fresh2 probe, 0.44 on the written corpus). One logistic
regression per category on character 1-3-grams, trained on labelled posts
(`nlp/data/categories/`, see its README, and the four probes already used for tuning;
the non-complaints among them teach it that an angry rant names no category), adds the
categories it reads at P >= `ADD_AT` to those the lexicon names (`nlp/scorer.py`). It
labels a post already found to be a complaint; it never decides whether a post is one.

It also vets what the lexicon names. A lexicon word is read without its story: 客服 or
快递 in a post says who was involved, not what went wrong ("找客服申请价保" is a pricing
complaint), 批号 is no quality defect, 刹车 in a post about a slow repair no hazard. Out of
fold on the training posts, a category only a topic named was right 32% of the time, only
an everyday hint 37%, only a problem term 36% (most of those on posts wrongly called
complaints), the model alone 71%, the model and the lexicon together 84% or more. So a category a topic or a hint
names is kept only if the model gives it P >= `KEEP_NAMED_AT`, one a problem term names
(异物, 不给退) only if P >= `KEEP_PROBLEM_AT`: the model does not have to find the category,
only not to rule it out.

The file (`nlp/models/categories.npz`) holds only arrays and a JSON header (no pickle):
the n-gram vocabulary, IDF weights, coefficients and intercepts. The features are those of
scikit-learn's `TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)`,
recomputed here so scoring needs no scikit-learn (`tests/nlp/test_category_model.py`
checks they agree). Training lives in nlp/train_categories.py (`yujing train-categories`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np
from scipy import sparse

from nlp.features import _mix  # the sentiment features' n-gram hash, one definition

MODEL_PATH = Path(__file__).with_name("models") / "categories.npz"
FORMAT = "yujing-categories/1"
NGRAMS = (1, 3)
# chosen by 5-fold cross-validation on the training posts (`yujing train-categories`
# prints it): the best exact-set agreement overall; at 0.5 the added categories cost
# 0.02-0.04 precision, at 0.7 a quarter of the recall gained is lost
ADD_AT = 0.6
# chosen on the same cross-validation (out-of-fold probabilities; every post of the dev
# and hold-out probes): the lexicon's categories the model rules out. Categories micro
# precision 0.71 -> 0.77 at recall 0.80 -> 0.79; 0.3 (or 0.1 for a problem term) gains
# 0.004 more precision for 0.012-0.016 recall
KEEP_NAMED_AT = 0.2
KEEP_PROBLEM_AT = 0.05

_WHITE_SPACES = re.compile(r"\s\s+")


def _hash_rows(codes: np.ndarray) -> np.ndarray:
    """The hash of each row of code points (an n-gram), as `_ngram_hashes` builds it."""
    h = np.zeros(codes.shape[0], dtype=np.uint64)
    for j in range(codes.shape[1]):
        h = _mix(h ^ codes[:, j] ^ np.uint64(j + 1))
    return h


def _ngram_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(row, hash) of every character n-gram of a batch, the 64-bit hash of an n-gram built
    from its (n-1)-gram's, as nlp/features.py does (texts hold no NUL: normalised)."""
    joined = "\0".join(texts) + "\0"
    codes = np.frombuffer(joined.encode("utf-32-le", "replace"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths + 1)
    breaks = np.concatenate(([0], np.cumsum(codes == 0)))
    rows, hashes = [], []
    h = np.zeros(len(codes), dtype=np.uint64)
    for n in range(1, NGRAMS[1] + 1):
        m = len(codes) - n + 1
        if m <= 0:
            break
        h = _mix(h[:m] ^ codes[n - 1 : n - 1 + m] ^ np.uint64(n))
        if n < NGRAMS[0]:
            continue
        idx = np.flatnonzero(breaks[n:] == breaks[:m])  # no separator inside the n-gram
        rows.append(row_of[idx])
        hashes.append(h[idx])
    return np.concatenate(rows), np.concatenate(hashes)


def _sorted_search(known: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """`np.searchsorted(known, needles)`, the needles searched in sorted order: a batch's
    hundred thousand n-grams in random order cost a cache miss per step (2.6x slower)."""
    order = np.argsort(needles)
    found = np.empty(len(needles), dtype=np.intp)
    found[order] = np.searchsorted(known, needles[order])
    return found


@dataclass
class CategoryModel:
    codes: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: np.ndarray  # one per n-gram
    coef: np.ndarray  # codes × n-grams
    intercept: np.ndarray  # one per code
    add_at: float = ADD_AT
    meta: dict | None = None
    # a file saved before the lexicon was vetted keeps every category the lexicon names
    keep_named_at: float = KEEP_NAMED_AT
    keep_problem_at: float = KEEP_PROBLEM_AT

    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Sublinear TF × IDF of the known n-grams, rows scaled to unit L2 norm. The
        n-grams of the whole batch are hashed in NumPy and looked up among the vocabulary's
        hashes (building them string by string cost more than the rest of scoring)."""
        rows, hashes = _ngram_hashes([_WHITE_SPACES.sub(" ", t.lower()) for t in texts])
        known, order = self._lookup
        pos = np.minimum(_sorted_search(known, hashes), len(known) - 1)
        found = known[pos] == hashes
        x = sparse.csr_matrix(
            (np.ones(int(found.sum())), (rows[found], order[pos[found]])),
            shape=(len(texts), len(self.vocabulary)),
        )  # duplicates are summed: term counts
        x.sum_duplicates()
        x.data = (1.0 + np.log(x.data)) * self.idf[x.indices]
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        x.data /= np.repeat(norms, np.diff(x.indptr))
        return x

    @cached_property
    def _lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted hashes of the vocabulary's n-grams, their columns)."""
        grams = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        hashes = np.zeros(len(grams), dtype=np.uint64)
        for n in range(NGRAMS[0], NGRAMS[1] + 1):
            idx = np.array([i for i, g in enumerate(grams) if len(g) == n], dtype=np.int64)
            if len(idx):
                codes = np.array([[ord(c) for c in grams[i]] for i in idx], dtype=np.uint64)
                hashes[idx] = _hash_rows(codes)
        order = np.argsort(hashes, kind="stable")
        known = hashes[order]
        if len(known) > 1 and (np.diff(known) == 0).any():
            raise ValueError("two n-grams of the category model share a hash")
        return (known, order) if len(known) else (np.zeros(1, np.uint64), np.zeros(1, np.int64))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(category) per text (rows) and code (columns, in `codes` order)."""
        if len(texts) == 0:
            return np.zeros((0, len(self.codes)))
        z = np.asarray(self.features(texts) @ self.coef.T.astype(np.float64)) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def categories(
        self,
        texts: Sequence[str],
        named: Sequence[Iterable[str]] | None = None,
        by_problem: Sequence[Iterable[str]] | None = None,
    ) -> list[list[str]]:
        """The codes each text reads as at P >= `add_at`, and those the lexicon `named` for
        it that the model does not rule out (see the module docstring); `by_problem`: the
        named codes a problem term named, the rest a topic or a hint did."""
        proba = self.probabilities(texts)
        return [
            self.choose(
                row,
                named[i] if named is not None else (),
                by_problem[i] if by_problem is not None else (),
            )
            for i, row in enumerate(proba)
        ]

    def choose(self, proba: np.ndarray, named: Iterable[str], by_problem: Iterable[str]):
        """`categories` for one text, from its probabilities (in `codes` order)."""
        named, by_problem = set(named), set(by_problem)
        found = []
        for code, p in zip(self.codes, proba, strict=True):
            keep_at = self.keep_problem_at if code in by_problem else self.keep_named_at
            if p >= self.add_at or (code in named and p >= keep_at):
                found.append(code)
        # a code the model was never trained on it cannot judge
        return found + sorted(named - set(self.codes))

    # --- storage -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        header = {
            "format": FORMAT,
            "codes": list(self.codes),
            "ngrams": list(NGRAMS),
            "add_at": self.add_at,
            "keep_named_at": self.keep_named_at,
            "keep_problem_at": self.keep_problem_at,
            "intercept": [float(v) for v in self.intercept],
            "vocabulary": sorted(self.vocabulary, key=self.vocabulary.__getitem__),
            "meta": self.meta or {},
        }
        from yujing.atomic import replacing

        with replacing(path) as partial, open(partial, "wb") as fh:
            np.savez_compressed(
                fh,
                header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), np.uint8),
                idf=self.idf.astype(np.float32),
                coef=self.coef.astype(np.float32),
            )

    @classmethod
    def from_file(cls, path: Path) -> CategoryModel:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            if header.get("format") != FORMAT:
                raise ValueError(
                    f"{path}: not a {FORMAT} model file (run `yujing train-categories`)"
                )
            idf = data["idf"].astype(np.float64)
            coef = data["coef"].astype(np.float32)
        if tuple(header["ngrams"]) != NGRAMS:
            raise ValueError(f"{path}: n-grams {header['ngrams']}, this code reads {NGRAMS}")
        vocabulary = {g: i for i, g in enumerate(header["vocabulary"])}
        if coef.shape != (len(header["codes"]), len(vocabulary)) or len(idf) != len(vocabulary):
            raise ValueError(f"{path}: arrays do not match its vocabulary and codes")
        return cls(
            codes=tuple(header["codes"]),
            vocabulary=vocabulary,
            idf=idf,
            coef=coef,
            intercept=np.asarray(header["intercept"], dtype=np.float64),
            add_at=float(header["add_at"]),
            meta=header.get("meta", {}),
            keep_named_at=float(header.get("keep_named_at", 0.0)),
            keep_problem_at=float(header.get("keep_problem_at", 0.0)),
        )


@cache
def load(path: Path = MODEL_PATH) -> tuple[CategoryModel, str]:
    """(model, digest of the file); offline. The digest is part of the scorer's version,
    so a retrained category model rescores every mention once."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:8]
    return CategoryModel.from_file(Path(path)), digest
