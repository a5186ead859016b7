"""check_rule, callable losses and derive, probed as a hostile or confused user would.

Oracle: the probe itself -- each input below is wrong in one known way, and the answer must be
one clear line saying that way (a message without a newline, or one hint), never a traceback
(a funksvd error type, not a ValueError/TypeError from deep inside), never a pass.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from funksvd import Factors, derive
from funksvd.base.errors import InputError
from funksvd.check import LossError, check_gradients, check_rule
from funksvd.classics import quuxlabs_ratings
from funksvd.maths.rules import funk, predict_one


def one_line(text: str) -> bool:
    return "\n" not in text and "Traceback" not in text and len(text) < 400


# ---- update rules -----------------------------------------------------------------------------------


def allocates(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = r - predict_one(P, Q, bu, bi, mu, u, i)
    p = P[u].copy()
    P[u] += lr[0] * (err * Q[i] - reg[0] * P[u])
    Q[i] += lr[1] * (err * p - reg[1] * Q[i])
    bu[u] += lr[2] * (err - reg[2] * bu[u])
    bi[i] += lr[3] * (err - reg[3] * bi[i])
    return err


def wrong_row(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = funk(P, Q, bu, bi, mu, u, i, r, lr, reg)
    P[i, 0] += 0.01  # P indexed by the item
    return err


def no_error(P, Q, bu, bi, mu, u, i, r, lr, reg):
    funk(P, Q, bu, bi, mu, u, i, r, lr, reg)


def changes_mu(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = funk(P, Q, bu, bi, mu, u, i, r, lr, reg)
    mu += lr[0] * err
    return err


def raises(P, Q, bu, bi, mu, u, i, r, lr, reg):
    return 1.0 / 0.0


def makes_nan(P, Q, bu, bi, mu, u, i, r, lr, reg):
    err = funk(P, Q, bu, bi, mu, u, i, r, lr, reg)
    bu[u] = float("nan")
    return err


def rebinds(P, Q, bu, bi, mu, u, i, r, lr, reg):
    P, Q, bu, bi = P.copy(), Q.copy(), bu.copy(), bi.copy()
    return funk(P, Q, bu, bi, mu, u, i, r, lr, reg)


def returns_arrays(P, Q, bu, bi, mu, u, i, r, lr, reg):
    funk(P, Q, bu, bi, mu, u, i, r, lr, reg)
    return P


def error_after(P, Q, bu, bi, mu, u, i, r, lr, reg):
    funk(P, Q, bu, bi, mu, u, i, r, lr, reg)
    return r - predict_one(P, Q, bu, bi, mu, u, i)


def wrong_signature(P, Q, u, i, r):
    return 0.0


RULE_PROBES = [
    (allocates, "the rule allocates new arrays on every rating"),
    (wrong_row, "the rule changes P row 3, not only row u = 1 (u and i swapped?)"),
    (no_error, "the rule returns no error"),
    (changes_mu, "the rule assigns to mu"),
    (raises, "the rule raised ZeroDivisionError: float division by zero"),
    (makes_nan, "the rule makes bu not finite"),
    (rebinds, "the rule changes nothing in place"),
    (returns_arrays, "the rule returns ndarray, not the error"),
    (error_after, "the returned error is not r - r_hat at the old values"),
    (wrong_signature, "the rule raised TypeError: wrong_signature() takes 5 positional arguments"),
]


@pytest.mark.parametrize("rule, hint", RULE_PROBES, ids=[p[0].__name__ for p in RULE_PROBES])
def test_a_hostile_rule_gets_one_clear_line_and_no_pass(rule, hint):
    """Oracle: the probe; its hint comes first, each hint is one line, and the report is not ok."""
    report = check_rule(rule, "funk")
    assert not report.ok and report.hints, str(report)
    assert any(h.startswith(hint) for h in report.hints), report.hints
    assert all(one_line(h) for h in report.hints)
    assert "RULE CHECK FAILED" in str(report)


def test_an_allocating_rule_may_be_allowed():
    """Oracle: the maths of the probe (funk vectorised): allowed, it is a gradient step with funk's scales."""
    report = check_rule(allocates, "funk", allow_allocation=True)
    assert report.ok, str(report)


@pytest.mark.parametrize("step", [None, "funk", 3])
def test_check_rule_wants_a_function(step):
    """Oracle: the type of the probe."""
    with pytest.raises(InputError, match="step must be a function"):
        check_rule(step)


