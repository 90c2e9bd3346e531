"""`yujing train DATA_DIR`: retrain the committed sentiment model reproducibly.

DATA_DIR is the labelled sentiment folder (`../shared/data/sentiment`, see its README).
The model reads both social posts and consumer complaints, so it is trained on
hand-labelled Weibo (weibo2018_train) plus complaint-style reviews: food delivery
(waimai_10k_train), e-commerce (online_shopping_10_cats) and ChnSentiCorp's training
split, as four experts (Weibo, everything, reviews, food delivery) blended by a domain gate (see
nlp/sentiment_model.py), plus a few thousand short phrases that teach how negation
composes (一点也不差 is praise; nlp/negation_examples.py), at a small weight. The
emoticon-labelled weibo_senti_100k is not used: its labels are the emoticons, and with the
emoticons removed it adds nothing measurable (`bench/nlp_variants.py`, variant `emoticon`).

Every text is normalised exactly as the scorer will see it, and duplicates are removed
(ChnSentiCorp is largely contained in online_shopping). Evaluation first: seeded,
label-stratified 20% hold-outs of weibo2018 and waimai, the whole of
chnsenticorp_validation and the negation phrases of every fifth evaluative word (the
negation probe) are kept out, and no training text equals a held-out one. The
report gives accuracy, ROC-AUC, negative-class F1, and calibration by length band; for a
domain whose deployment prior differs from its training data (Weibo: 70% positive in a
random sample, 55% in the training file) also as if the slice had that prior. Then the
final model is refit on everything and written to nlp/models/sentiment.npz.

Deterministic: fixed seeds, a deterministic solver, and a model file that depends only on
the data: rerunning gives the same bytes. (Measured: the same bytes from a full run and a
`--no-eval` run. With OMP_NUM_THREADS=1 set, OpenBLAS rounds differently: the bytes
differ and probabilities move by at most 0.0004, no label flips, on 3,000 Weibo posts.)
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.sentiment_model import BLEND, EXPERTS

SEED = 20261122
HOLDOUT = 0.2


@dataclass(frozen=True)
class TrainParams:
    bits: int = 20
    ngram_max: int = 3  # character n-grams up to this length
    C: float = 12.0
    # weight of each source's texts in the loss: the target domain, hand-labelled Weibo,
    # counts most; the large e-commerce set least
    source_weights: dict = field(
        default_factory=lambda: {
            "weibo2018": 3.0,
            "waimai": 1.0,
            "shopping": 0.35,
            "chnsenticorp": 1.0,
            # the negation phrases (nlp/negation_examples.py): short, many, synthetic
            NEGATION: 0.3,
        }
    )
    gate_C: float = 4.0  # the domain gate
    calibration_folds: int = 3
    min_df: int = 2  # hashed features seen in fewer training texts are dropped
    # characters after 但是/不过/… whose n-grams get contrast-scoped copies (nlp/features.py)
    contrast: int = 0
    # NB-LR (Wang & Manning 2012): each expert's features are scaled by their smoothed
    # log-count ratio between its positive and negative texts before the fit, and the
    # ratio is folded back into its coefficients; 0 turns it off
    nb_alpha: float = 1.0
    # NB-LR interpolation (Wang & Manning's β): an expert's scaled-space weights become
    # (1−β)·mean|w| + β·w, i.e. a share of the plain naive-Bayes ratio added back;
    # 1 (none) in the recipe (bench/nlp_variants.py, variant nbinterp)
    nb_beta: float = 1.0
    # presence instead of sublinear counts (nlp/features.py `binary`; bench variants only)
    binary: bool = False
    # P(positive) of a random post of a domain, where it differs from the training data's:
    # weibo2018's author over-sampled negative posts for training (5,497:4,503) and
    # reports a random sample of the same source as 7:3 positive (its test.txt)
    deployment_prior: dict = field(default_factory=lambda: {"weibo": 0.70})
    # the experts and, per domain, how their margins blend (see nlp/sentiment_model.py)
    experts: tuple = EXPERTS
    blend: tuple = BLEND
    # which training sources each expert reads (a source outside every domain, such as
    # the negation phrases, trains experts only: not the gate, the prior or the calibration)
    expert_sources: dict = field(default_factory=lambda: dict(EXPERT_SOURCES))
    # the complaint-text head (see nlp/sentiment_model.py): a negative consumer review
    # against everything else, each source weighted so (e-commerce, 62k texts, counts
    # about as much as food delivery); the two classes then weigh the same
    complaint_C: float = 3.0
    complaint_source_weights: dict = field(
        default_factory=lambda: dict(weibo2018=1.0, waimai=1.0, shopping=0.25, chnsenticorp=1.0)
    )


NEGATION = "negation"  # the source name of the phrases from nlp/negation_examples.py
NEGATION_PROBE_EVERY = 5  # hold-out evaluation: every 5th evaluative word's phrases

# which training sources each expert reads, and the gate's domain of each source (the
# negation phrases belong to no domain: they train the experts, not the gate)
EXPERT_SOURCES = {
    "weibo": ("weibo2018", NEGATION),
    "reviews": ("shopping", "chnsenticorp", NEGATION),
    "delivery": ("waimai", NEGATION),
}
# a negative text of these sources is a customer's complaint (the complaint-text head)
CONSUMER_SOURCES = ("waimai", "shopping", "chnsenticorp")
DOMAIN_OF = {
    "weibo2018": "weibo",
    "waimai": "delivery",
    "shopping": "reviews",
    "chnsenticorp": "reviews",
    "chnsenticorp_validation": "reviews",
}

# --- data ----------------------------------------------------------------------------

FILES = {
    "weibo2018": "weibo2018_train.csv",
    "waimai": "waimai_10k_train.csv",
    "shopping": "online_shopping_10_cats.csv",
    "chnsenticorp": "chnsenticorp_train.csv",
    "chnsenticorp_validation": "chnsenticorp_validation.csv",
}


def read_source(data_dir: Path, name: str):
    """One labelled CSV as a DataFrame with columns label, text, source, and the model
    inputs (clean text and tokens) as the scorer prepares them; unusable rows dropped."""
    import pandas as pd

    frame = pd.read_csv(data_dir / FILES[name], usecols=["label", "text"])
    return prepared_frame(frame.dropna(subset=["text", "label"]), name)


def negation_frame(rows: list[tuple[int, str]]):
    """Negation phrases (label, text) as a prepared frame of source NEGATION."""
    import pandas as pd

    return prepared_frame(pd.DataFrame(rows, columns=["label", "text"]), NEGATION)


def prepared_frame(frame, name: str):
    """A labelled (label, text) frame as training rows of source `name`: normalised and
    tokenised as the scorer does, unusable rows dropped, duplicates removed."""
    from nlp.scorer import prepare

    frame = frame.copy()
    frame["label"] = frame["label"].astype(int)
    frame["source"] = name
    prepared = [prepare(str(t)) for t in frame["text"]]
    frame["clean"] = [p.text for p in prepared]
    frame["tokens"] = [p.tokens for p in prepared]
    frame["ok"] = [p.error is None for p in prepared]
    frame = frame[frame["ok"]].drop(columns="ok")
    # the same text twice (with whitespace differences) is one example
    frame["key"] = (
        frame["clean"].str.replace(r"\s+", "", regex=True) + "|" + frame["tokens"].map(" ".join)
    )
    return frame.drop_duplicates("key").reset_index(drop=True)


def load_splits(data_dir: Path, seed: int = SEED):
    """(train, held_out) where held_out maps a name to a DataFrame no training text equals."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from nlp.negation_examples import examples

    frames = {name: read_source(data_dir, name) for name in FILES}
    held_out = {}
    negation_train, negation_probe = examples(held_out_every=NEGATION_PROBE_EVERY)
    train_parts = []
    for name in ("weibo2018", "waimai"):
        tr, te = train_test_split(
            frames[name], test_size=HOLDOUT, random_state=seed, stratify=frames[name]["label"]
        )
        train_parts.append(tr)
        held_out[name] = te.reset_index(drop=True)
    held_out["chnsenticorp_validation"] = frames["chnsenticorp_validation"]
    # negations of evaluative words no training phrase negates
    held_out["negation_probe"] = negation_frame(negation_probe)
    # last, so a real text equal to a phrase keeps its real label
    train_parts += [frames["shopping"], frames["chnsenticorp"], negation_frame(negation_train)]
    train = pd.concat(train_parts, ignore_index=True).drop_duplicates("key")
    evaluation_keys = set().union(*(set(f["key"]) for f in held_out.values()))
    # a held-out text also found in a training file (98% of ChnSentiCorp's validation
    # texts are in online_shopping) is kept out of training, and marked: the deployed
    # model, trained on every file, has seen it
    training_keys = set(train["key"])
    for part in held_out.values():
        part["in_training_files"] = part["key"].isin(training_keys)
    train = train[~train["key"].isin(evaluation_keys)].reset_index(drop=True)
    return train, held_out


