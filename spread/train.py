"""`yujing train-spread DATA`: fit the spread model on real Weibo cascades, reproducibly.

DATA is the cascades folder (or the JSONL file, with the kernel histogram beside it).

- Events are split into quarters by a hash of their id. The hold-out quarter
  (`is_holdout`) is left out, so `bench/spread_eval.py --model` can measure such a model
  on cascades it has not seen (the model file lists the events it was fitted on); such
  an evaluation model is written only to `--out FILE`, never over the committed one.
  `--without-tuning` also leaves out the tuning quarter (`is_tuning`), on which
  `bench/spread_eval.py --tune` chooses the alerting line before the hold-out is looked
  at. `--all` fits on every event: that is the committed model (`make model`), measured
  on the hold-out by its recipe.
- Each training event contributes examples at fixed observation ages (0.25, 0.5, 1, 2,
  3 h) and at random ones (log-uniform and uniform between 5 min and 24 h, the ages at
  which the 5-minute tracker asks), so one model serves any observation time. Every
  example is seen through one of three windows: the repost timeline with followers, the
  timeline without followers, or count snapshots alone (random cadence and start).
- The regressors and the classifier are also fitted in 4 event-grouped folds; their
  out-of-fold predictions calibrate P(viral) (isotonic), widen the 80% interval
  (conformal, per age bucket) and give the residual distribution used for other viral
  lines. The final models are then refitted on all training examples.

Everything is seeded (per event id), so the same data gives the same model.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

FIXED_AGES_H = (0.25, 0.5, 1.0, 2.0, 3.0)
RANDOM_AGES = 12  # per event, log-uniform, plus as many uniform
MIN_AGE_H, MAX_AGE_H = 5 / 60, 24.0
LOGLINEAR_AGES_H = tuple(np.round(np.geomspace(5 / 60, 24.0, 25), 4))
HORIZON_S = 86400.0
VIRAL = 1000
SNAPSHOT_SHARE = 0.3
NO_FOLLOWERS_SHARE = 0.1
SNAPSHOT_EVERY_S = (300.0, 600.0, 900.0, 1800.0, 3600.0)
AGE_EDGES_H = np.array([0.375, 0.75, 1.5, 3.0, 6.0, 12.0])  # interval/residual buckets
RESIDUAL_LEVELS = np.linspace(0.0, 1.0, 41)
FOLDS = 4
SEED = 20261122
GBM = {
    "max_iter": 300,
    "learning_rate": 0.05,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
}


def _event_hash(event_id: str) -> int:
    return int(hashlib.sha256(event_id.encode()).hexdigest(), 16)


def is_holdout(event_id: str) -> bool:
    """The quarter of events every benchmark measures on and no tuning ever sees."""
    return _event_hash(event_id) % 4 == 0


def is_tuning(event_id: str) -> bool:
    """The quarter operating points are chosen on (with a model fitted without it)."""
    return _event_hash(event_id) % 4 == 1


def _paths(data: Path) -> tuple[Path, Path]:
    folder = data if data.is_dir() else data.parent
    cascades = data if data.is_file() else folder / "weibo_rumdect_dev.jsonl.gz"
    return cascades, folder / "weibo_reaction_time_hist_10s.txt"


def observation_plan(event_id: str) -> list[tuple[float, str, float, float]]:
    """(age_s, window, snapshot_every_s, first_snapshot_s) for one event, seeded by its id."""
    rng = np.random.default_rng([SEED, _event_hash(event_id) % (2**63)])
    ages = list(FIXED_AGES_H)
    ages += list(np.exp(rng.uniform(np.log(MIN_AGE_H), np.log(MAX_AGE_H), RANDOM_AGES)))
    ages += list(rng.uniform(MIN_AGE_H, MAX_AGE_H, RANDOM_AGES))
    plan = []
    for age in ages:
        u = rng.random()
        window = (
            "snapshots"
            if u < SNAPSHOT_SHARE
            else "no_followers"
            if u < SNAPSHOT_SHARE + NO_FOLLOWERS_SHARE
            else "timeline"
        )
        every = float(rng.choice(SNAPSHOT_EVERY_S))
        first = float(rng.uniform(0.0, min(age * 3600.0, 3600.0)))
        plan.append((float(age) * 3600.0, window, every, max(first, 60.0)))
    return plan


def observe(cascade, age_s: float, window: str, every: float, first: float):
    if window == "snapshots":
        return cascade.observe(age_s, snapshots_only=True, every=every, first=first)
    return cascade.observe(age_s, followers=window == "timeline")


def examples(cascades, kernel, n_star: float, horizon: float = HORIZON_S):
    """Features, observed counts, final counts, ages and event ids of every example."""
    from spread.features import feature_row, view

    X, observed, final, ages, groups = [], [], [], [], []
    for g, cascade in enumerate(cascades):
        total = cascade.count_before(horizon)
        for age_s, window, every, first in observation_plan(cascade.event_id):
            v = view(observe(cascade, age_s, window, every, first))
            X.append(feature_row(v, kernel, n_star, horizon)[0])
            observed.append(v.observed)
            final.append(total)
            ages.append(age_s / 3600.0)
            groups.append(g)
    return (
        np.array(X, dtype=float),
        np.array(observed, dtype=float),
        np.array(final, dtype=float),
        np.array(ages),
        np.array(groups),
    )


def fit_loglinear(cascades, horizon: float = HORIZON_S):
    """β(age) and σ(age) of log1p(final) - log1p(now), on a log-spaced age grid."""
    final = np.log1p([c.count_before(horizon) for c in cascades])
    betas, sigmas = [], []
    for age in LOGLINEAR_AGES_H:
        diff = final - np.log1p([c.count_before(age * 3600.0) for c in cascades])
        betas.append(float(np.mean(diff)))
        sigmas.append(float(np.std(diff)))
    return np.array(LOGLINEAR_AGES_H), np.array(betas), np.array(sigmas)


def _gbm_regressor(**kw):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=SEED, **GBM, **kw)


def _gbm_classifier():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=SEED, **GBM)


def fit_models(X, observed, final, ages, groups, viral: int = VIRAL, log=print) -> dict:
    """The boosted models plus their out-of-fold calibration."""
    from sklearn.isotonic import IsotonicRegression

    growth = np.log1p(final) - np.log1p(observed)
    label = final >= viral
    open_ = observed < viral  # P(viral) is only learned where it is still open
    fold = np.array([_fold(g) for g in groups])
    oof = {k: np.full(len(X), np.nan) for k in ("mid", "q10", "q90", "p")}
    makers = {
        "mid": lambda: _gbm_regressor(loss="squared_error"),
        "q10": lambda: _gbm_regressor(loss="quantile", quantile=0.1),
        "q90": lambda: _gbm_regressor(loss="quantile", quantile=0.9),
    }
    for k in range(FOLDS):
        started = time.time()
        tr, te = fold != k, fold == k
        for name, make in makers.items():
            oof[name][te] = make().fit(X[tr], growth[tr]).predict(X[te])
        clf = _gbm_classifier().fit(X[tr & open_], label[tr & open_])
        oof["p"][te & open_] = clf.predict_proba(X[te & open_])[:, 1]
        log(f"  fold {k + 1}/{FOLDS} ({time.time() - started:.0f} s)")

    calibration = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    calibration.fit(oof["p"][open_], label[open_])

    bucket = np.searchsorted(AGE_EDGES_H, ages, side="right")
    lo_adj, hi_adj, residuals = [], [], []
    mid = np.maximum(oof["mid"], 0.0)
    for b in range(len(AGE_EDGES_H) + 1):
        m = bucket == b
        lo = np.minimum(np.maximum(oof["q10"][m], 0.0), mid[m])
        hi = np.maximum(oof["q90"][m], mid[m])
        # conformal (CQR) shifts so that 10% fall below and 10% above, out of fold
        lo_adj.append(float(np.quantile(lo - growth[m], 0.9)))
        hi_adj.append(float(np.quantile(growth[m] - hi, 0.9)))
        residuals.append(np.quantile(growth[m] - mid[m], RESIDUAL_LEVELS))

    log("  final fit on all training examples")
    models = {name: make().fit(X, growth) for name, make in makers.items()}
    models["classifier"] = _gbm_classifier().fit(X[open_], label[open_])
    models["calibration"] = calibration
    models["interval_adjust"] = (AGE_EDGES_H, np.array(lo_adj), np.array(hi_adj))
    models["residuals"] = (RESIDUAL_LEVELS, np.array(residuals))
    models["oof"] = oof
    return models


def _fold(group: int) -> int:
    return int(hashlib.sha256(f"fold{group}".encode()).hexdigest(), 16) % FOLDS


def _report_oof(oof, observed, final, ages, log=print) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    pred = np.expm1(np.log1p(observed) + np.maximum(oof["mid"], 0.0))
    for age in (0.5, 1.0):
        m = np.isclose(ages, age)
        err = np.mean((np.log2(pred[m] + 1) - np.log2(final[m] + 1)) ** 2)
        log(f"  out-of-fold MSLE at {age} h: {err:.3f} (all windows mixed)")
    m = np.isclose(ages, 1.0) & ~np.isnan(oof["p"])
    y = final[m] >= VIRAL
    log(
        f"  out-of-fold P(viral) at 1 h: ROC-AUC {roc_auc_score(y, oof['p'][m]):.3f} "
        f"PR-AUC {average_precision_score(y, oof['p'][m]):.3f}"
    )


def fit_artifact(train, delays, cdf, trained_on: str, started: float, log=print) -> dict:
    """The model file's contents for these training cascades (the whole recipe)."""
    from spread.features import FEATURES
    from spread.kernel import Kernel
    from spread.model import FORMAT

    kernel = Kernel(delays, cdf)
    followers = np.concatenate([c.followers for c in train])
    n_star = float(np.mean(np.minimum(followers, 50_000)))
    X, observed, final, ages, groups = examples(train, kernel, n_star)
    log(
        f"{len(X)} examples, {X.shape[1]} features, n*={n_star:.0f} ({time.time() - started:.0f} s)"
    )
    models = fit_models(X, observed, final, ages, groups, log=log)
    _report_oof(models.pop("oof"), observed, final, ages, log=log)
    return {
        "format": FORMAT,
        "features": FEATURES,
        "kernel_delays": delays,
        "kernel_cdf": cdf,
        "n_star": n_star,
        "loglinear": fit_loglinear(train),
        "horizon_s": HORIZON_S,
        "viral": VIRAL,
        "train_events": sorted(c.event_id for c in train),
        "trained_on": trained_on,
        "without_tuning": False,
        **models,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="yujing train-spread", description=__doc__)
    parser.add_argument("data", type=Path, help="cascades folder or JSONL(.gz) file")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default: the committed model, which only --all may write",
    )
    split = parser.add_mutually_exclusive_group()
    split.add_argument("--all", action="store_true", help="also train on the hold-out events")
    split.add_argument(
        "--without-tuning",
        action="store_true",
        help="also leave out the tuning quarter (for bench/spread_eval.py --tune)",
    )
    args = parser.parse_args(argv)

    import joblib

    from spread.cascades import read_cascades
    from spread.kernel import fit_kernel
    from spread.model import MODEL_PATH
    from yujing.atomic import replacing

    started = time.time()
    if not args.data.exists():  # else the message names a file in its parent folder
        print(f"yujing train-spread: no such file or folder: {args.data}", file=sys.stderr)
        return 2
    cascade_path, hist_path = _paths(args.data)
    for needed in (cascade_path, hist_path):
        if not needed.exists():
            print(f"yujing train-spread: missing {needed}", file=sys.stderr)
            return 2
    out = args.out or MODEL_PATH
    if not args.all and out.resolve() == MODEL_PATH.resolve():
        # a model without the hold-out quarter is for evaluation, never the committed one
        print(
            f"yujing train-spread: without --all the hold-out quarter is left out; use --all "
            f"to retrain the committed model ({MODEL_PATH}) or --out FILE for an evaluation "
            "model",
            file=sys.stderr,
        )
        return 2
    try:
        delays, cdf = fit_kernel(hist_path)
        cascades = list(read_cascades(cascade_path))
    except UnicodeDecodeError:  # read_cascades reports its own, with the line
        print(f"yujing train-spread: {hist_path} is not UTF-8 text", file=sys.stderr)
        return 2
    except ValueError as exc:  # CascadeFormatError, or a histogram without rows
        print(f"yujing train-spread: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # unreadable, or a .gz that is not gzip
        print(f"yujing train-spread: cannot read {args.data}: {exc}", file=sys.stderr)
        return 2
    if args.all:
        train, left_out = cascades, " (all)"
    elif args.without_tuning:
        train = [c for c in cascades if not (is_holdout(c.event_id) or is_tuning(c.event_id))]
        left_out = " (hold-out and tuning quarters excluded)"
    else:
        train = [c for c in cascades if not is_holdout(c.event_id)]
        left_out = " (hold-out quarter excluded)"
    train.sort(key=lambda c: c.event_id)
    if not train:
        print(
            f"yujing train-spread: no usable cascades in {cascade_path}: "
            f"{len(cascades)} read{left_out}",
            file=sys.stderr,
        )
        return 2
    print(
        f"{len(train)} training cascades of {len(cascades)}{left_out}; kernel from {hist_path.name}"
    )
    trained_on = f"{cascade_path.name}: {len(train)} events" + left_out
    try:
        artifact = fit_artifact(train, delays, cdf, trained_on, started)
    except ValueError as exc:  # sklearn on too little data: empty folds, a single class
        print(
            f"yujing train-spread: no usable cascades in {cascade_path}: {len(train)} are too "
            f"few to fit on ({exc})",
            file=sys.stderr,
        )
        return 2
    artifact["without_tuning"] = args.without_tuning
    with replacing(out) as partial:  # a running predictor never loads half a file
        joblib.dump(artifact, partial, compress=3)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
