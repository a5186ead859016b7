r"""The formulas of the derivations chapter (``docs/derivations/*.rst``), checked one by one.

Each page derives its result by hand; these tests re-derive it independently -- with sympy
(exact symbolic differentiation and simplification: oracle independent of the numpy code) or
numerically against funksvd's own code where the page states a property of that code. A page
whose formula drifts from what is checked here is wrong. Tolerances are named per test.
"""

from __future__ import annotations

import numpy as np
import pytest

import funksvd
from funksvd import Factors, Objective, Ratings
from funksvd.fullbatch.optimizers import Adam

sp = pytest.importorskip("sympy")


def symbols_matrix(name: str, rows: int, cols: int):
    return sp.Matrix(rows, cols, lambda a, b: sp.Symbol(f"{name}{a}{b}"))


# ---- masked_matrix ---------------------------------------------------------------------------


def test_masked_squared_loss_gradient_is_minus_two_M_E_Q():
    r"""Oracle: sympy differentiates :math:`\sum M_{ui} E_{ui}^2` entry by entry (3 x 4, k = 2).

    Checks :math:`-2(M\circ E)Q`, :math:`-2(M\circ E)^\top P`, the 1/2 convention and the
    per-rating penalty's :math:`\lambda N_u P`. Exact (simplify to zero).
    """
    n, m, k = 3, 4, 2
    P, Q, R = symbols_matrix("p", n, k), symbols_matrix("q", m, k), symbols_matrix("r", n, m)
    mask = sp.Matrix([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]])
    E = R - P * Q.T
    L = sum(mask[a, b] * E[a, b] ** 2 for a in range(n) for b in range(m))
    ME = sp.Matrix(n, m, lambda a, b: mask[a, b] * E[a, b])
    dP = sp.Matrix(n, k, lambda a, b: sp.diff(L, P[a, b]))
    dQ = sp.Matrix(m, k, lambda a, b: sp.diff(L, Q[a, b]))
    assert sp.simplify(dP + 2 * ME * Q) == sp.zeros(n, k)
    assert sp.simplify(dQ + 2 * ME.T * P) == sp.zeros(m, k)
    half = sp.Matrix(n, k, lambda a, b: sp.diff(L / 2, P[a, b]))
    assert sp.simplify(half + ME * Q) == sp.zeros(n, k)
    lam = sp.Symbol("lam")
    penalty = lam / 2 * sum(mask[a, b] * sum(P[a, f] ** 2 for f in range(k)) for a in range(n) for b in range(m))
    N_u = sp.diag(*[sum(mask[a, b] for b in range(m)) for a in range(n)])
    assert sp.simplify(sp.Matrix(n, k, lambda a, b: sp.diff(penalty, P[a, b])) - lam * N_u * P) == sp.zeros(n, k)


# ---- sum_vs_mean -----------------------------------------------------------------------------


def test_curvature_along_a_factor_and_the_stable_step():
    r"""Oracle: sympy. :math:`\partial^2 L/\partial p^2 = 2c\sum q^2 + 2w\lambda n_u`; a step on
    :math:`\tfrac a2 x^2` multiplies :math:`x` by :math:`1 - \gamma a`."""
    p, q1, q2, r1, r2, c, w, lam = sp.symbols("p q1 q2 r1 r2 c w lam")
    L = c * ((r1 - p * q1) ** 2 + (r2 - p * q2) ** 2) + w * lam * 2 * p**2  # n_u = 2 ratings
    assert sp.simplify(sp.diff(L, p, 2) - (2 * c * (q1**2 + q2**2) + 2 * w * lam * 2)) == 0
    x, gamma, a = sp.symbols("x gamma a", positive=True)
    assert sp.expand(x - gamma * sp.diff(a / 2 * x**2, x)) == sp.expand((1 - gamma * a) * x)


