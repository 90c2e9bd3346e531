"""Sentiment recipe variants: does a change to the training recipe beat it on the hold-outs?

    python bench/nlp_variants.py ../shared/data/sentiment [--variants words,ngram4]

Each variant refits the recipe of nlp/train.py with one change, on the same training
split, and is scored on the same held-out slices as bench/nlp_accuracy.py, beside the
unchanged recipe fitted in the same run (the Weibo slice reweighted to its deployment
prior, as bench/nlp_accuracy.py also prints it). A hold-out of about 2,000 texts has a standard
error of about 0.008 in accuracy, so read a difference under 0.01 as no difference.
Each fit takes one to two minutes.

Variants:
  noprior   no deployment prior: Weibo-like posts keep the training file's 55% prior
  nophrases without the negation phrases (nlp/negation_examples.py)
  words     jieba words (two or more characters, no HMM) added as tokens
  bigrams   jieba words and word bigrams added as tokens
  ngram4    character 1–4-grams instead of 1–3
  weibo5    hand-labelled Weibo weighted 5 instead of 3 in the general expert
  C6, C24   the experts' inverse regularisation strength halved / doubled
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VARIANTS = ("noprior", "nophrases", "words", "bigrams", "ngram4", "weibo5", "C6", "C24")


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


def variant(name: str, train, held_out):
    """(params, train, held_out) for one variant."""
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
    if name == "ngram4":
        return dataclasses.replace(base, ngram_max=4), train, held_out
    if name == "weibo5":
        weights = dict(base.source_weights, weibo2018=5.0)
        return dataclasses.replace(base, source_weights=weights), train, held_out
    if name in ("C6", "C24"):
        return dataclasses.replace(base, C=float(name[1:])), train, held_out
    raise SystemExit(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    names = [v for v in args.variants.split(",") if v]
    for name in names:
        if name not in VARIANTS:
            parser.error(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")

    from nlp.train import TrainParams, deployment_prior_of, fit, load_splits, metrics

    train, held_out = load_splits(args.data_dir)
    results = {}
    for k, name in enumerate(["recipe", *names]):
        t0 = time.time()
        print(f"[{k + 1}/{len(names) + 1}] fitting {name} …", flush=True)
        params, tr, held = (
            (TrainParams(), train, held_out) if name == "recipe" else variant(name, train, held_out)
        )
        model = fit(tr, params, log=lambda *a: None)
        results[name] = {
            s: metrics(
                part["label"],
                model.predict_proba(list(part["clean"]), list(part["tokens"])),
                deployment_prior_of(s),
            )
            for s, part in held.items()
        }
        print(f"      {time.time() - t0:.0f} s", flush=True)

    slices = list(held_out)
    labels = [
        s[:14] if deployment_prior_of(s) is None else f"{s[:9]} @{deployment_prior_of(s):.0%}"
        for s in slices
    ]
    header = f"{'variant':10}" + "".join(f" {label:>23}" for label in labels)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
