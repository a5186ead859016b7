r"""ALS half-steps (:mod:`funksvd.als`): the closed form is the minimiser, the loss never rises, the code is
its formula.

Oracles, named per test: the docstring's own equations evaluated in numpy; the hand gradient
of the stated loss (:meth:`funksvd.Objective.gradients`), itself checked here against finite
differences and TensorFlow's tape at the half-step's result; a literal normal-equations solve
written in this file (a per-user loop over the rating triples, building :math:`A^\top A` and
:math:`A^\top y` entry by entry); the definition of a minimiser (the loss cannot go up).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from funksvd import RULES, Factors, Ratings
from funksvd.als import Layout, als_objective, als_sweep, half_step, solve_rows, solve_side
from funksvd.base.errors import InputError
from funksvd.check import check_gradients
from funksvd.maths.objectives import Objective
from tests.helpers import random_problem
from tests.latex import math_blocks
from tests.strategies import degenerate_examples, problems, regs

ENGINES = ("python", "compiled")


def per_block_reg(rng) -> dict[str, float]:
    """Distinct lambdas per block, bounded away from 0."""
    return dict(zip(("P", "Q", "bu", "bi"), rng.uniform(0.05, 0.8, 4)))


def after_half_step(factors: Factors, ratings: Ratings, reg, weighted: bool, side: str, engine="python") -> Factors:
    arrays = factors.mutable_copy()
    half_step(side, arrays, factors.mu, Layout.of(ratings), als_objective(weighted), reg, engine)
    return Factors.from_arrays(*arrays, factors.mu)


# ---- the docstring is the code -------------------------------------------------------------------

def _matrix_latex(rhs: str) -> str:
    r"""The matrix notation of :func:`solve_rows`' docstring as numpy: ``A^\top`` -> ``A.T``, ``\,`` -> ``@``
    (a product of matrices; after the scalar :math:`\frac12` it is ``*``), ..."""
    text = rhs.replace(r"\frac{1}{2}\,", "0.5 * ").replace(r"\Lambda^{-1}", "Lam_inv").replace(r"\Lambda", "Lam")
    text = re.sub(r"\\lVert\s*(.+?)\s*\\rVert\^2", r"sq(\1)", text)
    text = re.sub(r"\((.+)\)\^\{-1\}", r"inv(\1)", text)
    text = text.replace(r"^\top", ".T").replace(r"\,", " @ ")
    if "\\" in text or "{" in text:
        raise ValueError(f"cannot read {rhs!r} (left with {text!r})")
    return text


def docstring_equations() -> dict[str, str]:
    """``{"L_u", "grad", "x", "x_dual"}``: the four matrix equations of :func:`solve_rows`' Notes, as numpy
    (the second line ``x = ...`` is the dual form)."""
    keys = {"L_u": "L_u", r"\nabla L_u": "grad", "x": "x"}
    out = {}
    for line in math_blocks(solve_rows.__doc__):
        lhs, _, rhs = line.partition(" = ")
        if lhs.strip() in keys:
            key = keys[lhs.strip()]
            out["x_dual" if key in out else key] = _matrix_latex(rhs)
    return out


def test_docstring_states_the_four_equations():
    """The Notes state the user's loss, its gradient and its zero in the primal and the dual form (oracle: the
    four keys)."""
    assert set(docstring_equations()) == {"L_u", "grad", "x", "x_dual"}


def user_system(factors: Factors, ratings: Ratings, reg: dict, omega: np.ndarray, u: int):
    r"""User ``u``'s :math:`A, y, \Lambda` as :func:`solve_rows`' Notes define them."""
    rated = np.flatnonzero(ratings.users == u)
    A = factors.Q[ratings.items[rated]]
    y = ratings.values[rated] - factors.mu
    diagonal = [reg["P"]] * factors.n_factors
    if factors.biased:
        A = np.column_stack([A, np.ones(len(rated))])
        y = y - factors.bi[ratings.items[rated]]
        diagonal.append(reg["bu"])
    return A, y, omega[u] * np.diag(diagonal)


def user_x(factors: Factors, u: int) -> np.ndarray:
    return np.append(factors.P[u], factors.bu[u]) if factors.biased else factors.P[u]


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("biased", [True, False])
def test_docstring_equations_match_code(rng, weighted, biased):
    r"""Oracle: :func:`solve_rows`' docstring, evaluated with :math:`A, y, \Lambda` built as it defines them.

    At random factors and a random :math:`x_u`: (1) the code's loss equals :math:`\sum_u L_u`
    plus the item penalty, the split the Notes state; (2) the stated :math:`\nabla L_u` equals
    the hand gradient rows :math:`\partial L/\partial p_u, \partial L/\partial b_u`; (3) the
    stated :math:`x` equals what :func:`solve_side` writes. Tolerance 1e-11 relative: the same
    float64 sums in another order (1) and (2), Cholesky against LU solves of a well-conditioned system (3).
    """
    eq = docstring_equations()
    env = {"sq": lambda v: float(v @ v), "inv": np.linalg.inv}
    objective = als_objective(weighted)
    for _ in range(3):
        factors, ratings = random_problem(rng, n_users=4, n_items=6, k=3, n_ratings=18, biased=biased)
        reg = per_block_reg(rng)
        n_u = np.bincount(ratings.users, minlength=ratings.n_users)
        n_i = np.bincount(ratings.items, minlength=ratings.n_items)
        om_u = n_u if weighted else np.ones(ratings.n_users)
        om_i = n_i if weighted else np.ones(ratings.n_items)

        total = 0.0
        for u in range(ratings.n_users):
            A, y, Lam = user_system(factors, ratings, reg, om_u, u)
            total += eval(eq["L_u"], env, {"A": A, "y": y, "Lam": Lam, "x": user_x(factors, u)})
        item_penalty = reg["Q"] * (factors.Q ** 2).sum(1) + (reg["bi"] * factors.bi ** 2 if biased else 0.0)
        total += 0.5 * float(om_i @ item_penalty)
        assert total == pytest.approx(objective.loss(factors, ratings, reg), rel=1e-11)

        hand = objective.gradients(factors, ratings, reg)
        P, bu = np.empty_like(factors.P), np.empty(ratings.n_users if biased else 0)
        solve_side(objective, reg, "users", factors.Q, factors.bi if biased else np.zeros(0), factors.mu,
                   *Layout.of(ratings).by_user, P, bu)
        for u in np.flatnonzero(n_u):
            A, y, Lam = user_system(factors, ratings, reg, om_u, u)
            grad = eval(eq["grad"], env, {"A": A, "y": y, "Lam": Lam, "x": user_x(factors, u)})
            expected = np.append(hand["P"][u], hand["bu"][u]) if biased else hand["P"][u]
            np.testing.assert_allclose(grad, expected, rtol=1e-11, atol=1e-12)
            solved = np.append(P[u], bu[u]) if biased else P[u]
            x = eval(eq["x"], env, {"A": A, "y": y, "Lam": Lam})
            np.testing.assert_allclose(x, solved, rtol=1e-11, atol=1e-13)
            dual = {"A": A, "y": y, "Lam_inv": np.linalg.inv(Lam), "I": np.eye(len(y))}
            np.testing.assert_allclose(eval(eq["x_dual"], env, dual), solved, rtol=1e-11, atol=1e-13)


def test_weighted_loss_is_the_funk_rules_loss():
    """Weighted-lambda ALS minimises the summed per-rating loss of ``"funk"`` (oracle: RULES["funk"].objective)."""
    funk = RULES["funk"].objective
    assert als_objective(True) == funk.with_name("als_weighted")
    assert als_objective(False) == funk.replace(penalty="frobenius", name="als")


# ---- after a half-step the gradient of its side is 0 ---------------------------------------------

@pytest.mark.parametrize("side", ["users", "items"])
@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("engine", ENGINES)
def test_gradient_is_zero_after_half_step(rng, side, weighted, biased, engine):
    r"""After a user (item) half-step :math:`\partial L/\partial P` and :math:`\partial L/\partial b_u` vanish.

    Oracles: the hand gradient of the stated loss, and -- so that "the hand gradient is 0" is
    no artefact of a wrong hand gradient -- :func:`funksvd.check.check_gradients` at the same
    point, which compares it entry by entry with central finite differences and TensorFlow's
    tape (skipped with a reason if TensorFlow is absent; then finite differences alone must
    pass). Tolerance for the zero: 1e-10 times the size of the gradient at the start, i.e. the
    solve's rounding (condition number ~10 here, times eps, times the terms' size).
    """
    objective = als_objective(weighted)
    factors, ratings = random_problem(rng, n_users=5, n_items=6, k=3, n_ratings=22, biased=biased)
    reg = per_block_reg(rng)
    solved = after_half_step(factors, ratings, reg, weighted, side, engine)
    blocks = ("P", "bu") if side == "users" else ("Q", "bi")
    start = objective.gradients(factors, ratings, reg)
    grads = objective.gradients(solved, ratings, reg)
    for block in blocks[:2 if biased else 1]:
        scale = np.abs(start[block]).max()
        np.testing.assert_allclose(grads[block], 0.0, atol=1e-10 * scale, err_msg=block)
    report = check_gradients(objective, solved, ratings, reg=reg)
    assert report.ok or (set(report.skipped) == {"tensorflow"} and all(
        row.ok for row in report.rows if row.oracle == "finite_differences")), str(report)


def test_gradient_is_zero_by_the_tape_directly(rng):
    """Oracle: TensorFlow's tape alone (no funksvd gradient code), on the solved side: every entry below 1e-10."""
    autodiff = pytest.importorskip("funksvd.autodiff")
    factors, ratings = random_problem(rng, n_users=5, n_items=6, k=3, n_ratings=22)
    reg = per_block_reg(rng)
    for side, blocks in (("users", ("P", "bu")), ("items", ("Q", "bi"))):
        solved = after_half_step(factors, ratings, reg, True, side)
        tape = autodiff.gradients(solved, ratings, als_objective(True), reg)
        for block in blocks:
            np.testing.assert_allclose(tape[block], 0.0, atol=1e-10, err_msg=f"{side} {block}")