def load_all(data_dir: Path):
    """Every labelled text (for the final model), deduplicated."""
    import pandas as pd

    from nlp.negation_examples import examples

    frames = [read_source(data_dir, name) for name in FILES]
    frames.append(negation_frame(examples()[0]))  # last: a real text keeps its real label
    data = pd.concat(frames, ignore_index=True)
    data["source"] = data["source"].replace({"chnsenticorp_validation": "chnsenticorp"})
    return data.drop_duplicates("key").reset_index(drop=True)


# --- fitting -------------------------------------------------------------------------


def _weights(frame, params: TrainParams) -> np.ndarray:
    w = frame["source"].map(params.source_weights).fillna(1.0).to_numpy(dtype=np.float64)
    return w / w.mean()


def _fit_lr(x, y, w, params: TrainParams, seed: int, C: float | None = None):
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=C or params.C, solver="liblinear", max_iter=1000, random_state=seed)
    lr.fit(x, y, sample_weight=w)
    return lr


def _fit_calibration(z, y, w, lengths) -> tuple[float, float, float, float]:
    """Length-aware Platt scaling on out-of-fold margins."""
    from sklearn.linear_model import LogisticRegression

    from nlp.sentiment_model import LEN_CENTRE

    ell = np.log1p(lengths) - LEN_CENTRE
    design = np.column_stack([z, z * ell, ell])
    cal = LogisticRegression(C=1e6, solver="lbfgs", max_iter=1000).fit(design, y, sample_weight=w)
    a, c, d = cal.coef_[0]
    return float(a), float(cal.intercept_[0]), float(c), float(d)


