"""Where ``evaluate_ranking`` spends its time at scale: the relevant sets and the top-k lists.

Synthetic held-out pairs (uniform users and items, seed 0) over ``--users`` x ``--items`` (default
200,000 x 50,000, the size that took 211 s without a word in review): the relevant items of every
user built by the per-user Python loop of before (a list of slices, then ``_relevant``) and by
one sort (``_relevant_pairs``), checked equal; and ``top_n`` (k = 10, ``--factors`` factors) on a
sample of users, extrapolated linearly to all of them (each batch of users costs the same).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_evaluate.py [--write]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the machine is shared; one BLAS thread

import _common
import numpy as np

from funksvd import Factors, Ratings
from funksvd.evaluation import top_n
from funksvd.evaluation.ranking_metrics import _relevant, _relevant_pairs
from funksvd.evaluation.top_n import items_by_user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--factors", type=int, default=100)
    parser.add_argument("--sample", type=int, default=2_000, help="users whose top-k lists are timed")
    parser.add_argument("--write", action="store_true", help="store the table in RESULTS.md")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    test = Ratings(rng.integers(0, args.users, args.pairs), rng.integers(0, args.items, args.pairs),
                   np.ones(args.pairs), args.users, args.items)

    tic = time.perf_counter()
    indptr, items = items_by_user(test, args.users)
    users = np.flatnonzero(np.diff(indptr) > 0)
    before = _relevant([items[indptr[u]:indptr[u + 1]] for u in users], len(users))
    loop = time.perf_counter() - tic
    tic = time.perf_counter()
    distinct, indptr2, items2 = _relevant_pairs(test)
    sort = time.perf_counter() - tic
    assert np.array_equal(users, distinct) and np.array_equal(before[0], indptr2) and np.array_equal(before[1], items2)

    factors = Factors(rng.normal(0, 0.1, (args.users, args.factors)), rng.normal(0, 0.1, (args.items, args.factors)))
    sample = users[:args.sample]
    tic = time.perf_counter()
    top_n(factors, sample, n=10)
    lists = (time.perf_counter() - tic) * len(users) / len(sample)

    rows = [
        ("relevant sets, per-user loop (before)", f"{loop:.2f}"),
        ("relevant sets, one sort (now)", f"{sort:.2f}"),
        (f"top-10 lists of all {len(users):,} users, k={args.factors} (from {len(sample):,} users)",
         f"{lists:.0f}"),
    ]
    body = (f"{args.pairs:,} held-out pairs over {args.users:,} users x {args.items:,} items; seconds.\n\n"
            + _common.table(("phase of evaluate_ranking", "s"), rows)
            + "\n\nThe lists dominate: they are what `verbose=True` (and `funksvd evaluate` / `funksvd cv`) "
              "now show progress for.")
    _common.report("bench_evaluate", body, args.write)


if __name__ == "__main__":
    main()
