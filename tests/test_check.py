"""check_gradients: right gradients pass, classic slips fail loudly and are named.

Oracles: finite differences and TensorFlow autodiff (inside check_gradients); the deliberately
wrong gradients below are distortions of funksvd's hand gradient whose effect is known exactly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from funksvd import RULES, Factors, Objective, Ratings
from funksvd.base.optional import require_tensorflow
from funksvd.check import check_gradients
from funksvd.classics import quuxlabs_ratings

ORACLES = ("finite_differences", "tensorflow")


@pytest.fixture
def case():
    ratings = quuxlabs_ratings()
    factors = Factors.random(5, 4, 2, mu=ratings.mean(), init_std_dev=0.5, random_state=3)
    factors = factors.replace(bu=np.linspace(-0.5, 0.5, 5), bi=np.linspace(0.3, -0.3, 4))
    return factors, ratings


def _tf_available():
    try:
        import funksvd.autodiff  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("oracle", ORACLES)
def test_right_gradient_passes(case, oracle):
    """funksvd's own gradient of the quuxlabs loss passes both oracles."""
    if oracle == "tensorflow" and not _tf_available():
        pytest.skip("TensorFlow not installed")
    factors, ratings = case
    report = check_gradients("quuxlabs", factors, ratings, oracles=(oracle,), reg=0.1)
    assert report.ok, str(report)
    assert {row.block for row in report.rows} == {"P", "Q", "bu", "bi"}
    assert "all blocks agree" in str(report)


def _distorted(objective, how, reg=0.1):
    """A user's gradient function with one classic slip, as a distortion of funksvd's hand gradient."""
    def manual(factors, ratings):
        g = objective.gradients(factors, ratings, reg)
        if how == "extra factor 2":
            return {k: 2.0 * v for k, v in g.items()}
        if how == "missing factor 2":
            return {k: 0.5 * v for k, v in g.items()}
        if how == "sign slip":
            return {k: -v for k, v in g.items()}
        if how == "dropped regulariser":
            return objective.gradients(factors, ratings, 0.0)
        if how == "regulariser twice":  # g + (g - g without the penalty): the penalty gradient added twice
            g0 = objective.gradients(factors, ratings, 0.0)
            return {k: 2.0 * v - g0[k] for k, v in g.items()}
        if how == "mean for sum":
            return {k: v / len(ratings) for k, v in g.items()}
        if how == "sum for mean":
            return {k: v * len(ratings) for k, v in g.items()}
        if how == "factor 3":
            return {k: 3.0 * v for k, v in g.items()}
        raise AssertionError(how)
    return manual


FROBENIUS = Objective(penalty="frobenius")
MEAN = Objective(reduction="mean", penalty="none")  # the 2021 tutorial's MSE: a mean, no penalty


def _slip(objective, how, hint):
    return pytest.param(objective, how, hint, id=how)


# The quuxlabs toy has 13 ratings, hence "13x" and "1/13".
SLIPS = [
    _slip(FROBENIUS, "extra factor 2", "twice the true gradient: a factor 2 too many"),
    _slip(FROBENIUS, "missing factor 2", "half the true gradient: a missing factor 2"),
    _slip(FROBENIUS, "sign slip", "the negated gradient: a sign slip (e = r - r_hat, so d e / d r_hat = -1)"),
    _slip(FROBENIUS, "dropped regulariser", "differs by exactly the penalty gradient: the regulariser was dropped"),
    _slip(FROBENIUS, "regulariser twice", "differs by exactly the penalty gradient: the regulariser is counted twice"),
    _slip(FROBENIUS, "mean for sum", "1/13 of the true gradient: a mean where the loss takes a sum"),
    _slip(MEAN, "sum for mean", "13x the true gradient: a sum where the loss takes a mean"),
    _slip(FROBENIUS, "factor 3", "proportional to the true gradient (x3): a constant factor is off"),
]


@pytest.mark.parametrize("oracle", ORACLES)
@pytest.mark.parametrize("objective, how, hint", SLIPS)
def test_wrong_gradient_fails_with_pointed_message(case, objective, how, hint, oracle):
    """Oracle: the slip made on purpose; it is caught, the block and entry named, the cause named in full.

    Every hint of the diagnosis appears here, with the slip that must produce it.
    """
    if oracle == "tensorflow" and not _tf_available():
        pytest.skip("TensorFlow not installed")
    factors, ratings = case
    assert len(ratings) == 13
    report = check_gradients(objective, factors, ratings, manual=_distorted(objective, how), oracles=(oracle,),
                             reg=0.1)
    assert not report.ok and not bool(report)
    text = str(report)
    assert "GRADIENT CHECK FAILED" in text and f" -- {hint}" in text
    failed = report.failures[0]
    assert f"FAIL {failed.block}[" in text
    assert failed.max_rel_error > 1e-3


