"""Mapping 1M text ids to indices: Dataset.from_frame against pandas.factorize, in one process.

Run (pandas needed):

    .venv/bin/python benchmarks/bench_ids.py [--write]

1M ratings of 100,000 users ``user<k>`` and about 632,000 items ``tt<7 digits>``, drawn with
numpy's default_rng(0). ``Dataset.from_frame`` maps both columns to indices in sorted id
order (and checks types, control characters and duplicate pairs); the peer is
``pandas.factorize(column, sort=True)`` of the two columns, which does the mapping alone.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import _common
import numpy as np

from funksvd.data import Dataset

REPEATS = 5


def best(function) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_arguments(parser, data=False)
    args = parser.parse_args()
    import pandas as pd

    warnings.simplefilter("ignore", UserWarning)  # a few random (user, item) pairs repeat: from_frame says so
    rng = np.random.default_rng(0)
    n = 1_000_000
    users = np.array([f"user{x}" for x in rng.integers(0, 100_000, n)], dtype=object)
    items = np.array([f"tt{x:07d}" for x in rng.integers(0, 1_000_000, n)], dtype=object)
    frame = pd.DataFrame({"user": users, "item": items, "rating": rng.integers(1, 6, n).astype(float)})
    data = Dataset.from_frame(frame)
    codes = [pd.factorize(frame[column], sort=True)[0] for column in ("user", "item")]
    assert np.array_equal(data.ratings.users, codes[0]) and np.array_equal(data.ratings.items, codes[1])
    ours = best(lambda: Dataset.from_frame(frame))
    peer = best(lambda: [pd.factorize(frame[column], sort=True) for column in ("user", "item")])
    old = best(lambda: [np.unique(frame[column].to_numpy(dtype=object), return_inverse=True)
                        for column in ("user", "item")])
    rows = [("funksvd Dataset.from_frame", f"{ours:.2f}"),
            ("numpy.unique(object array) x 2 (the sort of the old factorisation, alone)", f"{old:.2f}"),
            (f"pandas {pd.__version__} factorize(sort=True) x 2", f"{peer:.2f}"),
            ("funksvd / pandas", f"**{ours / peer:.1f}**")]
    body = "\n\n".join([
        (f"{n} ratings, {data.n_users} users, {data.n_items} items, text ids; best of {REPEATS} (s). Same "
         "indices from funksvd and pandas (checked). Until commit f256816 from_frame sorted every id with "
         "numpy.unique of an object array of str (the middle row, which from_frame then paid on top of the rest); "
         "now a dict numbers the ids and only the distinct ones are sorted."),
        _common.table(("", "time (s)"), rows),
    ])
    _common.report("bench_ids", body, args.write, packages=("numpy", "pandas"))


if __name__ == "__main__":
    main()
