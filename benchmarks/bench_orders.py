"""Visiting orders compared: test RMSE after 20 epochs and seconds per epoch, over seeds.

The quality criterion of the default order (issue 10): after 20 epochs its test RMSE is within
0.002 of a fresh permutation per epoch (``shuffle=True``), on MovieLens 100K (k=100, float64,
the defaults) and on synthetic Netflix-shaped ratings (k=40, float32), over 3 seeds. Each
seed is the model's ``random_state`` (initial factors and visiting order); the 80/20 split is
fixed (``random_state=0``). Test RMSE with predictions clipped to the training rating range.

    .venv/bin/python benchmarks/bench_orders.py [--n-ratings 10000000] [--seeds 3] [--write]
"""

from __future__ import annotations

import argparse

import numpy as np

import _common

ORDERS = ("grid", True, False, "blocks")
GOAL = 0.002


def compare(train, test, params, seeds, orders):
    from funksvd.estimator import FunkSVD

    rows = {}
    for order in orders:
        for seed in range(seeds):
            model = FunkSVD(shuffle=order, random_state=seed, **params).fit(train)
            r_hat = model.predict(test.users, test.items, clip=True)
            rmse = float(np.sqrt(np.mean((test.values - r_hat) ** 2)))
            seconds = _common.median([h["seconds"] for h in model.history_])
            rows.setdefault(order, []).append((rmse, seconds))
            print(f"  shuffle={order!r} seed {seed}: test RMSE {rmse:.4f}, {seconds:.3f} s/epoch", flush=True)
    return rows


def table(label, rows, seeds):
    fresh = np.array([r for r, _ in rows[True]])
    lines = []
    for order, values in rows.items():
        rmse = np.array([r for r, _ in values])
        diff = rmse - fresh
        lines.append((f"`shuffle={order!r}`", ", ".join(f"{r:.4f}" for r in rmse),
                      "" if order is True else ", ".join(f"{d:+.4f}" for d in diff),
                      f"{_common.median([s for _, s in values]):.3f}"))
    worst = max(abs(np.array([r for r, _ in rows["grid"]]) - fresh))
    met = "met" if worst <= GOAL else "not met"
    verdict = f"default `'grid'`: max |diff| {worst:.4f} over {seeds} seeds, goal <= {GOAL}: **{met}**"
    return "\n".join([label, "", _common.table(
        ("visiting order", "test RMSE per seed", "minus fresh permutation, per seed", "median s/epoch"), lines),
        "", verdict])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_arguments(parser)
    parser.add_argument("--n-ratings", type=int, default=10_000_000, help="synthetic ratings (0: MovieLens only)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-ml100k", action="store_true")
    args = parser.parse_args()

    from funksvd.data import synthetic_netflix, train_test_split
    from funksvd.estimator import FunkSVD

    FunkSVD(n_factors=4, n_epochs=1).fit(synthetic_netflix(50, 20, 400, random_state=1))  # compile
    if not args.skip_ml100k:
        train, test = train_test_split(_common.load_ml100k(args.data).ratings, test_size=0.2, random_state=0)
        print("MovieLens 100K", flush=True)
        rows = compare(train, test, dict(n_factors=100, n_epochs=20), args.seeds, ORDERS)
        _common.report("bench_orders_ml100k", table(
            "MovieLens 100K, 80/20 split, `FunkSVD()` defaults (k=100, 20 epochs, float64), one thread:",
            rows, args.seeds), args.write)
    if args.n_ratings:
        ratings = synthetic_netflix(480_189, 17_770, args.n_ratings, random_state=0, dtype=np.float32)
        train, test = train_test_split(ratings, test_size=0.2, random_state=0)
        del ratings
        label = f"{args.n_ratings / 1e6:g}M"
        print(label, flush=True)
        rows = compare(train, test, dict(n_factors=40, n_epochs=20, dtype=np.float32), args.seeds, ("grid", True))
        _common.report(f"bench_orders_{label}", table(
            f"{label} synthetic Netflix-shaped ratings (`synthetic_netflix`, 480,189 x 17,770), 80/20 split, "
            "k=40, float32, 20 epochs, one thread:", rows, args.seeds), args.write)


if __name__ == "__main__":
    main()
