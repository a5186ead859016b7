"""The TensorFlow twin's two formulations, ``autodiff.train(form="sparse" | "matrix")``, beside ``funksvd.train``.

Milliseconds per full-batch Adam step (the step and the loss evaluation it records), in one
process, median over the steps after two warm-up steps, on

1. the 2021 GradientTape tutorial's 500 x 500 harmonic problem (k=30, half the cells observed,
   ``OBJECTIVES["tf2_mse_2021"]``), ratings from ``Ratings.from_dense(M, mask=train)``;
2. MovieLens 100K as the 2019 Keras tutorial's dense objective (``keras_sigmoid_2019``: every
   one of the 943 x 1682 cells, ratings / 5, k=15), skipped without the data.

    .venv/bin/python benchmarks/bench_twin_forms.py [--steps 20] [--write]
"""

from __future__ import annotations

import argparse
import os

import _common


def step_ms(train, start, ratings, steps: int, **kwargs) -> list[float]:
    _, history = train(start, ratings, n_epochs=steps + 2, reg=0.0, optimizer="adam", learning_rate=0.01, **kwargs)
    return [1000 * h["seconds"] for h in history[2:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_arguments(parser)
    parser.add_argument("--steps", type=int, default=20, help="steps timed per row (after two warm-up steps)")
    args = parser.parse_args()

    import funksvd
    from funksvd import OBJECTIVES, Factors, Ratings, autodiff
    from funksvd.classics import harmonic_problem

    problems = []
    harmonic = harmonic_problem(500, 30, 0)
    problems.append(("harmonic 500 x 500, k=30, 50% observed", harmonic["start"],
                     Ratings.from_dense(harmonic["M"], mask=harmonic["train"]), OBJECTIVES["tf2_mse_2021"]))
    if args.data.exists():
        raw = _common.load_ml100k(args.data).ratings
        ratings = Ratings(raw.users, raw.items, raw.values / 5.0, raw.n_users, raw.n_items)
        start = Factors.random(ratings.n_users, ratings.n_items, 15, mu=0.0, random_state=0)
        problems.append(("MovieLens 100K dense (keras_sigmoid_2019), 1.59M cells, k=15", start, ratings,
                         OBJECTIVES["keras_sigmoid_2019"]))
    rows = []
    for name, start, ratings, objective in problems:
        hand = step_ms(funksvd.train, start, ratings, args.steps, objective=objective)
        gather = step_ms(autodiff.train, start, ratings, args.steps, objective=objective, form="sparse")
        masked = step_ms(autodiff.train, start, ratings, args.steps, objective=objective, form="matrix")
        med = _common.median
        rows.append((name, f"{med(hand):.1f}", f"{med(gather):.1f}", f"**{med(masked):.1f}**",
                     f"{med(gather) / med(masked):.1f} x"))
    load = os.getloadavg()[0]
    body = "\n".join([
        (f"Full-batch Adam steps, float64, median ms per step (step + recorded loss) over {args.steps} steps after "
        f"two warm-up steps, one process. Load average when the run ended: {load:.1f} on {os.cpu_count()} cores."),
        "",
        _common.table(("problem", "`funksvd.train` (hand gradients)", "`autodiff.train(form=\"sparse\")` (gather)",
                       "`autodiff.train(form=\"matrix\")` (masked)", "gather / masked"), rows),
        "",
        "`form=\"auto\"` (the default of both trainers) picks the matrix form on both problems.",
    ])
    _common.report("bench_twin_forms", body, args.write, packages=("numpy", "tensorflow-cpu"))


if __name__ == "__main__":
    main()
