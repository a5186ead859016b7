"""SVD++ per rating: the docstring's equations, Surprise's loop, the cached variant, both engines.

Oracles: the kernel's own docstring (its LaTeX evaluated by ``tests/latex.py``); the summed
per-rating loss and its hand gradient (:mod:`funksvd.maths.svdpp_objective`, itself proved by
finite differences and TensorFlow in ``tests/test_svdpp_objective.py``); a literal transcription of
Surprise's ``SVDpp.sgd`` loop written in this file; an independent numpy version of the cached
variant written in this file.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Factors, Ratings
from funksvd.maths import svdpp
from funksvd.maths.svdpp import Implicit
from funksvd.maths.svdpp_objective import svdpp_gradients, svdpp_loss
from funksvd.sgd.svdpp_engine import svdpp_epoch
from tests.latex import equations, evaluate

SVDPP_LHS = {"z_u": "z", r"\Omega_Y": "OmegaY", r"\frac{\partial \ell}{\partial y_j}": "dY", "y_j": "Y"}
SVDPP_SYMBOLS = [
    (r"\sum_{j \in N(u)} sq(y_j)", "sumsq_Y"),
    (r"\sum_{j \in N(u)} y_j", "sum_Y"),
    (r"|N(u)|^{-\frac{1}{2}}", "eta"),
    (r"\Omega_Y", "OmegaY"),
    ("z_u", "z"),
    ("y_j", "y"),
]
NEEDED = {"z", "OmegaY", "r_hat", "e", "ell", "dP", "dQ", "dbu", "dbi", "dY",
          "P_new", "Q_new", "bu_new", "bi_new", "Y_new"}


def problem(rng, n_users=4, n_items=6, k=3, n_ratings=14):
    """Random ratings without repeated pairs, every user with at least one rating; factors and Y."""
    cells = rng.choice(n_users * n_items, size=n_ratings, replace=False)
    users, items = np.divmod(cells, n_items)
    users[:n_users] = np.arange(n_users)
    keep = np.unique(users * n_items + items, return_index=True)[1]
    users, items = users[np.sort(keep)], items[np.sort(keep)]
    ratings = Ratings(users, items, rng.uniform(1, 5, len(users)), n_users, n_items)
    factors = Factors(rng.normal(0, 0.5, (n_users, k)), rng.normal(0, 0.5, (n_items, k)),
                      rng.normal(0, 0.3, n_users), rng.normal(0, 0.3, n_items), mu=3.0)
    return factors, rng.normal(0, 0.5, (n_items, k)), ratings


def test_docstring_states_every_equation():
    """The step states z_u, prediction, error, loss, 5 gradients and 5 updates (oracle: NEEDED)."""
    assert set(equations(svdpp.svdpp_step.__doc__, SVDPP_LHS, SVDPP_SYMBOLS)) == NEEDED


def test_docstring_equations_match_code(rng):
    """Oracle: the docstring's formulas, evaluated at 5 random ratings, against the code.

    The loss and gradients are compared with the summed SVD++ loss on that one rating (then
    n_u = 1 and c_j = 1), the updates with the kernel run in place. Tolerance 1e-12: the same
    float64 arithmetic in another order.
    """
    eq = equations(svdpp.svdpp_step.__doc__, SVDPP_LHS, SVDPP_SYMBOLS)
    for trial in range(5):
        factors, Y, ratings = problem(rng)
        implicit = Implicit.from_ratings(ratings)
        t = trial % len(ratings)
        one = ratings.subset([t])
        u, i, r = int(one.users[0]), int(one.items[0]), float(one.values[0])
        N = implicit.indices[implicit.indptr[u]:implicit.indptr[u + 1]]
        lr, reg = float(rng.uniform(0.01, 0.2)), float(rng.uniform(0.01, 0.3))
        names = {"p": factors.P[u], "q": factors.Q[i], "bu": factors.bu[u], "bi": factors.bi[i], "mu": factors.mu,
                 "r": r, "lr": lr, "reg": reg, "eta": len(N) ** -0.5, "sum_Y": Y[N].sum(axis=0),
                 "sumsq_Y": float((Y[N] ** 2).sum())}
        names["z"] = evaluate(eq["z"], **names)
        names["OmegaY"] = evaluate(eq["OmegaY"], **names)
        names["r_hat"] = evaluate(eq["r_hat"], **names)
        names["e"] = evaluate(eq["e"], **names)
        assert evaluate(eq["ell"], **names) == pytest.approx(svdpp_loss(factors, Y, one, implicit, reg), rel=1e-12)
        grads = svdpp_gradients(factors, Y, one, implicit, reg)
        for key, block, row in (("dP", "P", u), ("dQ", "Q", i), ("dbu", "bu", u), ("dbi", "bi", i)):
            np.testing.assert_allclose(evaluate(eq[key], **names), grads[block][row], rtol=1e-12, atol=1e-14)
        for j in N:
            np.testing.assert_allclose(evaluate(eq["dY"], **names, y=Y[j]), grads["Y"][j], rtol=1e-12, atol=1e-14)

        P, Q, bu, bi = factors.mutable_copy()
        Y_new = Y.copy()
        k = factors.n_factors
        err = svdpp.svdpp_step(P, Q, bu, bi, Y_new, factors.mu, u, i, r, implicit.indptr, implicit.indices,
                               (lr,) * 5, (reg,) * 5, np.zeros(k), np.zeros(k))
        assert err == pytest.approx(names["e"], rel=1e-12, abs=1e-14)
        for key, array, row in (("P_new", P, u), ("Q_new", Q, i), ("bu_new", bu, u), ("bi_new", bi, i)):
            np.testing.assert_allclose(evaluate(eq[key], **names), array[row], rtol=1e-12, atol=1e-14)
        for j in N:
            np.testing.assert_allclose(evaluate(eq["Y_new"], **names, y=Y[j]), Y_new[j], rtol=1e-12, atol=1e-14)
        others = np.setdiff1d(np.arange(len(Y)), N)
        np.testing.assert_array_equal(Y_new[others], Y[others])  # y_j outside N(u) untouched


def surprise_loop(factors, Y, ratings, n_epochs, lr, reg):
    """Surprise's ``SVDpp.sgd`` loop (scikit-surprise 1.1.5, matrix_factorization.pyx), transcribed literally.

    ``lr``/``reg`` are ``(pu, qi, bu, bi, yj)``; ratings are visited user by user in first-appearance
    order of the users, each user's ratings in stored order, as ``trainset.all_ratings()`` does;
    ``Iu`` is ``trainset.ur[u]``.
    """
    pu, qi, bu, bi, yj = factors.P.copy(), factors.Q.copy(), factors.bu.copy(), factors.bi.copy(), Y.copy()
    lr_pu, lr_qi, lr_bu, lr_bi, lr_yj = lr
    reg_pu, reg_qi, reg_bu, reg_bi, reg_yj = reg
    ur = {}
    for u, i, r in zip(ratings.users.tolist(), ratings.items.tolist(), ratings.values.tolist()):
        ur.setdefault(u, []).append((i, r))
    n_factors = pu.shape[1]
    for _ in range(n_epochs):
        for u, u_ratings in ur.items():
            for i, r in u_ratings:
                Iu = [j for j, _ in u_ratings]
                sqrt_Iu = np.sqrt(len(Iu))
                u_impl_fdb = np.zeros(n_factors)
                for j in Iu:
                    for f in range(n_factors):
                        u_impl_fdb[f] += yj[j, f] / sqrt_Iu
                dot = 0.0
                for f in range(n_factors):
                    dot += qi[i, f] * (pu[u, f] + u_impl_fdb[f])
                err = r - (factors.mu + bu[u] + bi[i] + dot)
                bu[u] += lr_bu * (err - reg_bu * bu[u])
                bi[i] += lr_bi * (err - reg_bi * bi[i])
                for f in range(n_factors):
                    puf = pu[u, f]
                    qif = qi[i, f]
                    pu[u, f] += lr_pu * (err * qif - reg_pu * puf)
                    qi[i, f] += lr_qi * (err * (puf + u_impl_fdb[f]) - reg_qi * qif)
                    err_qif_sqrt = err * qif / sqrt_Iu
                    for j in Iu:
                        yj[j, f] += lr_yj * (err_qif_sqrt - reg_yj * yj[j, f])
    return pu, qi, bu, bi, yj, list(ur)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_per_rating_variant_is_surprises_loop(rng, engine):
    """Oracle: Surprise's loop transcribed in this file; 3 epochs, per-block lr and reg.

    Tolerance 1e-12: the same operations per entry except the association of the prediction's
    sum (Surprise adds mu + b_u + b_i to the finished dot product) and, compiled, fastmath's
    reassociation.
    """
    factors, Y, ratings = problem(rng, n_users=5, n_items=7, n_ratings=20)
    shuffled = ratings.subset(rng.permutation(len(ratings)))  # users first seen in a non-sorted order
    lr, reg = (0.05, 0.04, 0.03, 0.06, 0.02), (0.1, 0.2, 0.05, 0.15, 0.3)
    *expected, user_order = surprise_loop(factors, Y, shuffled, 3, lr, reg)
    F, Yf = factors, Y
    blocks = ("P", "Q", "bu", "bi", "Y")
    for _ in range(3):
        F, Yf = svdpp_epoch(F, Yf, shuffled, variant="per_rating", lr=dict(zip(blocks, lr)),
                            reg=dict(zip(blocks, reg)), user_order=user_order, engine=engine)
    for got, want in zip((F.P, F.Q, F.bu, F.bi, Yf), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_lazy_variant_takes_surprises_steps(rng, engine):
    """Oracle: Surprise's loop transcribed in this file (and the literal per-rating kernels); 3 epochs.

    Tolerance 1e-10: the same steps, with the y updates composed into one affine map per user and
    the implicit sum carried along instead of recomputed, so only the rounding differs.
    """
    factors, Y, ratings = problem(rng, n_users=5, n_items=9, n_ratings=30)
    shuffled = ratings.subset(rng.permutation(len(ratings)))
    lr, reg = (0.05, 0.04, 0.03, 0.06, 0.02), (0.1, 0.2, 0.05, 0.15, 0.3)
    *expected, user_order = surprise_loop(factors, Y, shuffled, 3, lr, reg)
    blocks = ("P", "Q", "bu", "bi", "Y")
    F, Yf = factors, Y
    for _ in range(3):
        F, Yf = svdpp_epoch(F, Yf, shuffled, variant="lazy", lr=dict(zip(blocks, lr)), reg=dict(zip(blocks, reg)),
                            user_order=user_order, engine=engine)
    for got, want in zip((F.P, F.Q, F.bu, F.bi, Yf), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert np.abs(Yf - Y).max() > 1e-3  # Y did move: the comparison is not of untouched arrays


def cached_numpy(factors, Y, ratings, implicit, lr, reg):
    """The cached-sum variant in numpy, from its docstring: y fixed during each user, one y step per user."""
    P, Q, bu, bi = (a.copy() for a in factors.mutable_copy())
    Y = Y.copy()
    for u in range(factors.n_users):
        N = implicit.indices[implicit.indptr[u]:implicit.indptr[u + 1]]
        rows = np.flatnonzero(ratings.users == u)
        if len(rows) == 0:
            continue
        eta = 1.0 / np.sqrt(len(N))
        s = eta * Y[N].sum(axis=0)
        g = np.zeros(factors.n_factors)
        for t in rows:
            i, r = ratings.items[t], ratings.values[t]
            e = r - (factors.mu + bu[u] + bi[i] + Q[i] @ (P[u] + s))
            g += eta * e * Q[i]
            bu[u], bi[i] = bu[u] + lr * (e - reg * bu[u]), bi[i] + lr * (e - reg * bi[i])
            P[u], Q[i] = P[u] + lr * (e * Q[i] - reg * P[u]), Q[i] + lr * (e * (P[u] + s) - reg * Q[i])
        Y[N] += lr * (g - len(rows) * reg * Y[N])
    return P, Q, bu, bi, Y


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_cached_variant_matches_its_derivation(rng, engine):
    """Oracle: the cached variant written in numpy in this file from the docstring. Tolerance 1e-12 (rounding)."""
    factors, Y, ratings = problem(rng)
    implicit = Implicit.from_ratings(ratings)
    F, Yf = svdpp_epoch(factors, Y, ratings, implicit, variant="cached", lr=0.05, reg=0.1, engine=engine)
    for got, want in zip((F.P, F.Q, F.bu, F.bi, Yf), cached_numpy(factors, Y, ratings, implicit, 0.05, 0.1)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_variants_agree_where_the_derivation_says(rng):
    """Oracle: the derivation. With one rating per user, or with lr_Y = 0, the two schemes take the same steps.

    Bit for bit in both cases: the same operations in the same order (n * reg with n = 1 is exact).
    """
    factors, Y, ratings = problem(rng, n_users=4, n_items=6, n_ratings=4)  # one rating per user
    assert np.all(np.bincount(ratings.users) == 1)
    a = svdpp_epoch(factors, Y, ratings, variant="per_rating", lr=0.1, reg=0.1)
    b = svdpp_epoch(factors, Y, ratings, variant="cached", lr=0.1, reg=0.1)
    for x, y in zip((*a[0].params().values(), a[1]), (*b[0].params().values(), b[1])):
        np.testing.assert_array_equal(x, y)
    factors, Y, ratings = problem(rng)
    lr = {"P": 0.1, "Q": 0.1, "bu": 0.1, "bi": 0.1, "Y": 0.0}
    a = svdpp_epoch(factors, Y, ratings, variant="per_rating", lr=lr, reg=0.1)
    b = svdpp_epoch(factors, Y, ratings, variant="cached", lr=lr, reg=0.1)
    for x, y in zip((*a[0].params().values(), a[1]), (*b[0].params().values(), b[1])):
        np.testing.assert_array_equal(x, y)
    # and with several ratings per user and lr_Y > 0 they do differ (the test above can fail)
    a = svdpp_epoch(factors, Y, ratings, variant="per_rating", lr=0.1, reg=0.1)
    b = svdpp_epoch(factors, Y, ratings, variant="cached", lr=0.1, reg=0.1)
    assert np.abs(a[1] - b[1]).max() > 1e-6


@pytest.mark.parametrize("variant", ["per_rating", "lazy", "cached"])
def test_engines_agree(rng, variant):
    """Oracle: the Python engine (the same source, uncompiled). 5 epochs; 1e-12 (fastmath reassociation only)."""
    factors, Y, ratings = problem(rng, n_users=6, n_items=8, k=5, n_ratings=30)
    a, b = (factors, Y), (factors, Y)
    for _ in range(5):
        a = svdpp_epoch(*a, ratings, variant=variant, lr=0.03, reg=0.05, engine="python")
        b = svdpp_epoch(*b, ratings, variant=variant, lr=0.03, reg=0.05, engine="compiled")
    for x, y in zip((*a[0].params().values(), a[1]), (*b[0].params().values(), b[1])):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def test_bad_inputs_are_named():
    """Wrong Y shape, unknown block, bad variant: a ValueError saying what (oracle: the messages)."""
    F = Factors(np.ones((2, 2)), np.ones((3, 2)), np.zeros(2), np.zeros(3), 3.0)
    R = Ratings([0, 1], [0, 2], [4.0, 3.0], 2, 3)
    with pytest.raises(ValueError, match="shape of Q"):
        svdpp_epoch(F, np.ones((2, 2)), R)
    with pytest.raises(ValueError, match="blocks"):
        svdpp_epoch(F, np.ones((3, 2)), R, lr={"P": 0.1})
    with pytest.raises(ValueError, match="variant"):
        svdpp_epoch(F, np.ones((3, 2)), R, variant="fast")
