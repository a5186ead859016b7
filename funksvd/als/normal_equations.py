r"""The ALS half-step: every user's (or every item's) ridge regression solved in closed form.

One source, two engines: :func:`solve_rows` is plain Python over numpy, with its three
linear-algebra steps named (:func:`gram_of_columns`, :func:`gram_of_rows`, :func:`cholesky_solve`);
the Python engine runs it as it stands and the compiled engine hands the same function to numba
with those three bound to BLAS and LAPACK (:mod:`funksvd.als.compiled`, :mod:`funksvd.als.lapack`).
:func:`solve_side` is the one way in, shared by the ALS sweeps (:mod:`funksvd.als.sweeps`) and by
a new user's fold-in (:meth:`funksvd.FunkSVD.fold_in`): both solve the same normal equations.

The loss ALS minimises is a named :class:`~funksvd.Objective` (:func:`als_objective`): with
the weighted :math:`\lambda` it is the summed per-rating loss of the ``"funk"`` rule, the very
loss SGD on :class:`~funksvd.FunkSVD` descends, so the two trainers can be compared on one scale.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from ..base.errors import InputError
from ..maths.objectives import Objective, per_block

__all__ = ["SOLVABLE_PENALTIES", "als_objective", "cholesky_solve", "gram_of_columns", "gram_of_rows", "ridge",
           "solve_rows", "solve_side"]

#: Penalties with a closed-form half-step: the quadratic ones.
SOLVABLE_PENALTIES = ("per_rating", "frobenius")


def als_objective(weighted: bool = True) -> Objective:
    r"""The loss of ALS: :math:`\tfrac12` squared error plus :math:`\tfrac12\lambda` ridge, weighted by counts or not.

    ``weighted=True`` (Zhou et al. 2008's "weighted-:math:`\lambda`" regularisation, Spark's
    ``ALS``): the penalty of :math:`p_u` is counted once per rating of :math:`u`, the
    ``"per_rating"`` penalty, :math:`\omega_u = n_u`; this is ``RULES["funk"].objective``.
    ``weighted=False``: once per row, the ``"frobenius"`` penalty, :math:`\omega_u = 1`.
    """
    return Objective(data_weight=0.5, penalty="per_rating" if weighted else "frobenius",
                     factor_reg_weight=0.5, bias_reg_weight=0.5, name="als_weighted" if weighted else "als")


def ridge(objective: Objective, reg, side: str) -> tuple[float, float]:
    r"""The ridge :math:`(\lambda_X w_f / c,\; \lambda_b w_b / c)` of one side's normal equations,
    per unit :math:`\omega`.

    ``side`` is ``"users"`` (blocks ``P, bu``) or ``"items"`` (``Q, bi``); :math:`c, w_f, w_b`
    are the objective's data and penalty weights (see :func:`solve_rows`).
    """
    if objective.data != "squared" or objective.link != "identity" or objective.entries != "observed" \
            or objective.reduction != "sum" or objective.learn_mu or objective.penalty not in SOLVABLE_PENALTIES:
        raise InputError(f"objective {objective} has no closed-form half-step: ALS needs the squared error, summed "
                         f"over the observed ratings, identity link, constant mu and a penalty in {SOLVABLE_PENALTIES}")
    lam = per_block(reg)
    factor, bias = ("P", "bu") if side == "users" else ("Q", "bi")
    c = objective.data_weight
    return lam[factor] * objective.factor_reg_weight / c, lam.get(bias, 0.0) * objective.bias_reg_weight / c


def gram_of_columns(A, G) -> None:
    r""":math:`G \leftarrow A^\top A` (``A`` is :math:`n \times m`, ``G`` is :math:`m \times m`).

    The compiled engine's twin (:mod:`funksvd.als.lapack`, BLAS ``dsyrk``) writes one triangle
    only, the one its :func:`cholesky_solve` reads.
    """
    G[:, :] = np.dot(A.T, A)


def gram_of_rows(A, G) -> None:
    r""":math:`G \leftarrow A\,A^\top` (``A`` is :math:`n \times m`, ``G`` is :math:`n \times n`).

    The compiled twin writes one triangle only, as for :func:`gram_of_columns`.
    """
    G[:, :] = np.dot(A, A.T)


def cholesky_solve(G, rhs) -> None:
    r"""``rhs`` :math:`\leftarrow G^{-1}` ``rhs`` for a symmetric positive definite ``G`` (overwritten or not).

    :math:`G = L L^\top` (Cholesky), then two triangular solves; the compiled engine's twin is LAPACK's
    ``dpotrf`` and ``dpotrs``. Raises :class:`numpy.linalg.LinAlgError` when ``G`` is not
    positive definite.
    """
    L = np.linalg.cholesky(G)
    rhs[:] = np.linalg.solve(L.T, np.linalg.solve(L, rhs))


def solve_rows(V, c, mu, indptr, cols, values, ridge_x, ridge_b, weights, X, b, first, stop):
    r"""Solve rows ``first .. stop - 1`` of one side exactly, writing :math:`x_u = (p_u, b_u)` into ``X, b``.

    Written for the user side (the item side swaps the roles: ``V`` is then :math:`P`, ``c``
    is :math:`b_u`): row :math:`u` rated items :math:`S_u` = ``cols[indptr[u]:indptr[u + 1]]``
    with ratings ``values`` there, :math:`n_u = |S_u|`; ``V`` = :math:`Q` and ``c`` = :math:`b_i`
    are held fixed. An unbiased model passes empty ``c`` and ``b`` and drops the column of ones.

    Notes
    -----
    Prediction and loss (:func:`als_objective`; :math:`\omega_u = n_u^\alpha` weighted, with
    :math:`\alpha` = ``weight_exponent`` of :func:`solve_side`, 1 by default, else 1;
    :math:`\lambda_P, \lambda_Q, \lambda_{b_u}, \lambda_{b_i}` one per block):

    .. math::

        \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i, \qquad e_{ui} = r_{ui} - \hat r_{ui}

        L = \frac12 \sum_{(u,i) \in \mathcal K} e_{ui}^2
        + \frac12 \sum_u \omega_u \big(\lambda_P \lVert p_u\rVert^2 + \lambda_{b_u} b_u^2\big)
        + \frac12 \sum_i \omega_i \big(\lambda_Q \lVert q_i\rVert^2 + \lambda_{b_i} b_i^2\big)

    With :math:`Q, b_i` fixed, :math:`L` splits into one term per user plus a constant. The bias
    rides along as an augmented column: :math:`x = (p_u, b_u) \in \mathbb R^{m}`, :math:`m = k+1`,
    :math:`A = [\,Q_{S_u} \;\; \mathbf 1\,]` (:math:`n_u \times m`, rows :math:`(q_i, 1)`),
    :math:`y = r_{S_u} - \mu - b_{S_u}` (the ratings less what the fixed side predicts) and
    :math:`\Lambda = \omega_u \operatorname{diag}(\lambda_P, \dots, \lambda_P, \lambda_{b_u})`,
    so that :math:`e = y - A\,x` and user :math:`u`'s term, its gradient and its zero are

    .. math::

        L_u = \frac{1}{2}\, \lVert y - A\,x \rVert^2 + \frac{1}{2}\, x^\top\,\Lambda\,x

        \nabla L_u = -A^\top\,(y - A\,x) + \Lambda\,x

        x = (A^\top\,A + \Lambda)^{-1}\,A^\top\,y

    and, when every entry of :math:`\Lambda` is positive, the same :math:`x` in its dual form

    .. math::

        x = \Lambda^{-1}\,A^\top\,(A\,\Lambda^{-1}\,A^\top + I)^{-1}\,y

    (``tests/test_als.py`` evaluates these four lines against the code; the dual form follows
    from :math:`(A^\top A + \Lambda)\,\Lambda^{-1} A^\top = A^\top (A \Lambda^{-1} A^\top + I)`,
    derived on the docs' ALS page). The primal system is :math:`m \times m`, the dual one
    :math:`n_u \times n_u`: a row with fewer ratings than unknowns (:math:`n_u < m`, most items
    and many users) is solved in the dual form, at :math:`O(n_u^2 m)` instead of
    :math:`O(n_u m^2 + m^3)`; it is computed as :math:`D = \Lambda^{-1/2}`, :math:`B = A D`,
    :math:`x = D\,B^\top (B B^\top + I)^{-1} y`. Both systems are symmetric positive definite
    and solved by Cholesky (:func:`cholesky_solve`).

    :math:`A^\top A + \Lambda` is positive definite when :math:`\lambda_P > 0` and
    :math:`n_u \ge 1` (:math:`\lVert A x\rVert^2 + \omega_u\lambda_P \lVert p\rVert^2 = 0` forces
    :math:`p = 0`, then :math:`n_u b^2 = 0`), so :math:`x` is the unique minimiser of the convex
    quadratic :math:`L_u`. A row without ratings has no data term: it is set to 0, the minimiser
    of its penalty (unweighted) and the smallest of its minimisers (weighted, where it is absent
    from :math:`L`). For another objective of the same family (data weight :math:`c`, penalty
    weights :math:`w_f, w_b`) the ridge is :math:`\lambda w / c` (:func:`ridge`); ``ridge_x,
    ridge_b`` are those per unit :math:`\omega`, and ``weights`` holds :math:`\omega_u`.
    """
    k = V.shape[1]
    biased = c.shape[0] > 0
    m = k + 1 if biased else k
    longest = 0
    for u in range(first, stop):
        longest = max(longest, indptr[u + 1] - indptr[u])
    A = np.empty((longest, m))
    y = np.empty(longest)
    work = np.empty(m * m)  # G (m x m), or the dual system (n x n, n < m)
    lam = np.empty(m)  # the diagonal of Lambda
    for u in range(first, stop):
        s, e = indptr[u], indptr[u + 1]
        n = e - s
        if n == 0:
            X[u, :] = 0.0
            if biased:
                b[u] = 0.0
            continue
        rated = cols[s:e]
        Au, yu = A[:n], y[:n]
        Au[:, :k] = V[rated]
        yu[:] = values[s:e] - mu
        lam[:k] = weights[u] * ridge_x
        if biased:
            Au[:, k] = 1.0
            yu -= c[rated]
            lam[k] = weights[u] * ridge_b
        if n < m and lam.min() > 0.0:  # the dual form
            D = 1.0 / np.sqrt(lam)
            Au *= D  # B = A D
            K = work[:n * n].reshape(n, n)
            gram_of_rows(Au, K)
            for t in range(n):
                K[t, t] += 1.0
            cholesky_solve(K, yu)  # (B B^T + I)^{-1} y
            x = D * np.dot(Au.T, yu)
        else:
            G = work.reshape(m, m)
            gram_of_columns(Au, G)
            for f in range(m):
                G[f, f] += lam[f]
            x = np.dot(Au.T, yu)
            cholesky_solve(G, x)
        X[u, :] = x[:k]
        if biased:
            b[u] = x[k]


def solve_side(objective: Objective, reg, side: str, V, c, mu: float, indptr, cols, values, X, b,
               engine: str = "python", n_jobs: int = 1, pool=None, weight_exponent: float = 1.0) -> None:
    r"""Solve every row of one side in place (see :func:`solve_rows`): the shared normal-equations routine.

    Parameters
    ----------
    objective : Objective
        A loss with a closed-form half-step (:func:`ridge` says which).
    reg : float or mapping
        :math:`\lambda`, one or per block ``P, Q, bu, bi``.
    side : {"users", "items"}
        Which blocks are solved: ``X, b`` are ``P, bu`` (``V, c`` are ``Q, bi``) or the reverse.
    V, c, mu
        The fixed side's factors and biases (``c`` empty when unbiased) and :math:`\mu`.
    indptr, cols, values
        The side's ratings, CSR: row ``u`` rated ``cols[indptr[u]:indptr[u + 1]]`` (int64).
    X, b
        Written in place (``b`` empty when unbiased).
    engine : {"python", "compiled"}
    n_jobs : int
        Threads: the rows are cut into ``n_jobs`` contiguous ranges of about equal work. Each
        row's solve depends only on the fixed side, so the result is bit-identical whatever
        ``n_jobs``.
    pool : concurrent.futures.Executor, optional
        Threads to use (else one is made for the call when ``n_jobs > 1``).
    weight_exponent : float, default 1.0
        :math:`\alpha` of the per-rating penalty's weights :math:`\omega_u = n_u^\alpha`
        (frequency-scaled regularisation); 1 is the objective's own ``"per_rating"`` penalty.
        Only for that penalty.

    Raises
    ------
    InputError
        The normal equations of some row are singular (:math:`\lambda` = 0 with fewer ratings
        than unknowns).
    """
    ridge_x, ridge_b = ridge(objective, reg, side)
    if weight_exponent != 1.0 and objective.penalty != "per_rating":
        raise InputError(f"weight_exponent={weight_exponent} scales the per-rating penalty's weights n^alpha; "
                         f"the {objective.penalty!r} penalty weighs every row once")
    counts = np.diff(indptr).astype(np.float64)
    weights = counts ** weight_exponent if objective.penalty == "per_rating" else np.ones_like(counts)
    if engine == "compiled":
        from .compiled import compiled_solve_rows

        run = compiled_solve_rows()
    elif engine == "python":
        run = solve_rows
    else:
        raise InputError(f"engine={engine!r}; expected 'python' or 'compiled'")
    n = len(indptr) - 1
    bounds = _ranges(indptr, X.shape[1] + (len(c) > 0), n_jobs)
    try:
        if len(bounds) == 2:
            run(V, c, mu, indptr, cols, values, ridge_x, ridge_b, weights, X, b, 0, n)
            return
        from concurrent.futures import ThreadPoolExecutor

        jobs = [(V, c, mu, indptr, cols, values, ridge_x, ridge_b, weights, X, b, int(first), int(stop))
                for first, stop in pairwise(bounds)]
        if pool is None:
            with ThreadPoolExecutor(n_jobs) as own:
                list(own.map(lambda job: run(*job), jobs))
        else:
            list(pool.map(lambda job: run(*job), jobs))
    except np.linalg.LinAlgError:
        raise InputError(f"the normal equations of the {side} are singular (reg={reg}): a factor block needs "
                         "reg > 0 unless every row has at least as many ratings as unknowns") from None


def _ranges(indptr: np.ndarray, m: int, n_jobs: int) -> np.ndarray:
    r"""Row boundaries cutting the rows into ``n_jobs`` ranges of about equal work.

    Row :math:`u` costs about :math:`\min(n_u m^2/2 + m^3/6,\; n_u^2 m/2 + n_u^3/6)` (its Gram
    matrix and Cholesky factor, primal or dual form; see :func:`solve_rows`).
    """
    n = len(indptr) - 1
    if n_jobs == 1 or n < 2:
        return np.array([0, n])
    counts = np.diff(indptr).astype(np.float64)
    work = np.cumsum(np.minimum(counts * m * m / 2 + m ** 3 / 6, counts ** 2 * m / 2 + counts ** 3 / 6))
    cuts = np.searchsorted(work, work[-1] * np.arange(1, n_jobs) / n_jobs)
    return np.unique(np.concatenate([[0], cuts, [n]]))