@pytest.mark.parametrize("oracle", ORACLES)
@pytest.mark.parametrize("block, pick", [("Q", np.argmax), ("P", np.argmin)], ids=["largest entry", "smallest entry"])
def test_default_tolerance_fails_a_relative_error_of_1e_4(case, oracle, block, pick):
    """A gradient wrong by a relative 1e-4 in one entry fails with the default tolerances.

    Oracle: the entry we distorted. Numbers: the defaults allow |m - o| <= 1e-9 + 1e-6 |o| plus the
    oracle's noise (0 for TensorFlow; 8 eps max|L| / h ~ 1e-13 for finite differences at h = 1 on
    this loss of ~41). The largest entry of dL/dQ has |o| ~ 10: error ~1e-3 against an allowance of
    ~1e-5, a factor ~100 over (a default rtol of 1e-4 would let it pass). The smallest entry of
    dL/dP has |o| ~ 0.023: error ~2.3e-6 against ~2.4e-8 (an atol of 2.3e-6 would let it pass).
    """
    if oracle == "tensorflow" and not _tf_available():
        pytest.skip("TensorFlow not installed")
    factors, ratings = case
    objective = RULES["quuxlabs"].objective
    right = objective.gradients(factors, ratings, 0.1)
    entry = np.unravel_index(pick(np.abs(right[block])), right[block].shape)
    magnitude = np.abs(right[block][entry])
    assert magnitude > 5.0 if block == "Q" else magnitude < 0.05  # the premise of the numbers above

    def slightly_wrong(factors, ratings):
        g = {k: v.copy() for k, v in right.items()}
        g[block][entry] *= 1.0 + 1e-4
        return g

    assert check_gradients(objective, factors, ratings, oracles=(oracle,), reg=0.1).ok  # the control
    report = check_gradients(objective, factors, ratings, manual=slightly_wrong, oracles=(oracle,), reg=0.1)
    assert not report.ok
    (failed,) = report.failures
    assert (failed.block, failed.worst_index) == (block, tuple(int(j) for j in entry))
    assert failed.max_rel_error == pytest.approx(1e-4, rel=1e-6)  # rel 1e-6: the oracle's rounding


def test_transposed_gradient_is_refused(case):
    """A transposed dL/dP has the wrong shape: ValueError saying so (oracle: the message)."""
    factors, ratings = case

    def transposed(factors, ratings):
        g = Objective().gradients(factors, ratings)
        return g | {"P": g["P"].T}

    with pytest.raises(ValueError, match=r"P has shape \(2, 5\), expected \(5, 2\) \(transposed\?\)"):
        check_gradients(Objective(), factors, ratings, manual=transposed, oracles=("finite_differences",))


def test_swapped_factors_are_refused(case):
    """dL/dQ returned for dL/dP: ValueError naming the swap (oracle: the message)."""
    factors, ratings = case

    def swapped(factors, ratings):
        g = Objective().gradients(factors, ratings)
        return g | {"P": g["Q"], "Q": g["P"]}

    with pytest.raises(ValueError, match="P and Q swapped"):
        check_gradients(Objective(), factors, ratings, manual=swapped, oracles=("finite_differences",))


def test_missing_keys_are_refused(case):
    """A biased model needs bias gradients (oracle: the message)."""
    factors, ratings = case
    with pytest.raises(ValueError, match="keys"):
        check_gradients(Objective(), factors, ratings, manual=lambda f, r: {"P": 0, "Q": 0})


def test_absolute_loss_kink_is_reported_not_failed():
    """At e = 0 the absolute loss has a kink: reported as such, not as a failure.

    Oracle: a rating equal to its prediction (e = 0 exactly, by construction).
    """
    factors = Factors([[1.0], [0.5]], [[2.0], [1.0]])
    ratings = Ratings([0, 1], [0, 1], [2.0, 3.0])  # user 0 item 0: 1 * 2 = 2 -> e = 0
    report = check_gradients(Objective(data="absolute", penalty="none"), factors, ratings,
                             oracles=("finite_differences",))
    assert report.ok
    assert sum(row.kinks for row in report.rows) > 0
    assert "at kink" in str(report)


def test_manual_may_take_reg(case):
    """A three-argument manual gradient receives reg (oracle: funksvd's own gradient at that reg)."""
    factors, ratings = case
    objective = Objective(penalty="frobenius")
    report = check_gradients(objective, factors, ratings, manual=lambda f, r, reg: objective.gradients(f, r, reg),
                             oracles=("finite_differences",), reg=0.3)
    assert report.ok


def test_unknown_oracle(case):
    """Oracle: the ValueError naming the valid oracles."""
    factors, ratings = case
    with pytest.raises(ValueError, match="unknown oracle"):
        check_gradients("funk", factors, ratings, oracles=("sympy",))


# ---- without TensorFlow ---------------------------------------------------------------------------

INSTALL = "pip install 'funksvd[tf]'"


def test_tensorflow_alone_without_tensorflow_compares_nothing_and_is_not_ok(case, without_tensorflow):
    """Only the tensorflow oracle, and it is missing: the report says nothing was compared and is not ok.

    Oracle: the fact that no comparison ran; skipped rows show no error (not 0.0e+00, which would
    read as a match) and the reason says what to install.
    """
    factors, ratings = case
    report = check_gradients("quuxlabs", factors, ratings, oracles=("tensorflow",))
    assert not report.ok and not report.failures and report.compared == ()
    assert {row.status for row in report.rows} == {"skipped"} and not any(row.ok for row in report.rows)
    assert INSTALL in report.skipped["tensorflow"]
    text = str(report)
    assert "NOTHING COMPARED: tensorflow skipped" in text and INSTALL in text
    assert "e+00" not in text and "keras" not in text