# ---- the loss never increases ---------------------------------------------------------------------

@given(problem=problems(), reg=regs, weighted=st.booleans())
@example(problem=degenerate_examples()[0], reg={"P": 0.1, "Q": 0.1, "bu": 0.0, "bi": 0.0}, weighted=True)
@example(problem=degenerate_examples()[2], reg=0.05, weighted=False)
def test_loss_never_increases(problem, reg, weighted):
    r"""Property: the loss after each half-step is at most the loss before it, over 3 sweeps.

    Oracle: each half-step is the exact minimiser over its side (the other fixed), so the loss
    cannot rise; the current point is a candidate. Tolerance: 1e-12 relative plus 1e-12 (rounding
    of a sum of a few dozen terms). Generic draws (:mod:`tests.strategies`): per-block lambda,
    repeated pairs, users and items without ratings; pinned: one rating with unpenalised biases,
    constant ratings and factors.
    """
    factors, ratings = problem
    objective = als_objective(weighted)
    arrays = factors.mutable_copy()
    layout = Layout.of(ratings)
    before = objective.loss(factors, ratings, reg)
    for _ in range(3):
        for side in ("users", "items"):
            half_step(side, arrays, factors.mu, layout, objective, reg, "python")
            after = objective.loss(Factors.from_arrays(*arrays, factors.mu), ratings, reg)
            assert after <= before * (1 + 1e-12) + 1e-12, (side, before, after)
            before = after


