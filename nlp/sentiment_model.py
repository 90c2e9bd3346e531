"""The production sentiment model: hashed character n-grams, emoticon and lexicon tokens,
TF-IDF, logistic regression, and a length-aware calibration.

P(positive) = sigmoid(a·z + b + c·z·ℓ + d·ℓ), where z is the logistic regression's margin
and ℓ the centred log length of the text. Plain Platt scaling (c = d = 0) is fitted on
out-of-fold margins; the two length terms let the calibration correct the tendency of
TF-IDF margins to grow with text length, so 0.3 means the same for a 10-character post and
a 300-character one (`yujing train` prints calibration by length band to check it).

The model file (`nlp/models/sentiment.npz`) holds only arrays and a JSON header: no pickle,
so it loads offline, fast, and independently of the scikit-learn version. Training lives
in nlp/train.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from scipy import sparse

from nlp.features import HashedFeatures

MODEL_PATH = Path(__file__).with_name("models") / "sentiment.npz"
FORMAT = "yujing-sentiment/1"
LEN_CENTRE = 4.0  # ≈ log(55 characters)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def length_term(texts: Sequence[str]) -> np.ndarray:
    return np.log1p(np.fromiter((len(t) for t in texts), dtype=np.float64, count=len(texts))) - (
        LEN_CENTRE
    )


def tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF × IDF, rows scaled to unit L2 norm (in place on a copy)."""
    x = counts.copy()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    x.data /= np.repeat(norms, np.diff(x.indptr)).astype(x.data.dtype)
    return x


@dataclass
class SentimentModel:
    features: HashedFeatures
    idf: np.ndarray  # float32, one per hashed feature
    coef: np.ndarray  # float32, one per hashed feature
    intercept: float
    calibration: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)  # a, b, c, d
    meta: dict = field(default_factory=dict)

    def margins(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> np.ndarray:
        x = tfidf(self.features.transform(texts, tokens), self.idf)
        return x @ self.coef.astype(np.float64) + self.intercept

    def calibrate(self, z: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        a, b, c, d = self.calibration
        ell = length_term(texts)
        return _sigmoid(a * z + b + c * z * ell + d * ell)

    def predict_proba(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> np.ndarray:
        """P(positive) for each text."""
        if len(texts) == 0:
            return np.zeros(0)
        return self.calibrate(self.margins(texts, tokens), texts)

    # --- storage -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the model; features never seen in training are stored implicitly."""
        default_idf = float(self.idf.max())
        seen = np.flatnonzero((self.coef != 0) | (self.idf != default_idf))
        header = {
            "format": FORMAT,
            "features": self.features.config(),
            "intercept": float(self.intercept),
            "calibration": [float(v) for v in self.calibration],
            "default_idf": default_idf,
            "meta": self.meta,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), np.uint8),
                index_delta=np.diff(seen, prepend=0).astype(np.uint32),  # compresses well
                coef=self.coef[seen].astype(np.float16),
                idf=self.idf[seen].astype(np.float16),
            )

    @classmethod
    def from_file(cls, path: Path) -> SentimentModel:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            if header.get("format") != FORMAT:
                raise ValueError(f"{path}: not a {FORMAT} model file")
            features = HashedFeatures(**header["features"])
            idf = np.full(features.n_features, header["default_idf"], dtype=np.float32)
            coef = np.zeros(features.n_features, dtype=np.float32)
            index = np.cumsum(data["index_delta"].astype(np.int64))
            idf[index] = data["idf"].astype(np.float32)
            coef[index] = data["coef"].astype(np.float32)
        return cls(
            features=features,
            idf=idf,
            coef=coef,
            intercept=header["intercept"],
            calibration=tuple(header["calibration"]),
            meta=header.get("meta", {}),
        )


@cache
def load(path: Path = MODEL_PATH) -> tuple[SentimentModel, str]:
    """(model, version) from the committed model file; offline. The version is the hash of
    the file, so a retrained model rescores every mention once (see nlp/stage.py)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return SentimentModel.from_file(Path(path)), f"lr-{digest}"