def test_other_oracle_covers_a_missing_tensorflow(case, without_tensorflow):
    """Finite differences compared every block: ok, and the summary says what was not compared and why.

    Oracle: the oracles that ran; a wrong gradient still fails on finite differences alone.
    """
    factors, ratings = case
    report = check_gradients("quuxlabs", factors, ratings, reg=0.1)
    assert report.ok and report.compared == ("finite_differences", "symbolic")
    assert report.summary() == ("all blocks agree with finite_differences, symbolic; tensorflow skipped "
                                f"(the tensorflow oracle needs TensorFlow, which is not installed: {INSTALL})")
    wrong = check_gradients(FROBENIUS, factors, ratings, manual=_distorted(FROBENIUS, "sign slip"), reg=0.1)
    assert not wrong.ok and {row.oracle for row in wrong.failures} == {"finite_differences", "symbolic"}
    assert wrong.summary(reasons=False) == "GRADIENT CHECK FAILED; tensorflow skipped"


def test_require_tensorflow_says_what_to_install(without_tensorflow):
    """Oracle: the ImportError's message names the purpose and the pip command, not Keras."""
    with pytest.raises(ImportError, match=r"engine='tensorflow' needs TensorFlow, which is not installed: "
                                          r"pip install 'funksvd\[tf\]'$") as caught:
        require_tensorflow("engine='tensorflow'")
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)  # the original error is chained


def test_require_tensorflow_reraises_other_import_errors(monkeypatch):
    """A missing module that is not TensorFlow is a bug, not a missing extra: re-raised unchanged.

    Oracle: the original ModuleNotFoundError (here TensorFlow's own import fails on a dependency).
    """
    import importlib

    def broken(name, *args):
        raise ModuleNotFoundError("No module named 'google.protobuf'", name="google.protobuf")

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError) as caught:
        require_tensorflow()
    assert caught.value.name == "google.protobuf" and "pip install" not in str(caught.value)


def test_require_tensorflow_returns_tensorflow():
    """Oracle: the module object that a plain import gives."""
    if not _tf_available():
        pytest.skip("TensorFlow not installed")
    import tensorflow

    assert require_tensorflow() is tensorflow


def test_importing_funksvd_writes_no_environment_variable():
    """Oracle: os.environ of a fresh interpreter before and after ``import funksvd`` (and its estimator)."""
    code = ("import os; before = dict(os.environ); import funksvd, funksvd.check, funksvd.cli; "
            "print(sorted(set(os.environ.items()) ^ set(before.items())))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _run_without_tensorflow(*argv):
    """``python -m funksvd *argv`` in a fresh interpreter where TensorFlow cannot be imported."""
    root = Path(__file__).resolve().parents[1]
    code = ("import runpy, sys, tests.block_tensorflow; sys.argv = ['funksvd', *sys.argv[1:]]; "
            "runpy.run_module('funksvd', run_name='__main__', alter_sys=True)")
    env = os.environ | {"PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", code, *argv], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_cli_check_with_only_a_missing_tensorflow_fails():
    """``funksvd check --oracle tensorflow`` without TensorFlow compared nothing: exit 1, and says so once.

    Oracle: the exit status and the printed text of a fresh interpreter whose TensorFlow import is blocked.
    """
    done = _run_without_tensorflow("check", "--oracle", "tensorflow")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert out.count(INSTALL) == 1 and "No module named" not in out
    assert "ALL GRADIENT CHECKS PASSED" not in out and "e+00" not in out
    assert out.rstrip().splitlines()[-1] == "NO GRADIENT WAS CHECKED: tensorflow NOT compared (see above)"


def test_cli_demo_without_tensorflow_says_once_what_is_missing():
    """``funksvd demo`` without TensorFlow: one note with the pip command, rows marked skipped, and a
    summary line that names what was not compared; exit 0 since finite differences compared everything.

    Oracle: the exit status and the printed text of a fresh interpreter whose TensorFlow import is blocked.
    """
    done = _run_without_tensorflow("demo")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count(INSTALL) == 1 and "No module named" not in out
    tf_rows = [line for line in out.splitlines() if re.match(r"\w+ \((un)?biased\) +tensorflow ", line)]
    assert len(tf_rows) == 18 and all(line.endswith(" -  skipped") for line in tf_rows)
    svdpp_rows = {line[34:54].strip(): line.split()[-1] for line in out.splitlines()
                  if line.startswith("svdpp (Surprise's SVD++ loss) ")}
    assert svdpp_rows == {"tensorflow": "skipped", "finite_differences": "ok", "symbolic": "ok"}
    assert "ALL GRADIENT CHECKS PASSED" not in out
    assert out.rstrip().splitlines()[-1] == (
        "GRADIENT CHECKS PASSED against finite_differences and symbolic only; tensorflow NOT compared (see above)")