# ---- one sweep = a literal normal-equations solve --------------------------------------------------

def literal_sweep(factors: Factors, ratings: Ratings, reg: dict, weighted: bool, exponent: float = 1.0) -> Factors:
    """ALS written out: for each user, then each item, build A^T A + Lambda and A^T y from the triples, solve.

    Independent of :mod:`funksvd.als`: no CSR, no numpy product for the Gram matrix (a loop over the
    user's ratings adding the outer product of each augmented row), the ridge from the stated loss.
    """
    k, biased = factors.n_factors, factors.biased
    P, Q = factors.P.copy(), factors.Q.copy()
    bu = factors.bu.copy() if biased else None
    bi = factors.bi.copy() if biased else None
    triples = list(zip(ratings.users.tolist(), ratings.items.tolist(), ratings.values.tolist()))
    for side in ("users", "items"):
        n_rows = ratings.n_users if side == "users" else ratings.n_items
        for row in range(n_rows):
            mine = [(u, i, r) for u, i, r in triples if (u if side == "users" else i) == row]
            m = k + 1 if biased else k
            lhs, rhs = np.zeros((m, m)), np.zeros(m)
            for u, i, r in mine:
                other = Q[i] if side == "users" else P[u]
                a = list(other) + ([1.0] if biased else [])
                target = r - factors.mu - ((bi[i] if side == "users" else bu[u]) if biased else 0.0)
                for f in range(m):
                    rhs[f] += a[f] * target
                    for g in range(m):
                        lhs[f, g] += a[f] * a[g]
            omega = len(mine) ** exponent if weighted else 1.0
            lam_x, lam_b = (reg["P"], reg["bu"]) if side == "users" else (reg["Q"], reg["bi"])
            for f in range(k):
                lhs[f, f] += omega * lam_x
            if biased:
                lhs[k, k] += omega * lam_b
            x = np.linalg.solve(lhs, rhs) if mine else np.zeros(m)
            if side == "users":
                P[row] = x[:k]
                if biased:
                    bu[row] = x[k]
            else:
                Q[row] = x[:k]
                if biased:
                    bi[row] = x[k]
    return Factors(P, Q, bu, bi, factors.mu)


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("engine", ENGINES)
def test_one_sweep_equals_literal_solve(rng, weighted, biased, engine):
    """Oracle: :func:`literal_sweep` (this file). Tolerance 1e-10 relative: the same system, summed and
    factorised in another order (condition numbers below 1e3 here)."""
    for _ in range(3):
        factors, ratings = random_problem(rng, n_users=6, n_items=7, k=3, n_ratings=30, biased=biased)
        reg = per_block_reg(rng)
        ours = als_sweep(factors, ratings, reg, weighted=weighted, engine=engine)
        theirs = literal_sweep(factors, ratings, reg, weighted)
        for block in factors.blocks:
            np.testing.assert_allclose(ours.params()[block], theirs.params()[block], rtol=1e-10, atol=1e-12,
                                       err_msg=block)


