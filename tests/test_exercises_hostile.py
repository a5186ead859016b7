"""The exercise grader against hostile or confused files: one clear line each, never a traceback, never a pass.

Every probe is a file a student might hand in to ``funksvd exercise NAME FILE``. Oracle: the
expected one-line verdict, written here for each probe (what the file does wrong is known because
the test wrote it); the CLI must exit 1 with exactly one line on stderr and no traceback. The
files run in the grader's subprocess (funksvd.exercises.sandbox), as a student's would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from funksvd import exercises
from funksvd.cli import main

ROOT = Path(__file__).resolve().parents[1]

#: A correct masked_gradient, the base of most probes.
GOOD = """
import numpy as np

def masked_gradient(R, M, P, Q):
    E = M * (R - P @ Q.T)
    return -2.0 * E @ Q, -2.0 * E.T @ P
"""

#: probe name -> (exercise, file source, a substring of the one line it must get)
PROBES = {
    "no function": ("masked_gradient", "import numpy as np\n\ndef masked_gradients(R, M, P, Q):\n    return 0\n",
                    "does not define a function masked_gradient()"),
    "empty file": ("masked_gradient", "", "does not define a function masked_gradient()"),
    "defined twice": ("masked_gradient", GOOD + GOOD.split("import numpy as np")[1],
                      "defines masked_gradient() 2 times (lines 4, 9)"),
    "syntax error": ("masked_gradient", "def masked_gradient(R, M, P, Q)\n    return R\n",
                     "mine.py line 1: syntax error"),
    "missing import": ("masked_gradient", "import numpyy as np\n" + GOOD,
                       "does not run: it raised ModuleNotFoundError at mine.py line 1: No module named 'numpyy'"),
    "raises at import": ("masked_gradient", GOOD + "\n1 / 0\n", "does not run: it raised ZeroDivisionError"),
    "raises inside": ("masked_gradient", "def masked_gradient(R, M, P, Q):\n    return {}['P']\n",
                      "your function raised KeyError at mine.py line 2"),
    "exits": ("masked_gradient", "import sys\ndef masked_gradient(R, M, P, Q):\n    sys.exit(3)\n",
              "your function called exit(3) at mine.py line 3"),
    "kills the interpreter": ("masked_gradient", "import os\ndef masked_gradient(R, M, P, Q):\n    os._exit(9)\n",
                              "the grading process ended while running masked_gradient() (exit status 9)"),
    "wrong shape": ("masked_gradient", GOOD.replace("-2.0 * E.T @ P", "-2.0 * E.T @ P[:, :1]"),
                    "dLdQ has shape (3, 1), expected (3, 2)"),
    "transposed": ("masked_gradient", GOOD.replace("return -2.0 * E @ Q,", "return (-2.0 * E @ Q).T,"),
                   "dLdP has shape (2, 4), expected (4, 2) (transposed?)"),
    "NaN": ("masked_gradient", GOOD.replace("return -2.0 * E @ Q", "return np.nan * E @ Q"),
            "dLdP[0, 0] is nan: the answer must be finite"),
    "a list": ("masked_gradient", GOOD.replace("return -2.0 * E @ Q,", "return (-2.0 * E @ Q).tolist(),"),
               "dLdP is a list, expected a numpy array"),
    "no return": ("masked_gradient", GOOD.replace("return -2.0", "_ = -2.0"),
                  "must return 2 values (dLdP, dLdQ), got None (a missing return?)"),
    "one value": ("masked_gradient", GOOD.replace(", -2.0 * E.T @ P", ""), "must return 2 values"),
    "a dict": ("masked_gradient", GOOD.replace("return -2.0 * E @ Q, -2.0 * E.T @ P",
                                               "return {'P': -2.0 * E @ Q, 'Q': -2.0 * E.T @ P}"),
               "got a dict"),
    "a string": ("mu_gradient", "def mu_gradient(R, M, P, Q, bu, bi, mu, lam):\n    return 'zero'\n",
                 "dLdmu is a str, expected a number"),
    "mutates the factors": ("masked_gradient", GOOD.replace("    return", "    G = -2.0 * E @ Q, -2.0 * E.T @ P\n"
                                                            "    P[...] = 0.0\n    return G  #"),
                            "your function changed its input argument 3 (entry [0, 0])"),
    "mutates the mask": ("masked_gradient", GOOD.replace("    E = M", "    M[:] = 1.0\n    E = M"),
                         "changed its input argument 2"),
    "changes the cache": ("feature_step", """
