r"""Exercises whose answer is the gradient of a full-batch loss, graded by :func:`~funksvd.check.check_gradients`.

Each reference solution below is the answer a student writes; the grader never calls it to
decide (it only gives the shapes the answer must have): the verdict is that of finite
differences (and TensorFlow), and the slips name the classic mistakes.
"""

from __future__ import annotations

import numpy as np

from ..maths.objectives import Objective, sigmoid
from .cases import coordinate_differences, problem
from .exercise import Case, Exercise, Slip

__all__ = ["EXERCISES"]


def _masked(rng, index):
    pb = problem(rng, index)
    return Case((pb.R, pb.M, pb.factors.P, pb.factors.Q), pb.label, {"problem": pb})


def _graded_by(objective: Objective, reg=lambda pb: 0.0):
    def grade(case):
        pb = case.context["problem"]
        return objective, pb.factors, pb.ratings, reg(pb)
    return grade


# ---- the masked squared loss -----------------------------------------------------------------

def masked_gradient(R, M, P, Q):
    """The gradient of L = sum over u, i of M[u, i] * (R[u, i] - p_u . q_i)^2.

    R: ratings (0 where missing), M: mask (1 observed, 0 missing), both n_users x n_items;
    P: n_users x k, Q: n_items x k. Return (dLdP, dLdQ), shaped like P and Q.
    """
    E = M * (R - P @ Q.T)
    return -2.0 * E @ Q, -2.0 * E.T @ P


MASKED = Exercise(
    name="masked_gradient",
    title="The masked squared loss in matrix form",
    page="derivations/masked_matrix",
    prompt=r"""With the mask :math:`M` (:math:`M_{ui} = 1` for an observed rating, else 0) and the
error matrix :math:`E = M \circ (R - P Q^\top)`, the loss is

.. math:: L(P, Q) = \sum_{u, i} M_{ui}\,(R_{ui} - p_u^\top q_i)^2 = \lVert E \rVert_F^2 .

Derive :math:`\partial L/\partial P` and :math:`\partial L/\partial Q` as matrix products, and
write ``masked_gradient(R, M, P, Q)`` returning ``(dLdP, dLdQ)``. No loop over the entries.""",
    function=masked_gradient,
    draw=_masked,
    outputs=("dLdP", "dLdQ"),
    objective=_graded_by(Objective(penalty="none", name="masked squared loss")),
    slips=(
        Slip("the mask is missing: the missing cells count as ratings of 0 (E = R - P Q^T over every cell)",
             lambda R, M, P, Q: (-2.0 * (R - P @ Q.T) @ Q, -2.0 * (R - P @ Q.T).T @ P)),
    ),
)


# ---- the biased model, whole-matrix penalty ---------------------------------------------------

def _biased(rng, index):
    pb = problem(rng, index, biased=True)
    f = pb.factors
    return Case((pb.R, pb.M, f.P, f.Q, f.bu, f.bi, f.mu, pb.reg), pb.label + f", lambda = {pb.reg:.3g}",
                {"problem": pb})


def frobenius_gradient(R, M, P, Q, bu, bi, mu, lam):
    """The gradient of L = sum M o (R - mu - bu 1^T - 1 bi^T - P Q^T)^2 + lam/2 (|P|^2 + |Q|^2 + |bu|^2 + |bi|^2).

    The penalty is on each whole matrix and vector (squared Frobenius / Euclidean norms), once.
    Return (dLdP, dLdQ, dLdbu, dLdbi), shaped like P, Q, bu, bi.
    """
    E = M * (R - mu - bu[:, None] - bi[None, :] - P @ Q.T)
    return (-2.0 * E @ Q + lam * P, -2.0 * E.T @ P + lam * Q,
            -2.0 * E.sum(axis=1) + lam * bu, -2.0 * E.sum(axis=0) + lam * bi)


def _frobenius_slip(data=2.0, penalty=1.0, per_rating=False):
    def wrong(R, M, P, Q, bu, bi, mu, lam):
        E = M * (R - mu - bu[:, None] - bi[None, :] - P @ Q.T)
        n_u = M.sum(axis=1) if per_rating else np.ones(len(bu))
        n_i = M.sum(axis=0) if per_rating else np.ones(len(bi))
        c = penalty * lam
        return (-data * E @ Q + c * n_u[:, None] * P, -data * E.T @ P + c * n_i[:, None] * Q,
                -data * E.sum(axis=1) + c * n_u * bu, -data * E.sum(axis=0) + c * n_i * bi)
    return wrong