def test_check_rule_refuses_an_unknown_loss_name():
    """Oracle: the names that exist."""
    with pytest.raises(InputError, match="unknown objective 'funky'"):
        check_rule(funk, "funky")


def test_a_callable_rule_loss_that_reads_global_state_is_refused():
    """Oracle: two calls of the probe at one point differ."""
    calls = []

    def drifting(xp, theta, data):
        calls.append(1)
        return xp.sum(xp.square(theta["P"])) * len(calls)

    report = check_rule(funk, drifting)
    assert not report.ok and len(report.hints) == 1
    assert report.hints[0].startswith("the loss is not a function of theta and data")


def test_a_callable_rule_loss_that_raises_is_one_line():
    """Oracle: the probe raises KeyError (no block 'p')."""
    report = check_rule(funk, lambda xp, theta, data: xp.sum(theta["p"]))
    assert not report.ok and report.hints[0].startswith("the loss raised KeyError under the numpy namespace")
    assert one_line(report.hints[0])


# ---- callable losses ---------------------------------------------------------------------------------


@pytest.fixture
def case():
    ratings = quuxlabs_ratings()
    factors = Factors.random(5, 4, 2, mu=ratings.mean(), init_std_dev=0.5, random_state=1)
    return factors, ratings


def squared(xp, theta, data):
    p_u, q_i = xp.take(theta["P"], data.users, axis=0), xp.take(theta["Q"], data.items, axis=0)
    e = data.values - (data.mu + xp.take(theta["bu"], data.users) + xp.take(theta["bi"], data.items)
                       + xp.sum(p_u * q_i, axis=1))
    return xp.sum(xp.square(e))


def right(factors, ratings):
    """d/dtheta of sum e^2, by hand: -2 e q_i, -2 e p_u, -2 e, -2 e scattered."""
    u, i = ratings.users, ratings.items
    e = ratings.values - factors.predict(u, i)
    g = {k: np.zeros_like(v) for k, v in factors.params().items()}
    np.add.at(g["P"], u, -2 * e[:, None] * factors.Q[i])
    np.add.at(g["Q"], i, -2 * e[:, None] * factors.P[u])
    np.add.at(g["bu"], u, -2 * e)
    np.add.at(g["bi"], i, -2 * e)
    return g


def test_the_probes_baseline_passes(case):
    """Oracle: TF, FD and sympy on the hand gradient: the probes below differ from this in one way each."""
    assert check_gradients(squared, *case, manual=right).ok


def not_scalar(xp, theta, data):
    return xp.square(theta["bu"])


def a_list(xp, theta, data):
    return [xp.sum(theta["P"])]


def calls_numpy(xp, theta, data):
    return np.sum(np.square(theta["P"]))  # numpy, not xp: the tape sees nothing


def leaves_the_tape(xp, theta, data):
    return squared(xp, theta, data) + float(xp.sum(xp.square(theta["P"])))  # float(): a constant to the tape


def not_finite(xp, theta, data):
    return xp.sum(xp.log(theta["bu"] - 10.0))


def mutates(xp, theta, data):
    theta["P"][0, 0] = 0.0
    return xp.sum(theta["P"])


def a_string(xp, theta, data):
    return "0.5"


COUNTER = []


def global_state(xp, theta, data):
    COUNTER.append(1)
    return xp.sum(xp.square(theta["P"])) + len(COUNTER)


LOSS_PROBES = [
    (not_scalar, r"the loss returned an array of shape \(5,\), not a scalar: sum it \(xp\.sum\)"),
    (a_list, "the loss returned a list, not a scalar"),
    (calls_numpy, r"it computes with numpy .* use the namespace it is given, xp\.sum"),
    (leaves_the_tape, "the oracles disagree on your loss: tensorflow gives"),
    (not_finite, "the loss is nan at the point"),
    (mutates, r"the loss changed theta\['P'\] in place"),
    (a_string, "the loss returned str, not a number"),
    (global_state, "the loss is not a function of theta and data"),
]


@pytest.mark.parametrize("loss, message", LOSS_PROBES, ids=[p[0].__name__ for p in LOSS_PROBES])
def test_a_hostile_loss_gets_one_clear_line(case, loss, message):
    """Oracle: the probe; a LossError (an InputError: one line on a command line) with the reason."""
    if loss in (calls_numpy, leaves_the_tape):
        pytest.importorskip("tensorflow")
    with pytest.raises(LossError, match=message) as caught:
        check_gradients(loss, *case, manual=right)
    assert isinstance(caught.value, InputError) and one_line(str(caught.value))


