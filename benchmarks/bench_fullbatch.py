"""One full-batch step on the hand gradients (issue 9): the dense MovieLens 100K objective at k=15.

The 2019 Keras tutorial's loss (``OBJECTIVES["keras_sigmoid_2019"]``: sigmoid output, MSE over
the whole 943 x 1682 matrix, missing cells as 0, ratings scaled into [0, 1]) with k=15, one Adam
step per epoch of ``funksvd.train`` (one evaluation of the loss and its hand gradient in the
matrix form, plus the update). Compared with

* the same gradient computed by the code before issue 9 (``--baseline-rev``, exported with
  ``git archive`` and run in a subprocess), which rebuilt the dense matrix, the mask and the
  duplicate check at every call;
* the first call on a new ``Ratings`` object (what every call used to pay);
* the TensorFlow twin, ``funksvd.autodiff.train`` (gather formulation), step for step.

On a shared 2-core machine OpenBLAS' second thread often waits for a core: each timing runs in
a fresh interpreter, once with the BLAS threads as installed and once with
``OPENBLAS_NUM_THREADS=1``.

Goal: one full-batch step <= 50 ms.

    .venv/bin/python benchmarks/bench_fullbatch.py [--steps 20] [--skip-tensorflow] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np

import _common

GOAL_SECONDS = 0.050
K = 15

SNIPPET = """
import json, sys, time, numpy as np
sys.path.insert(0, {root!r})
import funksvd
from funksvd import Factors, Ratings, OBJECTIVES
data = np.load({arrays!r})
ratings = Ratings(data["users"], data["items"], data["values"], int(data["n_users"]), int(data["n_items"]))
factors = Factors.random(ratings.n_users, ratings.n_items, {k}, mu=0.0, random_state=0)
objective = OBJECTIVES["keras_sigmoid_2019"]
if {train!r}:
    _, history = funksvd.train(factors, ratings, objective=objective, reg=0.0, optimizer="adam",
                               learning_rate=0.01, n_epochs={steps} + 1)
    times = [h["seconds"] for h in history[1:]]
else:
    times = []
    for _ in range({steps}):
        tic = time.perf_counter()
        objective.gradients(factors, ratings, 0.0, form="matrix")
        times.append(time.perf_counter() - tic)
print(json.dumps(times))
"""


def step_seconds(root: str, arrays: str, steps: int, train: bool, blas_threads=None) -> list[float]:
    """Times of ``steps`` full-batch steps (``train``) or matrix-form gradients, in a fresh interpreter.

    ``blas_threads`` sets ``OPENBLAS_NUM_THREADS`` (and ``OMP_NUM_THREADS``) for that interpreter.
    """
    env = dict(os.environ)
    if blas_threads is not None:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(blas_threads)
    code = SNIPPET.format(root=root, arrays=arrays, k=K, steps=steps, train=train)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def export(rev: str, into: str) -> str:
    """The ``funksvd`` package of commit ``rev``, extracted under ``into``; returns the folder to import from."""
    archive = subprocess.run(["git", "archive", rev, "funksvd"], cwd=_common.ROOT, capture_output=True,
                             check=True).stdout
    path = f"{into}/src.tar"
    with open(path, "wb") as handle:
        handle.write(archive)
    with tarfile.open(path) as tar:
        tar.extractall(f"{into}/src", filter="data")
    return f"{into}/src"


def ms(values) -> str:
    return f"{1000 * _common.median(values):.1f} (min {1000 * min(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_arguments(parser)
    parser.add_argument("--steps", type=int, default=20, help="full-batch steps timed (after one warm-up step)")
    parser.add_argument("--baseline-rev", default="25cc2ec", help="commit before issue 9 ('' to skip)")
    parser.add_argument("--skip-tensorflow", action="store_true")
    args = parser.parse_args()

    from funksvd import OBJECTIVES, Factors, Ratings

    data = _common.load_ml100k(args.data)
    raw = data.ratings
    # the tutorial scales the ratings into [0, 1]; missing cells enter the dense loss as 0
    ratings = Ratings(raw.users, raw.items, raw.values / 5.0, raw.n_users, raw.n_items)
    objective = OBJECTIVES["keras_sigmoid_2019"]
    start = Factors.random(ratings.n_users, ratings.n_items, K, mu=0.0, random_state=0)

    tic = time.perf_counter()
    objective.value_and_gradients(start, ratings, 0.0, form="matrix")
    cold = time.perf_counter() - tic

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        arrays = f"{tmp}/ratings.npz"
        np.savez(arrays, users=ratings.users, items=ratings.items, values=ratings.values,
                 n_users=ratings.n_users, n_items=ratings.n_items)
        here = str(_common.ROOT)
        default = step_seconds(here, arrays, args.steps, train=True)
        single = step_seconds(here, arrays, args.steps, train=True, blas_threads=1)
        rows.append(("one full-batch step of `funksvd.train` (Adam), BLAS threads as installed", f"**{ms(default)}**"))
        rows.append(("the same, `OPENBLAS_NUM_THREADS=1`", f"**{ms(single)}**"))
        rows.append(("first evaluation on a new `Ratings` (builds the dense matrix once)", f"{1000 * cold:.0f}"))
        if args.baseline_rev:
            old = export(args.baseline_rev, tmp)
            before = step_seconds(old, arrays, 5, train=False)
            before_single = step_seconds(old, arrays, 5, train=False, blas_threads=1)
            rows.append((f"one matrix-form gradient alone, code of {args.baseline_rev} (before issue 9)",
                         ms(before)))
            rows.append(("the same, `OPENBLAS_NUM_THREADS=1`", ms(before_single)))
            rows.append(("before / after (medians; as installed, one BLAS thread)",
                         f"**{_common.median(before) / _common.median(default):.1f} x, "
                         f"{_common.median(before_single) / _common.median(single):.1f} x**"))
    if not args.skip_tensorflow:
        from funksvd import autodiff

        _, tf_history = autodiff.train(start, ratings, objective=objective, reg=0.0, optimizer="adam",
                                       learning_rate=0.01, n_epochs=6, form="sparse")
        tf_step = [h["seconds"] for h in tf_history[1:]]
        rows.append(("TensorFlow twin `autodiff.train` (gather formulation, 1.59M entries), 5 steps", ms(tf_step)))
    load = os.getloadavg()[0]

    def verdict(values):
        return "met" if _common.median(values) <= GOAL_SECONDS else "not met"

    body = "\n".join([
        f"MovieLens 100K as the 2019 Keras tutorial's dense objective (`keras_sigmoid_2019`): "
        f"{ratings.n_users} x {ratings.n_items} = {ratings.n_users * ratings.n_items:,} cells, "
        f"ratings / 5, k={K}, start N(0, 0.1), Adam 0.01, full batch, float64. Each row runs in a fresh "
        "interpreter; times in ms, median (and minimum) of the steps after a warm-up step. "
        f"Load average when the run ended: {load:.1f} on {os.cpu_count()} cores.",
        "",
        _common.table(("", "ms"), rows),
        "",
        f"Goal one full-batch step <= {1000 * GOAL_SECONDS:.0f} ms: with one BLAS thread **{verdict(single)}** "
        f"({1000 * _common.median(single):.1f} ms); with the BLAS threads as installed **{verdict(default)}** "
        f"({1000 * _common.median(default):.1f} ms).",
    ])
    _common.report("bench_fullbatch", body, args.write, packages=("numpy", "tensorflow-cpu"))


if __name__ == "__main__":
    main()