def _nb_ratio(x, y, w, alpha: float) -> np.ndarray:
    """Smoothed log-count ratio of each feature's presence in positive vs negative texts."""
    present = (x > 0).astype(np.float64)
    w = np.ones(len(y)) if w is None else w
    pos = np.asarray(present.T @ (w * (y == 1))).ravel() + alpha
    neg = np.asarray(present.T @ (w * (y == 0))).ravel() + alpha
    return np.log((pos / pos.sum()) / (neg / neg.sum()))


def _fit_experts(x, frame, params: TrainParams, seed: int):
    """(expert coef, expert intercepts, gate coef, gate intercepts) on rows of x."""
    from nlp.sentiment_model import DOMAINS

    y = frame["label"].to_numpy()
    source = frame["source"].to_numpy()
    w = _weights(frame, params)
    sources = params.expert_sources
    rows = {
        name: np.isin(source, list(sources[name])) if name in sources else np.ones(len(y), bool)
        for name in params.experts
    }
    # a specialised expert weighs its real sources equally and a source outside every
    # domain (the negation phrases) by its weight relative to the expert's first source
    extra = ~np.isin(source, list(DOMAIN_OF))
    coef, intercept = [], []
    for k, name in enumerate(params.experts):
        m = rows[name]
        if name == "general":
            weights = w[m]
        else:
            own = params.source_weights.get(sources[name][0], 1.0)
            relative = np.array(
                [params.source_weights.get(s, 1.0) / own for s in source[m]], dtype=np.float64
            )
            weights = np.where(extra[m], relative, 1.0)
        xm = x[m]
        if params.nb_alpha > 0:
            r = _nb_ratio(xm, y[m], weights, params.nb_alpha)
            lr = _fit_lr(xm.multiply(r[np.newaxis, :]).tocsr(), y[m], weights, params, seed + k)
            scaled = lr.coef_[0]
            if params.nb_beta < 1.0:
                seen = np.asarray((xm != 0).sum(axis=0)).ravel() > 0
                mean_w = np.abs(scaled[seen]).mean()
                scaled = np.where(
                    seen, (1.0 - params.nb_beta) * mean_w + params.nb_beta * scaled, 0
                )
            coef.append(scaled * r)  # (w∘r)·x = w·(r∘x): exact, x is normalised first
        else:
            lr = _fit_lr(xm, y[m], weights, params, seed + k)
            coef.append(lr.coef_[0])
        intercept.append(lr.intercept_[0])
    domain = np.array([DOMAIN_OF.get(s, "") for s in source])
    in_domain = domain != ""
    gate_coef, gate_intercept = [], []
    for k, name in enumerate(DOMAINS):
        target = (domain[in_domain] == name).astype(int)
        lr = _fit_lr(x[in_domain], target, None, params, seed + 10 + k, C=params.gate_C)
        gate_coef.append(lr.coef_[0])
        gate_intercept.append(lr.intercept_[0])
    return (
        np.asarray(coef, dtype=np.float32),
        np.asarray(intercept),
        np.asarray(gate_coef, dtype=np.float32),
        np.asarray(gate_intercept),
    )


