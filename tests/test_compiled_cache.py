"""The compiled engine's on-disk cache: it follows every source it compiles, and its absence is survivable.

Each test runs a copy of the package in fresh Python processes (a cache is a matter between
processes). Oracles: the Python engine running the edited source (it reads the file as it is);
the warning count and a finished fit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import funksvd

PACKAGE = Path(funksvd.__file__).resolve().parent

FIT = """
import json, warnings
import numpy as np
from funksvd import FunkSVD, Ratings
rng = np.random.default_rng(3)
n = 400
R = Ratings(rng.integers(0, 30, n), rng.integers(0, 20, n), rng.uniform(1, 5, n), 30, 20)
out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for engine in ("compiled", "python"):
        P = FunkSVD(n_factors=3, n_epochs=2, random_state=0, engine=engine).fit(R).factors_.P
        out[engine] = P.ravel().tolist()
        # long rows (40 float64: 320 bytes) run the pipelined kernel, funk_update_predict
        P = FunkSVD(n_factors=40, n_epochs=2, random_state=0, engine=engine).fit(R).factors_.P
        out["long_" + engine] = P.ravel().tolist()
    for schedule_engine in ("compiled", "python"):  # funksvd.sgd.funk_schedule kernels, via compiled.jit
        m = FunkSVD(n_factors=2, schedule="feature", feature_epochs=3, feature_min_epochs=1, random_state=0,
                    engine=schedule_engine)
        out["feature_" + schedule_engine] = m.fit(R).factors_.P.ravel().tolist()
out["warnings"] = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
print(json.dumps(out))
"""


def _copy_package(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(PACKAGE, root / "funksvd", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _fit(root: Path, **env) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    environ.update(PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1", **env)
    done = subprocess.run([sys.executable, "-c", FIT], env=environ, cwd=root, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert text.count(old) == count, old
    path.write_text(text.replace(old, new))


def test_an_edited_rule_is_recompiled(tmp_path):
    """Edit rules.funk and its factored form (and feature.clip) between two processes sharing one cache.

    Oracle: the Python engine, which runs the edited file as it stands; the compiled result must
    change and agree with it (1e-12: fused multiply-adds only). Before the fix the compiled
    engine loaded the old kernel from the cache (stamped with loops.py, not rules.py).
    """
    root = _copy_package(tmp_path)
    cache = {"NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    before = _fit(root, **cache)
    _edit(root / "funksvd" / "maths" / "rules.py", "P[u, f] += lr_pu * (err * qif - reg_pu * puf)",
          "P[u, f] += 1.5 * lr_pu * (err * qif - reg_pu * puf)")
    # the compiled engine runs funk's factored forms (RULES["funk"].compiled_update and, for long rows,
    # compiled_update_predict): the same edit in both
    _edit(root / "funksvd" / "maths" / "rules.py", "keep_p, step_p = one - lr_pu * reg_pu, lr_pu * err",
          "keep_p, step_p = one - 1.5 * lr_pu * reg_pu, 1.5 * lr_pu * err", count=2)
    # feature.clip is bound into the feature kernels, which are bound into their epoch loops:
    # the edit must reach the loops through two levels of binding
    _edit(root / "funksvd" / "sgd" / "funk_schedule.py", "    return min(max(x, lo), hi)\n",
          "    return min(max(x, lo), hi - 2.5)\n")
    after = _fit(root, **cache)
    for kind in ("", "long_", "feature_"):
        compiled, python = after[kind + "compiled"], after[kind + "python"]
        assert python != before[kind + "python"]  # the edit matters
        assert max(abs(a - b) for a, b in zip(compiled, python)) < 1e-12, kind


def test_read_only_install_falls_back_to_memory_with_one_warning(tmp_path):
    """A read-only package, an unwritable NUMBA_CACHE_DIR and no writable home cache.

    Every cache location numba tries is blocked by a regular file where it needs a directory
    (this blocks root too, unlike permission bits, which are set as well). Oracle: the fit
    finishes, agrees with the Python engine, and exactly one RuntimeWarning names NUMBA_CACHE_DIR.
    """
    root = _copy_package(tmp_path)
    for package in [root / "funksvd", *(d for d in (root / "funksvd").iterdir() if d.is_dir())]:
        (package / "__pycache__").write_text("not a directory")
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    for path in sorted(root.rglob("*"), reverse=True):
        path.chmod(0o444 if path.is_file() else 0o555)
    try:
        out = _fit(root, NUMBA_CACHE_DIR=str(blocker / "cache"), HOME=str(blocker / "home"),
                   XDG_CACHE_HOME=str(blocker / "xdg"))
    finally:
        for path in root.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        root.chmod(0o755)
    assert len(out["warnings"]) == 1 and "NUMBA_CACHE_DIR" in out["warnings"][0], out["warnings"]
    assert max(abs(a - b) for a, b in zip(out["compiled"], out["python"])) < 1e-12
