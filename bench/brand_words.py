"""How much the config's brand words change what the scorer stores.

    python bench/brand_words.py ../shared/data/sentiment [--n 600] [--seed 1]

The scorer protects brand names, aliases, keywords and products (`nlp.scorer.brand_words`):
a lexicon term inside one is no evidence (快鲜外卖 is no delivery complaint), and a brand
named at the start or end of a clause makes a symptom a product problem ("刚换了沐沐奶粉，
宝宝就过敏了"). jieba also gets them as user words, but no score reads jieba's segments
(the model's features are character n-grams, nlp/features.py). So an edit of the brand
list can change stored scores only through that protection; this measures how often.

Posts that mention a configured brand, as the pipeline stores them (every stored mention
names a brand term: that is how it was found):
- `sim`: the simulator's complaint, incident, positive and neutral posts for every term
  of every brand (simulator/phrases.py);
- `waimai`: real food-delivery reviews (waimai_10k_train.csv) with a term of the delivery
  brand written in, as the simulator writes its real lines in;
- `milk`: real milk reviews (online_shopping_10_cats.csv, category 蒙牛) with 蒙牛 replaced
  by a term of the dairy brand, or the term written in.

Each is scored with the config's words (production), with none, and with each word left
out in turn (one alias less: the smallest edit ops make). `--extra WORD` adds a brand word
(a name holding a lexicon term, such as the lexicon's own example 无忧快递) written into
the food-delivery reviews instead (`waimai+`), scored with and without it. Printed per comparison: posts
whose stored `negative`, `complaint`, `categories` or `signals` differ, and whose
`sentiment` differs (P(positive) moves with the lexicon tokens the model reads).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def corpora(data: Path, n: int, seed: int, config, delivery=()) -> dict[str, list[str]]:
    import pandas as pd

    from simulator import phrases

    rng = random.Random(seed)
    sim: list[str] = []
    by_industry: dict[str, list[str]] = {}
    for brand in config.brands:
        terms = [t for t in (brand.name, *brand.aliases, *brand.keywords, *brand.products) if t]
        industry = phrases.industry_of(brand.name, terms)
        by_industry.setdefault(industry, []).extend(terms)
        products = list(brand.products) or [brand.name]
        for _ in range(n // len(config.brands)):
            term, product, kind = rng.choice(terms), rng.choice(products), rng.randrange(4)
            if kind == 0:
                sim.append(phrases.complaint_text(rng, industry, term, product)[0])
            elif kind == 1:
                sim.append(phrases.incident_text(rng, industry, term, product))
            elif kind == 2:
                sim.append(phrases.positive_text(rng, industry, term, product))
            else:
                sim.append(phrases.neutral_text(rng, term, product))

    def written_in(lines, terms):
        out = []
        for line in lines:
            term = rng.choice(terms)
            if "蒙牛" in line:
                out.append(line.replace("蒙牛", term))
            else:
                template = rng.choice(
                    ("#{b}# {t}", "@{b}官方微博 {t}", "{b}，{t}", "{t} 吐槽一下{b}")
                )
                out.append(template.format(b=term, t=line))
        return out

    waimai = pd.read_csv(data / "waimai_10k_train.csv")["text"].astype(str)
    shopping = pd.read_csv(data / "online_shopping_10_cats.csv")
    milk = shopping.loc[shopping["category"] == "蒙牛", "text"].astype(str)
    return {
        "sim": sim,
        "waimai": written_in(
            waimai.sample(n, random_state=seed), list(delivery) or by_industry["delivery"]
        ),
        "milk": written_in(milk.sample(min(n, len(milk)), random_state=seed), by_industry["dairy"]),
    }


def differences(base, other) -> tuple[int, int]:
    """(posts whose stored flags or lists differ, posts whose sentiment differs)."""
    flags = sentiment = 0
    for a, b in zip(base, other, strict=True):
        if (a.negative, a.complaint, a.categories, a.signals) != (
            b.negative,
            b.complaint,
            b.categories,
            b.signals,
        ):
            flags += 1
        if a.sentiment != b.sentiment:
            sentiment += 1
    return flags, sentiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the shared sentiment data folder")
    parser.add_argument("--n", type=int, default=600, help="posts per corpus")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--extra", action="append", default=[], help="a hypothetical brand word")
    args = parser.parse_args()

    from nlp import lexicon
    from nlp.scorer import Scorer, brand_words
    from yujing.config import load_config

    config = load_config()
    words = brand_words(config) + args.extra
    production = Scorer.load(extra_words=words)

    def scorer(kept: list[str]) -> Scorer:
        return Scorer(
            production.model,
            production.model_version,
            production.negative_below,
            lexicon.protected_pattern(kept),
            production.category_model,
        )

    texts = corpora(args.data, args.n, args.seed, config)
    if args.extra:
        texts["waimai+"] = corpora(args.data, args.n, args.seed, config, args.extra)["waimai"]
    variants = {"no brand words": []} | {
        f"without {w}": [x for x in words if x != w] for w in words
    }
    print(f"brand words: {', '.join(words)}")
    print(
        f"{'corpus':8} {'variant':22} {'posts':>6} {'flags differ':>13} {'sentiment differs':>18}"
    )
    for name, posts in texts.items():
        base = production.score_batch(posts)
        for label, kept in variants.items():
            flags, sentiment = differences(base, scorer(kept).score_batch(posts))
            if flags or sentiment or label == "no brand words":
                print(
                    f"{name:8} {label:22} {len(posts):>6} "
                    f"{flags:>6} ({flags / len(posts):5.1%}) {sentiment:>9} ({sentiment / len(posts):5.1%})"
                )


if __name__ == "__main__":
    main()
