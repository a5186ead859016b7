"""check_gradients: right gradients pass, classic slips fail loudly and are named.

Oracles: finite differences and TensorFlow autodiff (inside check_gradients); the deliberately
wrong gradients below are distortions of funksvd's hand gradient whose effect is known exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Factors, Objective, Ratings
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
    """A user's gradient function with one classic slip."""
    def manual(factors, ratings):
        g = objective.gradients(factors, ratings, reg)
        if how == "missing factor 2":
            return {k: 0.5 * v for k, v in g.items()}
        if how == "sign slip":
            return {k: -v for k, v in g.items()}
        if how == "dropped regulariser":
            return objective.gradients(factors, ratings, 0.0)
        if how == "mean for sum":
            return {k: v / len(ratings) for k, v in g.items()}
        raise AssertionError(how)
    return manual


@pytest.mark.parametrize("oracle", ORACLES)
@pytest.mark.parametrize(
    "how, hint",
    [
        ("missing factor 2", "missing factor 2"),
        ("sign slip", "sign slip"),
        ("dropped regulariser", "regulariser was dropped"),
        ("mean for sum", "a mean where the loss takes a sum"),
    ],
)
def test_wrong_gradient_fails_with_pointed_message(case, how, hint, oracle):
    """Oracle: the check itself; each slip is caught, the block and entry named, the cause guessed."""
    if oracle == "tensorflow" and not _tf_available():
        pytest.skip("TensorFlow not installed")
    factors, ratings = case
    objective = Objective(penalty="frobenius")
    report = check_gradients(objective, factors, ratings, manual=_distorted(objective, how), oracles=(oracle,),
                             reg=0.1)
    assert not report.ok and not bool(report)
    text = str(report)
    assert "GRADIENT CHECK FAILED" in text and hint in text
    failed = report.failures[0]
    assert f"FAIL {failed.block}[" in text
    assert failed.max_rel_error > 1e-3


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