def _fit_complaint_head(x, frame, params: TrainParams, seed: int) -> tuple[np.ndarray, float]:
    """(coef, intercept) of P(complaint text): negative reviews of food delivery, shops,
    hotels and laptops (customers complaining) against positive reviews and every
    hand-labelled Weibo post (negative ones are mostly not about a purchase: grief, exams,
    the weather). The negation phrases are not texts of any kind and are left out."""
    source = frame["source"].to_numpy()
    rows = np.isin(source, list(params.complaint_source_weights))
    y = ((frame["label"].to_numpy() == 0) & np.isin(source, CONSUMER_SOURCES))[rows]
    w = np.array(frame["source"][rows].map(params.complaint_source_weights), dtype=np.float64)
    w[y] *= w[~y].sum() / max(w[y].sum(), 1e-12)  # the two classes weigh the same
    lr = _fit_lr(x[rows], y.astype(int), w / w.mean(), params, seed, C=params.complaint_C)
    return lr.coef_[0].astype(np.float32), float(lr.intercept_[0])


def check_experts(params: TrainParams) -> None:
    """Refuse an expert the recipe has no sources for, or a blend that does not fit."""
    from nlp.sentiment_model import DOMAINS

    known = params.expert_sources
    unknown = [e for e in params.experts if e != "general" and e not in known]
    if unknown:
        raise ValueError(
            f"experts {unknown} have no training sources; known: general, " + ", ".join(known)
        )
    shape = np.shape(params.blend)
    if shape != (len(DOMAINS), len(params.experts)):
        raise ValueError(
            f"blend is {shape}, expected one row per domain {DOMAINS} and one column per "
            f"expert {tuple(params.experts)}"
        )


def _margins(x, experts, blend) -> np.ndarray:
    from nlp.sentiment_model import _sigmoid, blend_margins

    coef, intercept, gate_coef, gate_intercept = experts
    z = np.asarray(x @ coef.T.astype(np.float64)) + intercept
    g = _sigmoid(np.asarray(x @ gate_coef.T.astype(np.float64)) + gate_intercept)
    g /= np.maximum(g.sum(axis=1, keepdims=True), 1e-12)
    return blend_margins(z, g, np.array(blend, dtype=np.float64))


