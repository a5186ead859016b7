"""Code and stated formula cannot drift apart: each rule's docstring equations are evaluated.

Oracle: the rule's own docstring. ``tests/latex.py`` translates its LaTeX (prediction, error,
loss, the four gradients, the four updates) into Python and evaluates it at random points; the
result must equal what the code computes: ``predict_one`` for the prediction, the rule's
``objective`` for the loss and its gradients, the kernel itself for the updates. Tolerance
1e-12: the same float64 arithmetic in a different order.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import RULES, sgd_step
from funksvd.maths.rules import predict_one
from tests.helpers import random_problem, single
from tests.latex import equations, evaluate

NEEDED = {"r_hat", "e", "ell", "dP", "dQ", "dbu", "dbi", "P_new", "Q_new", "bu_new", "bi_new"}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_docstring_states_every_equation(rule):
    """Every rule states prediction, error, loss, 4 gradients and 4 updates (oracle: NEEDED)."""
    assert set(equations(RULES[rule].step.__doc__)) == NEEDED


@pytest.mark.parametrize("rule", sorted(RULES))
def test_docstring_equations_match_code(rule, rng):
    """Oracle: the docstring's formulas, evaluated; compared to the code at 5 random points."""
    rule_ = RULES[rule]
    eq = equations(rule_.step.__doc__)
    for trial in range(5):
        factors, ratings = random_problem(rng, biased=True)
        one = single(ratings, trial)
        u, i, r = int(one.users[0]), int(one.items[0]), float(one.values[0])
        lr, reg = float(rng.uniform(0.01, 0.2)), float(rng.uniform(0.0, 0.3))
        names = dict(
            p=factors.P[u], q=factors.Q[i], bu=factors.bu[u], bi=factors.bi[i], mu=factors.mu, r=r, lr=lr, reg=reg
        )
        r_hat = evaluate(eq["r_hat"], **names)
        assert r_hat == pytest.approx(predict_one(factors.P, factors.Q, factors.bu, factors.bi, factors.mu, u, i),
                                      rel=1e-12)
        names["r_hat"] = r_hat
        names["e"] = evaluate(eq["e"], **names)

        assert evaluate(eq["ell"], **names) == pytest.approx(rule_.objective.loss(factors, one, reg), rel=1e-12)
        grads = rule_.objective.gradients(factors, one, reg)
        for key, block, row in (("dP", "P", u), ("dQ", "Q", i), ("dbu", "bu", u), ("dbi", "bi", i)):
            np.testing.assert_allclose(evaluate(eq[key], **names), grads[block][row], rtol=1e-12, atol=1e-14)

        stepped = sgd_step(factors, u, i, r, rule=rule, lr=lr, reg=reg)
        names["p_new"] = evaluate(eq["P_new"], **names)  # the listing's Q update reads the new row
        for key, block, row in (("P_new", "P", u), ("Q_new", "Q", i), ("bu_new", "bu", u), ("bi_new", "bi", i)):
            np.testing.assert_allclose(evaluate(eq[key], **names), stepped.params()[block][row],
                                       rtol=1e-12, atol=1e-14)


def test_reader_refuses_unknown_notation():
    """The reader fails on notation it does not know, instead of skipping it (oracle: ValueError)."""
    with pytest.raises(ValueError, match="cannot read"):
        equations(".. math::\n\n    e = \\sqrt{r_{ui}}\n")


FEATURE_NEEDED = {
    "bias_step": {"r_hat", "e", "ell", "dbu", "dbi", "bu_new", "bi_new"},
    "feature_step": {"r_hat", "e", "ell", "dP", "dQ", "P_new", "Q_new"},
}


@pytest.mark.parametrize("kernel", sorted(FEATURE_NEEDED))
def test_feature_kernel_docstrings_match_code(kernel, rng):
    """Simon Funk's feature-wise kernels too (oracle: their docstring formulas, evaluated).

    The stated gradient is checked against central differences of the stated loss with the
    clip inactive (the docstrings say the clip is ignored in the gradient): the loss is
    quadratic along each axis, so a step of 1e-3 is exact up to rounding (~1e-13; tolerance
    1e-9). Updates and the returned error are compared with the code to 1e-12.
    """
    from funksvd.sgd import funk_schedule as feature

    step = getattr(feature, kernel)
    eq = equations(step.__doc__)
    assert set(eq) == FEATURE_NEEDED[kernel]
    lo, hi = 1.0, 5.0
    for _ in range(5):
        P, Q = rng.normal(0, 0.5, (3, 2)), rng.normal(0, 0.5, (4, 2))
        bu, bi = rng.normal(0, 0.3, 3), rng.normal(0, 0.3, 4)
        cache = rng.uniform(2.5, 3.5, 6)  # c_j well inside [1, 5]: the clip is inactive
        u, i, j, f, r = 1, 2, 4, 1, float(rng.uniform(1, 5))
        lr, reg = float(rng.uniform(0.01, 0.2)), float(rng.uniform(0.0, 0.3))
        names = dict(c=cache[j], bu=bu[u], bi=bi[i], p=P[u, f], q=Q[i, f], r=r, lr=lr, reg=reg)
        names["r_hat"] = evaluate(eq["r_hat"], lo, hi, **names)
        names["e"] = evaluate(eq["e"], lo, hi, **names)
        arrays = [a.copy() for a in (P, Q, bu, bi)]
        if kernel == "bias_step":
            err = step(arrays[2], arrays[3], cache, u, i, j, r, (lr,) * 4, (reg,) * 4, lo, hi)
            pairs = (("dbu", "bu", "bu_new", arrays[2][u]), ("dbi", "bi", "bi_new", arrays[3][i]))
        else:
            err = step(arrays[0], arrays[1], cache, f, u, i, j, r, (lr,) * 4, (reg,) * 4, lo, hi)
            pairs = (("dP", "p", "P_new", arrays[0][u, f]), ("dQ", "q", "Q_new", arrays[1][i, f]))
        assert err == pytest.approx(names["e"], rel=1e-12, abs=1e-12)

        def stated_loss(name, value):
            moved = names | {name: value}
            moved["r_hat"] = evaluate(eq["r_hat"], lo, hi, **moved)
            moved["e"] = evaluate(eq["e"], lo, hi, **moved)
            return evaluate(eq["ell"], lo, hi, **moved)

        h = 1e-3
        for grad_key, name, update_key, code_value in pairs:
            fd = (stated_loss(name, names[name] + h) - stated_loss(name, names[name] - h)) / (2 * h)
            assert evaluate(eq[grad_key], lo, hi, **names) == pytest.approx(fd, rel=1e-9, abs=1e-9)
            assert evaluate(eq[update_key], lo, hi, **names) == pytest.approx(code_value, rel=1e-12, abs=1e-12)