FROBENIUS = Exercise(
    name="frobenius_gradient",
    title="Biases and a whole-matrix L2 penalty",
    page="derivations/masked_matrix",
    prompt=r"""The biased model :math:`\hat R = \mu + b_u \mathbf 1^\top + \mathbf 1 b_i^\top + P Q^\top`
with the whole-matrix penalty of the quuxlabs article's Frobenius form:

.. math:: L = \sum_{u,i} M_{ui}\,(R_{ui} - \hat R_{ui})^2
          + \frac{\lambda}{2}\big(\lVert P\rVert_F^2 + \lVert Q\rVert_F^2
          + \lVert b_u\rVert^2 + \lVert b_i\rVert^2\big).

Write ``frobenius_gradient(R, M, P, Q, bu, bi, mu, lam)`` returning ``(dLdP, dLdQ, dLdbu, dLdbi)``.
(:math:`\mu` is a constant here.)""",
    function=frobenius_gradient,
    draw=_biased,
    outputs=("dLdP", "dLdQ", "dLdbu", "dLdbi"),
    objective=_graded_by(Objective(penalty="frobenius", name="quuxlabs_frobenius"), lambda pb: pb.reg),
    slips=(
        Slip("the data term's factor 2 is missing (the penalty part is right): d(e^2)/de = 2e",
             _frobenius_slip(data=1.0)),
        Slip("the penalty's gradient is halved: d/dP (lambda/2 |P|^2) = lambda P", _frobenius_slip(penalty=0.5)),
        Slip("the penalty is counted once per rating (n_u lambda p_u); this loss penalises each row once",
             _frobenius_slip(per_rating=True)),
    ),
)


# ---- sum vs mean -----------------------------------------------------------------------------

def mean_gradient(R, M, P, Q):
    """The gradient of the mean squared error L = (1/N) sum M o (R - P Q^T)^2, N = the number of ratings.

    Return (dLdP, dLdQ), shaped like P and Q.
    """
    N = M.sum()
    E = M * (R - P @ Q.T)
    return -2.0 / N * E @ Q, -2.0 / N * E.T @ P


MEAN = Exercise(
    name="mean_gradient",
    title="The mean squared error: what the mean does to the gradient",
    page="derivations/sum_vs_mean",
    prompt=r"""The TensorFlow 2 tutorials minimise the *mean* of the squared errors over the
:math:`N = \sum_{ui} M_{ui}` observed ratings,

.. math:: L = \frac{1}{N} \sum_{u,i} M_{ui}\,(R_{ui} - p_u^\top q_i)^2 .

Write ``mean_gradient(R, M, P, Q)`` returning ``(dLdP, dLdQ)``.""",
    function=mean_gradient,
    draw=_masked,
    outputs=("dLdP", "dLdQ"),
    objective=_graded_by(Objective(reduction="mean", penalty="none", name="tf2_mse_2021")),
    slips=(
        Slip("divided by every cell (n_users x n_items), not by the N observed ratings",
             lambda R, M, P, Q: tuple(g * M.sum() / M.size for g in mean_gradient(R, M, P, Q))),
    ),
)


# ---- the L1 data term and the L1 penalty -----------------------------------------------------

def _masked_reg(rng, index):
    pb = problem(rng, index)
    return Case((pb.R, pb.M, pb.factors.P, pb.factors.Q, pb.reg), pb.label + f", lambda = {pb.reg:.3g}",
                {"problem": pb})


def l1_gradient(R, M, P, Q, lam):
    """A subgradient of L = sum M o |R - P Q^T| + lam (sum |P| + sum |Q|), taking sign(0) = 0.

    Return (dLdP, dLdQ), shaped like P and Q.
    """
    S = M * np.sign(R - P @ Q.T)
    return -S @ Q + lam * np.sign(P), -S.T @ P + lam * np.sign(Q)


def _l1_slip(data, penalty):
    def wrong(R, M, P, Q, lam):
        E = M * (R - P @ Q.T)
        D = data(E)
        return -D @ Q + lam * penalty(P), -D.T @ P + lam * penalty(Q)
    return wrong