def fit(train, params: TrainParams = TrainParams(), seed: int = SEED, log=print):
    """A SentimentModel trained on a DataFrame from `load_splits`/`load_all`."""
    from sklearn.model_selection import StratifiedKFold

    from nlp.features import HashedFeatures
    from nlp.sentiment_model import SentimentModel, tfidf

    check_experts(params)
    t0 = time.perf_counter()
    features = HashedFeatures(
        bits=params.bits, ngram_max=params.ngram_max, contrast=params.contrast, binary=params.binary
    )
    texts = list(train["clean"])
    counts = features.transform(texts, list(train["tokens"]))
    y = train["label"].to_numpy()
    w = _weights(train, params)
    df = np.bincount(counts.indices, minlength=features.n_features)
    n = counts.shape[0]
    idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
    keep = df >= params.min_df
    idf[~keep] = idf.max()
    x = tfidf(counts, idf)
    if params.min_df > 1:  # rare hashed features: no weight (their idf still counts)
        mask = keep.astype(np.float32)
        x = x.multiply(mask[np.newaxis, :]).tocsr()
    log(
        f"  features: {x.shape[0]} texts × {x.shape[1]} hashed ({keep.sum()} used), "
        f"{time.perf_counter() - t0:.1f} s"
    )

    # out-of-fold margins for the calibration
    z = np.zeros(n)
    strata = train["source"].astype(str) + train["label"].astype(str)
    folds = StratifiedKFold(params.calibration_folds, shuffle=True, random_state=seed)
    for k, (a, b) in enumerate(folds.split(np.zeros(n), strata)):
        experts = _fit_experts(x[a], train.iloc[a], params, seed + 100 * k)
        z[b] = _margins(x[b], experts, params.blend)
        log(
            f"  calibration fold {k + 1}/{params.calibration_folds}, {time.perf_counter() - t0:.0f} s"
        )
    lengths = np.fromiter((len(t) for t in texts), dtype=np.float64, count=n)
    # calibrate on real texts of a domain only (not the negation phrases)
    real = train["source"].isin(list(DOMAIN_OF)).to_numpy()
    calibration = _fit_calibration(z[real], y[real], w[real], lengths[real])
    training_prior, prior_shift = prior_shifts(train, w, params.deployment_prior)
    coef, intercept, gate_coef, gate_intercept = _fit_experts(x, train, params, seed)
    coef[:, ~keep] = 0.0
    gate_coef[:, ~keep] = 0.0
    complaint_coef, complaint_intercept = _fit_complaint_head(x, train, params, seed + 20)
    complaint_coef[~keep] = 0.0
    log(f"  fitted in {time.perf_counter() - t0:.1f} s; calibration {np.round(calibration, 3)}")
    meta = {
        "trained_on": {k: int(v) for k, v in train["source"].value_counts().items()},
        "params": {
            "bits": params.bits,
            "ngram_max": params.ngram_max,
            **({"contrast": params.contrast} if params.contrast else {}),
            "C": params.C,
            "gate_C": params.gate_C,
            "source_weights": params.source_weights,
            "min_df": params.min_df,
            "nb_alpha": params.nb_alpha,
            **({"nb_beta": params.nb_beta} if params.nb_beta < 1.0 else {}),
            **({"binary": True} if params.binary else {}),
            "calibration_folds": params.calibration_folds,
            "deployment_prior": params.deployment_prior,
            "experts": list(params.experts),
            "blend": [list(row) for row in params.blend],
            "complaint_C": params.complaint_C,
            "complaint_source_weights": params.complaint_source_weights,
        },
        "training_prior": training_prior,
        "seed": seed,
    }
    return SentimentModel(
        features=features,
        idf=idf,
        coef=coef,
        intercept=intercept,
        gate_coef=gate_coef,
        gate_intercept=gate_intercept,
        calibration=calibration,
        prior_shift=prior_shift,
        experts=tuple(params.experts),
        blend=np.array(params.blend, dtype=np.float64),
        complaint_coef=complaint_coef,
        complaint_intercept=complaint_intercept,
        meta=meta,
    )


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def prior_shifts(train, w, deployment_prior: dict) -> tuple[dict, np.ndarray]:
    """({domain: weighted share positive in training}, logit shift per domain) that moves
    each domain in `deployment_prior` from its training prior to its deployment prior."""
    from nlp.sentiment_model import DOMAINS

    unknown = set(deployment_prior) - set(DOMAINS)
    if unknown:
        raise ValueError(f"deployment_prior names unknown domains {sorted(unknown)}")
    domain = train["source"].map(DOMAIN_OF).to_numpy()
    y = train["label"].to_numpy()
    training_prior, shift = {}, np.zeros(len(DOMAINS))
    for k, name in enumerate(DOMAINS):
        m = domain == name
        if not m.any():
            continue
        training_prior[name] = round(float(np.average(y[m], weights=w[m])), 4)
        if name in deployment_prior:
            target = float(deployment_prior[name])
            if not 0.0 < target < 1.0:
                raise ValueError(f"deployment_prior[{name!r}] must be in (0, 1), got {target}")
            shift[k] = _logit(target) - _logit(training_prior[name])
    return training_prior, shift


