"""check_gradients on a user's own loss ``loss(xp, theta, data)``: one function, every oracle.

Oracles: TensorFlow's tape and sympy run the same user function in their namespaces; finite
differences run it in numpy; the "manual" gradients below are hand derivations written in this
file (each the derivative of one supported function, worked out on paper).
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Factors
from funksvd.check import SUPPORTED, LossError, check_gradients
from funksvd.check.losses import scan_gradients
from funksvd.maths.user_losses import NUMPY
from funksvd.classics import quuxlabs_ratings

ALL = ("tensorflow", "finite_differences", "symbolic")
DELTA = 1.0


@pytest.fixture
def case():
    ratings = quuxlabs_ratings()
    factors = Factors.random(5, 4, 2, mu=ratings.mean(), init_std_dev=0.5, random_state=0)
    factors = factors.replace(bu=np.linspace(-0.4, 0.4, 5), bi=np.linspace(0.3, -0.3, 4))
    return factors, ratings


def error(xp, theta, data):
    """e = r - (mu + b_u + b_i + p_u . q_i), written with the namespace."""
    p_u = xp.take(theta["P"], data.users, axis=0)
    q_i = xp.take(theta["Q"], data.items, axis=0)
    z = data.mu + xp.take(theta["bu"], data.users) + xp.take(theta["bi"], data.items) + xp.sum(p_u * q_i, axis=1)
    return data.values - z


def huber(xp, theta, data):
    e = error(xp, theta, data)
    a = xp.abs(e)
    return xp.sum(xp.where(a <= DELTA, 0.5 * xp.square(e), DELTA * (a - 0.5 * DELTA)))


def scatter(factors, ratings, dl_de):
    """The hand chain rule: dL/dtheta = sum over ratings of dl/de * de/dtheta, de/dp_u = -q_i, de/db_u = -1."""
    u, i = ratings.users, ratings.items
    g = {k: np.zeros_like(v) for k, v in factors.params().items()}
    np.add.at(g["P"], u, -dl_de[:, None] * factors.Q[i])
    np.add.at(g["Q"], i, -dl_de[:, None] * factors.P[u])
    np.add.at(g["bu"], u, -dl_de)
    np.add.at(g["bi"], i, -dl_de)
    return g


def huber_gradient(factors, ratings, *, slip=False):
    """d huber / de = e inside |e| <= delta, delta sign(e) outside; ``slip``: 2e inside (the branch wrong)."""
    e = ratings.values - factors.predict(ratings.users, ratings.items)
    inside = (2.0 * e) if slip else e
    return scatter(factors, ratings, np.where(np.abs(e) <= DELTA, inside, DELTA * np.sign(e)))


def test_the_case_has_both_branches(case):
    """Oracle: the errors themselves; a Huber test needs ratings on both sides of |e| = delta."""
    factors, ratings = case
    e = np.abs(ratings.values - factors.predict(ratings.users, ratings.items))
    assert (e <= DELTA).any() and (e > DELTA).any()


def test_huber_by_hand_passes_every_oracle(case):
    """Oracles: TensorFlow's tape, finite differences (Richardson) and sympy on the same huber function."""
    factors, ratings = case
    report = check_gradients(huber, factors, ratings, manual=huber_gradient)
    assert report.ok, str(report)
    assert report.compared == ALL
    assert len(report.rows) == 12 and all(row.status == "ok" for row in report.rows)


@pytest.mark.parametrize("oracle", ALL)
def test_huber_with_the_inner_branch_wrong_fails_naming_block_and_entry(case, oracle):
    """Oracle: each of the three alone; the slip (2e inside the band) is seen by every one of them."""
    factors, ratings = case
    report = check_gradients(huber, factors, ratings, manual=lambda f, r: huber_gradient(f, r, slip=True),
                             oracles=(oracle,))
    assert not report.ok
    assert {row.block for row in report.failures} == {"P", "Q", "bu", "bi"}
    text = str(report)
    assert "GRADIENT CHECK FAILED" in text
    row = next(row for row in report.failures if row.block == "bu")
    assert f"FAIL bu[{row.worst_index[0]}]: manual" in text
    e = ratings.values - factors.predict(ratings.users, ratings.items)
    u = row.worst_index[0]  # the user's entry differs by exactly the inside ratings' extra -e
    assert row.manual_value - row.oracle_value == pytest.approx(-e[(ratings.users == u) & (np.abs(e) <= 1)].sum())


