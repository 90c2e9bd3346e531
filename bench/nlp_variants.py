"""Sentiment recipe variants: does a change to the training recipe beat it on the hold-outs?

    python bench/nlp_variants.py ../shared/data/sentiment [--variants words,ngram4] [--seeds 20261122,7]

Each variant refits the recipe of nlp/train.py with one change, on the same training
split, and is scored on the same held-out slices as bench/nlp_accuracy.py, beside the
unchanged recipe fitted in the same run (the Weibo slice reweighted to its deployment
prior, as bench/nlp_accuracy.py also prints it). A hold-out of about 2,000 texts has a standard
error of about 0.008 in accuracy, so read a difference under 0.01 as no difference;
and the split itself moves every number by about as much (Weibo 0.875 on one split, 0.888
on another), so `--seeds` repeats the whole comparison on other seeded splits and ends with
each variant's change averaged over them (a change is paired: same split, same run).
Each fit takes one to two minutes on a quiet machine (eight on 2026-12-02, with the
machine shared), and every fit prints its numbers as soon as it is done.

Variants:
  noprior   no deployment prior: Weibo-like posts keep the training file's 55% prior
  nophrases without the negation phrases (nlp/negation_examples.py)
  nodelivery without the food-delivery expert: delivery-like texts read by the general
            expert alone, as before 2026-12-01
  emoticon  the emoticon-labelled weibo_senti_100k_dev added (emoticons removed from
            the text, or it learns only them), weight 0.3, in the general expert (since
            2026-12-02 left out of the calibration, as the negation phrases are)
  words     jieba words (two or more characters, no HMM) added as tokens
  bigrams   jieba words and word bigrams added as tokens
  ngram4    character 1–4-grams instead of 1–3
  weibo5    hand-labelled Weibo weighted 5 instead of 3 in the general expert
  C6, C24   the experts' inverse regularisation strength halved / doubled
  contrast  contrast-scoped copies of the n-grams in the 10 characters after 但是/不过/
            可是 … (to the sentence end): what follows "but" can weigh more
  nbinterp  NB-LR interpolated as Wang & Manning do (β = 0.25): each expert's weights in
            the scaled space become 0.75·mean|w| + 0.25·w, i.e. mostly the naive-Bayes
            log-count ratio itself. Folded into the stored coefficients like NB-LR: exact,
            because TF-IDF rows are L2-normalised before the ratio scales them
  binary    presence (binary TF) instead of 1 + log(count), as in Wang & Manning
  weiboblend  Weibo-like texts read by 0.8 Weibo expert + 0.2 general expert, not the
            Weibo expert alone
  selftrain self-training: weibo_senti_100k_dev's posts with emoticons removed, labelled
            by this split's recipe model (not by their emoticons; its 1,000 most positive
            and 1,000 most negative reads), added to the Weibo and general experts at
            weight 1 (a third of a hand-labelled post; not the gate, prior or calibration)

Measured 2026-12-02 (change vs the recipe in the same run, accuracy at 70% positive /
ROC-AUC on Weibo; every change kept out of the committed model):
  selftrain  seeds 20261122, 7, 11: Weibo −0.003/−0.001, −0.001/0.000, −0.002/−0.002
             (mean −0.002/−0.001); delivery and ChnSentiCorp within 0.002 on every split. The model's own confident reads
             teach it nothing it does not know (nor did the emoticon labels: `emoticon`).
  nbinterp   seeds 20261122, 7, 11: Weibo −0.028/−0.022, −0.023/−0.016, −0.038/−0.020
             (mean −0.030/−0.019); ChnSentiCorp −0.015, negation probe −0.028 (means),
             delivery unchanged.
             Mostly-naive-Bayes weights are much worse than LR on NB-scaled features
             (the recipe's NB-LR, nb_alpha 1, which stays).
  weiboblend seed 20261122 only: Weibo +0.002/−0.001, ChnSentiCorp +0.002, delivery −0.001.
  binary     seed 20261122 only: Weibo −0.004/0.000, ChnSentiCorp −0.003, delivery +0.001.
Not tried: a second Weibo expert on jieba words. The scorer does not segment with jieba
(its features are characters), so it would add a whole jieba pass per post: throughput
from about 1.4× jieba alone to about 0.6×, under the 0.7× target; and jieba words as
extra tokens (`words`) moved Weibo by +0.003 only.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VARIANTS = (
    "noprior",
    "nophrases",
    "nodelivery",
    "emoticon",
    "words",
    "bigrams",
    "ngram4",
    "weibo5",
    "C6",
    "C24",
    "contrast",
    "nbinterp",
    "binary",
    "weiboblend",
    "selftrain",
)
SELF_TRAINED = "weibo_selftrained"  # the source name of the self-labelled Weibo posts
SELF_TRAINED_PER_CLASS = 1000  # the most confident posts of each side


def with_words(frame, bigrams: bool):
    """A copy of a split frame whose tokens also carry its jieba words (and bigrams)."""
    from nlp.segment import segment

    frame = frame.copy()
    tokens = []
    for text, own in zip(frame["clean"], frame["tokens"], strict=True):
        words = [w for w in segment(text, hmm=False) if w.strip()]
        extra = [f"W:{w}" for w in words if len(w) >= 2]
        if bigrams:
            extra += [f"B:{a}|{b}" for a, b in zip(words, words[1:], strict=False)]
        tokens.append(list(own) + extra)
    frame["tokens"] = tokens
    return frame


def emoticon_stripped(data_dir: Path, train, held_out):
    """weibo_senti_100k_dev's texts without their emoticons, prepared, none equal to a
    training or held-out text, with their emoticon labels (column label)."""
    import pandas as pd

    from nlp.normalize import EMOTICON
    from nlp.train import prepared_frame

    frame = pd.read_csv(data_dir / "weibo_senti_100k_dev.csv", usecols=["label", "text"])
    frame = frame.dropna(subset=["text", "label"])
    frame["text"] = frame["text"].astype(str).str.replace(EMOTICON, "", regex=True)
    extra = prepared_frame(frame, "emoticon_labelled")
    extra = extra[extra["clean"].str.len() >= 4]  # a bare emoticon post has nothing left
    held_keys = set().union(*(set(part["key"]) for part in held_out.values()))
    return extra[~extra["key"].isin(held_keys | set(train["key"]))].reset_index(drop=True)


def with_emoticon_labelled(data_dir: Path, train, held_out):
    """The training split plus weibo_senti_100k_dev's texts without their emoticons (as a
    source of its own, outside every domain: it trains the general expert only)."""
    import pandas as pd

    return pd.concat([train, emoticon_stripped(data_dir, train, held_out)], ignore_index=True)


def with_self_trained(data_dir: Path, train, held_out, model):
    """The training split plus weibo_senti_100k_dev's posts without their emoticons,
    labelled by `model` (the recipe fitted on this split, never the committed model, which
    has seen the hold-outs): the SELF_TRAINED_PER_CLASS posts it reads most positive and
    most negative, so the extra posts are balanced (its confident reads are 85% positive:
    with the emoticons gone many posts read neutral-to-positive). Source SELF_TRAINED,
    outside every domain: it trains the Weibo and general experts, not the gate, the
    prior or the calibration. The emoticon labels are not used."""
    import numpy as np
    import pandas as pd

    extra = emoticon_stripped(data_dir, train, held_out)
    p = model.predict_proba(list(extra["clean"]), list(extra["tokens"]))
    order = np.argsort(p, kind="stable")
    n = min(SELF_TRAINED_PER_CLASS, len(order) // 2)
    chosen = extra.iloc[np.r_[order[:n], order[-n:]]].copy()
    chosen["label"] = np.r_[np.zeros(n, int), np.ones(n, int)]
    chosen["source"] = SELF_TRAINED
    return pd.concat([train, chosen], ignore_index=True)


def variant(name: str, train, held_out, data_dir: Path | None = None, recipe_model=None):
    """(params, train, held_out) for one variant; `recipe_model` is the unchanged recipe
    fitted on the same split (self-training labels with it)."""
    from nlp.train import NEGATION, TrainParams

    base = TrainParams()
    if name in ("words", "bigrams"):
        bigrams = name == "bigrams"
        return (
            base,
            with_words(train, bigrams),
            {k: with_words(v, bigrams) for k, v in held_out.items()},
        )
    if name == "noprior":
        return dataclasses.replace(base, deployment_prior={}), train, held_out
    if name == "nophrases":
        return base, train[train["source"] != NEGATION].reset_index(drop=True), held_out
    if name == "emoticon":
        weights = dict(base.source_weights, emoticon_labelled=0.3)
        return (
            dataclasses.replace(base, source_weights=weights),
            with_emoticon_labelled(data_dir, train, held_out),
            held_out,
        )
    if name == "nodelivery":
        # the experts and blend before the delivery expert (nlp/sentiment_model.py)
        blend = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.5, 0.5))
        return (
            dataclasses.replace(base, experts=("weibo", "general", "reviews"), blend=blend),
            train,
            held_out,
        )
    if name == "ngram4":
        return dataclasses.replace(base, ngram_max=4), train, held_out
    if name == "weibo5":
        weights = dict(base.source_weights, weibo2018=5.0)
        return dataclasses.replace(base, source_weights=weights), train, held_out
    if name == "contrast":
        return dataclasses.replace(base, contrast=10), train, held_out
    if name == "nbinterp":
        return dataclasses.replace(base, nb_beta=0.25), train, held_out
    if name == "binary":
        return dataclasses.replace(base, binary=True), train, held_out
    if name == "weiboblend":
        blend = ((0.8, 0.2, 0.0, 0.0), *base.blend[1:])
        return dataclasses.replace(base, blend=blend), train, held_out
    if name == "selftrain":
        weights = dict(base.source_weights, **{SELF_TRAINED: 1.0})
        sources = dict(base.expert_sources)
        sources["weibo"] = (*sources["weibo"], SELF_TRAINED)
        return (
            dataclasses.replace(base, source_weights=weights, expert_sources=sources),
            with_self_trained(data_dir, train, held_out, recipe_model),
            held_out,
        )
    if name in ("C6", "C24"):
        return dataclasses.replace(base, C=float(name[1:])), train, held_out
    raise SystemExit(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")


def fit_and_score(names, train, held_out, data_dir: Path) -> dict:
    """{variant: {slice: metrics}} for the recipe and each variant on one split."""
    from nlp.train import TrainParams, deployment_prior_of, fit, metrics

    results, recipe_model = {}, None
    for k, name in enumerate(["recipe", *names]):
        t0 = time.time()
        print(f"[{k + 1}/{len(names) + 1}] fitting {name} …", flush=True)
        params, tr, held = (
            (TrainParams(), train, held_out)
            if name == "recipe"
            else variant(name, train, held_out, data_dir, recipe_model)
        )
        model = fit(tr, params, log=lambda *a: None)
        if name == "recipe":
            recipe_model = model
        results[name] = {
            s: metrics(
                part["label"],
                model.predict_proba(list(part["clean"]), list(part["tokens"])),
                deployment_prior_of(s),
            )
            for s, part in held.items()
        }
        # each fit's numbers as soon as it is done: a long run stopped early keeps them
        cells = "  ".join(
            f"{s[:9]} {m['accuracy']:.3f}/{m['auc']:.3f}" for s, m in results[name].items()
        )
        print(f"      {time.time() - t0:.0f} s  {cells}", flush=True)
    return results


def slice_header(slices) -> str:
    from nlp.train import deployment_prior_of

    labels = [
        s[:14] if deployment_prior_of(s) is None else f"{s[:9]} @{deployment_prior_of(s):.0%}"
        for s in slices
    ]
    return f"{'variant':10}" + "".join(f" {label:>23}" for label in labels)


def print_split(results: dict, slices) -> None:
    header = slice_header(slices)
    print("\naccuracy / ROC-AUC on each held-out slice (change vs the recipe in brackets);")
    print("@N%: reweighted as if N% were positive, the domain's deployment prior")
    print(header)
    print("-" * len(header))
    for name, by_slice in results.items():
        cells = []
        for s in slices:
            m, r = by_slice[s], results["recipe"][s]
            cell = f"{m['accuracy']:.3f}/{m['auc']:.3f}"
            if name != "recipe":
                cell += f" ({m['accuracy'] - r['accuracy']:+.3f})"
            cells.append(f" {cell:>23}")
        print(f"{name:10}" + "".join(cells))
    print("\nBrier score (calibration and sharpness; lower is better), same slices")
    print(header)
    print("-" * len(header))
    for name, by_slice in results.items():
        cells = [f" {by_slice[s]['brier']:>23.3f}" for s in slices]
        print(f"{name:10}" + "".join(cells))


def print_mean_change(per_seed: dict, slices) -> None:
    """Each variant's accuracy and AUC change vs the recipe, averaged over the splits."""
    import numpy as np

    header = slice_header(slices)
    print(f"\nmean change vs the recipe over {len(per_seed)} splits: accuracy / ROC-AUC")
    print("(recipe row: its mean; [min, max] of the accuracy change across splits)")
    print(header)
    print("-" * len(header))
    names = list(next(iter(per_seed.values())))
    for name in names:
        cells = []
        for s in slices:
            if name == "recipe":
                acc = np.mean([r["recipe"][s]["accuracy"] for r in per_seed.values()])
                auc = np.mean([r["recipe"][s]["auc"] for r in per_seed.values()])
                cell = f"{acc:.3f}/{auc:.3f}"
            else:
                d_acc = [
                    r[name][s]["accuracy"] - r["recipe"][s]["accuracy"] for r in per_seed.values()
                ]
                d_auc = [r[name][s]["auc"] - r["recipe"][s]["auc"] for r in per_seed.values()]
                cell = f"{np.mean(d_acc):+.3f}/{np.mean(d_auc):+.3f} [{min(d_acc):+.3f},{max(d_acc):+.3f}]"
            cells.append(f" {cell:>23}")
        print(f"{name:10}" + "".join(cells))


def main(argv=None) -> int:
    from nlp.train import SEED

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--seeds",
        default=str(SEED),
        help=f"comma-separated split seeds (default {SEED}, the split `yujing train` reports)",
    )
    args = parser.parse_args(argv)
    names = [v for v in args.variants.split(",") if v]
    for name in names:
        if name not in VARIANTS:
            parser.error(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
    try:
        seeds = [int(v) for v in args.seeds.split(",") if v]
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    if not seeds:
        parser.error("--seeds names no seed")

    from nlp.train import load_splits

    per_seed = {}
    for seed in seeds:
        print(f"\n=== split seed {seed} ===", flush=True)
        train, held_out = load_splits(args.data_dir, seed=seed)
        per_seed[seed] = fit_and_score(names, train, held_out, args.data_dir)
        print_split(per_seed[seed], list(held_out))
    if len(seeds) > 1:
        print_mean_change(per_seed, list(held_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
