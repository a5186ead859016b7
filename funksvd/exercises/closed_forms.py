r"""Exercises whose answer is a closed form: biases, fold-in, an ALS half-step and its dual form, the best rank-k
matrix.

Each is graded against an independent computation in the grader: the reference solutions solve
the normal equations, the oracles minimise the same loss as a stacked least-squares problem with
``numpy.linalg.lstsq`` (an SVD-based solver: :math:`\min_x \lVert A x - y\rVert^2 + \lVert \Gamma x\rVert^2
= \min_x \lVert [A; \Gamma] x - [y; 0]\rVert^2`), or, for Eckart--Young, project on eigenvectors.
"""

from __future__ import annotations

import numpy as np

from .cases import problem
from .exercise import Case, Exercise, Slip

__all__ = ["EXERCISES"]

#: Closed forms are compared with an independent solve: both are backward stable, so they agree to
#: about the condition number (at most ~1e3 for these cases) times the float64 epsilon.
RTOL, ATOL = 1e-8, 1e-10


def ridge(A: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    r"""The minimiser of :math:`\lVert A x - y\rVert^2 + \sum_j \mathrm{penalty}_j\, x_j^2`,
    by ``lstsq`` of the stacked system."""
    stacked = np.vstack([A, np.diag(np.sqrt(penalty))])
    return np.linalg.lstsq(stacked, np.concatenate([y, np.zeros(len(penalty))]), rcond=None)[0]


def _one_hot(index: np.ndarray, n: int) -> np.ndarray:
    A = np.zeros((len(index), n))
    A[np.arange(len(index)), index] = 1.0
    return A


# ---- the baseline predictor ----------------------------------------------------------------

def _triples(rng, index, unrated_item=False):
    pb = problem(rng, index, biased=True)
    ratings, f = pb.ratings, pb.factors
    n_items = ratings.n_items + (1 if unrated_item else 0)  # an item nobody rated: its bias must be 0
    args = (ratings.users.copy(), ratings.items.copy(), ratings.values.copy(), ratings.n_users, n_items,
            f.mu, pb.reg * 10)
    return Case(args, pb.label + f", lambda = {pb.reg * 10:.3g}" + (", one item unrated" if unrated_item else ""))


def item_biases(items, r, n_items, mu, lam):
    """The item biases minimising sum_j (r_j - mu - b[items_j])^2 + lam * sum_i b_i^2 (no user biases).

    items: the item of each rating (0 .. n_items - 1), r: the ratings. Return b, shape (n_items,).
    """
    n_i = np.bincount(items, minlength=n_items)
    return np.bincount(items, weights=r - mu, minlength=n_items) / (lam + n_i)


def _item_case(rng, index):
    case = _triples(rng, index, unrated_item=index % 2 == 1)
    _, items, r, _, n_items, mu, lam = case.args
    return Case((items, r, n_items, mu, lam), case.label)


def _item_oracle(items, r, n_items, mu, lam):
    return ridge(_one_hot(items, n_items), r - mu, np.full(n_items, lam))


ITEM_BIASES = Exercise(
    name="item_biases",
    title="Item biases alone, in closed form",
    page="derivations/biases",
    prompt=r"""The baseline predictor without user biases, :math:`\hat r_{ui} = \mu + b_i`, fitted by
minimising

.. math:: L(b) = \sum_{(u,i) \in \mathcal K} (r_{ui} - \mu - b_i)^2 + \lambda \sum_i b_i^2 .

Set :math:`\partial L/\partial b_i = 0` and solve; write ``item_biases(items, r, n_items, mu, lam)``
returning the vector :math:`b` (an item with no ratings included).""",
    function=item_biases,
    draw=_item_case,
    outputs=("b",),
    oracle=_item_oracle,
    oracle_name="a least-squares solve of the stacked system (numpy.linalg.lstsq)",
    rtol=RTOL, atol=ATOL,
    slips=(
        Slip("lambda is missing: b_i = sum (r - mu) / (lambda + n_i), not the plain mean of the residuals",
             lambda items, r, n_items, mu, lam: item_biases(items, r, n_items, mu, 0.0)),
        Slip("divided by lambda + N (every rating), not by lambda + n_i (the item's ratings)",
             lambda items, r, n_items, mu, lam: np.bincount(items, weights=r - mu, minlength=n_items) / (lam + len(r))),
        Slip("mu is not subtracted: the bias is what remains of r - mu",
             lambda items, r, n_items, mu, lam: item_biases(items, r, n_items, 0.0, lam)),
        Slip("lambda/2 in the denominator: d/db (lambda b^2) = 2 lambda b, as d/db (r - mu - b)^2 has its 2",
             lambda items, r, n_items, mu, lam: item_biases(items, r, n_items, mu, lam / 2)),
    ),
)


def baseline_biases(users, items, r, n_users, n_items, mu, lam):
    """The exact minimiser (b_u, b_i) of sum_j (r_j - mu - b_u[users_j] - b_i[items_j])^2 + lam (|b_u|^2 + |b_i|^2).

    Return (bu, bi), shapes (n_users,) and (n_items,).
    """
    N = np.zeros((n_users, n_items))
    np.add.at(N, (users, items), 1.0)
    lhs = np.block([[np.diag(N.sum(axis=1) + lam), N], [N.T, np.diag(N.sum(axis=0) + lam)]])
    rhs = np.concatenate([np.bincount(users, weights=r - mu, minlength=n_users),
                          np.bincount(items, weights=r - mu, minlength=n_items)])
    x = np.linalg.solve(lhs, rhs)
    return x[:n_users], x[n_users:]


def _baseline_oracle(users, items, r, n_users, n_items, mu, lam):
    x = ridge(np.hstack([_one_hot(users, n_users), _one_hot(items, n_items)]), r - mu,
              np.full(n_users + n_items, lam))
    return x[:n_users], x[n_users:]


def _one_pass(users, items, r, n_users, n_items, mu, lam):
    bi = item_biases(items, r, n_items, mu, lam)
    residual_sums = np.bincount(users, weights=r - mu - bi[items], minlength=n_users)
    bu = residual_sums / (lam + np.bincount(users, minlength=n_users))
    return bu, bi


BASELINE = Exercise(
    name="baseline_biases",
    title="The baseline predictor: user and item biases together",
    page="derivations/biases",
    prompt=r"""The baseline predictor :math:`\hat r_{ui} = \mu + b_u + b_i` minimises

.. math:: L(b_u, b_i) = \sum_{(u,i) \in \mathcal K} (r_{ui} - \mu - b_u - b_i)^2
          + \lambda \big(\lVert b_u\rVert^2 + \lVert b_i\rVert^2\big).

:math:`L` is a convex quadratic: its gradient is zero at one point, the solution of a linear system
of :math:`n_{\text{users}} + n_{\text{items}}` equations. Write it down and solve it in
``baseline_biases(users, items, r, n_users, n_items, mu, lam)`` returning ``(bu, bi)``.""",
    function=baseline_biases,
    draw=_triples,
    outputs=("bu", "bi"),
    oracle=_baseline_oracle,
    oracle_name="a least-squares solve of the stacked system (numpy.linalg.lstsq)",
    rtol=RTOL, atol=ATOL,
    slips=(
        Slip("one pass, items then users (Koren's shortcut), is an approximation: the exact minimiser couples "
             "b_u and b_i through the ratings they share", _one_pass),
        Slip("the user and item biases were each fitted as if the other were zero: they are coupled",
             lambda users, items, r, n_users, n_items, mu, lam: (
                 item_biases(users, r, n_users, mu, lam), item_biases(items, r, n_items, mu, lam))),
        Slip("mu is not subtracted: the biases fit what remains of r - mu",
             lambda users, items, r, n_users, n_items, mu, lam: baseline_biases(
                 users, items, r, n_users, n_items, 0.0, lam)),
    ),
)


# ---- fold-in and ALS -----------------------------------------------------------------------

def _fold_case(rng, index):
    k = (2, 3, 1, 4, 2)[index % 5]
    n = (5, 2, 4, 7, 1)[index % 5]  # fewer ratings than factors in some cases
    Q_S = rng.normal(0.0, 0.7, size=(n, k))
    y = rng.normal(0.0, 1.0, size=n)
    lam = float(rng.uniform(0.05, 0.5))
    return Case((Q_S, y, lam), f"{n} ratings, k = {k}, lambda = {lam:.3g}")


def fold_in(Q_S, y, lam):
    """A new user's p minimising sum_j [(y_j - q_j . p)^2 + lam |p|^2] over their n ratings (Q and biases fixed).

    Q_S: the n rated items' factors (n x k), y: the ratings minus the fixed offsets. Return p, shape (k,).
    """
    n, k = Q_S.shape
    return np.linalg.solve(Q_S.T @ Q_S + n * lam * np.eye(k), Q_S.T @ y)


FOLD_IN = Exercise(
    name="fold_in",
    title="Folding in a new user: the normal equations",
    page="derivations/fold_in_als",
    prompt=r"""A new user rates :math:`n` items with factors :math:`Q_S` (:math:`n \times k`); the item
factors stay fixed. With the per-rating penalty that SGD applies, the user's loss is

.. math:: L(p) = \sum_{j=1}^{n} \Big( (y_j - q_j^\top p)^2 + \lambda \lVert p\rVert^2 \Big) .

Set :math:`\nabla_p L = 0`; write ``fold_in(Q_S, y, lam)`` returning the minimiser :math:`p`.""",
    function=fold_in,
    draw=_fold_case,
    outputs=("p",),
    oracle=lambda Q_S, y, lam: ridge(Q_S, y, np.full(Q_S.shape[1], len(y) * lam)),
    oracle_name="a least-squares solve of the stacked system (numpy.linalg.lstsq)",
    rtol=RTOL, atol=ATOL,
    slips=(
        Slip("lambda is not multiplied by n: the penalty is paid once per rating, n lambda |p|^2 in all",
             lambda Q_S, y, lam: fold_in(Q_S, y, lam / len(y))),
        Slip("half the penalty: with (y - q.p)^2 + lambda |p|^2 both terms carry a 2 that cancels; "
             "the system is (Q^T Q + n lambda I) p = Q^T y", lambda Q_S, y, lam: fold_in(Q_S, y, lam / 2)),
        Slip("twice the penalty: the 2 of d(lambda |p|^2)/dp cancels against the 2 of the data term",
             lambda Q_S, y, lam: fold_in(Q_S, y, 2 * lam)),
    ),
)


def _fold_biased_case(rng, index):
    case = _fold_case(rng, index)
    Q_S, y, lam = case.args
    b_S = rng.normal(0.0, 0.3, size=len(y))
    mu = float(rng.uniform(3.0, 4.0))
    return Case((Q_S, b_S, y + mu + b_S, mu, lam), case.label)


def fold_in_biased(Q_S, b_S, r, mu, lam):
    """A new user's (p, b) minimising sum_j [1/2 e_j^2 + lam/2 (|p|^2 + b^2)], e_j = r_j - mu - b - b_S[j] - q_j . p.

    Q_S: the rated items' factors (n x k), b_S: their biases. Return (p, b): shape (k,) and a float.
    """
    n, k = Q_S.shape
    A = np.column_stack([Q_S, np.ones(n)])
    x = np.linalg.solve(A.T @ A + n * lam * np.eye(k + 1), A.T @ (r - mu - b_S))
    return x[:k], float(x[k])


def _fold_biased_oracle(Q_S, b_S, r, mu, lam):
    x = ridge(np.column_stack([Q_S, np.ones(len(r))]), r - mu - b_S, np.full(Q_S.shape[1] + 1, len(r) * lam))
    return x[:-1], float(x[-1])


def _b_twice(Q_S, b_S, r, mu, lam):
    """The formula once printed in the library: b subtracted on the right as well as carried on the left."""
    n, k = Q_S.shape
    A = np.column_stack([Q_S, np.ones(n)])
    lhs = A.T @ A + n * lam * np.eye(k + 1)
    lhs[:k, k] *= 2.0
    x = np.linalg.solve(lhs, A.T @ (r - mu - b_S))
    return x[:k], float(x[k])


FOLD_IN_BIASED = Exercise(
    name="fold_in_biased",
    title="Folding in a new user with a bias",
    page="derivations/fold_in_als",
    prompt=r"""Funk's per-rating loss over a new user's :math:`n` ratings, with :math:`Q, b_i, \mu`
fixed and the unknowns :math:`p` and the user's bias :math:`b`:

.. math:: L(p, b) = \sum_{j=1}^{n} \Big( \tfrac12 e_j^2 + \tfrac{\lambda}{2}(\lVert p\rVert^2 + b^2) \Big), \qquad
          e_j = r_j - \mu - b - b_{i_j} - q_j^\top p .

Write ``fold_in_biased(Q_S, b_S, r, mu, lam)`` returning ``(p, b)``. (Hint: the unknown
:math:`x = (p, b)` meets the design :math:`[\,Q_S\;\; \mathbf 1\,]`.)""",
    function=fold_in_biased,
    draw=_fold_biased_case,
    outputs=("p", "b"),
    oracle=_fold_biased_oracle,
    oracle_name="a least-squares solve of the stacked system (numpy.linalg.lstsq)",
    rtol=RTOL, atol=ATOL,
    slips=(
        Slip("b is counted twice in the rows of p: (Q^T Q + n lambda I) p + Q^T 1 b = Q^T (r - mu - b_S), "
             "with no second b on the right", _b_twice),
        Slip("the item biases b_S are missing from the residual r - mu - b_S",
             lambda Q_S, b_S, r, mu, lam: fold_in_biased(Q_S, 0 * b_S, r, mu, lam)),
        Slip("lambda is not multiplied by n: the penalty is paid once per rating",
             lambda Q_S, b_S, r, mu, lam: fold_in_biased(Q_S, b_S, r, mu, lam / len(r))),
    ),
)


def _als_case(rng, index):
    pb = problem(rng, index)
    return Case((pb.R, pb.M, pb.factors.Q, pb.reg), pb.label + f", lambda = {pb.reg:.3g}")


def als_users(R, M, Q, lam):
    """The ALS half-step: P minimising sum M o (R - P Q^T)^2 + lam sum_u n_u |p_u|^2 with Q fixed (n_u ratings of u).

    R: ratings (0 where missing), M: mask. Return P, shape (n_users, k).
    """
    k = Q.shape[1]
    P = np.empty((R.shape[0], k))
    for u in range(R.shape[0]):
        Q_u = Q[M[u] > 0]
        P[u] = np.linalg.solve(Q_u.T @ Q_u + lam * len(Q_u) * np.eye(k), Q_u.T @ R[u, M[u] > 0])
    return P


def _als_oracle(R, M, Q, lam):
    rows = [ridge(Q[M[u] > 0], R[u, M[u] > 0], np.full(Q.shape[1], lam * M[u].sum())) for u in range(len(R))]
    return np.array(rows)


def _als_variant(R, M, Q, lam, dense=False, weighted=True):
    rows = []
    for u in range(len(R)):
        rated = np.ones(R.shape[1], bool) if dense else M[u] > 0  # dense: every item a rating, n_u = n_items
        weight = rated.sum() if weighted else 1.0
        Q_S = Q[rated]
        rows.append(np.linalg.solve(Q_S.T @ Q_S + lam * weight * np.eye(Q.shape[1]), Q_S.T @ R[u, rated]))
    return np.array(rows)


ALS = Exercise(
    name="als_users",
    title="Alternating least squares: the user half-step",
    page="derivations/fold_in_als",
    prompt=r"""With :math:`Q` fixed, the weighted-:math:`\lambda` loss of ALS (Zhou et al., 2008)

.. math:: L(P) = \sum_{u,i} M_{ui}\,(R_{ui} - p_u^\top q_i)^2 + \lambda \sum_u n_u \lVert p_u\rVert^2

separates into one ridge regression per user (:math:`n_u` = the user's number of ratings).
Write ``als_users(R, M, Q, lam)`` returning the minimising :math:`P`.""",
    function=als_users,
    draw=_als_case,
    outputs=("P",),
    oracle=_als_oracle,
    oracle_name="one least-squares solve of the stacked system per user (numpy.linalg.lstsq)",
    rtol=RTOL, atol=ATOL,
    slips=(
        Slip("the missing cells were used as ratings of 0: each user's system runs over their rated items only",
             lambda R, M, Q, lam: _als_variant(R, M, Q, lam, dense=True)),
        Slip("lambda is not weighted by n_u: the penalty is lambda n_u |p_u|^2",
             lambda R, M, Q, lam: _als_variant(R, M, Q, lam, weighted=False)),
        Slip("half the penalty: both terms carry a 2 that cancels",
             lambda R, M, Q, lam: als_users(R, M, Q, lam / 2)),
    ),
)


# ---- the dual form of a ridge regression ---------------------------------------------------

def _dual_case(rng, index):
    m = (4, 6, 3, 5, 8)[index % 5]  # unknowns
    n = (2, 3, 1, 4, 5)[index % 5]  # fewer ratings than unknowns: where the dual form pays
    A = rng.normal(0.0, 0.7, size=(n, m))
    y = rng.normal(0.0, 1.0, size=n)
    lam = rng.uniform(0.1, 1.0, size=m)  # the diagonal of Lambda, one entry per unknown
    return Case((A, y, lam), f"{n} ratings, {m} unknowns")


def ridge_dual(A, y, lam):
    """x minimising 1/2 |y - A x|^2 + 1/2 sum_j lam[j] x_j^2, through the n x n system (A is n x m, n < m).

    lam: the diagonal of Lambda, shape (m,). Return x, shape (m,).
    """
    n = A.shape[0]
    alpha = np.linalg.solve((A / lam) @ A.T + np.eye(n), y)  # (A Lambda^-1 A^T + I) alpha = y
    return (A.T @ alpha) / lam  # x = Lambda^-1 A^T alpha


def _dual_variant(A, y, lam, identity=True, outer=True, inverse=True):
    scale = 1.0 / lam if inverse else lam
    alpha = np.linalg.solve((A * scale) @ A.T + (np.eye(len(y)) if identity else 0.0), y)
    return (A.T @ alpha) * (scale if outer else 1.0)


DUAL = Exercise(
    name="ridge_dual",
    title="ALS with fewer ratings than unknowns: the dual form",
    page="derivations/als",
    prompt=r"""A user with :math:`n` ratings and :math:`m > n` unknowns :math:`x = (p_u, b_u)` has the
loss :math:`L(x) = \tfrac12 \lVert y - A x\rVert^2 + \tfrac12 x^\top \Lambda x` (:math:`A` is
:math:`n \times m`, :math:`\Lambda` diagonal and positive). Its minimiser solves an :math:`m \times m`
system; starting from :math:`(A^\top A + \Lambda)\,\Lambda^{-1} A^\top = A^\top (A \Lambda^{-1} A^\top + I)`,
write it with an :math:`n \times n` system instead. Write ``ridge_dual(A, y, lam)`` (``lam``: the
diagonal of :math:`\Lambda`) returning :math:`x`.""",
    function=ridge_dual,
    draw=_dual_case,
    outputs=("x",),
    oracle=lambda A, y, lam: ridge(A, y, lam),
    oracle_name="a least-squares solve of the stacked (primal) system (numpy.linalg.lstsq)",
    rtol=RTOL, atol=ATOL,
    slips=(
        Slip("the identity is missing: the n x n system is A Lambda^-1 A^T + I, the I coming from A^T y's own term",
             lambda A, y, lam: _dual_variant(A, y, lam, identity=False)),
        Slip("Lambda^-1 is missing in front: x = Lambda^-1 A^T alpha, not A^T alpha",
             lambda A, y, lam: _dual_variant(A, y, lam, outer=False)),
        Slip("Lambda where its inverse belongs: the system is A Lambda^-1 A^T + I and x = Lambda^-1 A^T alpha",
             lambda A, y, lam: _dual_variant(A, y, lam, inverse=False)),
    ),
)


# ---- why this is not the SVD -----------------------------------------------------------------

def _complete_case(rng, index):
    n, m = ((5, 4), (6, 8), (4, 4), (7, 5), (3, 6))[index % 5]
    k = int(rng.integers(1, min(n, m)))
    R = rng.uniform(1.0, 5.0, size=(n, m))
    return Case((R, k), f"a complete {n} x {m} matrix, k = {k}")


def best_rank_k(R, k):
    """The rank-k matrix X closest to the complete matrix R in the Frobenius norm (Eckart-Young). Return X."""
    U, s, Vt = np.linalg.svd(R, full_matrices=False)
    return (U[:, :k] * s[:k]) @ Vt[:k]


def _svd_variant(R, k, weights=True, smallest=False):
    U, s, Vt = np.linalg.svd(R, full_matrices=False)
    keep = slice(len(s) - k, None) if smallest else slice(None, k)
    return (U[:, keep] * (s[keep] if weights else 1.0)) @ Vt[keep]


def _eckart_young_oracle(R, k):
    """The projection of R on the k leading eigenvectors of R R^T (an eigen-solver, not an SVD)."""
    values, vectors = np.linalg.eigh(R @ R.T)
    U = vectors[:, np.argsort(values)[::-1][:k]]
    return U @ (U.T @ R)


NOT_SVD = Exercise(
    name="best_rank_k",
    title="Eckart-Young: the best rank-k approximation of a complete matrix",
    page="derivations/not_svd",
    prompt=r"""For a *complete* matrix :math:`R` (no missing entries) the minimiser of
:math:`\lVert R - X\rVert_F` over the matrices of rank at most :math:`k` is the truncated SVD
(Eckart--Young): with :math:`R = U \Sigma V^\top`,
:math:`X = U_k \Sigma_k V_k^\top`. Write ``best_rank_k(R, k)`` returning :math:`X`. (With
missing entries no such formula exists: that is why Funk's "SVD" is fitted by gradient descent.)""",
    function=best_rank_k,
    draw=_complete_case,
    outputs=("X",),
    oracle=_eckart_young_oracle,
    oracle_name="the projection of R on the leading eigenvectors of R R^T (numpy.linalg.eigh)",
    rtol=1e-7, atol=1e-9,
    slips=(
        Slip("the singular values are missing: X = U_k S_k V_k^T, not U_k V_k^T",
             lambda R, k: _svd_variant(R, k, weights=False)),
        Slip("the smallest singular values were kept: numpy's svd sorts them in descending order",
             lambda R, k: _svd_variant(R, k, smallest=True)),
        Slip("k + 1 components: the slice [:k] keeps exactly k", lambda R, k: best_rank_k(R, k + 1)),
    ),
)


EXERCISES = (ITEM_BIASES, BASELINE, FOLD_IN, FOLD_IN_BIASED, ALS, DUAL, NOT_SVD)
