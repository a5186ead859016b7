"""FunkSVD (compiled engine) against Surprise's SVD on MovieLens 100K, side by side in one process.

Both libraries get the same 80/20 split (``funksvd.datasets.train_test_split(random_state=0)``,
which equals Surprise's own ``train_test_split(data, test_size=0.2, random_state=0)`` on u.data),
the same hyper-parameters (Surprise's defaults: k=100, 20 epochs, lr 0.005, reg 0.02, init
N(0, 0.1), biases 0, mu = training mean) and the same visiting order: Surprise does not shuffle
and walks ``trainset.all_ratings()``; FunkSVD is given its training ratings in that order with
``shuffle=False``.

* cold: the first fit in a fresh process, numba compiling from scratch (``NUMBA_CACHE_DIR``
  pointed at an empty temporary folder), numba's import included;
* warm: the median of ``--repeats`` fits, alternating the two libraries;
* test RMSE / MAE of both, predictions clipped to [1, 5] as Surprise's ``predict`` does;
* agreement: FunkSVD started from Surprise's own initial factors (its ``RandomState(0)`` draws,
  rows mapped to FunkSVD's indices) must give the same predictions up to rounding.

Requires scikit-surprise (``pip install scikit-surprise``); pandas is not needed.

    .venv/bin/python benchmarks/bench_surprise.py [--repeats 7] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _common

GOAL_RATIO = 0.1
GOAL_RMSE_DIFF = 0.005
PARAMS = dict(n_factors=100, n_epochs=20, lr_all=0.005, reg_all=0.02, init_mean=0.0, init_std_dev=0.1)


def need_surprise():
    try:
        import surprise
    except ImportError:
        sys.exit("this benchmark needs scikit-surprise: .venv/bin/pip install scikit-surprise")
    return surprise


def setup(data_path: Path):
    """The split, Surprise's trainset built from the training triples, and FunkSVD's ratings in its order."""
    surprise = need_surprise()
    from funksvd import Ratings
    from funksvd.datasets import train_test_split

    data = _common.load_ml100k(data_path)
    train, test = train_test_split(data.ratings, test_size=0.2, random_state=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.tsv"
        raw_u, raw_i = data.raw_user(train.users), data.raw_item(train.items)
        path.write_text("".join(f"{u}\t{i}\t{r:g}\n" for u, i, r in zip(raw_u, raw_i, train.values)))
        reader = surprise.Reader(line_format="user item rating", sep="\t", rating_scale=(1, 5))
        trainset = surprise.Dataset.load_from_file(str(path), reader).build_full_trainset()
    testset = [(str(u), str(i), float(r)) for u, i, r in
               zip(data.raw_user(test.users), data.raw_item(test.items), test.values)]
    inner = np.array([(u, i, r) for u, i, r in trainset.all_ratings()])
    users = data.user_index(np.array([int(trainset.to_raw_uid(int(u))) for u in inner[:, 0]]))
    items = data.item_index(np.array([int(trainset.to_raw_iid(int(i))) for i in inner[:, 1]]))
    train_in_order = Ratings(users, items, inner[:, 2], data.n_users, data.n_items)
    assert sorted(zip(users, items, inner[:, 2])) == sorted(zip(train.users, train.items, train.values))
    return data, train_in_order, test, trainset, testset


def fit_funksvd(train, init=None, n_jobs=1):
    from funksvd.estimator import FunkSVD

    tic = time.perf_counter()
    model = FunkSVD(**PARAMS, shuffle=False, random_state=0, engine="compiled", n_jobs=n_jobs).fit(train, init=init)
    return model, time.perf_counter() - tic


def fit_surprise(trainset):
    import surprise

    algo = surprise.SVD(**PARAMS, random_state=0)
    tic = time.perf_counter()
    algo.fit(trainset)
    return algo, time.perf_counter() - tic


def scores(errors) -> tuple[float, float]:
    errors = np.asarray(errors)
    return float(np.sqrt(np.mean(errors ** 2))), float(np.mean(np.abs(errors)))


def evaluate_funksvd(model, test):
    return scores(test.values - model.predict(test.users, test.items, clip=True))


def evaluate_surprise(algo, testset):
    return scores([p.r_ui - p.est for p in algo.test(testset)])


def cold(data_path: Path) -> dict:
    """Run in a fresh process: the first fit of each library (FunkSVD first: numba not yet imported)."""
    _, train, _, trainset, _ = setup(data_path)
    assert "numba" not in sys.modules
    _, funksvd_seconds = fit_funksvd(train)
    _, surprise_seconds = fit_surprise(trainset)
    return {"funksvd": funksvd_seconds, "surprise": surprise_seconds}


def run_cold(data_path: Path) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, __file__, "--cold-child", "--data", str(data_path)], env=env,
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def same_init_agreement(data, train, test, trainset, testset) -> float:
    """Max |prediction difference| on test pairs known to the trainset, both started from Surprise's init."""
    from funksvd import Factors

    rng = np.random.RandomState(0)  # what surprise.SVD(random_state=0) draws: pu, then qi
    pu = rng.normal(PARAMS["init_mean"], PARAMS["init_std_dev"], (trainset.n_users, PARAMS["n_factors"]))
    qi = rng.normal(PARAMS["init_mean"], PARAMS["init_std_dev"], (trainset.n_items, PARAMS["n_factors"]))
    P = np.zeros((data.n_users, PARAMS["n_factors"]))
    Q = np.zeros((data.n_items, PARAMS["n_factors"]))
    P[data.user_index(np.array([int(trainset.to_raw_uid(u)) for u in range(trainset.n_users)]))] = pu
    Q[data.item_index(np.array([int(trainset.to_raw_iid(i)) for i in range(trainset.n_items)]))] = qi
    init = Factors(P, Q, np.zeros(data.n_users), np.zeros(data.n_items), mu=trainset.global_mean)
    model, _ = fit_funksvd(train, init=init)
    algo, _ = fit_surprise(trainset)
    known = [(u, i) for u, i, _ in testset if trainset.knows_user(trainset.to_inner_uid(u))
             and _known_item(trainset, i)]
    ours = model.predict(data.user_index(np.array([int(u) for u, _ in known])),
                         data.item_index(np.array([int(i) for _, i in known])))
    theirs = np.array([algo.predict(u, i, clip=False).est for u, i in known])
    return float(np.max(np.abs(ours - theirs)))


