r"""The symmetries of a factorisation: rotations, alignment, subspaces, balance.

Only the product :math:`P Q^\top` is seen by the data, so for any invertible :math:`A`

.. math:: (P A)(Q A^{-\top})^\top = P A A^{-1} Q^\top = P Q^\top:

the factors are defined only up to a change of basis. An L2 penalty narrows this to orthogonal
:math:`A = O` (:math:`O^\top O = I`, a rotation or a reflection; :math:`R` is the ratings
matrix), under which :math:`\lVert P O\rVert_F = \lVert P\rVert_F` and every row norm
:math:`\lVert p_u O\rVert = \lVert p_u\rVert` is kept. Learned factors are therefore compared
up to rotation (:func:`procrustes_align`, :func:`principal_angles`), never entry by entry.

**Balance.** When the data term depends on :math:`P, Q` only through the scores
:math:`p_u^\top q_i` (any link, squared or absolute error), its gradients are
:math:`G Q` and :math:`G^\top P` for a matrix :math:`G` of per-entry weights, and it contributes
:math:`P^\top G Q - (G^\top P)^\top Q = 0` below. So with the per-rating L2 penalty of the
rules (weight :math:`w`, one :math:`\lambda` per block; :math:`N_u, N_i` the diagonal matrices
of the rating counts), at every point

.. math::

    P^\top \frac{\partial L}{\partial P} - \Big(\frac{\partial L}{\partial Q}\Big)^\top Q
    = 2 w (\lambda_P P^\top N_u P - \lambda_Q Q^\top N_i Q)

and with the whole-matrix (Frobenius) penalty

.. math::

    P^\top \frac{\partial L}{\partial P} - \Big(\frac{\partial L}{\partial Q}\Big)^\top Q
    = 2 w (\lambda_P P^\top P - \lambda_Q Q^\top Q)

(under a mean reduction the per-rating penalty is averaged with the data term: divide the
right side of the first by the number of entries :math:`N`; the Frobenius penalty is not
averaged). At a critical point the left side is 0, so
:math:`\lambda_P P^\top N_u P = \lambda_Q Q^\top N_i Q` (per-rating penalty) and
:math:`\lambda_P P^\top P = \lambda_Q Q^\top Q` (Frobenius penalty); :math:`P^\top P = Q^\top Q`
is the special case of the Frobenius penalty with :math:`\lambda_P = \lambda_Q`. :func:`balance`
computes the unweighted matrices; the theorem and its proof are in
:doc:`/derivations/symmetries`, and ``tests/test_matrix_docstrings.py`` evaluates both
equations above with the hand gradients."""

from __future__ import annotations

import numpy as np

from ..base.rng import check_random_state
from ..base.validation import positive_int
from ..model.factors import Factors
from ..model.ratings import Ratings

__all__ = ["random_rotation", "procrustes_align", "principal_angles", "balance"]


def random_rotation(k: int, random_state=None) -> np.ndarray:
    r"""A Haar-distributed random orthogonal :math:`k \times k` matrix.

    The orthogonal factor of the QR decomposition of a Gaussian matrix, with the signs of the
    triangular factor's diagonal moved into it so that the distribution is uniform on
    :math:`O(k)` (plain QR is not).

    Examples
    --------
    >>> import numpy as np
    >>> O = random_rotation(3, random_state=0)
    >>> np.allclose(O.T @ O, np.eye(3))
    True
    """
    positive_int(k, "k", whole=True)
    rng = check_random_state(random_state)
    Q, R = np.linalg.qr(rng.standard_normal((k, k)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def procrustes_align(A, B) -> np.ndarray:
    r"""The orthogonal :math:`O` minimising :math:`\lVert A O - B\rVert_F` (orthogonal Procrustes).

    With :math:`A^\top B = U \Sigma V^\top`, :math:`O = U V^\top`. Use it to compare learned
    factors with reference ones: ``P_learned @ procrustes_align(P_learned, P_ref)``.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.shape != B.shape or A.ndim != 2:
        raise ValueError(f"A and B must be 2-D with the same shape, got {A.shape} and {B.shape}")
    U, _, Vt = np.linalg.svd(A.T @ B)
    return U @ Vt


def principal_angles(A, B) -> np.ndarray:
    r"""Principal angles (radians, ascending) between the column spaces of ``A`` and ``B``.

    With orthonormal bases :math:`Q_A, Q_B`, the cosines are the singular values of
    :math:`Q_A^\top Q_B`. All zero iff the spans are equal, e.g. for ``P`` and ``P @ A`` with
    any invertible ``A``.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2 or A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must be 2-D with the same number of rows, got {A.shape} and {B.shape}")
    QA, _ = np.linalg.qr(A)
    QB, _ = np.linalg.qr(B)
    cosines = np.linalg.svd(QA.T @ QB, compute_uv=False)
    return np.sort(np.arccos(np.clip(cosines, -1.0, 1.0)))


def balance(factors: Factors, ratings: Ratings | None = None) -> np.ndarray:
    r"""The balance matrix :math:`P^\top P - Q^\top Q` (:math:`k \times k`, symmetric).

    With ``ratings``, the count-weighted form :math:`P^\top N_u P - Q^\top N_i Q`, with
    :math:`N_u, N_i` diagonal matrices of ratings per user and per item: the form that a
    per-rating penalty balances. Either vanishes at a critical point only when
    :math:`\lambda_P = \lambda_Q`; with per-block :math:`\lambda` the balanced matrix is
    :math:`\lambda_P P^\top N_u P - \lambda_Q Q^\top N_i Q` (module notes).
    """
    P = factors.P.astype(np.float64)
    Q = factors.Q.astype(np.float64)
    if ratings is None:
        return P.T @ P - Q.T @ Q
    n_u = np.bincount(ratings.users, minlength=factors.n_users).astype(np.float64)
    n_i = np.bincount(ratings.items, minlength=factors.n_items).astype(np.float64)
    return (P * n_u[:, None]).T @ P - (Q * n_i[:, None]).T @ Q
