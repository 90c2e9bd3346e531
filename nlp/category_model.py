"""Complaint categories learned from labelled complaints, beside the lexicon.

Why: the lexicon names a category only when a post uses words it lists. On complaints
written by people who never saw it, it named under half of the categories the labellers
did (micro recall 0.45 on the fresh2 probe, 0.44 on the written corpus). One logistic
regression per category on character 1-3-grams, trained on labelled posts
(`nlp/data/categories/`, see its README, and the four probes already used for tuning;
the non-complaints among them teach it that an angry rant names no category), adds the
categories it reads at P >= `ADD_AT` to those the lexicon names (`nlp/scorer.py`). It
labels a post already found to be a complaint; it never decides whether a post is one.

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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy import sparse

MODEL_PATH = Path(__file__).with_name("models") / "categories.npz"
FORMAT = "yujing-categories/1"
NGRAMS = (1, 3)
# chosen by 5-fold cross-validation on the training complaints (`yujing train-categories`
# prints it): the best exact-set agreement on every source; at 0.5 the added categories
# cost 0.03-0.06 precision, at 0.7 a third of the recall gained is lost
ADD_AT = 0.6

_WHITE_SPACES = re.compile(r"\s\s+")


def char_ngrams(text: str, ngrams: tuple[int, int] = NGRAMS) -> list[str]:
    """The character n-grams scikit-learn's char analyzer yields (lower-cased, runs of
    white space as one space)."""
    text = _WHITE_SPACES.sub(" ", text.lower())
    lo, hi = ngrams
    return [
        text[i : i + n] for n in range(lo, min(hi, len(text)) + 1) for i in range(len(text) - n + 1)
    ]


@dataclass
class CategoryModel:
    codes: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: np.ndarray  # one per n-gram
    coef: np.ndarray  # codes × n-grams
    intercept: np.ndarray  # one per code
    add_at: float = ADD_AT
    meta: dict | None = None

    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Sublinear TF × IDF of the known n-grams, rows scaled to unit L2 norm."""
        indptr, indices, data = [0], [], []
        for text in texts:
            counts = Counter(self.vocabulary[g] for g in char_ngrams(text) if g in self.vocabulary)
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            values = (1.0 + np.log(tf)) * self.idf[cols] if len(cols) else tf
            norm = np.sqrt((values**2).sum())
            indices.extend(cols.tolist())
            data.extend((values / norm if norm else values).tolist())
            indptr.append(len(indices))
        return sparse.csr_matrix(
            (np.asarray(data), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
            shape=(len(texts), len(self.vocabulary)),
        )

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(category) per text (rows) and code (columns, in `codes` order)."""
        if len(texts) == 0:
            return np.zeros((0, len(self.codes)))
        z = np.asarray(self.features(texts) @ self.coef.T.astype(np.float64)) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def categories(self, texts: Sequence[str]) -> list[list[str]]:
        """The codes each text reads as at P >= `add_at`."""
        return [
            [c for c, p in zip(self.codes, row, strict=True) if p >= self.add_at]
            for row in self.probabilities(texts)
        ]

    # --- storage -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        header = {
            "format": FORMAT,
            "codes": list(self.codes),
            "ngrams": list(NGRAMS),
            "add_at": self.add_at,
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
        )


@cache
def load(path: Path = MODEL_PATH) -> tuple[CategoryModel, str]:
    """(model, digest of the file); offline. The digest is part of the scorer's version,
    so a retrained category model rescores every mention once."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:8]
    return CategoryModel.from_file(Path(path)), digest
