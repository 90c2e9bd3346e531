"""Sentiment accuracy: the project's model beside stock snownlp, on texts neither trained on.

    python bench/nlp_accuracy.py ../shared/data/sentiment [--snownlp-sample 1500]

The committed model is trained on every labelled text, so it cannot be measured on them.
This script therefore refits the same recipe (nlp.train.fit, same parameters and seed) on
the training split of nlp.train.load_splits and scores the slices that split keeps out:
seeded 20% hold-outs of weibo2018 and waimai, and the whole ChnSentiCorp validation file.
snownlp's bundled model is scored in the same run, on a seeded sample of each slice (it
runs at about 200 posts/s); ours is also reported on that sample, like for like.
On the Weibo slice a third scorer is the data README's reference recipe (character
1–3-gram TF-IDF + logistic regression on the raw Weibo training split), fitted here.
The hand-labelled Weibo training file over-samples negative posts (55:45) while a random
sample of its source is 70:30 positive; the model shifts Weibo-like posts to that prior
(nlp/sentiment_model.py), so the Weibo slice is also scored as if 70% of it were positive
(each class reweighted), for ours and for the reference recipe.
A slice's texts that also appear in a training file are kept out of the fit and counted
(nearly all of ChnSentiCorp's validation texts are in online_shopping_10_cats).
Refitting takes a few minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def reference_recipe(train, part):
    """P(positive) from char 1–3-gram TF-IDF + LR fitted on the raw Weibo training texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    weibo = train[train["source"] == "weibo2018"]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    lr = LogisticRegression(C=4.0, max_iter=2000)
    lr.fit(vectorizer.fit_transform(weibo["text"]), weibo["label"])
    return lr.predict_proba(vectorizer.transform(part["text"]))[:, 1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--snownlp-sample", type=int, default=1500)
    args = parser.parse_args(argv)

    from nlp.scorer import SnowNLPScorer
    from nlp.train import deployment_prior_of, fit, load_splits, metrics

    started = time.time()
    train, held_out = load_splits(args.data_dir)
    print(f"refitting the recipe on {len(train)} training texts …", flush=True)
    model = fit(train, log=lambda *a: None)
    print(f"  done in {time.time() - started:.0f} s\n")
    snow = SnowNLPScorer()
    header = f"{'slice':26} {'n':>6} {'scorer':>8} {'accuracy':>9} {'ROC-AUC':>8} {'neg F1':>7}"
    print(header)
    print("-" * len(header))
    for name, part in held_out.items():
        probs = model.predict_proba(list(part["clean"]), list(part["tokens"]))
        m = metrics(part["label"], probs)
        print(
            f"{name:26} {m['n']:>6} {'ours':>8} {m['accuracy']:>9.3f} {m['auc']:>8.3f} "
            f"{m['neg_f1']:>7.3f}"
        )
        shared = part["in_training_files"].mean()
        if shared:
            print(
                f"{'':26} {'':>6} {'':>8} {shared:.0%} of these texts are also in a training "
                "file (kept out of this fit; the committed model was trained on them)"
            )
        prior = deployment_prior_of(name)
        if prior is not None:
            m = metrics(part["label"], probs, prior)
            print(
                f"{f'  as if {prior:.0%} positive':26} {'':>6} {'ours':>8} {m['accuracy']:>9.3f} "
                f"{m['auc']:>8.3f} {m['neg_f1']:>7.3f}   (the domain's deployment prior)"
            )
        if name == "weibo2018":
            reference = reference_recipe(train, part)
            r = metrics(part["label"], reference)
            print(
                f"{'':26} {r['n']:>6} {'tfidf-lr':>8} {r['accuracy']:>9.3f} {r['auc']:>8.3f} "
                f"{r['neg_f1']:>7.3f}   (reference recipe, same split)"
            )
            if prior is not None:
                r = metrics(part["label"], reference, prior)
                print(
                    f"{f'  as if {prior:.0%} positive':26} {'':>6} {'tfidf-lr':>8} "
                    f"{r['accuracy']:>9.3f} {r['auc']:>8.3f} {r['neg_f1']:>7.3f}"
                )
        sample = part.sample(n=min(args.snownlp_sample, len(part)), random_state=1)
        t0 = time.time()
        snow_p = [
            s.sentiment if s.sentiment is not None else 0.5
            for s in snow.score_batch(list(sample["clean"]))
        ]
        seconds = time.time() - t0
        ours_p = model.predict_proba(list(sample["clean"]), list(sample["tokens"]))
        s, o = metrics(sample["label"], snow_p), metrics(sample["label"], ours_p)
        print(
            f"{'  same sample':26} {s['n']:>6} {'snownlp':>8} {s['accuracy']:>9.3f} "
            f"{s['auc']:>8.3f} {s['neg_f1']:>7.3f}   ({seconds:.0f} s)"
        )
        print(
            f"{'':26} {'':>6} {'ours':>8} {o['accuracy']:>9.3f} {o['auc']:>8.3f} "
            f"{o['neg_f1']:>7.3f}   AUC gain {o['auc'] - s['auc']:+.3f}, "
            f"accuracy gain {o['accuracy'] - s['accuracy']:+.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