# --- evaluation ----------------------------------------------------------------------


def metrics(labels, probs, prior: float | None = None) -> dict:
    """Accuracy, ROC-AUC, negative-class F1 and Brier score; with `prior`, as on a slice
    whose share of positive texts is `prior` (each class reweighted, Saerens et al. 2002)."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    labels = np.asarray(labels)
    probs = np.asarray(probs, dtype=np.float64)
    pred = (probs >= 0.5).astype(int)
    w = None if prior is None else prior_weights(labels, prior)
    return {
        "n": len(labels),
        "accuracy": accuracy_score(labels, pred, sample_weight=w),
        "auc": roc_auc_score(labels, probs, sample_weight=w),
        "neg_f1": f1_score(labels, pred, pos_label=0, sample_weight=w),
        "brier": float(np.average((probs - labels) ** 2, weights=w)),
    }


def prior_weights(labels, prior: float) -> np.ndarray:
    """Per-text weights that make a labelled slice count as if `prior` of it were positive."""
    labels = np.asarray(labels)
    share = labels.mean()
    return np.where(labels == 1, prior / share, (1.0 - prior) / (1.0 - share))


def deployment_prior_of(slice_name: str, params: TrainParams = TrainParams()) -> float | None:
    """The deployment prior of a held-out slice's domain, if it has one."""
    return params.deployment_prior.get(DOMAIN_OF.get(slice_name, ""))


def calibration_by_length(
    labels, probs, lengths, bands=((0, 30), (30, 80), (80, 10**9)), weights=None
):
    """(band, n, mean P(positive), share positive, expected calibration error) per band,
    optionally with each text weighted (see `metrics` for reweighting to a prior)."""
    labels, probs, lengths = map(np.asarray, (labels, probs, lengths))
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights)
    rows = []
    for lo, hi in bands:
        m = (lengths >= lo) & (lengths < hi)
        if m.sum() < 20:
            continue
        p, y, w = probs[m], labels[m], weights[m]
        bins = np.minimum((p * 10).astype(int), 9)
        ece = 0.0
        for b in np.unique(bins):
            k = bins == b
            gap = np.average(p[k], weights=w[k]) - np.average(y[k], weights=w[k])
            ece += abs(gap) * w[k].sum() / w.sum()
        rows.append(
            (
                f"{lo}-{hi if hi < 10**9 else '∞'}",
                int(m.sum()),
                np.average(p, weights=w),
                np.average(y, weights=w),
                ece,
            )
        )
    return rows


def report(model, held_out, log=print) -> dict:
    results = {}
    for name, part in held_out.items():
        p = model.predict_proba(list(part["clean"]), list(part["tokens"]))
        results[name] = m = metrics(part["label"], p)
        log(
            f"  held-out {name:24s} n={m['n']:5d}  accuracy {m['accuracy']:.3f}  "
            f"ROC-AUC {m['auc']:.3f}  neg-F1 {m['neg_f1']:.3f}  Brier {m['brier']:.3f}"
        )
        prior = deployment_prior_of(name)
        weights = None
        if prior is not None:
            results[f"{name}@{prior:.2f}"] = r = metrics(part["label"], p, prior)
            log(
                f"    reweighted to {prior:.0%} positive     accuracy {r['accuracy']:.3f}  "
                f"ROC-AUC {r['auc']:.3f}  neg-F1 {r['neg_f1']:.3f}  Brier {r['brier']:.3f}"
                "  (calibration below reweighted too)"
            )
            weights = prior_weights(part["label"], prior)
        for band, n, mp, share, ece in calibration_by_length(
            part["label"], p, part["clean"].str.len(), weights=weights
        ):
            log(
                f"      length {band:8s} n={n:5d}  mean P(pos) {mp:.3f}  "
                f"share positive {share:.3f}  ECE {ece:.3f}"
            )
    return results