L1 = Exercise(
    name="l1_gradient",
    title="The absolute error and the L1 penalty: subgradients",
    page="derivations/l1",
    prompt=r"""The 2016 TensorFlow tutorial's loss: absolute errors and an entrywise L1 penalty,

.. math:: L = \sum_{u,i} M_{ui}\,\lvert R_{ui} - p_u^\top q_i \rvert + \lambda \Big(\sum_{u,f} \lvert p_{uf}\rvert
          + \sum_{i,f} \lvert q_{if}\rvert\Big).

:math:`\lvert x\rvert` has no derivative at 0; use the subgradient :math:`\operatorname{sign}(x)`
with :math:`\operatorname{sign}(0) = 0` (as ``np.sign``). Write ``l1_gradient(R, M, P, Q, lam)``
returning ``(dLdP, dLdQ)``.""",
    function=l1_gradient,
    draw=_masked_reg,
    outputs=("dLdP", "dLdQ"),
    objective=_graded_by(Objective(data="absolute", penalty="l1", factor_reg_weight=1.0, name="tf1_l1_2016"),
                         lambda pb: pb.reg),
    slips=(
        Slip("the squared loss's habit: the data term's derivative is sign(e), not e",
             _l1_slip(lambda E: E, np.sign)),
        Slip("the L2 habit in the penalty: d|p|/dp = sign(p), not p", _l1_slip(np.sign, lambda X: X)),
        Slip("a sign slip in the data term: e = r - r_hat, so d|e|/d(r_hat) = -sign(e)",
             _l1_slip(lambda E: -np.sign(E), np.sign)),
    ),
)


# ---- the sigmoid link ------------------------------------------------------------------------

def _sigmoid_case(rng, index):
    low = float(rng.choice([0.0, 0.5, 1.0]))
    high = low + float(rng.choice([1.0, 4.0, 4.5]))
    pb = problem(rng, index, low=low, high=high)
    return Case((pb.R, pb.M, pb.factors.P, pb.factors.Q, low, high), pb.label + f", ratings in ({low:g}, {high:g})",
                {"problem": pb, "range": (low, high)})


def sigmoid_gradient(R, M, P, Q, lo, hi):
    """The gradient of L = (1/N) sum M o (R - h(P Q^T))^2 with h(z) = lo + (hi - lo) sigmoid(z), N ratings.

    Return (dLdP, dLdQ), shaped like P and Q.
    """
    s = 1.0 / (1.0 + np.exp(-(P @ Q.T)))
    E = M * (R - lo - (hi - lo) * s)
    G = -2.0 / M.sum() * E * (hi - lo) * s * (1.0 - s)
    return G @ Q, G.T @ P


def _sigmoid_slip(derivative):
    def wrong(R, M, P, Q, lo, hi):
        s = sigmoid(P @ Q.T)
        G = -2.0 / M.sum() * M * (R - lo - (hi - lo) * s) * derivative(s, hi - lo)
        return G @ Q, G.T @ P
    return wrong


SIGMOID = Exercise(
    name="sigmoid_gradient",
    title="The sigmoid link: the chain rule through the rating scale",
    page="derivations/sigmoid",
    prompt=r"""The 2019 Keras tutorial squashes the score :math:`z_{ui} = p_u^\top q_i` into the
rating range :math:`(r_{\min}, r_{\max})`,

.. math::

    \hat r_{ui} = h(z_{ui}) = r_{\min} + (r_{\max} - r_{\min})\,\sigma(z_{ui}), \qquad
    \sigma(z) = \frac{1}{1 + e^{-z}},

    L = \frac{1}{N} \sum_{u,i} M_{ui}\,(R_{ui} - \hat r_{ui})^2 .

Write ``sigmoid_gradient(R, M, P, Q, lo, hi)`` returning ``(dLdP, dLdQ)``
(``lo`` :math:`= r_{\min}`, ``hi`` :math:`= r_{\max}`).""",
    function=sigmoid_gradient,
    draw=_sigmoid_case,
    outputs=("dLdP", "dLdQ"),
    objective=lambda case: (Objective(reduction="mean", penalty="none", link="sigmoid",
                                      rating_range=case.context["range"], name="sigmoid link"),
                            case.context["problem"].factors, case.context["problem"].ratings, 0.0),
    slips=(
        Slip("the chain rule stops at h: the factor h'(z) = (hi - lo) sigma(z) (1 - sigma(z)) is missing",
             _sigmoid_slip(lambda s, width: 1.0)),
        Slip("h'(z) lacks the rating range: h'(z) = (hi - lo) sigma(z) (1 - sigma(z)), not sigma(z) (1 - sigma(z))",
             _sigmoid_slip(lambda s, width: s * (1.0 - s))),
        Slip("sigma'(z) is sigma(z) (1 - sigma(z)), not sigma(z) (1 + sigma(z))",
             _sigmoid_slip(lambda s, width: width * s * (1.0 + s))),
    ),
)