# ---- every supported function, each with its derivative worked out by hand -----------------------

#: name -> (the loss term g(xp, e) summed over ratings, its derivative dg/de by hand, in numpy)
FUNCTIONS = {
    "take": (lambda xp, e: e * e, lambda e: 2 * e),  # take is in error(); the term itself is e^2
    "sum": (lambda xp, e: xp.sum(e) * e, lambda e: None),  # special-cased below: not elementwise
    "mean": (lambda xp, e: xp.mean(e) * e, lambda e: None),
    "where": (lambda xp, e: xp.where(e > 0, 3.0 * e, -0.5 * e), lambda e: np.where(e > 0, 3.0, -0.5)),
    "abs": (lambda xp, e: xp.abs(e), lambda e: np.sign(e)),
    "exp": (lambda xp, e: xp.exp(0.5 * e), lambda e: 0.5 * np.exp(0.5 * e)),
    "log": (lambda xp, e: xp.log(1.0 + e * e), lambda e: 2 * e / (1 + e * e)),
    "square": (lambda xp, e: xp.square(e), lambda e: 2 * e),
    "sqrt": (lambda xp, e: xp.sqrt(1.0 + e * e), lambda e: e / np.sqrt(1 + e * e)),
    "tanh": (lambda xp, e: xp.tanh(e), lambda e: 1 - np.tanh(e) ** 2),
    "maximum": (lambda xp, e: xp.maximum(e, 0.2 * e), lambda e: np.where(e > 0, 1.0, 0.2)),
    "minimum": (lambda xp, e: xp.minimum(e, 0.2 * e), lambda e: np.where(e < 0, 1.0, 0.2)),
}


def test_every_supported_function_is_tested():
    """Oracle: the documented list SUPPORTED."""
    assert set(FUNCTIONS) == set(SUPPORTED)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_supported_function_under_every_oracle(case, name):
    """Oracles: TF tape, finite differences and sympy, against the derivative worked out by hand (FUNCTIONS)."""
    factors, ratings = case
    term, derivative = FUNCTIONS[name]

    def loss(xp, theta, data):
        return xp.sum(term(xp, error(xp, theta, data)))

    def manual(f, r):
        e = r.values - f.predict(r.users, r.items)
        if name == "sum":  # (sum e)^2: d/de_j = 2 sum e
            dl_de = np.full_like(e, 2 * e.sum())
        elif name == "mean":  # mean(e) sum(e) = (sum e)^2 / n: d/de_j = 2 sum e / n
            dl_de = np.full_like(e, 2 * e.sum() / len(e))
        else:
            dl_de = derivative(e)
        return scatter(f, r, dl_de)

    report = check_gradients(loss, factors, ratings, manual=manual)
    assert report.ok, str(report)
    assert report.compared == ALL


def test_the_namespace_refuses_what_it_does_not_offer(case):
    """Oracle: the documented namespace; xp.cos is not in it, and the message names what is."""
    factors, ratings = case
    with pytest.raises(LossError, match=r"xp\.cos is not in the namespace .* it offers take, sum"):
        check_gradients(lambda xp, theta, data: xp.sum(xp.cos(theta["P"])), factors, ratings,
                        manual=lambda f, r: huber_gradient(f, r), oracles=("finite_differences",))


# ---- the oracles themselves ------------------------------------------------------------------------


def test_scan_gradients_error_estimate_bounds_the_true_error():
    """Oracle: the exact derivative of exp(a x) + x^3 / 3, by hand; the estimate must cover the true error."""
    x = np.array([0.3, -1.2, 2.5])

    def f(point):
        t = point["x"]
        return float(np.sum(np.exp(0.7 * t) + t ** 3 / 3.0))

    grads, errors = scan_gradients(f, {"x": x})
    exact = 0.7 * np.exp(0.7 * x) + x ** 2
    actual = np.abs(grads["x"] - exact)
    assert np.all(actual <= errors["x"]), (actual, errors["x"])
    assert np.all(errors["x"] < 1e-8)  # and it is small: Richardson at a well-chosen step