def _known_item(trainset, raw_iid) -> bool:
    try:
        trainset.to_inner_iid(raw_iid)
        return True
    except ValueError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_arguments(parser)
    parser.add_argument("--repeats", type=int, default=7, help="warm fits per library (median reported)")
    parser.add_argument("--cold-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        print(json.dumps(cold(args.data)))
        return

    surprise = need_surprise()
    cold_times = run_cold(args.data)
    data, train, test, trainset, testset = setup(args.data)
    fit_funksvd(train)  # compile (or load numba's cache) outside the timings
    times = {"funksvd": [], "funksvd2": [], "surprise": []}
    for _ in range(args.repeats):
        model, seconds = fit_funksvd(train)
        times["funksvd"].append(seconds)
        model2, seconds = fit_funksvd(train, n_jobs=2)
        times["funksvd2"].append(seconds)
        algo, seconds = fit_surprise(trainset)
        times["surprise"].append(seconds)
    warm = {name: _common.median(values) for name, values in times.items()}
    rmse_f, mae_f = evaluate_funksvd(model, test)
    rmse_f2, mae_f2 = evaluate_funksvd(model2, test)
    rmse_s, mae_s = evaluate_surprise(algo, testset)
    agreement = same_init_agreement(data, train, test, trainset, testset)
    ratio = warm["funksvd"] / warm["surprise"]
    ratio2 = warm["funksvd2"] / warm["surprise"]
    n_unknown = sum(1 for _, i, _ in testset if not _known_item(trainset, i))

    rows = [
        ("cold fit: first call in a fresh process, numba compiling from an empty cache (s)",
         f"{cold_times['funksvd']:.2f}", f"{cold_times['surprise']:.2f}",
         f"{cold_times['funksvd'] / cold_times['surprise']:.2f}"),
        (f"warm fit, one thread: median of {args.repeats} (s)", f"{warm['funksvd']:.3f}",
         f"{warm['surprise']:.3f}", f"**{ratio:.3f}**"),
        ("test RMSE (clipped to [1, 5]), one thread", f"{rmse_f:.4f}", f"{rmse_s:.4f}",
         f"diff **{rmse_f - rmse_s:+.4f}**"),
        ("test MAE, one thread", f"{mae_f:.4f}", f"{mae_s:.4f}", f"diff {mae_f - mae_s:+.4f}"),
        (f"warm fit, `n_jobs=2` (DSGD strata, both cores): median of {args.repeats} (s)",
         f"{warm['funksvd2']:.3f}", f"{warm['surprise']:.3f}", f"**{ratio2:.3f}**"),
        ("test RMSE (clipped to [1, 5]), `n_jobs=2`", f"{rmse_f2:.4f}", f"{rmse_s:.4f}",
         f"diff **{rmse_f2 - rmse_s:+.4f}**"),
    ]
    body = "\n".join([
        f"MovieLens 100K, 80/20 split (random_state 0): {len(train)} training / {len(test)} test ratings "
        f"({n_unknown} test ratings of items absent from training). k=100, 20 epochs, lr 0.005, reg 0.02, "
        "init N(0, 0.1), no shuffling, same visiting order, float64.",
        "",
        _common.table(("", "funksvd FunkSVD (compiled)", f"Surprise {surprise.__version__} SVD",
                       "funksvd / Surprise"), rows),
        "",
        f"Same initial factors as Surprise (its RandomState(0) draws): max |prediction difference| on the "
        f"test pairs known to both = {agreement:.1e}.",
        "",
        f"Goal fit-time ratio <= {GOAL_RATIO}: one thread **{'met' if ratio <= GOAL_RATIO else 'not met'}** "
        f"({ratio:.3f}); with `n_jobs=2` **{'met' if ratio2 <= GOAL_RATIO else 'not met'}** ({ratio2:.3f}; "
        "Surprise runs on one core, funksvd uses both cores of this machine, in a different but equally "
        "deterministic visiting order). "
        f"Goal |RMSE diff| <= {GOAL_RMSE_DIFF}: "
        f"**{'met' if max(abs(rmse_f - rmse_s), abs(rmse_f2 - rmse_s)) <= GOAL_RMSE_DIFF else 'not met'}** "
        f"({abs(rmse_f - rmse_s):.4f} one thread, {abs(rmse_f2 - rmse_s):.4f} with `n_jobs=2`).",
        "",
        "Warm fit times (s), funksvd one thread: " + ", ".join(f"{t:.3f}" for t in times["funksvd"])
        + "; funksvd n_jobs=2: " + ", ".join(f"{t:.3f}" for t in times["funksvd2"])
        + "; Surprise: " + ", ".join(f"{t:.3f}" for t in times["surprise"]) + ".",
    ])
    _common.report("bench_surprise", body, args.write, packages=("numpy", "numba", "scikit-surprise"))


if __name__ == "__main__":
    main()
