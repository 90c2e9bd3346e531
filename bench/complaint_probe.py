"""Complaint detection on hand-labelled posts, beside "negative means complaint".

A complaint is more than a negative post: the PR team wants "奶粉里有异物" and not
"这电影太悲伤了". This scores hand-labelled probe files (tests/nlp/fixtures/complaint_probe_*.tsv:
posts written and labelled by people, not taken from the training corpora) with the
production scorer and prints, per file (the dev probe built the lexicon, the hold-out probe
and it set the complaint-text head's thresholds; the fresh probe, written without the
lexicon's words, measured the head and then helped write the everyday category and signal
hints; fresh2, fresh3 and fresh4, written after that, were never used for tuning, until
fresh2 joined the category model's training data):

- complaint accuracy / precision / recall / F1, for the scorer and for the baseline that
  calls every negative post a complaint (the same sentiment model, no complaint lexicon),
  measured in the same run; the same without the rows the labellers marked debatable;
- negative-sentiment accuracy;
- categories and escalation signals: exact-set agreement and micro precision / recall;
  categories also as the lexicon alone names them (without the category model), the
  baseline for nlp/category_model.py. The category model was trained on every post of
  the dev, hold-out, fresh and fresh2 probes (nlp/train_categories.py), so only fresh3 and
  fresh4 measure it.

    .venv/bin/python bench/complaint_probe.py tests/nlp/fixtures/complaint_probe_*.tsv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLUMNS = ("id", "group", "text", "complaint", "negative", "categories", "signals", "note")


def read_probe(path: Path) -> list[dict]:
    """Rows of a probe TSV; a missing column, a bad 0/1 label or a category or signal code
    the lexicon does not have (it could never match, silently) is an error."""
    from nlp.lexicon import CATEGORY_CODES, SIGNAL_CODES

    known = {"categories": set(CATEGORY_CODES), "signals": set(SIGNAL_CODES)}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise SystemExit(f"{path}: missing columns {sorted(missing)}")
        rows = []
        for n, row in enumerate(reader, start=2):
            for label in ("complaint", "negative"):
                if row[label] not in ("0", "1"):
                    raise SystemExit(f"{path}:{n}: {label} must be 0 or 1, not {row[label]!r}")
            codes = {k: {c.strip() for c in row[k].split(",") if c.strip()} for k in known}
            for kind, found in codes.items():
                if found - known[kind]:
                    raise SystemExit(
                        f"{path}:{n}: unknown {kind} {sorted(found - known[kind])}; "
                        f"known: {', '.join(sorted(known[kind]))}"
                    )
            rows.append(
                {
                    "text": row["text"],
                    "complaint": row["complaint"] == "1",
                    "negative": row["negative"] == "1",
                    "categories": codes["categories"],
                    "signals": codes["signals"],
                    "debatable": "debatable" in (row["note"] or ""),
                }
            )
    return rows


def binary(truth: list[bool], guess: list[bool]) -> dict:
    tp = sum(t and g for t, g in zip(truth, guess, strict=True))
    fp = sum(g and not t for t, g in zip(truth, guess, strict=True))
    fn = sum(t and not g for t, g in zip(truth, guess, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "accuracy": sum(t == g for t, g in zip(truth, guess, strict=True)) / len(truth),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
    }


def sets(truth: list[set], guess: list[set]) -> dict:
    tp = sum(len(t & g) for t, g in zip(truth, guess, strict=True))
    predicted = sum(len(g) for g in guess)
    actual = sum(len(t) for t in truth)
    return {
        "exact": sum(t == g for t, g in zip(truth, guess, strict=True)) / len(truth),
        "precision": tp / predicted if predicted else 0.0,
        "recall": tp / actual if actual else 0.0,
    }


def _line(name: str, m: dict) -> str:
    return (
        f"  {name:34} accuracy {m['accuracy']:.3f}  precision {m['precision']:.2f}  "
        f"recall {m['recall']:.2f}  F1 {m['f1']:.2f}"
    )


def report(path: Path, scorer, lexicon_only) -> None:
    rows = read_probe(path)
    scores = scorer.score_batch([r["text"] for r in rows])
    baseline = lexicon_only.score_batch([r["text"] for r in rows])
    n_complaints = sum(r["complaint"] for r in rows)
    print(f"\n{path.name}: {len(rows)} posts, {n_complaints} complaints")
    for subset, keep in (
        ("all", lambda r: True),
        ("without debatable", lambda r: not r["debatable"]),
    ):
        pairs = [(r, s) for r, s in zip(rows, scores, strict=True) if keep(r)]
        truth = [r["complaint"] for r, _ in pairs]
        print(f" {subset} (n={len(pairs)})")
        print(_line("ours: complaint", binary(truth, [s.complaint for _, s in pairs])))
        print(
            _line("baseline: negative = complaint", binary(truth, [s.negative for _, s in pairs]))
        )
    negative = binary([r["negative"] for r in rows], [s.negative for s in scores])
    print(f"  negative sentiment accuracy {negative['accuracy']:.3f}")
    for field, name, found in (
        ("categories", "categories", scores),
        ("categories", "  lexicon only", baseline),
        ("signals", "signals", scores),
    ):
        m = sets([r[field] for r in rows], [set(getattr(s, field)) for s in found])
        print(
            f"  {name:14} exact set {m['exact']:.3f}  micro precision {m['precision']:.2f}  "
            f"recall {m['recall']:.2f}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("probes", nargs="+", type=Path)
    args = parser.parse_args(argv)
    from nlp.scorer import Scorer

    scorer = Scorer.load()
    lexicon_only = Scorer.load(categories=False)
    print(f"scorer {scorer.model_version}")
    for path in args.probes:
        report(path, scorer, lexicon_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