def test_scan_gradients_is_exact_on_a_quadratic():
    """Oracle: the hand derivative 2 a x of a x^2; central differences are exact, only rounding remains."""
    grads, errors = scan_gradients(lambda p: float(np.sum(1.5 * p["x"] ** 2)), {"x": np.array([0.5, -2.0])})
    np.testing.assert_allclose(grads["x"], [1.5, -6.0], rtol=0, atol=1e-12)
    assert np.all(errors["x"] < 1e-11)


def test_finite_differences_report_their_own_estimate_in_the_tolerance(case):
    """Oracle: the FD oracle's noise; a manual gradient off by 1e-3 relative fails it (estimate ~1e-10)."""
    factors, ratings = case
    report = check_gradients(huber, factors, ratings, oracles=("finite_differences",),
                             manual=lambda f, r: {k: v * (1 + 1e-3) for k, v in huber_gradient(f, r).items()})
    assert not report.ok


def test_the_tape_oracle_really_runs_when_tensorflow_is_present(case, monkeypatch):
    """Oracle: a spy on the tape oracle. Kills the mutant 'the custom-loss path silently uses finite
    differences only when TensorFlow is present': the tensorflow rows must come from the tape."""
    pytest.importorskip("tensorflow")
    from funksvd.autodiff import callables

    calls = []
    real = callables.tape_gradients

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(callables, "tape_gradients", spy)
    factors, ratings = case
    report = check_gradients(huber, factors, ratings, manual=huber_gradient)
    assert calls == [huber]
    assert report.compared == ALL
    tf_rows = [row for row in report.rows if row.oracle == "tensorflow"]
    assert len(tf_rows) == 4 and all(row.status == "ok" for row in tf_rows)


def test_the_tape_and_finite_differences_differ_where_a_kink_is_crossed(case):
    """Oracle: the hand derivative sign(x - c) = -1 of |x - c| at x = c - 1e-4. Every FD stencil (h >= 3e-3)
    crosses the kink, the extrapolations disagree and FD says it cannot judge that entry ("at kink"); the
    tape still compares it. So the tensorflow row is not finite differences relabelled."""
    factors, ratings = case
    c = float(factors.P[0, 0]) + 1e-4

    def kinked(xp, theta, data):
        return xp.sum(xp.abs(xp.take(theta["P"], np.array([0])) - c)) + xp.sum(xp.square(theta["Q"]))  # P[0, 0]

    def manual(f, r):
        g = {k: np.zeros_like(v) for k, v in f.params().items()}
        g["P"][0, 0] = -1.0
        g["Q"] = 2 * f.Q
        return g

    report = check_gradients(kinked, factors, ratings, manual=manual, oracles=("tensorflow", "finite_differences"))
    fd = next(row for row in report.rows if row.oracle == "finite_differences" and row.block == "P")
    tf = next(row for row in report.rows if row.oracle == "tensorflow" and row.block == "P")
    assert tf.kinks == 0 and tf.status == "ok" and tf.max_abs_error == 0.0
    assert fd.kinks == 1 and fd.status == "ok"
    assert "(1 at kink)" in str(report)


def test_without_tensorflow_the_other_oracles_compare_and_say_so(case, without_tensorflow):
    """Oracle: the oracles that ran. No TensorFlow: its rows skipped with the pip command, FD and sympy
    still compare every block, and the slip still fails."""
    factors, ratings = case
    report = check_gradients(huber, factors, ratings, manual=huber_gradient)
    assert report.ok and report.compared == ("finite_differences", "symbolic")
    assert "pip install 'funksvd[tf]'" in report.skipped["tensorflow"]
    wrong = check_gradients(huber, factors, ratings, manual=lambda f, r: huber_gradient(f, r, slip=True))
    assert not wrong.ok and {row.oracle for row in wrong.failures} == {"finite_differences", "symbolic"}