def test_numpy_inside_a_loss_is_fine_for_finite_differences_alone(case):
    """Oracle: the hand derivative 2 P of sum P^2. A loss that calls numpy is a fine numpy function: finite
    differences compare it; only the tape (above) cannot see it."""
    def manual(f, r):
        g = {k: np.zeros_like(v) for k, v in f.params().items()}
        g["P"] = 2 * f.P
        return g

    report = check_gradients(calls_numpy, *case, manual=manual, oracles=("finite_differences",))
    assert report.ok and report.compared == ("finite_differences",)


@pytest.mark.parametrize("manual, message", [
    (lambda f, r: [right(f, r)["P"]], "must be a dict with keys"),
    (lambda f, r: {**right(f, r), "mu": 0.0}, "must be a dict with keys"),
    (lambda f, r: {k: v for k, v in right(f, r).items() if k != "bi"}, "must be a dict with keys"),
    (lambda f, r: {**right(f, r), "P": right(f, r)["P"].T}, r"shape \(2, 5\), expected \(5, 2\) \(transposed\?\)"),
    (lambda f, r: {**right(f, r), "P": np.full((5, 2), np.nan)}, r"manual gradient P\[0, 0\] is not finite"),
    (lambda f, r: {**right(f, r), "bu": "zero"}, "manual gradient bu is str, not an array of numbers"),
])
def test_a_hostile_manual_gradient_gets_one_clear_line(case, manual, message):
    """Oracle: the probe (missing/extra keys, transposed, NaN, not numbers)."""
    with pytest.raises(ValueError, match=message) as caught:
        check_gradients(squared, *case, manual=manual)
    assert one_line(str(caught.value))


def test_a_callable_loss_needs_a_manual_gradient(case):
    """Oracle: there is nothing of funksvd's to check for a user's loss."""
    with pytest.raises(InputError, match="pass yours as manual="):
        check_gradients(squared, *case)


# ---- derive ------------------------------------------------------------------------------------------


def test_derive_refuses_an_unknown_name_in_one_line():
    """Oracle: the names that exist, listed in the message."""
    with pytest.raises(InputError, match="nothing to derive called 'funky'; choose from funk, quuxlabs") as caught:
        derive("funky")
    assert one_line(str(caught.value))


@pytest.mark.parametrize("thing", [3, None, ["funk"]])
def test_derive_refuses_what_is_not_a_loss(thing):
    """Oracle: the type of the probe."""
    with pytest.raises(InputError, match="nothing to derive called"):
        derive(thing)


def test_derive_of_a_loss_sympy_cannot_run_says_so_in_one_line():
    """Oracle: boolean masking has a data-dependent shape, which has no symbolic form."""
    def masked(xp, theta, data):
        e = data.values - xp.sum(xp.take(theta["P"], data.users, axis=0), axis=1)
        return xp.sum(e[e > 0])

    with pytest.raises(LossError, match="cannot be derived symbolically") as caught:
        derive(masked)
    assert one_line(str(caught.value))


def test_derive_of_a_non_scalar_loss_says_so():
    """Oracle: the probe returns a vector."""
    with pytest.raises(LossError, match="not a scalar"):
        derive(lambda xp, theta, data: xp.square(theta["P"]))


def _cli(*args, block_sympy=False):
    code = "import sys\n"
    if block_sympy:
        code += "sys.modules['sympy'] = None\n"
    code += f"from funksvd.cli import main\nsys.exit(main({list(args)!r}))\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)


def test_cli_derive_unknown_name_is_a_usage_error():
    """Oracle: argparse's usage error (status 2), one message naming the choices, no traceback."""
    done = _cli("derive", "funky")
    assert done.returncode == 2 and "invalid choice: 'funky'" in done.stderr and "Traceback" not in done.stderr


def test_cli_derive_without_sympy_is_one_line_and_status_1():
    """Oracle: a fresh interpreter where sympy cannot be imported."""
    done = _cli("derive", "funk", block_sympy=True)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == ("funksvd derive: error: funksvd derive needs sympy, which is not installed: "
                                   "pip install 'funksvd[symbolic]'")
