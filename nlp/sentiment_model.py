"""The production sentiment model: hashed character n-grams, emoticon and lexicon tokens,
TF-IDF, logistic-regression experts blended by a domain gate, a length-aware calibration,
and a complaint-text head.

Why experts: a model trained on reviews and Weibo together reads Weibo worse than one
trained on Weibo alone (the review data outnumbers it 7 to 1 and speaks differently), while
the Weibo-only model cannot read reviews at all. So four linear experts share the same
features — `weibo` (hand-labelled Weibo), `general` (everything, source-weighted),
`reviews` (e-commerce and hotel reviews) and `delivery` (food-delivery complaints) — and a
linear domain gate (one-vs-rest: Weibo, food delivery, reviews) says how Weibo-like a text
is. The margin is

    z = g_weibo·z_weibo + g_delivery·(0.3·z_general + 0.7·z_delivery)
        + g_reviews·(z_general + z_reviews)/2

(the `blend` matrix), so a post the gate is unsure about leans on the general expert.
The delivery expert is the newest (2026-12-01): on three hold-out splits it raised
food-delivery accuracy by 0.009, 0.004 and 0.008 and left the other slices within 0.002
(`bench/nlp_variants.py --variants nodelivery --seeds 20261122,7,11`).
A fifth linear head on the same features reads complaint-ness, not sentiment: P(complaint
text) separates negative reviews (a customer complaining about a meal, a phone, a hotel)
from positive reviews and from hand-labelled Weibo posts, whose negative ones are mostly
grief, exams and the weather. The complaint rule (nlp/scorer.py) uses it for complaints
told in everyday words that no lexicon lists (等了两小时饭都凉了).

P(positive) = sigmoid(a·z + b + c·z·ℓ + d·ℓ + Σ g_domain·s_domain), where ℓ is the centred
log length of the text. The calibration is fitted on out-of-fold margins; the two length
terms correct the tendency of TF-IDF margins to grow with text length, so 0.3 means the
same for a 10-character post and a 300-character one (`yujing train` prints calibration by
length). The prior shift s moves each domain from the share of positive texts it had in
training to the share a random post of that domain has (Saerens et al. 2002): the
hand-labelled Weibo training set over-samples negative posts (55:45), while a random
sample of the same Weibo source is 70:30 positive, so without the shift every Weibo
post would read more negative than it is.

The model file (`nlp/models/sentiment.npz`) holds only arrays and a JSON header: no pickle,
so it loads offline, fast, and independently of the scikit-learn version. Training lives
in nlp/train.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np
from scipy import sparse

from nlp.features import HashedFeatures

MODEL_PATH = Path(__file__).with_name("models") / "sentiment.npz"
FORMAT = "yujing-sentiment/3"
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


@dataclass(frozen=True)
class UsedColumns:
    """A batch's feature matrix narrowed to the columns it uses (a sort of the batch's
    indices), to multiply by those columns' coefficients only."""

    cols: np.ndarray  # the used feature columns, ascending
    x: sparse.csr_matrix  # n × len(cols)

    @classmethod
    def of(cls, x: sparse.csr_matrix) -> UsedColumns:
        cols, where = np.unique(x.indices, return_inverse=True)
        used = sparse.csr_matrix(
            (x.data, where.reshape(-1), x.indptr), shape=(x.shape[0], len(cols))
        )
        return cls(cols, used)