def test_a_loss_sympy_cannot_run_skips_that_oracle_with_the_reason(case):
    """Oracle: the report's skipped reason. Boolean masking has a data-dependent shape: no symbolic form."""
    factors, ratings = case

    def masked(xp, theta, data):
        e = error(xp, theta, data)
        return xp.sum(xp.square(e[e > 0]))

    def manual(f, r):
        e = r.values - f.predict(r.users, r.items)
        return scatter(f, r, np.where(e > 0, 2 * e, 0.0))

    report = check_gradients(masked, factors, ratings, manual=manual)
    assert report.ok and report.compared == ("tensorflow", "finite_differences")
    assert "cannot run on symbols" in report.skipped["symbolic"]


def test_only_symbolic_on_a_loss_it_cannot_run_compares_nothing(case):
    """Oracle: 'nothing compared is not a pass'."""
    factors, ratings = case

    def masked(xp, theta, data):
        e = error(xp, theta, data)
        return xp.sum(xp.square(e[e > 0]))

    report = check_gradients(masked, factors, ratings, manual=lambda f, r: huber_gradient(f, r),
                             oracles=("symbolic",))
    assert not report.ok and report.compared == ()
    assert "NOTHING COMPARED" in str(report)


def test_a_trained_mu_is_a_block_of_theta(case):
    """Oracle: the hand derivative dL/dmu = -2 sum e of sum e^2, checked by all three oracles."""
    factors, ratings = case

    def squared(xp, theta, data):
        p_u = xp.take(theta["P"], data.users, axis=0)
        q_i = xp.take(theta["Q"], data.items, axis=0)
        z = theta["mu"] + xp.take(theta["bu"], data.users) + xp.take(theta["bi"], data.items) \
            + xp.sum(p_u * q_i, axis=1)
        return xp.sum(xp.square(data.values - z))

    def manual(f, r):
        e = r.values - f.predict(r.users, r.items)
        g = scatter(f, r, 2 * e)
        g["mu"] = np.array(-2 * e.sum())
        return g

    report = check_gradients(squared, factors, ratings, manual=manual, learn_mu=True)
    assert report.ok, str(report)
    assert {row.block for row in report.rows} == {"P", "Q", "bu", "bi", "mu"}


def test_a_loss_reads_reg_from_data(case):
    """Oracle: the hand derivative 2 lambda_P P of lambda_P ||P||^2 (per-block reg from data.reg)."""
    factors, ratings = case

    def ridge(xp, theta, data):
        return data.reg["P"] * xp.sum(xp.square(theta["P"])) + data.reg["Q"] * xp.sum(xp.square(theta["Q"]))

    def manual(f, r, reg):
        g = {k: np.zeros_like(v) for k, v in f.params().items()}
        g["P"], g["Q"] = 2 * reg["P"] * f.P, 2 * reg["Q"] * f.Q
        return g

    reg = {"P": 0.3, "Q": 0.07, "bu": 0.0, "bi": 0.0}
    assert check_gradients(ridge, factors, ratings, manual=manual, reg=reg).ok


def test_the_numpy_namespace_is_numpy():
    """Oracle: numpy itself, on a few values."""
    x = np.array([0.5, 2.0])
    np.testing.assert_array_equal(NUMPY.sqrt(x), np.sqrt(x))
    assert NUMPY.sum(x) == 2.5 and NUMPY.name == "numpy"


def test_the_symbolic_oracle_declines_a_large_model_and_says_why():
    """Oracle: the parameter count, 60 x 6 + 40 x 6 = 600 > 500; sympy is skipped with the reason, the
    hand derivative 2 P, 2 Q of the ridge term is compared by finite differences."""
    from funksvd import Ratings

    ratings = Ratings(np.arange(100) % 60, np.arange(100) % 40, np.linspace(1, 5, 100), 60, 40)
    factors = Factors.random(60, 40, 6, biased=False, random_state=0)

    def ridge(xp, theta, data):
        return xp.sum(xp.square(theta["P"])) + xp.sum(xp.square(theta["Q"]))

    report = check_gradients(ridge, factors, ratings, manual=lambda f, r: {"P": 2 * f.P, "Q": 2 * f.Q},
                             oracles=("finite_differences", "symbolic"))
    assert report.ok and report.compared == ("finite_differences",)
    assert report.skipped["symbolic"].startswith(
        "the model has 600 parameters, too many to differentiate symbolically (at most 500)")