def alpha_loss(factors: Factors, ratings: Ratings, reg: dict, exponent: float) -> float:
    r"""The loss with weights :math:`\omega_u = n_u^\alpha`, written out: half the squared errors plus
    :math:`\frac12 \sum_u n_u^\alpha (\lambda_P \lVert p_u\rVert^2 + \lambda_{b_u} b_u^2)` and the items' alike."""
    e = ratings.values - factors.predict(ratings.users, ratings.items)
    n_u = np.bincount(ratings.users, minlength=ratings.n_users) ** exponent
    n_i = np.bincount(ratings.items, minlength=ratings.n_items) ** exponent
    total = 0.5 * float(e @ e) + 0.5 * float(n_u @ (reg["P"] * (factors.P ** 2).sum(1)))
    total += 0.5 * float(n_i @ (reg["Q"] * (factors.Q ** 2).sum(1)))
    if factors.biased:
        total += 0.5 * float(n_u @ (reg["bu"] * factors.bu ** 2) + n_i @ (reg["bi"] * factors.bi ** 2))
    return total


@pytest.mark.parametrize("exponent", [0.5, 1.7])
@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("engine", ENGINES)
def test_weight_exponent_sweep_equals_literal_solve(rng, exponent, biased, engine):
    """Frequency-scaled weights omega_u = n_u^alpha. Oracles: :func:`literal_sweep` with those weights (1e-10
    relative, as above), on the few-and-many problem so that both the dual and the primal form run; and
    the zero of the gradient of :func:`alpha_loss` (this file), by central differences with h = 1 (exact for a
    loss quadratic in each coordinate, up to rounding: 1e-9 absolute on losses of order 10), in every
    coordinate the user half-step solved. alpha = 0 is the unweighted sweep, bit for bit."""
    reg = per_block_reg(rng)
    factors, ratings = few_and_many(rng, 4, biased)
    ours = als_sweep(factors, ratings, reg, engine=engine, weight_exponent=exponent)
    theirs = literal_sweep(factors, ratings, reg, True, exponent)
    for block in factors.blocks:
        np.testing.assert_allclose(ours.params()[block], theirs.params()[block], rtol=1e-10, atol=1e-12,
                                   err_msg=block)
    arrays = factors.mutable_copy()
    half_step("users", arrays, factors.mu, Layout.of(ratings), als_objective(True), reg, engine,
              weight_exponent=exponent)
    solved = Factors.from_arrays(*arrays, factors.mu)
    for block in ("P", "bu") if biased else ("P",):
        theta = solved.params()[block]
        for index in np.ndindex(theta.shape):
            moved = []
            for h in (1.0, -1.0):
                value = theta.copy()
                value[index] += h
                moved.append(alpha_loss(solved.replace(**{block: value}), ratings, reg, exponent))
            assert abs(moved[0] - moved[1]) / 2 < 1e-9, (block, index)
    unweighted = als_sweep(factors, ratings, reg, weighted=False, engine=engine)
    assert als_sweep(factors, ratings, reg, engine=engine, weight_exponent=0.0).equals(unweighted)