def sparse_dot(x: sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """`x @ rows.T` in float64 (n × len(rows)), reading only the features `x` uses: a
    batch touches a few thousand of the 2^20 columns, and converting whole coefficient
    matrices to float64 for every batch took a tenth of the scoring time. The same
    products summed in the same order: the result is identical."""
    used = UsedColumns.of(x)
    return np.asarray(used.x @ np.ascontiguousarray(rows[:, used.cols].T, dtype=np.float64))


EXPERTS = ("weibo", "general", "reviews", "delivery")
DOMAINS = ("weibo", "delivery", "reviews")
# rows: domains, columns: experts (see the module docstring)
BLEND = ((1.0, 0.0, 0.0, 0.0), (0.0, 0.3, 0.0, 0.7), (0.0, 0.5, 0.5, 0.0))


@dataclass
class SentimentModel:
    features: HashedFeatures
    idf: np.ndarray  # float32, one per hashed feature
    coef: np.ndarray  # float32, experts × features
    intercept: np.ndarray  # one per expert
    gate_coef: np.ndarray  # float32, domains × features
    gate_intercept: np.ndarray  # one per domain
    blend: np.ndarray = field(default_factory=lambda: np.array(BLEND))
    calibration: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)  # a, b, c, d
    # logit added per domain (gate-weighted): deployment prior vs training prior
    prior_shift: np.ndarray = field(default_factory=lambda: np.zeros(len(DOMAINS)))
    experts: tuple = EXPERTS  # one name per row of coef
    # P(complaint text) head: float32, one per feature, and its intercept; None: no head
    complaint_coef: np.ndarray | None = None
    complaint_intercept: float = 0.0
    meta: dict = field(default_factory=dict)

    def _x(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        return tfidf(self.features.transform(texts, tokens), self.idf)

    def gate(self, x: sparse.csr_matrix) -> np.ndarray:
        """Domain weights per text (rows sum to 1), from one-vs-rest scores."""
        return self._gate_of(sparse_dot(x, self.gate_coef))

    def _gate_of(self, scores: np.ndarray) -> np.ndarray:
        p = _sigmoid(scores + self.gate_intercept)
        return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)

    @cached_property
    def _heads(self) -> np.ndarray:
        """Gate, expert and complaint-head coefficients side by side, one row per feature
        (features × heads, contiguous), so a batch gathers the coefficients of the features
        it uses in one pass: from three matrices, column by column, the gather was a fifth
        of the model's time. `from_file` builds the three as views into it (no copy)."""
        parts = [self.gate_coef, self.coef]
        if self.complaint_coef is not None:
            parts.append(self.complaint_coef[np.newaxis, :])
        return np.ascontiguousarray(np.vstack(parts).T)

    def expert_margins(self, x: sparse.csr_matrix) -> np.ndarray:
        return sparse_dot(x, self.coef) + self.intercept

    def margins(
        self, texts: Sequence[str], tokens: Sequence[Sequence[str]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(blended margin, domain gate) per text."""
        return self._margins_of(self._x(texts, tokens))

    def _margins_of(self, x: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        gate = self.gate(x)
        return blend_margins(self.expert_margins(x), gate, self.blend), gate

    def calibrate(
        self, z: np.ndarray, texts: Sequence[str], gate: np.ndarray | None = None
    ) -> np.ndarray:
        """P(positive) from blended margins; with the gate, shifted to deployment priors."""
        a, b, c, d = self.calibration
        ell = length_term(texts)
        logit = a * z + b + c * z * ell + d * ell
        if gate is not None:
            logit = logit + gate @ np.asarray(self.prior_shift, dtype=np.float64)
        return _sigmoid(logit)

    def predict_proba(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> np.ndarray:
        """P(positive) for each text."""
        return self.predict(texts, tokens)[0]

    def predict(
        self, texts: Sequence[str], tokens: Sequence[Sequence[str]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive), P(complaint text)) for each text, from one featurisation; the
        second is all zeros for a model without a complaint head."""
        if len(texts) == 0:
            return np.zeros(0), np.zeros(0)
        used = UsedColumns.of(self._x(texts, tokens))
        # every head at once: the same products in the same order as one head at a time
        scores = np.asarray(used.x @ self._heads[used.cols].astype(np.float64))
        n_domains, n_experts = len(self.gate_intercept), len(self.intercept)
        gate = self._gate_of(scores[:, :n_domains])
        expert_z = scores[:, n_domains : n_domains + n_experts] + self.intercept
        z = blend_margins(expert_z, gate, self.blend)
        if self.complaint_coef is None:
            complaint = np.zeros(len(texts))
        else:
            complaint = _sigmoid(scores[:, -1] + self.complaint_intercept)
        return self.calibrate(z, texts, gate), complaint

    def complaint_text(self, x: sparse.csr_matrix) -> np.ndarray:
        if self.complaint_coef is None:
            return np.zeros(x.shape[0])
        head = sparse_dot(x, self.complaint_coef[np.newaxis, :]).ravel()
        return _sigmoid(head + self.complaint_intercept)

    # --- storage -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the model; features never seen in training are stored implicitly."""
        default_idf = float(self.idf.max())
        complaint = (
            np.zeros(len(self.idf), dtype=np.float32)
            if self.complaint_coef is None
            else self.complaint_coef
        )
        used = (self.coef != 0).any(axis=0) | (self.gate_coef != 0).any(axis=0) | (complaint != 0)
        seen = np.flatnonzero(used | (self.idf != default_idf))
        header = {
            "format": FORMAT,
            "features": self.features.config(),
            "experts": list(self.experts),
            "domains": list(DOMAINS),
            "intercept": [float(v) for v in self.intercept],
            "gate_intercept": [float(v) for v in self.gate_intercept],
            "blend": np.asarray(self.blend).tolist(),
            "calibration": [float(v) for v in self.calibration],
            "prior_shift": [float(v) for v in self.prior_shift],
            "complaint_head": self.complaint_coef is not None,
            "complaint_intercept": float(self.complaint_intercept),
            "default_idf": default_idf,
            "meta": self.meta,
        }
        from yujing.atomic import replacing

        # a scorer loading the model while `yujing train` runs reads the old file or the
        # new one, never half of one
        with replacing(path) as partial, open(partial, "wb") as fh:
            np.savez_compressed(
                fh,
                header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), np.uint8),
                index_delta=np.diff(seen, prepend=0).astype(np.uint32),  # compresses well
                coef=self.coef[:, seen].astype(np.float16),
                gate_coef=self.gate_coef[:, seen].astype(np.float16),
                complaint_coef=complaint[seen].astype(np.float16),
                idf=self.idf[seen].astype(np.float16),
            )

    @classmethod
    def from_file(cls, path: Path) -> SentimentModel:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            if header.get("format") != FORMAT:
                raise ValueError(f"{path}: not a {FORMAT} model file (run `yujing train`)")
            features = HashedFeatures(**header["features"])
            n = features.n_features
            idf = np.full(n, header["default_idf"], dtype=np.float32)
            index = np.cumsum(data["index_delta"].astype(np.int64))
            idf[index] = data["idf"].astype(np.float32)
            # the coefficients live in one features × heads matrix (see `_heads`)
            n_domains, n_experts = len(header["domains"]), len(header["experts"])
            heads = np.zeros((n, n_domains + n_experts + header["complaint_head"]), np.float32)
            gate_coef = heads[:, :n_domains].T
            gate_coef[:, index] = data["gate_coef"].astype(np.float32)
            coef = heads[:, n_domains : n_domains + n_experts].T
            coef[:, index] = data["coef"].astype(np.float32)
            complaint_coef = None
            if header["complaint_head"]:
                complaint_coef = heads[:, -1]
                complaint_coef[index] = data["complaint_coef"].astype(np.float32)
        blend = np.asarray(header["blend"], dtype=np.float64)
        if blend.shape != (len(header["domains"]), len(header["experts"])):
            raise ValueError(
                f"{path}: blend is {blend.shape[0]}×{blend.shape[1]}, expected domains × "
                f"experts = {len(header['domains'])}×{len(header['experts'])}"
            )
        model = cls(
            features=features,
            idf=idf,
            coef=coef,
            intercept=np.asarray(header["intercept"], dtype=np.float64),
            gate_coef=gate_coef,
            gate_intercept=np.asarray(header["gate_intercept"], dtype=np.float64),
            blend=blend,
            experts=tuple(header["experts"]),
            calibration=tuple(header["calibration"]),
            prior_shift=np.asarray(
                header.get("prior_shift", [0.0] * len(header["domains"])), dtype=np.float64
            ),
            complaint_coef=complaint_coef,
            complaint_intercept=float(header["complaint_intercept"]),
            meta=header.get("meta", {}),
        )
        model.__dict__["_heads"] = heads  # what `_heads` would build, without a copy
        return model


def blend_margins(expert_z: np.ndarray, gate: np.ndarray, blend: np.ndarray) -> np.ndarray:
    """z = Σ_domain gate · Σ_expert blend · expert margin, per text."""
    return np.einsum("nd,de,ne->n", gate, np.asarray(blend), expert_z)


@cache
def load(path: Path = MODEL_PATH) -> tuple[SentimentModel, str]:
    """(model, version) from the committed model file; offline. The version is the hash of
    the file, so a retrained model rescores every mention once (see nlp/stage.py)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return SentimentModel.from_file(Path(path)), f"lr-{digest}"
