"""FunkSVD (compiled engine, float32, k=40) on synthetic Netflix-shaped data: seconds per epoch, peak RSS.

The data come from ``funksvd.data.synthetic_netflix`` with the Netflix Prize's 480,189
users and 17,770 items and ``--n-ratings`` ratings (Zipf-like item popularity, log-normal user
activity, a planted rank-10 model). numba compiles on a tiny problem first, so the epoch times
are pure training. Peak RSS is the fits' own: the kernel's high-water mark of this process
(``VmHWM``) is reset after the data are generated (``/proc/self/clear_refs``), so it counts
what stays resident during the fits (Python, numba, the caller's ``Ratings``) and what the fits
add, not the generator's temporaries. Where the reset is not possible the script says so and
reports ``ru_maxrss`` (data generation included).

    .venv/bin/python benchmarks/bench_scale.py --n-ratings 10000000 [--epochs 3] [--write]
    .venv/bin/python benchmarks/bench_scale.py --n-ratings 100000000 --epochs 2 --write

Goals (issue 10), float32, default visiting order: 10M ratings <= 0.5 s per epoch; 100M
ratings <= 5 s per epoch and <= 3 GB peak RSS. Per epoch: wall-clock seconds of each epoch
(``history_``) and, since the machine is shared, CPU seconds: with the default order each
epoch timed on its own (``time.process_time`` around ``Grid.run``, which runs one epoch), and
for every order a fit of ``--epochs`` epochs minus a fit of one epoch (the setup: the grid,
the start loss), divided by ``--epochs - 1`` (noisy: the setup's own variation lands in it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import _common

GOAL_SECONDS = {10_000_000: 0.5, 100_000_000: 5.0}
GOAL_BYTES = 3 * 10**9
GOAL_FIT_10M, GOAL_SETUP_10M = 4.0, 0.3  # float32, k=40, defaults, 20 epochs


def current_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS; False where Linux does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_since_reset() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_arguments(parser, data=False)
    parser.add_argument("--n-ratings", type=int, default=10_000_000)
    parser.add_argument("--n-users", type=int, default=480_189)
    parser.add_argument("--n-items", type=int, default=17_770)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--k", type=int, default=40, help="factors fitted (default 40)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--shuffle", choices=("grid", "true", "false", "blocks"), default="grid",
                        help="FunkSVD's shuffle: the default grid, a fresh permutation (true), stored order "
                             "grouped by user as Surprise does (false), or runs of consecutive ratings in random "
                             "order (blocks); each is written to its own RESULTS.md section")
    parser.add_argument("--index-dtype", choices=("int32", "int64"), default="int32",
                        help="dtype of the ids in the Ratings handed to fit (default int32: 8 bytes a rating)")
    parser.add_argument("--n-jobs", type=int, default=1, help="threads (DSGD strata; default 1)")
    args = parser.parse_args()

    from funksvd import Ratings
    from funksvd.data import synthetic_netflix
    from funksvd.sgd import orders as grid
    from funksvd.estimator import FunkSVD

    dtype = np.dtype(args.dtype).type
    shuffle = {"grid": "grid", "true": True, "false": False, "blocks": "blocks"}[args.shuffle]
    params = dict(n_factors=args.k, lr_all=0.005, reg_all=0.02, dtype=dtype, shuffle=shuffle,
                  random_state=0, engine="compiled", n_jobs=args.n_jobs)
    tiny = synthetic_netflix(50, 20, 400, random_state=1)
    tiny = Ratings(tiny.users, tiny.items, tiny.values, dtype=dtype, index_dtype=np.dtype(args.index_dtype).type)
    FunkSVD(n_epochs=1, **params).fit(tiny)  # compile
    baseline = current_rss_bytes()

    tic = time.perf_counter()
    ratings = synthetic_netflix(args.n_users, args.n_items, args.n_ratings, random_state=0, dtype=dtype)
    if args.index_dtype != "int64":  # the generator writes int64 ids; the caller stores them narrower
        ratings = Ratings(ratings.users, ratings.items, ratings.values, ratings.n_users, ratings.n_items,
                          dtype=dtype, copy=False, index_dtype=np.dtype(args.index_dtype).type)
    generate_seconds = time.perf_counter() - tic
    after_data = _common.peak_rss_bytes()
    before_fit = current_rss_bytes()
    fit_peak_only = reset_peak_rss()
    data_bytes = ratings.users.nbytes + ratings.items.nbytes + ratings.values.nbytes

    cpu = time.process_time()
    FunkSVD(n_epochs=1, **params).fit(ratings)  # setup + one epoch, to take the setup out of the CPU figure
    one_epoch_cpu = time.process_time() - cpu
    epoch_cpu = []  # shuffle="grid": CPU seconds of each epoch, read around Grid.run (one call an epoch)
    marks = []  # CPU clock as each epoch starts and ends
    run = grid.Grid.run

    def timed_run(self, *run_args):
        cpu = time.process_time()
        marks.append(cpu)
        try:
            return run(self, *run_args)
        finally:
            marks.append(time.process_time())
            epoch_cpu.append(marks[-1] - cpu)

    grid.Grid.run = timed_run
    tic, cpu = time.perf_counter(), time.process_time()
    model = FunkSVD(n_epochs=args.epochs, **params).fit(ratings)
    fit_seconds, cpu_seconds = time.perf_counter() - tic, time.process_time() - cpu
    grid.Grid.run = run
    cpu_per_epoch = (cpu_seconds - one_epoch_cpu) / max(args.epochs - 1, 1)
    outside_cpu = cpu_seconds - sum(epoch_cpu)  # everything but the epochs' loops
    setup_cpu = marks[0] - cpu if marks else outside_cpu  # before the first epoch
    between_cpu = sum(b - a for a, b in zip(marks[1:-1:2], marks[2::2]))  # each epoch's loss, guard, history
    after_cpu = outside_cpu - setup_cpu - between_cpu  # the fitted Factors, estimator attributes
    cpu_goal = _common.median(epoch_cpu) if epoch_cpu else cpu_per_epoch
    peak = peak_rss_since_reset() if fit_peak_only else _common.peak_rss_bytes()
    epochs = [record["seconds"] for record in model.history_]
    per_epoch = _common.median(epochs)
    model_bytes = sum(a.nbytes for a in model.factors_.params().values())
    label = f"{args.n_ratings / 1e6:g}M"

    rows = [
        ("ratings (users x items)", f"{len(ratings):,} ({ratings.n_users:,} x {ratings.n_items:,})"),
        ("data generation", f"{generate_seconds:.1f} s"),
        (f"seconds per epoch (median of {len(epochs)})",
         f"**{per_epoch:.2f} s**  ({', '.join(f'{s:.2f}' for s in epochs)})"),
        ("ns per rating update", f"{per_epoch / len(ratings) * 1e9:.0f}"),
        *([(f"CPU seconds per epoch (median of {len(epoch_cpu)}, each epoch timed)",
            f"**{_common.median(epoch_cpu):.2f} s**  ({', '.join(f'{s:.2f}' for s in epoch_cpu)})")]
          if epoch_cpu else []),
        ("CPU seconds per epoch (fit of all epochs minus a fit of one, over the epochs between)",
         f"{cpu_per_epoch:.2f} s" if epoch_cpu else f"**{cpu_per_epoch:.2f} s**"),
        ("whole fit (incl. setup)", f"**{fit_seconds:.2f} s wall**, {cpu_seconds:.2f} s CPU"),
        *([("setup: CPU before the first epoch (start values, counts, grid, reference loss)",
            f"**{setup_cpu:.2f} s**"),
           (f"between epochs: CPU outside the epoch loops ({len(epoch_cpu) - 1} gaps: each epoch's running loss "
            "with its penalty, the guard, the history)",
            f"{between_cpu:.2f} s ({between_cpu / max(len(epoch_cpu) - 1, 1) * 1e3:.0f} ms a gap)"),
           ("after the last epoch: CPU to the fitted estimator (its running loss, Factors, attributes)",
            f"{after_cpu:.2f} s")]
          if epoch_cpu else []),
        ("training RMSE after the last epoch", f"{model.history_[-1]['train_rmse']:.4f}"),
        ("peak RSS of the fits" if fit_peak_only else "peak RSS (data generation included: no reset possible)",
         f"**{gb(peak)}**"),
        ("RSS when the fits start (the caller's Ratings held)", gb(before_fit)),
        ("peak RSS of generating the data (before the fits)", gb(after_data)),
        ("RSS before the data (Python, numpy, numba, compiled kernels)", gb(baseline)),
        (f"Ratings arrays ({ratings.users.dtype} users, {ratings.items.dtype} items, {ratings.values.dtype} values)",
         gb(data_bytes)),
        (f"model ({args.dtype} P, Q, bu, bi)", gb(model_bytes)),
    ]
    goal = GOAL_SECONDS.get(args.n_ratings)
    body = "\n".join([
        f"{label} synthetic Netflix-shaped ratings, FunkSVD(n_factors={args.k}, dtype={args.dtype}, "
        f"shuffle={params['shuffle']!r}, engine='compiled', n_jobs={args.n_jobs}), {args.epochs} epochs; "
        "ratings grouped by user as generated (users ascending, items random within a user).",
        "",
        _common.table(("", label), rows),
        "",
        (f"Goal <= {goal:g} s/epoch: **{'met' if per_epoch <= goal else 'not met'}** (wall, median), "
         f"**{'met' if cpu_goal <= goal else 'not met'}** (CPU)"
         + (f"; <= 3 GB peak RSS: **{'met' if peak <= GOAL_BYTES else 'not met'}**."
            if args.n_ratings >= 10**8 else ".")
         if goal else f"(No goal stated for {label} ratings.)"),
        *(["", f"Goals at 10M, {args.epochs} epochs: whole fit <= {GOAL_FIT_10M:g} s: "
               f"**{'met' if fit_seconds <= GOAL_FIT_10M else 'not met'}** "
               f"({fit_seconds:.2f} s wall, {cpu_seconds:.2f} s CPU); "
               f"setup <= {GOAL_SETUP_10M:g} s: **{'met' if setup_cpu <= GOAL_SETUP_10M else 'not met'}** "
               f"({setup_cpu:.2f} s CPU)."]
          if args.n_ratings == 10_000_000 and args.epochs == 20 and epoch_cpu else []),
    ])
    suffix = {"grid": "_grid", "true": "", "false": "_stored_order", "blocks": "_blocks"}[args.shuffle]
    section = f"bench_scale_{label}" + suffix + (f"_jobs{args.n_jobs}" if args.n_jobs != 1 else "")
    _common.report(section, body, args.write)


if __name__ == "__main__":
    main()