def test_weight_exponent_needs_the_per_rating_penalty(rng):
    """Oracle: the documented InputError: the whole-matrix penalty has no counts to raise to a power."""
    factors, ratings = random_problem(rng, n_users=4, n_items=5, k=2, n_ratings=12)
    with pytest.raises(InputError, match="weight_exponent=0.5 scales the per-rating penalty"):
        als_sweep(factors, ratings, 0.1, weighted=False, weight_exponent=0.5)


def few_and_many(rng, k: int, biased: bool = True) -> tuple[Factors, Ratings]:
    """Users 0-2 rate 1, 2 and 3 items (fewer than the k + 1 unknowns: the dual form), users 3-5 rate 12 each
    (the primal form); items likewise, some rated once, some by every user."""
    users = np.concatenate([np.repeat([0, 1, 2], [1, 2, 3]), np.repeat([3, 4, 5], 12)])
    items = np.concatenate([[0, 1, 2, 1, 2, 3], np.tile(np.arange(12), 3)])
    items[items > 3] = items[items > 3] % 4 + 4  # items 4-7: rated by users 3-5 three times each (repeats)
    ratings = Ratings(users, items, rng.uniform(1, 5, len(users)), 6, 8)
    factors, _ = random_problem(rng, n_users=6, n_items=8, k=k, n_ratings=1, biased=biased)
    return factors, ratings


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("engine", ENGINES)
def test_dual_and_primal_rows_equal_literal_solve(rng, weighted, biased, engine):
    """Rows with fewer ratings than unknowns take the dual form, the others the primal one; both are the minimiser
    (oracle: :func:`literal_sweep`, which always solves the primal system). With lambda_b = 0 the dual form does
    not exist (Lambda singular) and every row takes the primal one. Tolerance as above (condition numbers < 1e4)."""
    counts = np.bincount(few_and_many(rng, 4)[1].users)
    assert (counts < 5).any() and (counts >= 5).any()  # both forms are exercised at k = 4
    for reg in (per_block_reg(rng), dict(per_block_reg(rng), bu=0.0, bi=0.0)):
        factors, ratings = few_and_many(rng, 4, biased)
        ours = als_sweep(factors, ratings, reg, weighted=weighted, engine=engine)
        theirs = literal_sweep(factors, ratings, reg, weighted)
        for block in factors.blocks:
            np.testing.assert_allclose(ours.params()[block], theirs.params()[block], rtol=1e-10, atol=1e-12,
                                       err_msg=f"{block}, reg={reg}")


