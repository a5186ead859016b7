r"""The compiled engine's factored kernels are the literal rules (``Rule.compiled_step``).

Oracles: sympy (the factored kernel run on symbols, minus the literal rule's sympy-derived
gradient step, simplifies to 0 for the error and every updated entry: a proof, not a sample);
the literal rule run by the Python engine (whole epochs in float64: the forms round differently,
so the compiled engine is held to 1e-12, the bound the engines are held to everywhere); a literal
hand computation of one update in float32 (the factored kernel computes in the parameters' dtype).
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import RULES, sgd_epoch
from funksvd.check.symbolic import prove_rule
from funksvd.maths.rules import funk_factored
from tests.helpers import random_problem

FACTORED = sorted(name for name, rule in RULES.items() if rule.compiled_step is not None)


def test_the_default_rule_has_a_factored_form():
    """Funk's rule (``FunkSVD()``'s default) is compiled from its factored form (oracle: the registry)."""
    assert RULES["funk"].compiled_step is funk_factored
    assert FACTORED == ["funk"]


@pytest.mark.parametrize("name", FACTORED)
def test_the_factored_kernel_is_the_rule_symbolically(name):
    """Oracle: sympy. Every updated entry and the returned error equal the rule's own gradient step."""
    pytest.importorskip("sympy")
    for k in (1, 3):
        proof = prove_rule(name, step=RULES[name].compiled_step, k=k)
        assert proof.ok, proof.mismatched


def test_a_slip_in_the_factored_kernel_is_not_proved():
    """Oracle: sympy. The factored kernel with P's shrink factor built from Q's lambda is not proved (so the proof
    above can fail), and the slip is named: the entries of P."""
    pytest.importorskip("sympy")
    from funksvd.maths.rules import predict_one

    def slipped(P, Q, bu, bi, mu, u, i, r, lr, reg):
        err = r - predict_one(P, Q, bu, bi, mu, u, i)
        bu[u] += lr[2] * (err - reg[2] * bu[u])
        bi[i] += lr[3] * (err - reg[3] * bi[i])
        keep_p, keep_q = 1 - lr[0] * reg[1], 1 - lr[1] * reg[1]
        for f in range(P.shape[1]):
            puf, qif = P[u, f], Q[i, f]
            P[u, f] = keep_p * puf + lr[0] * err * qif
            Q[i, f] = keep_q * qif + lr[1] * err * puf
        return err

    proof = prove_rule("funk", step=slipped)
    assert not proof.ok and proof.mismatched == ("P[0]", "P[1]")


@pytest.mark.parametrize("name", FACTORED)
@pytest.mark.parametrize("biased", [True, False])
def test_compiled_factored_equals_python_literal(name, biased, rng):
    """Oracle: the Python engine running the literal rule, five epochs in float64 on a problem with repeated pairs.
    Tolerance 1e-12 absolute on values of order 1: each update rounds differently (a multiply and a multiply-add
    against three operations), a few ulps per update, and SGD at this step size does not amplify them."""
    factors, ratings = random_problem(rng, n_users=30, n_items=20, k=6, n_ratings=600, biased=biased)
    lr = {"P": 0.01, "Q": 0.02, "bu": 0.015, "bi": 0.005}
    reg = {"P": 0.03, "Q": 0.02, "bu": 0.01, "bi": 0.04}
    order = rng.permutation(len(ratings))
    a, b = factors, factors
    for _ in range(5):
        a = sgd_epoch(a, ratings, name, lr, reg, order=order, engine="python")
        b = sgd_epoch(b, ratings, name, lr, reg, order=order, engine="compiled")
    for block in factors.blocks:
        np.testing.assert_allclose(b.params()[block], a.params()[block], rtol=0, atol=1e-12, err_msg=block)


def test_float32_stays_float32():
    """Oracle: a literal hand computation of one update in float32: (1 - lr reg) p + (lr e) q, every operand
    float32 (a float64 factor would round once, differently, and slow the kernel down)."""
    P = np.array([[0.3, -0.2]], np.float32)
    Q = np.array([[0.1, 0.4]], np.float32)
    bu, bi = np.zeros(1, np.float32), np.zeros(1, np.float32)
    f32 = np.float32
    lr, reg = (f32(0.01),) * 4, (f32(0.02),) * 4
    mu, r = f32(3.5), f32(4.0)
    err = r - (mu + (P[0] * Q[0]).sum(dtype=np.float32))
    keep, step = f32(1) - lr[0] * reg[0], lr[0] * err
    expected_P = keep * P[0] + step * Q[0]
    funk_factored(P, Q, bu, bi, mu, 0, 0, r, lr, reg)
    assert P.dtype == np.float32 and np.array_equal(P[0], expected_P)