def test_mean_reduction_divides_the_gradient_by_N(rng):
    """Oracle: funksvd's sum-reduced gradient divided by N (per-rating penalty), and for the
    whole-matrix penalty the sum with N lambda, divided by N. Tolerance 1e-12 relative."""
    users, items = rng.integers(0, 5, 40), rng.integers(0, 6, 40)
    ratings = Ratings(users, items, rng.uniform(1, 5, 40), 5, 6)
    factors = Factors(rng.normal(0, .5, (5, 2)), rng.normal(0, .5, (6, 2)), rng.normal(0, .3, 5),
                      rng.normal(0, .3, 6), mu=3.0)
    N = len(ratings.values)
    total = Objective(reduction="sum").gradients(factors, ratings, 0.1)
    mean = Objective(reduction="mean").gradients(factors, ratings, 0.1)
    frob_sum = Objective(reduction="sum", penalty="frobenius").gradients(factors, ratings, 0.1 * N)
    frob_mean = Objective(reduction="mean", penalty="frobenius").gradients(factors, ratings, 0.1)
    for block in total:
        np.testing.assert_allclose(mean[block], total[block] / N, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(frob_mean[block], frob_sum[block] / N, rtol=1e-12, atol=1e-15)


def test_adam_without_epsilon_ignores_the_scale_of_the_gradient(rng):
    """Oracle: the same Adam step from gradients 1e5 times smaller (epsilon 0). Tolerance 1e-12."""
    g = rng.normal(size=3)
    thetas = []
    for scale in (1.0, 1e-5):
        theta, adam = np.ones(3), Adam(0.01, epsilon=0.0)
        adam.update(theta, g * scale, 0.01, adam.slots(theta))
        thetas.append(theta)
    np.testing.assert_allclose(thetas[0], thetas[1], rtol=1e-12)


# ---- l1, sigmoid, map --------------------------------------------------------------------------


def test_central_difference_across_a_kink_reports_t_minus_t0_over_h():
    r"""Oracle: sympy. :math:`f(t) = |t - t_0|` with :math:`0 < t - t_0 < h`: the difference is
    :math:`(t - t_0)/h`; centred on the kink it is 0."""
    d, h = sp.symbols("d h", positive=True)  # d = t - t0 < h
    f = sp.Abs
    D = (f(d + h) - f(d - h)) / (2 * h)
    assert sp.simplify(D.subs(sp.Abs(d - h), h - d) - d / h) == 0
    assert (f(h) - f(-h)) / (2 * h) == 0


def test_sigmoid_link_derivatives():
    r"""Oracle: sympy. :math:`\sigma' = \sigma(1-\sigma)`, :math:`h'(0) = (r_{\max}-r_{\min})/4`,
    the tanh form, :math:`\partial(r-h)^2/\partial z = -2eh'`, and 1% of the peak at :math:`|z| = 6`."""
    z, lo, hi, r = sp.symbols("z lo hi r")
    s = 1 / (1 + sp.exp(-z))
    h = lo + (hi - lo) * s
    assert sp.simplify(sp.diff(h, z) - (hi - lo) * s * (1 - s)) == 0
    assert sp.simplify(sp.diff(h, z).subs(z, 0) - (hi - lo) / 4) == 0
    assert sp.simplify((sp.Rational(1, 2) * (1 + sp.tanh(z / 2))).rewrite(sp.exp) - s) == 0
    assert sp.simplify(sp.diff((r - h) ** 2, z) + 2 * (r - h) * sp.diff(h, z)) == 0
    assert float((s * (1 - s)).subs(z, 6) / (s * (1 - s)).subs(z, 0)) == pytest.approx(0.00987, abs=1e-4)


def test_map_gives_lambda_as_a_variance_ratio():
    r"""Oracle: sympy. :math:`\sigma^2` times the negative log-posterior of Gaussian noise and
    prior has gradients :math:`e` and :math:`(\sigma^2/\sigma_P^2)\theta`; a Laplace prior gives
    :math:`\sigma^2/b`."""
    e, th, s2, sP2, b = sp.symbols("e theta sigma2 sigmaP2 b", positive=True)

    def normal(x, var):
        return sp.exp(-x**2 / (2 * var)) / sp.sqrt(2 * sp.pi * var)

    nll = -sp.log(normal(e, s2)) - sp.log(normal(th, sP2))
    assert sp.simplify(sp.diff(s2 * nll, th) - (s2 / sP2) * th) == 0
    assert sp.simplify(sp.diff(s2 * nll, e) - e) == 0
    laplace = -sp.log(sp.exp(-th / b) / (2 * b))  # theta > 0
    assert sp.simplify(sp.diff(s2 * laplace, th) - s2 / b) == 0


# ---- biases ----------------------------------------------------------------------------------


def test_bias_closed_forms_are_the_minimisers():
    r"""Oracle: sympy solves :math:`\partial L/\partial b_i = 0` for both penalties (3 ratings):
    :math:`\sum(r-\mu)/(n_i+\lambda)` and :math:`\sum(r-\mu)/(n_i(1+\lambda))`."""
    bi, mu, lam = sp.symbols("b_i mu lam")
    rs = sp.symbols("r1:4")
    vec = sum((r - mu - bi) ** 2 for r in rs) + lam * bi**2
    per_rating = sum(sp.Rational(1, 2) * (r - mu - bi) ** 2 + lam / 2 * bi**2 for r in rs)
    assert sp.simplify(sp.solve(sp.diff(vec, bi), bi)[0] - sum(r - mu for r in rs) / (lam + 3)) == 0
    assert sp.simplify(sp.solve(sp.diff(per_rating, bi), bi)[0] - sum(r - mu for r in rs) / (3 * (1 + lam))) == 0


@pytest.mark.parametrize("penalty", ["frobenius", "per_rating"])
def test_alternating_bias_closed_forms_equal_trained_biases(rng, penalty):
    """Oracle: funksvd's hand gradient is 0 (to 1e-12) at the page's alternating closed forms
    (written here in numpy), and funksvd.train on a model with no factors reaches them (1e-9):
    both are the unique minimiser of a strictly convex quadratic."""
    users, items, r = rng.integers(0, 6, 50), rng.integers(0, 7, 50), rng.uniform(1, 5, 50)
    ratings, mu = Ratings(users, items, r, 6, 7), r.mean()
    start = Factors(np.zeros((6, 0)), np.zeros((7, 0)), np.zeros(6), np.zeros(7), mu=mu)
    n_u, n_i = np.bincount(users, minlength=6), np.bincount(items, minlength=7)
    if penalty == "frobenius":
        objective, lam = Objective(penalty="frobenius", factor_reg_weight=1.0, bias_reg_weight=1.0), 2.0

        def denominator(n):
            return n + lam
    else:
        objective, lam = funksvd.RULES["funk"].objective, 0.3

        def denominator(n):
            return n * (1 + lam)

    bu, bi = np.zeros(6), np.zeros(7)
    for _ in range(500):
        bi = np.bincount(items, weights=r - mu - bu[users], minlength=7) / denominator(n_i)
        bu = np.bincount(users, weights=r - mu - bi[items], minlength=6) / denominator(n_u)
    g = objective.gradients(start.replace(bu=bu, bi=bi), ratings, lam)
    np.testing.assert_allclose(g["bu"], 0.0, atol=1e-12)
    np.testing.assert_allclose(g["bi"], 0.0, atol=1e-12)
    # and the trained model agrees: 2,000 full-batch steps at a rate near the stable limit
    fit, _ = funksvd.train(start, ratings, objective=objective, reg=lam, optimizer="sgd", learning_rate=0.03,
                           n_epochs=2000)
    np.testing.assert_allclose(fit.bu, bu, atol=1e-9)
    np.testing.assert_allclose(fit.bi, bi, atol=1e-9)


# ---- gradient_checking -----------------------------------------------------------------------


def test_central_differences_exact_on_quadratics_and_richardson_on_smooth():
    r"""Oracle: sympy. Exact on :math:`At^2 + Bt + C` for every :math:`h`; a cubic leaves
    :math:`Dh^2`; for the sigmoid (mpmath at 50 digits) the plain difference is :math:`O(h^2)` and
    Richardson's :math:`(4D(h/2) - D(h))/3` is :math:`O(h^4)`."""
    t, h, A, B, C, D = sp.symbols("t h A B C D")
    quadratic = A * t**2 + B * t + C

    def central(f):
        return (f.subs(t, t + h) - f.subs(t, t - h)) / (2 * h)

    assert sp.simplify(central(quadratic) - sp.diff(quadratic, t)) == 0
    cubic = quadratic + D * t**3
    assert sp.simplify(central(cubic) - sp.diff(cubic, t) - D * h**2) == 0
    # the sigmoid at 50 digits: the plain difference's error falls 4-fold per halving of h (h^2),
    # Richardson's 16-fold (h^4)
    mp = pytest.importorskip("mpmath")  # sympy's own dependency
    with mp.workdps(50):

        def sigma(x):
            return 1 / (1 + mp.exp(-(mp.mpf(1) / 3 + x)))

        def plain(step):
            return (sigma(step) - sigma(-step)) / (2 * step)

        def richardson(step):
            return (4 * plain(step / 2) - plain(step)) / 3

        exact = sigma(0) * (1 - sigma(0))
        for rule, ratio in ((plain, 4), (richardson, 16)):
            errors = [abs(rule(mp.mpf(step)) - exact) for step in ("1e-2", "5e-3")]
            assert float(errors[0] / errors[1]) == pytest.approx(ratio, rel=0.01)


def test_finite_difference_error_is_rounding_over_h(rng):
    r"""Oracle: funksvd's hand gradient of the funk loss. The central-difference error stays
    below :math:`8\varepsilon|L|/h` at h = 1, 1e-2, 1e-5 (no truncation error), as the page
    measures."""
    users, items = rng.integers(0, 5, 40), rng.integers(0, 6, 40)
    ratings = Ratings(users, items, rng.uniform(1, 5, 40), 5, 6)
    factors = Factors(rng.normal(0, .5, (5, 2)), rng.normal(0, .5, (6, 2)), rng.normal(0, .3, 5),
                      rng.normal(0, .3, 6), mu=3.0)
    objective = funksvd.RULES["funk"].objective
    true = objective.gradients(factors, ratings, 0.05)["P"]
    L = objective.loss(factors, ratings, 0.05)
    for h in (1.0, 1e-2, 1e-5):
        numeric = np.zeros_like(factors.P)
        for j in range(factors.P.size):
            step = np.zeros(factors.P.size)
            step[j] = h
            step = step.reshape(factors.P.shape)
            up = objective.loss(factors.replace(P=factors.P + step), ratings, 0.05)
            down = objective.loss(factors.replace(P=factors.P - step), ratings, 0.05)
            numeric.reshape(-1)[j] = (up - down) / (2 * h)
        assert np.abs(numeric - true).max() <= 8 * np.finfo(float).eps * abs(L) / h


# ---- optimizers ------------------------------------------------------------------------------


def test_optimiser_identities():
    r"""Oracle: sympy. Keras' Adam equals the bias-corrected form with
    :math:`\epsilon = \hat\epsilon/\sqrt{1-\beta_2^t}`; the first-moment weights sum to
    :math:`1 - \beta_1^t`; Adam's first step is :math:`\gamma`, RMSprop's
    :math:`\gamma/\sqrt{1-\rho}`; Keras' Nesterov is the textbook one on the look-ahead point;
    momentum's terminal velocity is :math:`-\gamma g/(1-\beta)`."""
    gamma, b1, t, m, v, eps, d, g, rho = sp.symbols("gamma beta1 t m v epsilon d g rho", positive=True)
    keras = gamma * d / (1 - b1**t) * m / (sp.sqrt(v) + eps)  # d = sqrt(1 - beta2^t)
    paper = gamma * (m / (1 - b1**t)) / (sp.sqrt(v) / d + eps / d)
    assert sp.simplify(keras - paper) == 0
    s = sp.Symbol("s", integer=True)
    assert sp.simplify(sp.summation((1 - b1) * b1 ** (5 - s), (s, 1, 5)) - (1 - b1**5)) == 0
    b2 = sp.Symbol("beta2", positive=True)
    first_adam = (gamma * sp.sqrt(1 - b2) / (1 - b1)) * ((1 - b1) * g) / sp.sqrt((1 - b2) * g**2)
    assert sp.simplify(first_adam - gamma) == 0
    assert sp.simplify(gamma * g / sp.sqrt((1 - rho) * g**2) - gamma / sp.sqrt(1 - rho)) == 0
    theta0, v0, beta, grad = sp.symbols("theta0 v0 beta grad")
    v1 = beta * v0 - gamma * grad
    phi0, phi1 = theta0 + beta * v0, theta0 + v1 + beta * v1
    assert sp.simplify(phi1 - (phi0 + beta * (beta * v0 - gamma * grad) - gamma * grad)) == 0
    assert sp.simplify(sp.solve(sp.Eq(m, beta * m - gamma * grad), m)[0] + gamma * grad / (1 - beta)) == 0


# ---- symmetries ------------------------------------------------------------------------------


def test_gradient_flow_conserves_the_balance_to_order_gamma_squared(rng):
    r"""Oracle: gradient descent written out here on :math:`\sum M(R - PQ^\top)^2`: the drift of
    :math:`P^\top P - Q^\top Q` over a fixed time :math:`T = \gamma\cdot\text{steps}` falls tenfold
    with a tenfold smaller :math:`\gamma` (measured ratio 10.1; bounds 8 to 12)."""
    P0, Q0 = rng.normal(size=(6, 2)), rng.normal(size=(5, 2))
    R, W = rng.normal(size=(6, 5)), rng.random((6, 5)) < 0.6
    start = P0.T @ P0 - Q0.T @ Q0
    drift = []
    for gamma, steps in ((1e-3, 100), (1e-4, 1000)):
        P, Q = P0.copy(), Q0.copy()
        for _ in range(steps):
            G = -2 * W * (R - P @ Q.T)
            P, Q = P - gamma * G @ Q, Q - gamma * G.T @ P
        drift.append(np.abs(P.T @ P - Q.T @ Q - start).max())
    assert 8 < drift[0] / drift[1] < 12


def test_balanced_factors_have_twice_the_nuclear_norm_and_no_change_of_basis_beats_it(rng):
    r"""Oracle: numpy's SVD and 2,000 random invertible changes of basis. :math:`U\Sigma^{1/2},
    V\Sigma^{1/2}` are balanced with :math:`\lVert P\rVert^2 + \lVert Q\rVert^2 = 2\,\mathrm{tr}\,\Sigma`;
    no :math:`(PA, QA^{-\top})` has a smaller sum."""
    P, Q = rng.normal(size=(6, 2)), rng.normal(size=(5, 2))
    U, S, Vt = np.linalg.svd(P @ Q.T, full_matrices=False)
    Pb, Qb = U[:, :2] * np.sqrt(S[:2]), Vt[:2].T * np.sqrt(S[:2])
    np.testing.assert_allclose(Pb @ Qb.T, P @ Q.T, atol=1e-12)
    np.testing.assert_allclose(Pb.T @ Pb, Qb.T @ Qb, atol=1e-12)
    assert (Pb**2).sum() + (Qb**2).sum() == pytest.approx(2 * S.sum(), rel=1e-12)
    for _ in range(2000):
        A = rng.normal(size=(2, 2))
        assert ((P @ A) ** 2).sum() + ((Q @ np.linalg.inv(A).T) ** 2).sum() >= 2 * S.sum() - 1e-9
