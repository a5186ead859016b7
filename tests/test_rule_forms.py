r"""The compiled engine's factored kernels are the literal rules (``Rule.compiled_update``), its pairs loop is its
one-rating loop, and its pipelined kernel (``Rule.compiled_update_predict``) is the update then the next prediction.

Oracles: sympy (the factored kernel run on symbols, minus the literal rule's sympy-derived
gradient step, simplifies to 0 for the error and every updated entry: a proof, not a sample);
the literal rule run by the Python engine (whole epochs in float64: the forms round differently,
so the compiled engine is held to 1e-12, the bound the engines are held to everywhere); a literal
hand computation of one update in float32 (the factored kernel computes in the parameters' dtype); the
one-rating epoch loop :func:`funksvd.sgd.loops.run_epoch` on the same kernel (the pairs loop must give its bits);
for the pipelined form, sympy again (``update_predict`` minus ``update`` then ``predict_one``, on symbols, is 0 for
the next pair, sharing a row or not) and the same Python call sequence on floats (bit for bit).
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import RULES, sgd_epoch
from funksvd.check.symbolic import prove_rule
from funksvd.maths.rules import funk_factored, funk_update, funk_update_predict, predict_one
from tests.helpers import random_problem

FACTORED = sorted(name for name, rule in RULES.items() if rule.compiled_update is not None)
PIPELINED = sorted(name for name, rule in RULES.items() if rule.compiled_update_predict is not None)
STEPS = {"funk": funk_factored}  # each factored update after its error: a step, for prove_rule


def test_the_default_rule_has_a_factored_form():
    """Funk's rule (``FunkSVD()``'s default) is compiled from its factored form (oracle: the registry)."""
    assert RULES["funk"].compiled_update is funk_update
    assert RULES["funk"].compiled_update_predict is funk_update_predict
    assert FACTORED == ["funk"] == sorted(STEPS) == PIPELINED


@pytest.mark.parametrize("name", FACTORED)
def test_the_factored_kernel_is_the_rule_symbolically(name):
    """Oracle: sympy. Every updated entry and the returned error equal the rule's own gradient step."""
    pytest.importorskip("sympy")
    for k in (1, 3):
        proof = prove_rule(name, step=STEPS[name], k=k)
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
@pytest.mark.parametrize("k", [6, 40])  # 48 bytes a row: the pairs loop; 320 bytes: the pipelined loop
def test_compiled_factored_equals_python_literal(name, biased, k, rng):
    """Oracle: the Python engine running the literal rule, five epochs in float64 on a problem with repeated pairs.
    Tolerance 1e-12 absolute on values of order 1: each update rounds differently (a multiply and a multiply-add
    against three operations; the pipelined loop also sums its dot products in another order), a few ulps per
    update, and SGD at this step size does not amplify them. With 30 users and 20 items about one rating in twelve
    shares a row with the one before it, so both branches of the pipelined loop run."""
    factors, ratings = random_problem(rng, n_users=30, n_items=20, k=k, n_ratings=600, biased=biased)
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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_pairs_loop_gives_the_one_rating_loops_bits(rng, dtype):
    """Oracle: :func:`~funksvd.sgd.loops.run_epoch` compiled with :func:`funk_factored`, one rating after the other,
    in the same order. Exact equality (max |diff| = 0): two ratings with disjoint rows commute exactly, and a pair
    sharing a row (here frequent: 6 users, 5 items, repeated pairs) runs one after the other."""
    from funksvd.sgd.compiled import compiled_epoch, jit, prefetch
    from funksvd.sgd.loops import run_epoch, typed_scalars

    factors, ratings = random_problem(rng, n_users=6, n_items=5, k=7, n_ratings=400)
    step = jit(funk_factored, inline=True, predict_one=jit(predict_one, inline=True),
               funk_update=jit(funk_update, inline=True))
    one_by_one = jit(run_epoch, "run_epoch_funk_factored_test", step=step, prefetch=prefetch)
    pairs = compiled_epoch(RULES["funk"])
    mu, lr, reg = typed_scalars(dtype, factors.mu, (0.02, 0.01, 0.03, 0.015), (0.05, 0.02, 0.01, 0.03))
    users, items = ratings.users.astype(np.uint32), ratings.items.astype(np.uint32)
    values, order = ratings.values.astype(dtype), rng.permutation(len(ratings)).astype(np.uint32)
    shared = np.sum((users[order][1:] == users[order][:-1]) | (items[order][1:] == items[order][:-1]))
    assert 20 < shared < len(ratings) - 20  # both branches of the pairs loop run
    out = {}
    for name, kernel in (("one", one_by_one), ("pairs", pairs)):
        arrays = tuple(a.astype(dtype) for a in factors.mutable_copy())
        sse = kernel(*arrays[:2], *arrays[2:], mu, users, items, values, order, lr, reg)
        out[name] = (arrays, sse)
    for a, b in zip(out["one"][0], out["pairs"][0]):
        assert np.array_equal(a, b)
    assert out["one"][1] == out["pairs"][1]


