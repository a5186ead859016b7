"""The per-rating rules: literal hand computations, and the rules as scaled gradient steps.

Oracles: numbers worked out by hand below (exact decimal arithmetic, compared to 1e-12 because
float64 rounding of a few operations on O(1) numbers is ~1e-15); central finite differences of
the rule's stated loss (exact for these quadratic losses, see funksvd.check.finite_differences).
"""

from __future__ import annotations

import numpy as np
import pytest

import funksvd
from funksvd import RULES, Factors, sgd_step
from funksvd.check.finite_differences import numerical_gradients
from funksvd.maths.rules import get_rule
from tests.helpers import random_problem, single

# One user, one item, k = 2: p = (1, 2), q = (0.5, -1), b_u = 0.1, b_i = -0.2, mu = 3, r = 4.
# r_hat = 3 + 0.1 - 0.2 + (0.5 - 2) = 1.4 and e = 2.6; lr = 0.1, reg = 0.5.
TINY = Factors([[1.0, 2.0]], [[0.5, -1.0]], [0.1], [-0.2], mu=3.0)

# Each block worked by hand, e.g. funk p_1 = 1 + 0.1 (2.6 * 0.5 - 0.5 * 1) = 1.08.
HAND = {
    "funk": {"P": [1.08, 1.64], "Q": [0.735, -0.43], "bu": 0.355, "bi": 0.07},
    # factor 2 on p, q: p_1 = 1 + 0.1 (2 * 2.6 * 0.5 - 0.5) = 1.21; biases as funk
    "quuxlabs": {"P": [1.21, 1.38], "Q": [0.995, 0.09], "bu": 0.355, "bi": 0.07},
    # Q from the updated p = (1.08, 1.64): q_1 = 0.5 + 0.1 (2.6 * 1.08 - 0.5 * 0.5) = 0.7558
    "quuxlabs_listing": {"P": [1.08, 1.64], "Q": [0.7558, -0.5236], "bu": 0.355, "bi": 0.07},
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_matches_hand_computation(rule):
    """Oracle: the literal hand computation in HAND."""
    out = sgd_step(TINY, 0, 0, 4.0, rule=rule, lr=0.1, reg=0.5)
    for block, expected in HAND[rule].items():
        np.testing.assert_allclose(getattr(out, block)[0], expected, rtol=0, atol=1e-12)


def test_hand_computation_covers_every_rule():
    """A new rule must get its hand-computed case (oracle: the registry itself)."""
    assert set(HAND) == set(RULES)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_unbiased_rule_leaves_out_biases(rule):
    """Oracle: HAND, whose factor updates hold when the bias terms are zero and absent.

    With b_u = b_i = 0 the error is the same as with the biases removed, so an unbiased model
    must produce the same P, Q as a biased one whose biases are zero.
    """
    zero = TINY.replace(bu=[0.0], bi=[0.0])
    unbiased = Factors(TINY.P, TINY.Q, mu=3.0)
    a = sgd_step(zero, 0, 0, 4.0, rule=rule, lr=0.1, reg=0.5)
    b = sgd_step(unbiased, 0, 0, 4.0, rule=rule, lr=0.1, reg=0.5)
    assert not b.biased
    np.testing.assert_array_equal(a.P, b.P)
    np.testing.assert_array_equal(a.Q, b.Q)


def _per_block(rng):
    lr = dict(zip(funksvd.BLOCKS, rng.uniform(0.01, 0.2, 4)))
    reg = dict(zip(funksvd.BLOCKS, rng.uniform(0.0, 0.3, 4)))
    return lr, reg


def _single_rating_cases(rng, biased, n=5):
    """``(factors, one, (u, i, r), lr, reg)``: random problems, one of their ratings, per-block lr and reg."""
    for trial in range(n):
        factors, ratings = random_problem(rng, biased=biased)
        one = single(ratings, trial)
        yield factors, one, (one.users[0], one.items[0], one.values[0]), *_per_block(rng)


@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("rule", [name for name, r in RULES.items() if r.simultaneous])
def test_simultaneous_rule_is_scaled_gradient_step(rule, biased, rng):
    r"""rule(theta) == theta - lr * s * grad l(theta), per block.

    Oracles: central finite differences of the rule's stated loss l (step h = 1: exact for a
    quadratic along each axis, rounding ~1e-14 here), and the hand gradient of
    Objective.gradients. Per-block lr and reg mappings, so no block can borrow another's.
    """
    rule_ = get_rule(rule)
    for factors, one, (u, i, r), lr, reg in _single_rating_cases(rng, biased):
        stepped = sgd_step(factors, u, i, r, rule=rule, lr=lr, reg=reg)
        fd, _ = numerical_gradients(lambda f: rule_.objective.loss(f, one, reg), factors, h=1.0)
        hand = rule_.objective.gradients(factors, one, reg)
        for block in factors.blocks:
            np.testing.assert_allclose(hand[block], fd[block], rtol=1e-10, atol=1e-12)
            expected = factors.params()[block] - lr[block] * rule_.scale[block] * fd[block]
            np.testing.assert_allclose(stepped.params()[block], expected, rtol=1e-12, atol=1e-12)


def test_quuxlabs_bias_needs_half_step(rng):
    """No common step size: with s = 1 for the biases the step would be twice the rule's.

    Oracle: finite differences of the quuxlabs loss; asserts the documented inconsistency of
    the article (factor 2 on p, q but not on the biases) is really there.
    """
    factors, ratings = random_problem(rng)
    one = single(ratings, 0)
    lr, reg = 0.05, 0.1
    stepped = sgd_step(factors, one.users[0], one.items[0], one.values[0], rule="quuxlabs", lr=lr, reg=reg)
    fd, _ = numerical_gradients(lambda f: RULES["quuxlabs"].objective.loss(f, one, reg), factors)
    full_step = factors.bu - lr * fd["bu"]
    assert not np.allclose(stepped.bu, full_step)
    np.testing.assert_allclose(stepped.bu, factors.bu - 0.5 * lr * fd["bu"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(stepped.P, factors.P - lr * fd["P"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("biased", [True, False])
def test_listing_is_its_block_steps(biased, rng):
    r"""quuxlabs_listing == biases step, then P step, then Q step at the new P with the held error.

    Oracle: finite differences of the listing's stated loss l. Stages 1 and 2 are gradient steps
    at the start point. Stage 3 uses dl/de from the start (e0) and de/dq = -p' at the new row:
    the gradient of l at the new point is -e1 p' + reg q, so the held-error step direction is
    that gradient plus (e1 - e0) p'.
    """
    rule = RULES["quuxlabs_listing"]
    assert rule.stages == (("bu", "bi"), ("P",), ("Q",))
    for factors, one, (u, i, r), lr, reg in _single_rating_cases(rng, biased):
        stepped = sgd_step(factors, u, i, r, rule=rule, lr=lr, reg=reg)

        def loss(f):
            return rule.objective.loss(f, one, reg)

        g0, _ = numerical_gradients(loss, factors)
        state = factors.replace(**{b: factors.params()[b] - lr[b] * g0[b] for b in factors.blocks if b != "Q"})
        g1, _ = numerical_gradients(loss, state, blocks=["Q"])
        e0 = r - factors.predict(u, i)
        e1 = r - state.predict(u, i)
        direction = g1["Q"].copy()
        direction[i] += (e1 - e0) * state.P[u]
        expected_Q = factors.Q - lr["Q"] * direction
        np.testing.assert_allclose(stepped.Q, expected_Q, rtol=1e-12, atol=1e-12)
        for block in factors.blocks:
            if block != "Q":
                np.testing.assert_allclose(stepped.params()[block], state.params()[block], rtol=1e-12, atol=1e-12)


def test_listing_differs_from_simultaneous_by_the_updated_p():
    r"""On one rating with k = 1, the listing's q differs from funk's by exactly lr e (p' - p).

    Oracle: REFERENCE.md section 1 worked by hand on a 1x1, k = 1 unbiased model: p = 1, q = 0.5,
    r = 3, lr = 0.1, reg = 0.2. Then e = 3 - 0.5 = 2.5 and both rules move p the same way,
    p' = 1 + 0.1 (2.5 * 0.5 - 0.2 * 1) = 1.105. Funk moves q from the old p,
    q' = 0.5 + 0.1 (2.5 * 1 - 0.2 * 0.5) = 0.74; the listing from the updated p',
    q' = 0.5 + 0.1 (2.5 * 1.105 - 0.2 * 0.5) = 0.76625: a difference of 0.1 * 2.5 * 0.105 = 0.02625.
    Tolerance 1e-12: a handful of float64 operations on O(1) numbers.
    """
    factors = Factors([[1.0]], [[0.5]])
    funk = sgd_step(factors, 0, 0, 3.0, rule="funk", lr=0.1, reg=0.2)
    listing = sgd_step(factors, 0, 0, 3.0, rule="quuxlabs_listing", lr=0.1, reg=0.2)
    np.testing.assert_allclose([funk.P[0, 0], listing.P[0, 0]], [1.105, 1.105], rtol=0, atol=1e-12)
    np.testing.assert_allclose([funk.Q[0, 0], listing.Q[0, 0]], [0.74, 0.76625], rtol=0, atol=1e-12)
    assert listing.Q[0, 0] - funk.Q[0, 0] == pytest.approx(0.02625, abs=1e-12)


def test_sgd_step_leaves_input_untouched(rng):
    """Oracle: a bit-for-bit copy taken before the call."""
    factors, _ = random_problem(rng)
    before = [a.copy() for a in factors.params().values()]
    for rule in RULES:
        sgd_step(factors, 0, 0, 4.0, rule=rule, lr=0.1)
    for a, b in zip(before, factors.params().values()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"u": 7}, "not a valid index"),
        ({"i": -1}, "not a valid index"),
        ({"r": np.nan}, "not finite"),
        ({"rule": "gauss"}, "unknown rule"),
        ({"lr": {"P": 0.1}}, "missing"),
        ({"reg": {"Z": 0.1}}, "unknown block"),
    ],
)
def test_sgd_step_bad_input(kwargs, message):
    """Oracle: the documented error message for each bad argument."""
    args = {"u": 0, "i": 0, "r": 4.0, "rule": "funk", "lr": 0.1, "reg": 0.1} | kwargs
    with pytest.raises(ValueError, match=message):
        sgd_step(TINY, **args)


def test_rule_registry_is_read_only():
    """RULES is a contract: it cannot be mutated by accident (oracle: Python's mappingproxy)."""
    with pytest.raises(TypeError):
        RULES["mine"] = RULES["funk"]