def report_complaint_head(model, held_out, log=print) -> dict:
    """How the complaint-text head separates held-out food-delivery complaints from
    held-out Weibo posts: ROC-AUC, and at the scorer's threshold the share of complaints it
    finds and of negative Weibo posts (mostly not about a purchase) it would call one."""
    from sklearn.metrics import roc_auc_score

    from nlp.scorer import COMPLAINT_TEXT_AT

    if "waimai" not in held_out or "weibo2018" not in held_out:
        return {}
    delivery, weibo = held_out["waimai"], held_out["weibo2018"]
    complaints = delivery[delivery["label"] == 0]

    def head(part):
        return model.predict(list(part["clean"]), list(part["tokens"]))[1]

    found, weibo_p = head(complaints), head(weibo)
    sad_p = weibo_p[weibo["label"].to_numpy() == 0]  # the negative Weibo posts
    auc = roc_auc_score(np.r_[np.ones(len(found)), np.zeros(len(weibo_p))], np.r_[found, weibo_p])
    result = {
        "auc": float(auc),
        "delivery_complaints_found": float(np.mean(found >= COMPLAINT_TEXT_AT)),
        "weibo_negative_flagged": float(np.mean(sad_p >= COMPLAINT_TEXT_AT)),
    }
    log(
        f"  complaint-text head: held-out delivery complaints (n={len(found)}) vs Weibo posts "
        f"(n={len(weibo_p)}) ROC-AUC {auc:.3f}; at P ≥ {COMPLAINT_TEXT_AT}: "
        f"{result['delivery_complaints_found']:.0%} of the complaints, "
        f"{result['weibo_negative_flagged']:.0%} of negative Weibo posts"
    )
    return result


def _bad_csvs(data_dir: Path) -> list[str]:
    """One line per data file that is not a CSV with the label and text columns: checked
    up front, so a wrong folder is named clearly instead of as a pandas traceback."""
    import pandas as pd

    problems = []
    for name in FILES.values():
        path = data_dir / name
        try:
            columns = set(pd.read_csv(path, nrows=0).columns)
        except (
            OSError,
            UnicodeDecodeError,
            pd.errors.ParserError,
            pd.errors.EmptyDataError,
        ) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(f"{path}: not a readable CSV: {reason}")
            continue
        missing = [c for c in ("label", "text") if c not in columns]
        if missing:
            problems.append(f"{path} lacks the column(s) {', '.join(missing)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="yujing train",
        description="Retrain the committed sentiment model from the labelled data folder.",
    )
    parser.add_argument("data_dir", type=Path, help="the sentiment data folder")
    parser.add_argument("--out", type=Path, default=None, help="model file to write")
    # both together would skip the report and write nothing, silently: refuse that
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-eval", action="store_true", help="skip the hold-out report")
    mode.add_argument(
        "--eval-only", action="store_true", help="report on the hold-outs, write nothing"
    )
    args = parser.parse_args(argv)

    from nlp.sentiment_model import MODEL_PATH

    missing = [f for f in FILES.values() if not (args.data_dir / f).is_file()]
    if missing:
        print(f"yujing train: {args.data_dir} lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    problems = _bad_csvs(args.data_dir)
    if problems:
        for problem in problems:
            print(f"yujing train: {problem}", file=sys.stderr)
        return 2
    params = TrainParams()
    if not args.no_eval:
        train, held_out = load_splits(args.data_dir)
        print(
            f"hold-out evaluation: training on {len(train)} texts "
            f"{train['source'].value_counts().to_dict()}"
        )
        model = fit(train, params)
        report(model, held_out)
        report_complaint_head(model, held_out)
    if args.eval_only:
        return 0
    data = load_all(args.data_dir)
    print(f"final model: training on {len(data)} texts {data['source'].value_counts().to_dict()}")
    model = fit(data, params)
    out = args.out or MODEL_PATH
    model.save(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