def test_the_factored_docstring_is_its_code(rng):
    """Oracle: :func:`funk_update`'s docstring, read by ``tests/latex.py`` and evaluated at random points: its two
    updates equal what the kernel writes (1e-12: the same float64 operations, perhaps fused). Its biases are
    :func:`funk`'s, whose docstring test covers them."""
    from tests.latex import equations, evaluate

    eq = equations(funk_update.__doc__)
    assert set(eq) == {"P_new", "Q_new"}
    for _ in range(5):
        factors, _ = random_problem(rng, n_users=3, n_items=4, k=5, n_ratings=6)
        u, i, err = 1, 2, float(rng.normal())
        lr, reg = float(rng.uniform(0.01, 0.2)), float(rng.uniform(0.0, 0.3))
        names = dict(p=factors.P[u].copy(), q=factors.Q[i].copy(), e=err, lr=lr, reg=reg)
        P, Q, bu, bi = factors.mutable_copy()
        funk_update(P, Q, bu, bi, u, i, err, (lr,) * 4, (reg,) * 4)
        np.testing.assert_allclose(P[u], evaluate(eq["P_new"], **names), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(Q[i], evaluate(eq["Q_new"], **names), rtol=1e-12, atol=1e-15)


def _symbolic_rows(sp, k):
    """Two users and two items of symbols (rows 0 and 1), their biases, mu, the error and the hyper-parameters."""
    P = np.array([[sp.Symbol(f"p{u}_{f}") for f in range(k)] for u in range(2)], dtype=object)
    Q = np.array([[sp.Symbol(f"q{i}_{f}") for f in range(k)] for i in range(2)], dtype=object)
    bu = np.array([sp.Symbol("bu0"), sp.Symbol("bu1")], dtype=object)
    bi = np.array([sp.Symbol("bi0"), sp.Symbol("bi1")], dtype=object)
    lr = tuple(sp.symbols("gamma_P gamma_Q gamma_bu gamma_bi"))
    reg = tuple(sp.symbols("lambda_P lambda_Q lambda_bu lambda_bi"))
    return P, Q, bu, bi, sp.Symbol("mu"), sp.Symbol("e"), lr, reg


def _update_predict_residuals(sp, update_predict, k, u2, i2):
    """``update_predict`` for (0, 0) and the next pair (u2, i2), minus ``funk_update`` then ``predict_one``."""
    P, Q, bu, bi, mu, e, lr, reg = _symbolic_rows(sp, k)
    A = [a.copy() for a in (P, Q, bu, bi)]
    B = [a.copy() for a in (P, Q, bu, bi)]
    r_hat = update_predict(*A[:4], mu, 0, 0, e, u2, i2, lr, reg)
    funk_update(*B[:4], 0, 0, e, lr, reg)
    expected = predict_one(*B[:4], mu, u2, i2)
    out = {"r_hat2": sp.expand(r_hat - expected)}
    for name, a, b in zip(("P", "Q", "bu", "bi"), A, B):
        for index in np.ndindex(a.shape):
            out[f"{name}{list(index)}"] = sp.expand(a[index] - b[index])
    return out


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("u2, i2", [(1, 1), (0, 1), (1, 0), (0, 0)])
def test_update_predict_is_the_update_then_the_prediction_symbolically(k, u2, i2):
    """Oracle: sympy. For a next pair after (0, 0) with rows of its own, (1, 1), or sharing a row, every entry of P,
    Q, bu, bi and the returned prediction of :func:`funk_update_predict` equal :func:`funk_update` then
    :func:`predict_one`: each difference expands to 0 (entry by entry, the prediction reads what the update wrote,
    so sharing a row changes nothing; the loop's check for it is about speed)."""
    sp = pytest.importorskip("sympy")
    residuals = _update_predict_residuals(sp, funk_update_predict, k, u2, i2)
    assert {name: r for name, r in residuals.items() if r != 0} == {}


def test_a_slip_in_update_predict_is_not_proved():
    """Oracle: sympy. A kernel that sums the next prediction with this rating's item row (Q[i] for Q[i2]) is
    caught, and only its prediction is named (so the proof above can fail)."""
    sp = pytest.importorskip("sympy")

    def slipped(P, Q, bu, bi, mu, u, i, err, u2, i2, lr, reg):
        r_hat = mu + bu[u2] + bi[i2]
        funk_update(P, Q, bu, bi, u, i, err, lr, reg)
        for f in range(P.shape[1]):
            r_hat += P[u2, f] * Q[i, f]
        return r_hat

    residuals = _update_predict_residuals(sp, slipped, 2, 1, 1)
    assert {name for name, r in residuals.items() if r != 0} == {"r_hat2"}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_update_predict_run_as_python_gives_the_two_calls_bits(rng, dtype):
    """Oracle: :func:`funk_update` then :func:`predict_one`, run as Python on the same floats. Exact equality: the
    same operations in the same order (the prediction's terms are added as :func:`predict_one` adds them)."""
    for biased in (True, False):
        factors, _ = random_problem(rng, n_users=4, n_items=5, k=9, n_ratings=6, biased=biased)
        A = [a.astype(dtype) for a in factors.mutable_copy()]
        B = [a.copy() for a in A]
        mu, err = dtype(factors.mu), dtype(rng.normal())
        lr, reg = tuple(dtype(x) for x in (0.02, 0.01, 0.03, 0.015)), tuple(dtype(x) for x in (0.05, 0.02, 0.01, 0.03))
        r_hat = funk_update_predict(*A, mu, 1, 2, err, 3, 4, lr, reg)
        funk_update(*B, 1, 2, err, lr, reg)
        assert r_hat == predict_one(*B, mu, 3, 4)
        for a, b in zip(A, B):
            assert a.dtype == dtype and np.array_equal(a, b)


@pytest.mark.parametrize("dtype, k, pipelined", [(np.float64, 31, False), (np.float64, 32, True),
                                                 (np.float32, 63, False), (np.float32, 64, True)])
def test_long_rows_run_the_pipelined_loop(dtype, k, pipelined):
    """Oracle: the threshold as documented (rows of PIPELINE_ROW_BYTES = 256 bytes or more), through the entry
    points a fit and sgd_epoch use (``epoch_function`` and ``cells_function`` given the bytes of a row)."""
    from funksvd.sgd.compiled import PIPELINE_ROW_BYTES, _compiled_epoch_pairs, _compiled_epoch_pipelined
    from funksvd.sgd.steps import cells_function, epoch_function

    rule = RULES["funk"]
    row_bytes = k * np.dtype(dtype).itemsize
    assert PIPELINE_ROW_BYTES == 256 and (row_bytes >= 256) == pipelined
    expected = (_compiled_epoch_pipelined(rule.compiled_update, rule.compiled_update_predict) if pipelined
                else _compiled_epoch_pairs(rule.compiled_update))
    assert epoch_function("funk", "compiled", row_bytes) is expected
    assert cells_function("funk", "compiled", row_bytes).py_func.__globals__["epoch"] is expected


def test_the_update_predict_docstring_is_its_code(rng):
    r"""Oracle: :func:`funk_update_predict`'s docstring, read by ``tests/latex.py`` (its :math:`u_2, i_2` notation
    added here) and evaluated on the rows as :func:`funk_update` leaves them: the prediction it states equals the
    one the kernel returns (1e-12: the same float64 products, summed in the same order). The update itself is
    :func:`funk_update`'s, whose docstring test is above."""
    from tests.latex import equations, evaluate

    eq = equations(funk_update_predict.__doc__, lhs_names={r"\hat r_{u_2 i_2}": "r_hat2"},
                   symbols=[(r"p_{u_2}^\top q_{i_2}", "dot(p2, q2)"), ("b_{u_2}", "bu2"), ("b_{i_2}", "bi2")])
    assert set(eq) == {"r_hat2"}
    for _ in range(5):
        factors, _ = random_problem(rng, n_users=3, n_items=4, k=5, n_ratings=6)
        u, i, u2, i2, err = 1, 2, 0, 3, float(rng.normal())
        lr, reg = tuple(rng.uniform(0.01, 0.2, 4)), tuple(rng.uniform(0.0, 0.3, 4))
        A, B = factors.mutable_copy(), factors.mutable_copy()
        r_hat2 = funk_update_predict(*A, factors.mu, u, i, err, u2, i2, lr, reg)
        P, Q, bu, bi = B
        funk_update(P, Q, bu, bi, u, i, err, lr, reg)
        stated = evaluate(eq["r_hat2"], mu=factors.mu, bu2=bu[u2], bi2=bi[i2], p2=P[u2], q2=Q[i2])
        np.testing.assert_allclose(r_hat2, stated, rtol=1e-12)