# ---- regularisation as MAP estimation ----------------------------------------------------------

def _map_case(rng, index):
    pb = problem(rng, index)
    sigma, sigma_p = float(rng.uniform(0.5, 2.0)), float(rng.uniform(0.3, 3.0))
    return Case((pb.R, pb.M, pb.factors.P, pb.factors.Q, sigma, sigma_p),
                pb.label + f", sigma = {sigma:.3g}, sigma_p = {sigma_p:.3g}", {"problem": pb, "s": (sigma, sigma_p)})


def map_gradient(R, M, P, Q, sigma, sigma_p):
    """The gradient of the negative log posterior with Gaussian noise (std sigma) and Gaussian priors (std sigma_p).

    -log p(P, Q | R) = 1/(2 sigma^2) sum M o (R - P Q^T)^2 + 1/(2 sigma_p^2) (|P|_F^2 + |Q|_F^2) + const.
    Return (dLdP, dLdQ), shaped like P and Q.
    """
    E = M * (R - P @ Q.T)
    return -E @ Q / sigma**2 + P / sigma_p**2, -E.T @ P / sigma**2 + Q / sigma_p**2


def _map_slip(noise, prior):
    def wrong(R, M, P, Q, sigma, sigma_p):
        E = M * (R - P @ Q.T)
        return -E @ Q * noise(sigma) + P * prior(sigma_p), -E.T @ P * noise(sigma) + Q * prior(sigma_p)
    return wrong


def _map_objective(case):
    pb, (sigma, sigma_p) = case.context["problem"], case.context["s"]
    objective = Objective(data_weight=0.5 / sigma**2, penalty="frobenius", factor_reg_weight=0.5,
                          name="negative log posterior")
    return objective, pb.factors, pb.ratings, 1.0 / sigma_p**2


MAP = Exercise(
    name="map_gradient",
    title="MAP estimation: Gaussian priors are an L2 penalty",
    page="derivations/map",
    prompt=r"""Ratings with Gaussian noise, :math:`R_{ui} \sim \mathcal N(p_u^\top q_i, \sigma^2)`, and
independent Gaussian priors :math:`p_{uf}, q_{if} \sim \mathcal N(0, \sigma_p^2)`. Up to a
constant, the negative log posterior is

.. math:: -\log p(P, Q \mid R) = \frac{1}{2\sigma^2} \sum_{u,i} M_{ui}\,(R_{ui} - p_u^\top q_i)^2
          + \frac{1}{2\sigma_p^2} \big(\lVert P\rVert_F^2 + \lVert Q\rVert_F^2\big),

an L2-penalised loss with :math:`\lambda = \sigma^2/\sigma_p^2` once multiplied by :math:`2\sigma^2`.
Write ``map_gradient(R, M, P, Q, sigma, sigma_p)`` returning its gradient ``(dLdP, dLdQ)``.""",
    function=map_gradient,
    draw=_map_case,
    outputs=("dLdP", "dLdQ"),
    objective=_map_objective,
    slips=(
        Slip("the prior's term is |P|^2 / (2 sigma_p^2), so its gradient is P / sigma_p^2, not sigma_p^2 P",
             _map_slip(lambda s: 1.0 / s**2, lambda sp: sp**2)),
        Slip("the likelihood's 1/sigma^2 is missing from the data term",
             _map_slip(lambda s: 1.0, lambda sp: 1.0 / sp**2)),
        Slip("a standard deviation where the variance belongs: 1/sigma and 1/sigma_p for 1/sigma^2 and 1/sigma_p^2",
             _map_slip(lambda s: 1.0 / s, lambda sp: 1.0 / sp)),
    ),
)


# ---- a trained global mean ---------------------------------------------------------------------

def mu_gradient(R, M, P, Q, bu, bi, mu, lam):
    """dL/dmu for L = sum M o (R - mu - bu 1^T - 1 bi^T - P Q^T)^2 + lam (|P|^2 + |Q|^2 + |bu|^2 + |bi|^2).

    mu, the global offset, is trained too but carries no penalty. Return dL/dmu, a float.
    """
    E = M * (R - mu - bu[:, None] - bi[None, :] - P @ Q.T)
    return -2.0 * E.sum()