def feature_step(P, Q, cache, f, u, i, j, r, lr, reg, lo, hi):
    puf, qif = P[u, f], Q[i, f]
    err = r - min(max(cache[j] + puf * qif, lo), hi)
    P[u, f] += lr * (err * qif - reg * puf)
    Q[i, f] += lr * (err * puf - reg * qif)
    cache[j] += P[u, f] * Q[i, f]
    return err
""", "your function changed its input argument 3"),
    "imports the reference solution": ("masked_gradient",
                                       "from funksvd.exercises.losses import masked_gradient\n",
                                       "funksvd cannot be imported while grading"),
    "calls funksvd.gradients": ("masked_gradient", """
def masked_gradient(R, M, P, Q):
    import funksvd
    g = funksvd.gradients(funksvd.Factors(P, Q), funksvd.Ratings.from_dense(R, missing=0.0), "tf_masked_2018")
    return g["P"], g["Q"]
""", "your function raised ImportError at mine.py line 3: funksvd cannot be imported while grading"),
    "uses TensorFlow's tape": ("masked_gradient", "import tensorflow as tf\n" + GOOD,
                               "autodiff libraries such as tensorflow cannot be imported while grading"),
    "not UTF-8": ("masked_gradient", b"# \xff\xfe\n" + GOOD.encode(), "is not a UTF-8 text file"),
    "returns no error": ("funk_step", """
