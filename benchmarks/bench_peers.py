"""funksvd against its peers on MovieLens 100K in one run: Surprise SVD, cornac MF, LibMF, LensKit FunkSVD.

Every system gets the same 80/20 split (``funksvd.data.train_test_split(data.ratings,
test_size=0.2, random_state=0)``) and, where it has them, the same hyper-parameters: k=100,
20 epochs, learning rate 0.005, regularisation 0.02 (Surprise's defaults, which are also
funksvd's). What a library has no equivalent for keeps its own default (cornac's init N(0, 0.01),
LensKit's damped-mean biases). Rows:

* funksvd ``FunkSVD`` with its defaults (compiled engine, float64, a fresh shuffle per epoch),
  and the named variants ``dtype=float32``, ``n_jobs=2`` and ``schedule="feature"`` (Funk's
  schedule with its defaults: up to 100 epochs per feature, at least 30);
* Surprise ``SVD`` (its defaults), cornac ``MF`` with one thread and with two, LibMF (one
  thread, built with its AVX kernels: see ``LibMFRun``);
* LensKit 0.14 ``FunkSVD`` (100 features x 20 iterations, ``range=(1, 5)``). It needs numba < 0.59
  and cannot share funksvd's venv: it runs in ``benchmarks/.venv-lenskit`` (``make bench-peers``
  creates it from ``benchmarks/requirements-lenskit.txt``), as a subprocess handed the same split
  in a temporary ``.npz`` file. Without that venv its rows say "not run";
* the feature-schedule comparison: funksvd ``schedule="feature"`` with LensKit's features x
  epochs (``feature_epochs=feature_min_epochs=20``) against LensKit's ``FunkSVD``.

Times: **cold** = the first fit in a fresh process (numba compiling from an empty cache for
funksvd; LensKit compiles its kernels in every process); **warm** = the median of ``--repeats``
fits, the systems alternating round by round (LensKit's process waits for its turn). Building a peer's own
data structure (Surprise's trainset, cornac's Dataset, LensKit's DataFrame) is outside the timings. CPU time
(``time.process_time``) is shown beside the wall time because the machine is shared. Test RMSE: predictions
clipped to [1, 5];
a test pair whose item is absent from training is predicted :math:`\\mu + b_u` by the peers
(Surprise does so itself; cornac and LensKit through their bias terms), funksvd predicts
with the untrained row of that item.

    .venv/bin/python benchmarks/bench_peers.py [--repeats 5] [--write]
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

K, EPOCHS, LR, REG = 100, 20, 0.005, 0.02
LENSKIT_PYTHON = _common.HERE / ".venv-lenskit" / "bin" / "python"
GOAL_FEATURE_RATIO = 0.5
GOAL_FEATURE_RMSE = 0.005
#: Speed goals of the defaults against the one-thread rivals, and the test RMSE they must keep: the
#: defaults' 0.9463 and float32's 0.9529 on this split, as this section recorded them before the
#: compiled kernel was reworked for speed.
GOAL_CORNAC, GOAL_CORNAC_FLOAT32, GOAL_SURPRISE = 0.8, 0.5, 0.09
RMSE_BEFORE = {"funksvd": 0.9463, "float32": 0.9529}
GOAL_RMSE_KEPT = 0.001


# ---- the systems: prepare (untimed) -> fit (timed) -> predict ------------------------------------


class FunkSVDRun:
    def __init__(self, label, setting, **params):
        self.label, self.setting, self.params = label, setting, params

    def prepare(self, train):
        self.train = train

    def fit(self):
        from funksvd.estimator import FunkSVD

        self.model = FunkSVD(random_state=0, **self.params).fit(self.train)

    def predict(self, test):
        return self.model.predict(test.users, test.items, clip=True)


class SurpriseRun:
    label, setting = "Surprise SVD", "its defaults = k=100, 20 epochs, lr 0.005, reg 0.02; no shuffling"

    def prepare(self, train):
        import surprise

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "train.tsv"
            path.write_text("".join(f"{u}\t{i}\t{r:g}\n" for u, i, r in zip(train.users, train.items, train.values)))
            reader = surprise.Reader(line_format="user item rating", sep="\t", rating_scale=(1, 5))
            self.trainset = surprise.Dataset.load_from_file(str(path), reader).build_full_trainset()

    def fit(self):
        import surprise

        self.algo = surprise.SVD(n_factors=K, n_epochs=EPOCHS, lr_all=LR, reg_all=REG, random_state=0)
        self.algo.fit(self.trainset)

    def predict(self, test):
        return np.array([self.algo.predict(str(u), str(i)).est for u, i in zip(test.users, test.items)])


class CornacRun:
    def __init__(self, threads):
        self.threads = threads
        self.label = f"cornac MF, {threads} thread{'s' if threads > 1 else ''}"
        self.setting = "k=100, 20 epochs, lr 0.005, reg 0.02, biases; init N(0, 0.01), float32"

    def prepare(self, train):
        from cornac.data import Dataset

        triples = [(str(u), str(i), float(r)) for u, i, r in zip(train.users, train.items, train.values)]
        self.dataset = Dataset.from_uir(triples, seed=0)

    def fit(self):
        from cornac.models import MF

        self.model = MF(k=K, max_iter=EPOCHS, learning_rate=LR, lambda_reg=REG, use_bias=True, early_stop=False,
                        num_threads=self.threads, seed=0, verbose=False)
        self.model.fit(self.dataset)

    def predict(self, test):
        m, uid, iid = self.model, self.dataset.uid_map, self.dataset.iid_map
        out = np.empty(len(test))
        for j, (u, i) in enumerate(zip(test.users, test.items)):
            u, i = uid[str(u)], iid.get(str(i))  # every test user is in training on this split
            out[j] = m.global_mean + m.u_biases[u] + (
                0.0 if i is None else m.i_biases[i] + float(m.u_factors[u] @ m.i_factors[i]))
        return np.clip(out, 1, 5)


class LibMFRun:
    """LibMF 0.9.2 through its Python binding (``libmf``), one thread.

    LibMF runs its own rule: no biases, per-row AdaGrad step sizes (``eta`` the base rate) and the
    ratings scaled internally; ``k=100``, 20 iterations, L2 0.02 on P and Q, its other options at
    their defaults. Its pip build compiles without SIMD: ``make bench-peers`` rebuilds it with
    ``-O3 -march=native -mavx -mfma -DUSEAVX`` (its own AVX kernels). The binding's ``predict`` reads its
    ``(n, 2)`` input column-major, so the pairs are handed over as a Fortran-ordered array.
    """

    label, setting = "LibMF 0.9.2", "k=100, 20 iterations, L2 0.02, its AdaGrad (eta 0.1), no biases; float32, AVX"

    def prepare(self, train):
        self.X = np.column_stack([train.users, train.items, train.values]).astype(np.float32)

    def fit(self):
        from libmf import mf

        self.model = mf.MF(k=K, nr_threads=1, nr_iters=EPOCHS, lambda_p1=REG, lambda_q1=REG, quiet=True)
        self.model.fit(self.X)

    def predict(self, test):
        pairs = np.asfortranarray(np.column_stack([test.users, test.items]).astype(np.float32))
        return np.clip(self.model.predict(pairs), 1, 5)


def systems() -> dict:
    """The systems of this venv, by name (the order of the table)."""
    return {
        "funksvd": FunkSVDRun("funksvd FunkSVD", "defaults: k=100, 20 epochs, lr 0.005, reg 0.02, shuffled"),
        "float32": FunkSVDRun("funksvd FunkSVD", "`dtype=np.float32`", dtype=np.float32),
        "n_jobs2": FunkSVDRun("funksvd FunkSVD", "`n_jobs=2` (DSGD, both cores)", n_jobs=2),
        "feature": FunkSVDRun("funksvd FunkSVD", '`schedule="feature"` (defaults: <= 100, >= 30 epochs per feature)',
                              schedule="feature"),
        "feature20": FunkSVDRun("funksvd FunkSVD",
                                '`schedule="feature"`, 100 features x 20 epochs, `feature_trailing=True` '
                                "(LensKit's recipe)", schedule="feature", feature_epochs=20,
                                feature_min_epochs=20, feature_trailing=True),
        "surprise": SurpriseRun(),
        "cornac1": CornacRun(1),
        "cornac2": CornacRun(2),
        "libmf": LibMFRun(),
    }


def available(name: str) -> bool:
    module = {"surprise": "surprise", "cornac1": "cornac", "cornac2": "cornac", "libmf": "libmf"}.get(name)
    if module is None:
        return True
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def rmse(predictions, test) -> float:
    return float(np.sqrt(np.mean((test.values - predictions) ** 2)))


def timed(fn) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def split(data_path: Path):
    from funksvd.data import train_test_split

    data = _common.load_ml100k(data_path)
    return train_test_split(data.ratings, test_size=0.2, random_state=0)


# ---- cold: one fresh process per system ----------------------------------------------------------


def cold_child(name: str, data_path: Path) -> None:
    train, _ = split(data_path)
    run = systems()[name]
    run.prepare(train)
    assert "numba" not in sys.modules or not name.startswith(("funksvd", "float", "n_jobs", "feature"))
    print(json.dumps(timed(run.fit)))


def run_cold(name: str, data_path: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, __file__, "--cold-child", name, "--data", str(data_path)], env=env,
                             capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


# ---- LensKit: its own venv, its own process ------------------------------------------------------


def lenskit_child(path: Path) -> None:
    """Runs in LensKit's venv (numpy and pandas only from there), driven by lines on stdin.

    Prints LensKit's version, then answers ``fit`` with ``[wall, cpu]`` seconds of a fresh fit
    (the first one compiles LensKit's kernels: the cold fit) and ``rmse`` with the last model's
    test RMSE. The parent sends ``fit`` between its own fits, so the two venvs alternate.
    """
    import logging
    import warnings

    import pandas as pd

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import lenskit
    from lenskit.algorithms.funksvd import FunkSVD

    d = np.load(path)
    train = pd.DataFrame({"user": d["train_users"], "item": d["train_items"], "rating": d["train_values"]})
    test = pd.DataFrame({"user": d["test_users"], "item": d["test_items"], "rating": d["test_values"]})
    print(json.dumps(lenskit.__version__), flush=True)
    algo = None
    for line in sys.stdin:
        if line.strip() == "fit":
            algo = FunkSVD(K, iterations=EPOCHS, lrate=LR, reg=REG, range=(1, 5), random_state=0)
            print(json.dumps(timed(lambda: algo.fit(train))), flush=True)
        elif line.strip() == "rmse":
            predictions = pd.Series(np.nan, index=test.index)
            for user, rows in test.groupby("user"):
                scores = algo.predict_for_user(user, rows["item"].values)
                fallback = algo.bias.predict_for_user(user, rows["item"].values)  # mu + b_u (+ b_i where known)
                predictions[rows.index] = scores.fillna(fallback).values
            errors = test["rating"].values - np.clip(predictions.values, 1, 5)
            print(json.dumps(float(np.sqrt(np.mean(errors ** 2)))), flush=True)


class LensKitProcess:
    """LensKit's FunkSVD in its own venv and process (``lenskit_child``), fed the split in a temporary file."""

    def __init__(self, python: Path, train, test):
        self.folder = tempfile.TemporaryDirectory()
        path = Path(self.folder.name) / "split.npz"
        np.savez(path, train_users=train.users, train_items=train.items, train_values=train.values,
                 test_users=test.users, test_items=test.items, test_values=test.values)
        self.process = subprocess.Popen([str(python), __file__, "--lenskit-child", str(path)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.version = self._read()

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"LensKit's process ended (exit code {self.process.wait()})")
        return json.loads(line)

    def ask(self, command: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.folder.cleanup()


# ---- the run -------------------------------------------------------------------------------------


def speed_goals(cpus: dict, scores: dict) -> list[str]:
    """The defaults and float32 against cornac (one thread) and Surprise: CPU ratios, each as the
    median of the ratios within a round (the systems take turns, so a slow spell of the shared
    machine falls on both sides of a ratio) and as the ratio of the medians."""
    pairs = [("funksvd", "cornac1", GOAL_CORNAC), ("float32", "cornac1", GOAL_CORNAC_FLOAT32),
             ("funksvd", "surprise", GOAL_SURPRISE)]
    labels = {"funksvd": "`FunkSVD()` defaults", "float32": "`dtype=np.float32`", "cornac1": "cornac MF, 1 thread",
              "surprise": "Surprise SVD"}
    rows = []
    for ours, theirs, goal in pairs:
        if ours not in cpus or theirs not in cpus:
            continue
        paired = _common.median([a / b for a, b in zip(cpus[ours], cpus[theirs])])
        of_medians = _common.median(cpus[ours]) / _common.median(cpus[theirs])
        rmse_kept = abs(scores[ours] - RMSE_BEFORE[ours])
        met = paired <= goal and rmse_kept <= GOAL_RMSE_KEPT
        rows.append((f"{labels[ours]} / {labels[theirs]}", f"**{paired:.3f}**", f"{of_medians:.3f}", f"<= {goal}",
                     f"{scores[ours]:.4f} (before {RMSE_BEFORE[ours]:.4f})", f"**{'met' if met else 'not met'}**"))
    if not rows:
        return []
    return ["", "**Speed goals of the defaults (CPU seconds, one thread).**", "",
            _common.table(("ratio", "median of the paired ratios", "ratio of the medians", "goal",
                           f"test RMSE (kept within {GOAL_RMSE_KEPT})", "verdict"), rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _common.add_common_arguments(parser)
    parser.add_argument("--repeats", type=int, default=5, help="warm fits per system (median reported)")
    parser.add_argument("--lenskit-python", type=Path, default=LENSKIT_PYTHON,
                        help=f"python of LensKit's venv (default: {LENSKIT_PYTHON.relative_to(_common.ROOT)})")
    parser.add_argument("--cold-child", help=argparse.SUPPRESS)
    parser.add_argument("--lenskit-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lenskit_child:
        return lenskit_child(args.lenskit_child)
    if args.cold_child:
        return cold_child(args.cold_child, args.data)

    runs = {name: run for name, run in systems().items() if available(name)}
    missing = [name for name in systems() if name not in runs]
    train, test = split(args.data)
    cold = {name: run_cold(name, args.data) for name in runs}
    lenskit = None
    if args.lenskit_python.exists():
        process = LensKitProcess(args.lenskit_python, train, test)
        lenskit = {"version": process.version, "cold": process.ask("fit"), "walls": [], "cpus": []}
    for run in runs.values():
        run.prepare(train)
        run.fit()  # numba compiles (or loads its cache) outside the timings
    walls = {name: [] for name in runs}
    cpus = {name: [] for name in runs}
    epoch_ms, outside_ms = [], []  # FunkSVD() defaults: per fit, its epochs' median and the rest of its wall time
    for _ in range(args.repeats):
        for name, run in runs.items():
            wall, cpu = timed(run.fit)
            walls[name].append(wall)
            cpus[name].append(cpu)
            if name == "funksvd":
                seconds = [h["seconds"] for h in run.model.history_]
                epoch_ms.append(1e3 * _common.median(seconds))
                outside_ms.append(1e3 * (wall - sum(seconds)))
        if lenskit:
            wall, cpu = process.ask("fit")
            lenskit["walls"].append(wall)
            lenskit["cpus"].append(cpu)
    scores = {name: rmse(run.predict(test), test) for name, run in runs.items()}
    if lenskit:
        lenskit["rmse"] = process.ask("rmse")
        process.close()

    rows, base = [], _common.median(walls["funksvd"])
    for name, run in runs.items():
        wall, cpu = _common.median(walls[name]), _common.median(cpus[name])
        rows.append((run.label, run.setting, f"{cold[name][0]:.2f}", f"{wall:.3f}", f"{cpu:.3f}",
                     f"**{wall / base:.2f}**", f"{scores[name]:.4f}"))
    lk_label = "LensKit FunkSVD" + (f" {lenskit['version']}" if lenskit else "")
    lk_setting = "100 features x 20 iterations, lr 0.005, reg 0.02, range (1, 5); damped-mean biases"
    if lenskit:
        lk_wall, lk_cpu = _common.median(lenskit["walls"]), _common.median(lenskit["cpus"])
        rows.append((lk_label, lk_setting, f"{lenskit['cold'][0]:.2f}", f"{lk_wall:.3f}", f"{lk_cpu:.3f}",
                     f"**{lk_wall / base:.2f}**", f"{lenskit['rmse']:.4f}"))
    else:
        rows.append((lk_label, lk_setting, "not run", "not run", "", "", ""))
    header = ("system", "setting", "cold fit (s)", f"warm fit, median of {args.repeats} (s)", "CPU (s)",
              "warm / funksvd default", "test RMSE")
    lines = [
        f"MovieLens 100K, 80/20 split (random_state 0): {len(train)} training / {len(test)} test ratings. "
        f"Cold: the first fit in a fresh process. Warm: median of {args.repeats} fits (wall clock; CPU time "
        "beside it, the machine being shared). Ratios are warm wall times over funksvd's default.",
        "",
        _common.table(header, rows),
    ]
    if missing:
        lines += ["", "Not installed, not run: " + ", ".join(missing) + " (`make bench-peers` installs them)."]
    if not lenskit:
        lines += ["", f"LensKit not run: no {args.lenskit_python} (`make bench-peers` creates it)."]
    else:
        f_wall, f_cpu = _common.median(walls["feature20"]), _common.median(cpus["feature20"])
        ratio, cpu_ratio = f_wall / lk_wall, f_cpu / lk_cpu
        diff = scores["feature20"] - lenskit["rmse"]
        met = ratio <= GOAL_FEATURE_RATIO and abs(diff) <= GOAL_FEATURE_RMSE
        lines += [
            "",
            "**Feature-wise schedule, same features x epochs (100 x 20).**",
            "",
            _common.table(("", f"{lk_label}", 'funksvd `schedule="feature"`', "funksvd / LensKit"), [
                (f"warm fit, median of {args.repeats} (s)", f"{lk_wall:.3f}", f"{f_wall:.3f}", f"**{ratio:.2f}**"),
                ("CPU (s)", f"{lk_cpu:.3f}", f"{f_cpu:.3f}", f"{cpu_ratio:.2f}"),
                ("cold fit (s)", f"{lenskit['cold'][0]:.2f}", f"{cold['feature20'][0]:.2f}",
                 f"{cold['feature20'][0] / lenskit['cold'][0]:.2f}"),
                ("test RMSE", f"{lenskit['rmse']:.4f}", f"{scores['feature20']:.4f}", f"diff **{diff:+.4f}**"),
            ]),
            "",
            f"Goal: time ratio <= {GOAL_FEATURE_RATIO} and |RMSE diff| <= {GOAL_FEATURE_RMSE}: "
            f"**{'met' if met else 'not met'}** (time: {'met' if ratio <= GOAL_FEATURE_RATIO else 'not met'}, "
            f"{ratio:.2f} wall, {cpu_ratio:.2f} CPU; RMSE: {'met' if abs(diff) <= GOAL_FEATURE_RMSE else 'not met'}, "
            f"{diff:+.4f}).",
        ]
    lines += speed_goals(cpus, scores)
    lines += ["", f"`FunkSVD()` defaults, per warm fit (medians over the {args.repeats} fits): "
              f"{_common.median(epoch_ms):.1f} ms per epoch (its epochs' median, from `history_`, the loss and guard "
              f"included), {_common.median(outside_ms):.0f} ms outside the epochs (checks, start values, grid, start "
              "loss, final factors)."]
    lines += ["", "Warm wall times (s): " + "; ".join(
        f"{name}: " + ", ".join(f"{t:.3f}" for t in values) for name, values in walls.items())
        + ("; lenskit: " + ", ".join(f"{t:.3f}" for t in lenskit["walls"]) if lenskit else "") + "."]
    packages = ("numpy", "numba", "scikit-surprise", "cornac")
    _common.report("bench_peers", "\n".join(lines), args.write, packages=packages)


if __name__ == "__main__":
    main()