def _mu_by_differences(R, M, P, Q, bu, bi, mu, lam):
    """The oracle: the central difference of the loss along mu, exact for any step (the loss is quadratic in mu)."""
    def loss(m):
        E = M * (R - m[0] - bu[:, None] - bi[None, :] - P @ Q.T)
        return float((E * E).sum() + lam * ((P * P).sum() + (Q * Q).sum() + (bu * bu).sum() + (bi * bi).sum()))
    return float(coordinate_differences(loss, np.array([mu]), h=1.0)[0])


MU = Exercise(
    name="mu_gradient",
    title="A trained global mean",
    page="derivations/biases",
    prompt=r"""The Keras model of the 2019 tutorial trains the global offset :math:`\mu` as well
(its ``bg``). With :math:`E = M \circ (R - \mu - b_u \mathbf 1^\top - \mathbf 1 b_i^\top - P Q^\top)`
and

.. math:: L = \lVert E\rVert_F^2 + \lambda\big(\lVert P\rVert_F^2 + \lVert Q\rVert_F^2
          + \lVert b_u\rVert^2 + \lVert b_i\rVert^2\big)

(no penalty on :math:`\mu`), write ``mu_gradient(R, M, P, Q, bu, bi, mu, lam)`` returning
:math:`\partial L/\partial\mu` as a float.""",
    function=mu_gradient,
    draw=_biased,
    outputs=("dLdmu",),
    oracle=_mu_by_differences,
    oracle_name="a central difference of the loss along mu (exact: the loss is quadratic in mu)",
    slips=(
        Slip("mu carries no penalty: there is no lambda mu term",
             lambda R, M, P, Q, bu, bi, mu, lam: mu_gradient(R, M, P, Q, bu, bi, mu, lam) + 2.0 * lam * mu),
        Slip("a sign slip: e = r - r_hat, so de/dmu = -1",
             lambda R, M, P, Q, bu, bi, mu, lam: -mu_gradient(R, M, P, Q, bu, bi, mu, lam)),
        Slip("a missing factor 2: d(e^2)/de = 2e",
             lambda R, M, P, Q, bu, bi, mu, lam: 0.5 * mu_gradient(R, M, P, Q, bu, bi, mu, lam)),
        Slip("the missing cells count: the sum runs over the observed ratings only (times M)",
             lambda R, M, P, Q, bu, bi, mu, lam: mu_gradient(R, np.ones_like(M), P, Q, bu, bi, mu, lam)),
    ),
)


# ---- a Huber data term: a loss of the student's own, through check_gradients' callable losses ----

def _huber_case(rng, index):
    pb = problem(rng, index, low=-1.0, high=1.0)  # residuals on both sides of delta
    delta = float(rng.uniform(0.3, 0.9))
    return Case((pb.R, pb.M, pb.factors.P, pb.factors.Q, delta), pb.label + f", delta = {delta:.3g}",
                {"problem": pb, "delta": delta})


def huber_gradient(R, M, P, Q, delta):
    """The gradient of L = sum M o H(R - P Q^T), H(e) = e^2 / 2 for |e| <= delta, delta (|e| - delta / 2) beyond.

    Return (dLdP, dLdQ), shaped like P and Q.
    """
    psi = np.clip(M * (R - P @ Q.T), -delta, delta)  # H'(e): e inside, delta sign(e) outside
    return -psi @ Q, -psi.T @ P


def _huber_objective(case):
    pb, delta = case.context["problem"], case.context["delta"]

    def huber(xp, theta, data):
        p_u = xp.take(theta["P"], data.users, axis=0)
        q_i = xp.take(theta["Q"], data.items, axis=0)
        e = data.values - (data.mu + xp.sum(p_u * q_i, axis=1))
        a = xp.abs(e)
        return xp.sum(xp.where(a <= delta, 0.5 * xp.square(e), delta * (a - 0.5 * delta)))

    return huber, pb.factors, pb.ratings, 0.0


def _huber_slip(psi):
    def wrong(R, M, P, Q, delta):
        D = psi(M * (R - P @ Q.T), delta)
        return -D @ Q, -D.T @ P
    return wrong