def funk_step(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - (mu + bu[u] + bi[i] + P[u] @ Q[i])
    bu[u] += lr[2] * (err - reg[2] * bu[u])
""", "err is None (a missing return?), expected a number"),
}


def write(tmp_path: Path, source) -> Path:
    path = tmp_path / "mine.py"
    if isinstance(source, bytes):
        path.write_bytes(source)
    else:
        path.write_text(textwrap.dedent(source))
    return path


@pytest.mark.parametrize("probe", list(PROBES))
def test_probe_gets_one_clear_line(probe, tmp_path):
    """Each probe: the report is not ok and carries its one line; nothing is raised."""
    name, source, expected = PROBES[probe]
    report = exercises.grade_file(name, write(tmp_path, source), timeout=20, random_state=0,
                                  oracles=("finite_differences",))
    assert not report.ok
    assert report.problem and "\n" not in report.problem and expected in report.problem, report.problem


@pytest.mark.parametrize("probe", ["no function", "syntax error", "raises inside", "a list", "mutates the factors",
                                   "calls funksvd.gradients"])
def test_cli_exit_1_one_line_no_traceback(probe, tmp_path, capsys):
    """On the command line: exit status 1, one line on stderr naming the problem, nothing on stdout."""
    name, source, expected = PROBES[probe]
    assert main(["exercise", name, str(write(tmp_path, source)), "--oracle", "finite_differences"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and expected in err and "Traceback" not in err


def test_endless_loop_stops_at_the_time_limit(tmp_path, capsys):
    """A function that never returns: grading stops at the limit and says so (the subprocess is killed)."""
    path = write(tmp_path, "def masked_gradient(R, M, P, Q):\n    while True:\n        pass\n")
    report = exercises.grade_file("masked_gradient", path, timeout=1.5)
    assert not report.ok and "time limit of 1.5 s while running masked_gradient()" in report.problem
    assert main(["exercise", "masked_gradient", str(path), "--timeout", "1.5"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "endless loop" in err


def test_endless_loop_at_import_stops_too(tmp_path):
    report = exercises.grade_file("masked_gradient", write(tmp_path, "while True:\n    pass\n" + GOOD), timeout=1.5)
    assert "time limit of 1.5 s while loading the file" in report.problem


def test_printing_a_lot_fails_even_when_right(tmp_path):
    """A right answer that prints a megabyte: not a pass (the limit is said), the grader is not flooded."""
    source = GOOD.replace("    return", "    print('x' * 1_000_000)\n    return")
    report = exercises.grade_file("masked_gradient", write(tmp_path, source), oracles=("finite_differences",))
    assert not report.ok and "characters while graded (at most 20,000)" in report.problem


def test_a_few_prints_are_shown_and_do_not_disturb(tmp_path, capsys):
    """A right answer with a debugging print passes; the CLI shows what it printed, truncated."""
    source = GOOD.replace("    return", "    print('E is', E.shape)\n    return")
    path = write(tmp_path, source)
    assert main(["exercise", "masked_gradient", str(path), "--oracle", "finite_differences"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("correct: masked_gradient") and "| E is (" in out


def test_main_block_does_not_run(tmp_path):
    """The file is imported as a module, not run as a script: an endless ``__main__`` block is never entered."""
    source = GOOD + "\nif __name__ == '__main__':\n    while True:\n        pass\n"
    report = exercises.grade_file("masked_gradient", write(tmp_path, source), timeout=10,
                                  oracles=("finite_differences",))
    assert report.ok, report


def test_the_wrong_row_never_passes(tmp_path):
    """A rule that updates another user's row is wrong on every entry check (not a pass, a wrong answer)."""
    source = exercises.get("funk_step").solution.replace("P[u] += ", "P[(u + 1) % len(P)] += ")
    report = exercises.grade_file("funk_step", write(tmp_path, source), random_state=0)
    assert not report.ok and not report.problem and report.hints


def test_missing_file_and_directory(tmp_path, capsys):
    """No file, or a folder: one line, exit 1."""
    for path in (tmp_path / "absent.py", tmp_path):
        assert main(["exercise", "masked_gradient", str(path)]) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "cannot read" in err


def test_cli_without_tensorflow_says_so(tmp_path):
    """A fresh interpreter with TensorFlow blocked (tests/block_tensorflow.py): grading works, by finite
    differences only, and the verdict line says that TensorFlow was skipped and why."""
    path = write(tmp_path, GOOD)
    code = ("import tests.block_tensorflow, sys; from funksvd.cli import main; "
            f"sys.exit(main(['exercise', 'masked_gradient', {str(path)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "checked by finite differences" in done.stdout and "tensorflow skipped" in done.stdout
    assert "not installed" in done.stdout


def test_in_process_grading_sees_calls_into_funksvd():
    """``Exercise.grade(fn)`` in this process: a function that hands the work to funksvd.gradients, or that is
    the reference solution itself, is caught by the profile hook (no pass, one line naming what it called)."""
    import funksvd

    exercise = exercises.get("masked_gradient")

    def borrowed(R, M, P, Q):
        g = funksvd.gradients(funksvd.Factors(P, Q), funksvd.Ratings.from_dense(R * M, missing=0.0), "tf_masked_2018")
        return g["P"], g["Q"]

    report = exercise.grade(borrowed, random_state=0, oracles=("finite_differences",))
    assert not report.ok and "calls funksvd's own code (funksvd/" in report.problem
    report = exercise.grade(exercise.function, random_state=0, oracles=("finite_differences",))
    assert not report.ok and "calls the reference solution (funksvd/exercises/losses.py: masked_gradient)" \
        in report.problem


def test_a_grandchild_process_is_ended_with_the_grading(tmp_path):
    """A file that starts a process of its own and loops: the time limit ends the whole session it started."""
    marker = tmp_path / "alive"
    source = f"""
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c",
                          "import time, pathlib; time.sleep(3); pathlib.Path({str(marker)!r}).touch()"])
def masked_gradient(R, M, P, Q):
    while True:
        pass
"""
    report = exercises.grade_file("masked_gradient", write(tmp_path, source), timeout=1.0)
    assert "time limit" in report.problem
    import time

    time.sleep(3.5)
    assert not marker.exists()