def test_sweep_equals_ridge_least_squares(rng):
    r"""Oracle: numpy's ``lstsq`` (an SVD, not normal equations) on the stacked system
    :math:`[A; \Lambda^{1/2}]\,x \approx [y; 0]`, whose least-squares solution is the ridge minimiser.
    Tolerance 1e-9 relative (normal equations square the condition number)."""
    factors, ratings = random_problem(rng, n_users=5, n_items=6, k=3, n_ratings=24)
    reg = per_block_reg(rng)
    solved = after_half_step(factors, ratings, reg, True, "users")
    for u in range(ratings.n_users):
        rated = np.flatnonzero(ratings.users == u)
        if not len(rated):
            continue
        A = np.column_stack([factors.Q[ratings.items[rated]], np.ones(len(rated))])
        y = ratings.values[rated] - factors.mu - factors.bi[ratings.items[rated]]
        root = np.sqrt(len(rated) * np.array([reg["P"]] * 3 + [reg["bu"]]))
        x = np.linalg.lstsq(np.vstack([A, np.diag(root)]), np.concatenate([y, np.zeros(4)]), rcond=None)[0]
        np.testing.assert_allclose(np.append(solved.P[u], solved.bu[u]), x, rtol=1e-9, atol=1e-12)


def test_engines_and_threads_agree(rng):
    """The compiled kernel is the Python one (oracle: the Python engine, 1e-12: BLAS on both, numba's
    own copies); ``n_jobs`` does not change a bit (oracle: ``n_jobs=1``: each row's solve reads only
    the fixed side)."""
    factors, ratings = random_problem(rng, n_users=40, n_items=30, k=4, n_ratings=400)
    reg = per_block_reg(rng)
    python = als_sweep(factors, ratings, reg, engine="python")
    compiled = als_sweep(factors, ratings, reg, engine="compiled")
    for block in factors.blocks:
        np.testing.assert_allclose(compiled.params()[block], python.params()[block], rtol=1e-12, atol=1e-14)
    for engine in ENGINES:
        one = als_sweep(factors, ratings, reg, engine=engine)
        for n_jobs in (2, 3, 7):
            assert als_sweep(factors, ratings, reg, engine=engine, n_jobs=n_jobs).equals(one), (engine, n_jobs)


def test_float32_factors(rng):
    """float32 factors are solved in float64 and stored as float32 (oracle: the float64 sweep, rounded)."""
    factors, ratings = random_problem(rng, n_users=5, n_items=6, k=3, n_ratings=24)
    reg = per_block_reg(rng)
    single = factors.replace(**{b: v.astype(np.float32) for b, v in factors.params().items()})
    for engine in ENGINES:
        ours = als_sweep(single, ratings, reg, engine=engine)
        assert ours.dtype == np.float32
        reference = als_sweep(factors.replace(Q=single.Q.astype(np.float64), bi=single.bi.astype(np.float64)),
                              ratings, reg, engine="python")
        np.testing.assert_allclose(ours.P, reference.P, rtol=1e-5, atol=1e-6)  # float32: half an ulp of ~1