HUBER = Exercise(
    name="huber_gradient",
    title="A Huber data term: quadratic near zero, linear beyond",
    page="derivations/l1",
    prompt=r"""The Huber loss keeps the squared error for small residuals and the absolute error's
slope for large ones (robust to outlying ratings):

.. math:: L = \sum_{u,i} M_{ui}\, H_\delta(R_{ui} - p_u^\top q_i), \qquad
          H_\delta(e) = \begin{cases} \tfrac12 e^2 & \lvert e\rvert \le \delta \\
          \delta\,(\lvert e\rvert - \tfrac12\delta) & \lvert e\rvert > \delta \end{cases}

Find :math:`H_\delta'` (it is continuous: no subgradient needed) and write
``huber_gradient(R, M, P, Q, delta)`` returning ``(dLdP, dLdQ)``. Graded by
:func:`~funksvd.check.check_gradients` on the loss written once as a callable.""",
    function=huber_gradient,
    draw=_huber_case,
    outputs=("dLdP", "dLdQ"),
    objective=_huber_objective,
    slips=(
        Slip("the squared loss's habit: beyond delta the slope is delta sign(e), not e",
             _huber_slip(lambda E, d: E)),
        Slip("the linear part's slope is delta sign(e), not sign(e)",
             _huber_slip(lambda E, d: np.where(np.abs(E) <= d, E, np.sign(E)))),
        Slip("a factor 2 on the quadratic part: d(e^2 / 2)/de = e",
             _huber_slip(lambda E, d: np.where(np.abs(E) <= d, 2 * E, d * np.sign(E)))),
    ),
)


# ---- weighted matrix factorisation: a weight w0 on the unobserved cells ----------------------

def _weighted_case(rng, index):
    pb = problem(rng, index)
    w0 = float(rng.uniform(0.05, 0.5))
    return Case((pb.R, pb.M, pb.factors.P, pb.factors.Q, w0), pb.label + f", w0 = {w0:.3g}",
                {"problem": pb, "w0": w0})


def weighted_gradient(R, M, P, Q, w0):
    """The gradient of L = sum over every cell of W[u, i] (R[u, i] - p_u . q_i)^2, W = M + w0 (1 - M).

    R is 0 where missing: the unobserved cells are fitted towards 0 with the small weight w0.
    Return (dLdP, dLdQ), shaped like P and Q.
    """
    W = M + w0 * (1.0 - M)
    E = W * (R - P @ Q.T)
    return -2.0 * E @ Q, -2.0 * E.T @ P


def _weighted_objective(case):
    from ..model.ratings import Ratings

    pb, w0 = case.context["problem"], case.context["w0"]
    n_users, n_items = pb.R.shape
    users, items = np.divmod(np.arange(n_users * n_items), n_items)
    every_cell = Ratings(users, items, pb.R.ravel(), n_users=n_users, n_items=n_items)
    weight = (pb.M + w0 * (1.0 - pb.M)).ravel()  # in the order of every_cell's entries

    def weighted(xp, theta, data):
        e = data.values - (data.mu + xp.sum(xp.take(theta["P"], data.users, axis=0)
                                            * xp.take(theta["Q"], data.items, axis=0), axis=1))
        return xp.sum(weight * xp.square(e))

    return weighted, pb.factors, every_cell, 0.0


def _weighted_slip(weights):
    def wrong(R, M, P, Q, w0):
        E = weights(M, w0) * (R - P @ Q.T)
        return -2.0 * E @ Q, -2.0 * E.T @ P
    return wrong


WEIGHTED = Exercise(
    name="weighted_gradient",
    title="Weighted matrix factorisation: a weight on the unobserved cells",
    page="derivations/masked_matrix",
    prompt=r"""Missing-as-zero fits the zeros; the mask ignores them. Weighted matrix factorisation sits
between: every cell counts, the unobserved ones (where :math:`R_{ui} = 0`) with a small weight
:math:`w_0`,

.. math:: L = \sum_{u,i} W_{ui}\,(R_{ui} - p_u^\top q_i)^2, \qquad W = M + w_0\,(\mathbf 1 \mathbf 1^\top - M).

Write ``weighted_gradient(R, M, P, Q, w0)`` returning ``(dLdP, dLdQ)``.""",
    function=weighted_gradient,
    draw=_weighted_case,
    outputs=("dLdP", "dLdQ"),
    objective=_weighted_objective,
    slips=(
        Slip("the unobserved cells are left out: they count too, with weight w0 (towards 0)",
             _weighted_slip(lambda M, w0: M)),
        Slip("w0 on every cell: the observed ones have weight 1",
             _weighted_slip(lambda M, w0: np.full_like(M, w0))),
        Slip("the weight is squared: L weights each squared error by W, not |W o E|^2 by W^2",
             _weighted_slip(lambda M, w0: (M + w0 * (1 - M)) ** 2)),
    ),
)


EXERCISES = (MASKED, WEIGHTED, FROBENIUS, MEAN, L1, HUBER, SIGMOID, MAP, MU)
