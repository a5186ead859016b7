"""Fold-in of new users on MovieLens 100K: top-10 lists against the popularity baseline and a retrained model.

A fifth of the users (random, seed 0) are new: none of their ratings are in training. Each new
user then gives their first ``g`` ratings (by timestamp), and the rest of their ratings are
held out. Four ways to rank every item not among the ``g`` given, for each new user:

* **popularity**: by number of training ratings (the same list for everyone);
* **item bias**: by :math:`\\mu + b_i` of the model (also the same list for everyone);
* **fold-in**: ``model.fold_in(given items, given ratings)``, :math:`Q, b_i, \\mu` fixed, and
  then :math:`\\mu + b_u + b_i + p_u^\\top q_i`;
* **retrained**: the same model fitted again with the given ratings added to training (same
  hyper-parameters and seed), the reference fold-in stands in for.

Two measures of how each ranks a new user's held-out items:

* **top-10 among every item** the user did not give: :func:`funksvd.evaluation.evaluate_ranking`
  (k=10; relevant = a held-out rating >= 4; the given items excluded);
* **ordering the user's own held-out items**: the share of pairs of held-out items with
  different ratings that the scores put in the right order (a tie in the scores counts a half),
  averaged over users; 0.5 is a coin.

The held-out RMSE uses every held-out rating. The model is run with Surprise's defaults and with
the hyper-parameters tuned for RMSE in ``ml100k_tuned.json`` (not tuned for this benchmark).
``OPENBLAS_NUM_THREADS=1`` unless set: a (k+1) x (k+1) solve per user is too small to share.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_fold_in.py [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads its BLAS

import _common
import numpy as np

from funksvd import Factors, FunkSVD, Ratings
from funksvd.evaluation import evaluate_ranking

K = 10
THRESHOLD = 4.0
GIVEN = (5, 10, 20)
CONFIGS = {
    "defaults": dict(n_factors=100, n_epochs=20, random_state=0),
    "tuned": json.loads((_common.HERE / "ml100k_tuned.json").read_text()),
}


def split_new_users(ratings: Ratings, timestamps: np.ndarray, fraction: float, seed: int):
    """(training ratings of the other users, new user indices, per-user (items, values) in time order)."""
    rng = np.random.default_rng(seed)
    new = np.sort(rng.choice(ratings.n_users, size=int(round(fraction * ratings.n_users)), replace=False))
    is_new = np.isin(ratings.users, new)
    train = ratings.subset(~is_new)
    order = np.lexsort((np.arange(len(ratings)), timestamps, ratings.users))  # by user, then time, then file order
    order = order[is_new[order]]
    by_user = {}
    for u in new:
        rows = order[ratings.users[order] == u]
        by_user[int(u)] = (ratings.items[rows], ratings.values[rows])
    return train, new, by_user


def lists_of(new, by_user, g, n_items):
    """Given ratings (to exclude) and held-out ratings, the new users renumbered 0..len(new)-1."""
    given_u, given_i, given_r, held_u, held_i, held_r = [], [], [], [], [], []
    for j, u in enumerate(new):
        items, values = by_user[int(u)]
        given_u += [j] * g
        given_i += items[:g].tolist()
        given_r += values[:g].tolist()
        held_u += [j] * (len(items) - g)
        held_i += items[g:].tolist()
        held_r += values[g:].tolist()
    n = len(new)
    return (Ratings(given_u, given_i, given_r, n, n_items), Ratings(held_u, held_i, held_r, n, n_items))


def constant_ranker(scores: np.ndarray, n_users: int, mu: float = 0.0) -> Factors:
    """Factors whose prediction is ``mu + scores[i]`` for every user (k = 1, all factors 0)."""
    return Factors(np.zeros((n_users, 1)), np.zeros((len(scores), 1)), np.zeros(n_users), scores, mu)


def rmse(factors: Factors, held: Ratings) -> float:
    e = held.values - factors.predict(held.users, held.items)
    return float(np.sqrt(np.mean(e * e)))


def pairs_in_order(factors: Factors, held: Ratings) -> float:
    """Mean over users of the share of held-out pairs (different ratings) that the scores order rightly."""
    scores = factors.predict(held.users, held.items)
    shares = []
    for u in np.unique(held.users):
        mine = held.users == u
        r, s = held.values[mine], scores[mine]
        differ = np.sign(r[:, None] - r[None, :])
        agree = np.sign(s[:, None] - s[None, :]) * differ
        n = np.count_nonzero(differ)
        if n:
            shares.append(float(((agree > 0) + 0.5 * (agree == 0))[differ != 0].sum() / n))
    return float(np.mean(shares))


def run(config: str, params: dict, ratings, train, new, by_user, popularity):
    model = FunkSVD(**params).fit(train)
    f = model.factors_
    rows, timings = [], []
    for g in GIVEN:
        given, held = lists_of(new, by_user, g, ratings.n_items)
        tic = time.perf_counter()
        folded = [model.fold_in(by_user[int(u)][0][:g], by_user[int(u)][1][:g]) for u in new]
        fold_seconds = (time.perf_counter() - tic) / len(new)
        fold = Factors(np.array([x.p_u for x in folded]), f.Q, np.array([x.b_u for x in folded]), f.bi, f.mu)

        added = Ratings(np.concatenate([train.users, new[given.users]]), np.concatenate([train.items, given.items]),
                        np.concatenate([train.values, given.values]), ratings.n_users, ratings.n_items)
        tic = time.perf_counter()
        again = FunkSVD(**params).fit(added).factors_
        refit_seconds = time.perf_counter() - tic
        retrained = Factors(again.P[new], again.Q, again.bu[new], again.bi, again.mu)
        timings.append((g, fold_seconds, refit_seconds))

        rankers = {
            "popularity": constant_ranker(popularity, len(new)),
            "item bias (mu + b_i)": constant_ranker(f.bi, len(new), f.mu),
            "**fold-in**": fold,
            "retrained with the given ratings": retrained,
        }
        for name, factors in rankers.items():
            found = evaluate_ranking(factors, given, held, k=K, threshold=THRESHOLD)
            error = "" if name == "popularity" else f"{rmse(factors, held):.4f}"
            rows.append((config, g, name, f"{found[f'precision@{K}']:.4f}", f"{found[f'ndcg@{K}']:.4f}",
                         f"{pairs_in_order(factors, held):.4f}", error))
    return rows, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_arguments(parser)
    parser.add_argument("--fraction", type=float, default=0.2, help="share of users held out as new (default 0.2)")
    args = parser.parse_args()

    data = _common.load_ml100k(args.data)
    ratings = data.ratings
    train, new, by_user = split_new_users(ratings, data.timestamps, args.fraction, seed=0)
    FunkSVD(n_factors=2, n_epochs=1).fit(train)  # compile once, outside the timings
    popularity = np.bincount(train.items, minlength=ratings.n_items).astype(float)
    rows, timings = [], {}
    for config, params in CONFIGS.items():
        found, timings[config] = run(config, params, ratings, train, new, by_user, popularity)
        rows += found

    header = ("model", "given ratings", "ranking", f"precision@{K}", f"nDCG@{K}", "held-out pairs in order",
              "held-out RMSE")
    value = {(row[0], row[1], row[2]): (float(row[4]), float(row[5])) for row in rows}

    def verdict(column: int, what: str) -> str:
        ratios = [value[(c, g, "**fold-in**")][column] / value[(c, g, "popularity")][column]
                  for c in CONFIGS for g in GIVEN]
        met = sum(ratio > 1 for ratio in ratios)
        return (f"{what}, fold-in / popularity: " + ", ".join(f"{r:.2f}" for r in ratios)
                + f" (model x g as in the table): fold-in better in **{met} of {len(ratios)}**.")

    describe = "; ".join(f"{c}: FunkSVD({', '.join(f'{k}={v}' for k, v in p.items())})" for c, p in CONFIGS.items())
    body = "\n\n".join([
        f"MovieLens 100K: {len(new)} of {ratings.n_users} users held out as new (random, seed 0); "
        f"{len(train)} training ratings from the others. Each new user gives their first g ratings by "
        f"timestamp; the rest are held out (relevant for top-{K}: rating >= {THRESHOLD:g}); the given items "
        f"are excluded from the lists. Models ({describe}), rule funk.",
        _common.table(header, rows),
        verdict(1, "Ordering the user's held-out items"),
        verdict(0, f"Top-{K} among every item (nDCG@{K})"),
        "Time per new user (OpenBLAS on one thread): "
        + "; ".join(f"{c}: fold-in " + ", ".join(f"{s * 1e6:.0f} us (g={g})" for g, s, _ in t)
                    + f", retraining the whole model {t[0][2]:.2f} s" for c, t in timings.items()) + ".",
    ])
    _common.report("bench_fold_in", body, args.write)


if __name__ == "__main__":
    main()