def test_rows_without_ratings_are_zero(rng):
    """A user or item without ratings is set to 0 (oracle: the docstring's rule; its penalty's minimiser)."""
    factors, ratings = random_problem(rng, n_users=4, n_items=5, k=2, n_ratings=10)
    ratings = Ratings(ratings.users, ratings.items, ratings.values, 6, 7)
    factors = Factors.random(6, 7, 2, mu=3.0, random_state=0).replace(bu=np.ones(6), bi=np.ones(7))
    solved = als_sweep(factors, ratings, 0.1)
    for rows, P, b in ((np.bincount(ratings.users, minlength=6) == 0, solved.P, solved.bu),
                       (np.bincount(ratings.items, minlength=7) == 0, solved.Q, solved.bi)):
        assert rows.any()
        assert not P[rows].any() and not b[rows].any()


# ---- bad input --------------------------------------------------------------------------------------

def test_singular_system_raises():
    """lambda_P = 0 with one rating and two factors: the user's system is singular (oracle: InputError)."""
    factors = Factors([[0.3, 0.1]], [[0.5, -0.2]], mu=0.0)
    ratings = Ratings([0], [0], [4.0], 1, 1)
    with pytest.raises(InputError, match="singular"):
        als_sweep(factors, ratings, 0.0, weighted=False, engine="python")


@pytest.mark.parametrize("objective", [
    Objective(data="absolute"), Objective(penalty="l1"), Objective(reduction="mean"), Objective(link="sigmoid"),
    Objective(learn_mu=True), Objective(entries="dense")])
def test_objective_without_closed_form_is_refused(objective):
    """Only squared, summed, observed, identity-link, quadratic-penalty losses have the closed form.

    Oracle: InputError."""
    with pytest.raises(InputError, match="no closed-form half-step"):
        solve_side(objective, 0.1, "users", np.zeros((1, 1)), np.zeros(0), 0.0, np.array([0, 1]), np.array([0]),
                   np.array([1.0]), np.zeros((1, 1)), np.zeros(0))


def test_shape_mismatch_is_refused(rng):
    factors, ratings = random_problem(rng)
    with pytest.raises(ValueError, match="users x"):
        als_sweep(factors, Ratings(ratings.users, ratings.items, ratings.values, 9, 9), 0.1)


def test_the_on_disk_cache_is_safe_in_a_new_process(tmp_path):
    """The compiled kernel calls BLAS and LAPACK by symbol name, so numba's cached machine code stays valid in a
    new process, where scipy's libraries load at other addresses (oracle: this process's Python engine on the
    same problem; the second process loads the first one's cache, and must neither crash nor differ)."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "from funksvd import Factors, Ratings\nfrom funksvd.als import als_sweep\n"
            "rng = np.random.default_rng(5)\n"
            "r = Ratings(rng.integers(0, 30, 400), rng.integers(0, 20, 400), rng.uniform(1, 5, 400), 30, 20)\n"
            "f = Factors.random(30, 20, 8, mu=3.0, random_state=0)\n"
            "out = als_sweep(f, r, 0.1, engine='{engine}')\n"
            "print(repr(float(out.P.sum() + out.Q.sum() + out.bu.sum() + out.bi.sum())))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    sums = [subprocess.run([sys.executable, "-c", code.format(engine=engine)], capture_output=True, text=True,
                           env=env, timeout=300, check=True).stdout.strip() for engine in ("compiled", "compiled")]
    assert any(tmp_path.rglob("*.nbi")), "the first process cached nothing"
    python = subprocess.run([sys.executable, "-c", code.format(engine="python")], capture_output=True, text=True,
                            env=env, timeout=300, check=True).stdout.strip()
    assert sums[0] == sums[1]  # the cached code gives the same bits
    assert float(sums[1]) == pytest.approx(float(python), rel=1e-12)  # and the Python engine's values
