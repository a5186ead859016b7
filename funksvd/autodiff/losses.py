r"""The loss of an :class:`~funksvd.Objective` in TensorFlow ops, and its gradient by the tape.

The twin of :mod:`funksvd.maths.objectives`: the prediction, the link, the data term and the penalty
are written again from the formula, the entries are chosen with TensorFlow ops
(:func:`select_entries`), and :class:`tf.GradientTape` supplies the gradient. Nothing here calls
the numpy hand code.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..model.factors import Factors
from ..maths.objectives import Objective, as_objective, per_block
from ..model.ratings import Ratings

#: Floating-point type of every tensor and variable in this package.
DTYPE = tf.float64
#: Integer type of every index tensor (``int32`` would overflow at Netflix scale and beyond).
INDEX = tf.int64

#: The signature of a batch of entries ``(users, items, values)``: any length, so no retracing.
BATCH_SIGNATURE = (
    tf.TensorSpec([None], INDEX, name="users"),
    tf.TensorSpec([None], INDEX, name="items"),
    tf.TensorSpec([None], DTYPE, name="values"),
)

#: The parameter blocks a penalty runs over (``mu`` is never penalised).
PENALISED = ("P", "Q", "bu", "bi")


# ---- the pieces of the formula (twins of Objective.apply_link, _rho, penalty_terms) -----------


def _weights(objective: Objective) -> dict[str, float]:
    """:math:`w_f` for the factor blocks, :math:`w_b` for the bias blocks."""
    return {"P": objective.factor_reg_weight, "Q": objective.factor_reg_weight,
            "bu": objective.bias_reg_weight, "bi": objective.bias_reg_weight}


def tf_predict(theta, users, items, mu):
    r""":math:`z_{ui} = \mu + b_u + b_i + p_u^\top q_i` for every entry, by gathering rows.

    :math:`\mu` is the variable ``theta["mu"]`` when it is trained, else the constant ``mu``.
    """
    p_u = tf.gather(theta["P"], users)  # (N, k): row u of P for each entry
    q_i = tf.gather(theta["Q"], items)  # (N, k): row i of Q for each entry
    offset = theta["mu"] if "mu" in theta else tf.constant(mu, DTYPE)
    z = offset + tf.reduce_sum(p_u * q_i, axis=1)
    if "bu" in theta:
        z = z + tf.gather(theta["bu"], users) + tf.gather(theta["bi"], items)
    return z


def tf_link(objective: Objective, z):
    r""":math:`h(z) = z`, or :math:`h(z) = r_{\min} + (r_{\max} - r_{\min})\,\sigma(z)`."""
    if objective.link == "identity":
        return z
    lo, hi = objective.rating_range
    return lo + (hi - lo) * tf.sigmoid(z)


def tf_error(objective: Objective, theta, users, items, values, mu):
    r""":math:`e_{ui} = r_{ui} - h(z_{ui})` for every entry."""
    return values - tf_link(objective, tf_predict(theta, users, items, mu))


def _n(objective: Objective, e):
    r""":math:`N = |\mathcal E|` under ``"mean"``, else 1."""
    if objective.reduction == "mean":
        return tf.cast(tf.size(e), DTYPE)
    return tf.constant(1.0, DTYPE)


def tf_data_term(objective: Objective, e):
    r""":math:`D(e) = \frac{c}{N} \sum_{(u,i)} \rho(e_{ui})` with :math:`\rho(e) = e^2` or :math:`|e|`."""
    rho = e * e if objective.data == "squared" else tf.abs(e)  # d|e|/de at 0 is 0 in TF: sign(0) = 0
    return objective.data_weight * tf.reduce_sum(rho) / _n(objective, e)


def tf_penalty(objective: Objective, theta, users, items, lam):
    r"""The penalty part :math:`\frac{1}{N}\sum_{(u,i)} \Omega_{ui} + \Omega` of the loss.

    ``"per_rating"`` gathers :math:`p_u, q_i, b_u, b_i` once per entry (no counts), the others
    run over whole blocks.
    """
    weight = _weights(objective)
    total = tf.constant(0.0, DTYPE)
    if objective.penalty == "per_rating":
        omega_ui = tf.zeros(tf.shape(users), DTYPE)
        for block, index in (("P", users), ("Q", items), ("bu", users), ("bi", items)):
            if block not in theta:
                continue
            rows = tf.gather(theta[block], index)  # the parameter of each entry, repeated per entry
            squares = rows * rows if rows.shape.rank == 1 else tf.reduce_sum(rows * rows, axis=1)
            omega_ui = omega_ui + lam[block] * weight[block] * squares
        total = tf.reduce_sum(omega_ui) / _n(objective, omega_ui)
    elif objective.penalty == "frobenius":
        for block in PENALISED:
            if block in theta:
                total = total + lam[block] * weight[block] * tf.reduce_sum(theta[block] * theta[block])
    elif objective.penalty == "l1":
        for block in PENALISED:
            if block in theta:
                total = total + lam[block] * weight[block] * tf.reduce_sum(tf.abs(theta[block]))
    return total


def tf_loss(objective: Objective, theta, users, items, values, mu, lam):
    r""":math:`L = D(e) + \frac{1}{N}\sum \Omega_{ui} + \Omega`, all in TensorFlow."""
    e = tf_error(objective, theta, users, items, values, mu)
    return tf_data_term(objective, e) + tf_penalty(objective, theta, users, items, lam)


# ---- the matrix (masked) formulation ------------------------------------------------------------


def tf_matrix_loss(objective: Objective, theta, R, W, mu, lam):
    r"""The same loss :math:`L` written on whole matrices with a mask, in TensorFlow.

    .. math::

        Z = \mu + b_u 1^\top + 1 b_i^\top + P Q^\top, \qquad E = W \circ (R - h(Z)), \qquad
        L = \frac{c}{N} \sum_{u,i} \rho(E_{ui})
            + \frac{1}{N}\Big(\sum_u n_u \Omega_u + \sum_i n_i \Omega_i\Big) + \Omega

    :math:`W` is the 0/1 mask of the entries (``None``: every cell, a dense objective),
    :math:`N = \sum W` under ``"mean"`` (else 1), :math:`n_u = \sum_i W_{ui}` and
    :math:`n_i = \sum_u W_{ui}` the entries per user and item: the per-rating penalty
    :math:`\Omega_{ui}` summed over the entries groups by row and column. Since :math:`\rho(0) = 0`,
    the masked cells add nothing; :math:`P Q^\top` is one matrix product, no gather.
    """
    offset = theta["mu"] if "mu" in theta else tf.constant(mu, DTYPE)
    Z = offset + tf.matmul(theta["P"], theta["Q"], transpose_b=True)
    if "bu" in theta:
        Z = Z + theta["bu"][:, None] + theta["bi"][None, :]
    E = R - tf_link(objective, Z)
    if W is not None:
        E = W * E
    rho = E * E if objective.data == "squared" else tf.abs(E)
    n_users, n_items = R.shape
    if W is None:
        n_u = tf.fill([n_users], tf.constant(float(n_items), DTYPE))
        n_i = tf.fill([n_items], tf.constant(float(n_users), DTYPE))
    else:
        n_u, n_i = tf.reduce_sum(W, axis=1), tf.reduce_sum(W, axis=0)
    N = tf.reduce_sum(n_u) if objective.reduction == "mean" else tf.constant(1.0, DTYPE)
    total = objective.data_weight * tf.reduce_sum(rho) / N
    weight = _weights(objective)
    if objective.penalty == "per_rating":
        for block, count in (("P", n_u), ("Q", n_i), ("bu", n_u), ("bi", n_i)):
            if block in theta:
                squares = theta[block] * theta[block]
                if squares.shape.rank == 2:
                    squares = tf.reduce_sum(squares, axis=1)
                total = total + lam[block] * weight[block] * tf.reduce_sum(count * squares) / N
    else:
        total = total + tf_penalty(objective, theta, None, None, lam)
    return total


def matrix_entries(objective: Objective, factors: Factors, ratings: Ratings):
    r"""The entries as matrices ``(R, W)`` with TF ops: :math:`R` the values scattered into the cells, :math:`W` the 0/1 mask.

    ``W`` is None for a dense objective (every cell an entry, missing as 0). A pair rated twice
    is refused (``ValueError``), since a cell holds one value.
    """
    users, items, values = select_entries(objective, factors, ratings)
    shape = tf.constant([factors.n_users, factors.n_items], INDEX)
    if objective.entries == "dense":
        return tf.reshape(values, [factors.n_users, factors.n_items]), None
    cells = tf.stack([users, items], axis=1)
    W = tf.scatter_nd(cells, tf.ones_like(values), shape)
    if float(tf.reduce_max(W)) > 1.0:
        j = int(tf.where(tf.gather_nd(W, cells) > 1)[0, 0])
        raise ValueError(f"rating {j} repeats the pair (user {int(users[j])}, item {int(items[j])}); "
                         "form='matrix' holds one value per cell: use form='sparse'")
    return tf.scatter_nd(cells, values, shape), W


# ---- conversions -------------------------------------------------------------------------------


def tf_variables(factors: Factors, learn_mu: bool = False) -> dict[str, tf.Variable]:
    """One float64 ``tf.Variable`` per block of ``factors``, and a scalar one for ``mu`` when it is trained."""
    theta = {block: tf.Variable(np.asarray(value, dtype=np.float64), dtype=DTYPE, name=block)
             for block, value in factors.params().items()}
    if learn_mu:
        theta["mu"] = tf.Variable(float(factors.mu), dtype=DTYPE, name="mu")
    return theta


def tf_entries(users, items, values):
    """``(users, items, values)`` as int64 / float64 tensors."""
    return (tf.constant(np.asarray(users, dtype=np.int64), INDEX),
            tf.constant(np.asarray(items, dtype=np.int64), INDEX),
            tf.constant(np.asarray(values, dtype=np.float64), DTYPE))


def tf_block_reg(reg, factors: Factors) -> dict[str, float]:
    r""":math:`\lambda` per block of ``factors`` (a mapping must name each block present)."""
    lam = per_block(reg)
    missing = [block for block in factors.blocks if block not in lam]
    if missing:  # as funksvd.maths.objectives raises for a missing block
        raise ValueError(f"reg must give every block of the model {list(factors.blocks)}; missing {missing}")
    return lam


def as_factors(theta, mu: float) -> Factors:
    """The current values of the variables as :class:`~funksvd.Factors` (``mu`` from its variable if trained)."""
    arrays = {block: variable.numpy() for block, variable in theta.items()}
    return Factors(arrays["P"], arrays["Q"], arrays.get("bu"), arrays.get("bi"),
                   float(arrays["mu"]) if "mu" in arrays else mu)


def select_entries(objective: Objective, factors: Factors, ratings: Ratings):
    r"""The entries :math:`\mathcal E` of the data term as tensors ``(users, items, values)``, chosen with TF ops.

    ``"observed"``: the rating triples as they are stored. ``"dense"``: every cell in row-major
    order, its value scattered from the ratings (``tf.scatter_nd``; missing cells are 0); a pair
    rated twice is refused, since a cell holds one value.
    """
    if (ratings.n_users, ratings.n_items) != (factors.n_users, factors.n_items):
        raise ValueError(
            f"ratings are {ratings.n_users} users x {ratings.n_items} items but the factors are "
            f"{factors.n_users} x {factors.n_items}"
        )
    users, items, values = tf_entries(ratings.users, ratings.items, ratings.values)
    if objective.entries == "observed":
        return users, items, values
    shape = tf.constant([ratings.n_users, ratings.n_items], INDEX)
    cells = tf.stack([users, items], axis=1)
    per_cell = tf.scatter_nd(cells, tf.ones_like(values), shape)  # how often each cell is rated
    repeated = tf.where(tf.gather_nd(per_cell, cells) > 1)[:, 0]
    if tf.size(repeated) > 0:
        u, i = int(users[repeated[0]]), int(items[repeated[0]])
        j = int(tf.where((users == u) & (items == i))[1, 0])  # the second rating of that cell
        raise ValueError(f"rating {j} repeats the pair (user {u}, item {i}); a dense matrix holds one value per cell")
    R = tf.scatter_nd(cells, values, shape)
    all_users = tf.repeat(tf.range(ratings.n_users, dtype=INDEX), ratings.n_items)
    all_items = tf.tile(tf.range(ratings.n_items, dtype=INDEX), [ratings.n_users])
    return all_users, all_items, tf.reshape(R, [-1])


def densify(gradient) -> np.ndarray:
    r"""A tape gradient as a dense float64 array; :class:`tf.IndexedSlices` rows with the same index are summed.

    Parameters
    ----------
    gradient : tf.Tensor or tf.IndexedSlices

    Notes
    -----
    The gradient of :math:`\texttt{gather}(P, \mathrm{idx})` with respect to :math:`P` is sparse:
    row :math:`j` of the upstream gradient :math:`G` belongs to row :math:`\mathrm{idx}_j` of
    :math:`P`. Densifying scatters and adds,

    .. math:: \Big(\frac{\partial L}{\partial P}\Big)_u = \sum_{j:\ \mathrm{idx}_j = u} G_j ,

    which is ``np.add.at(dP, idx, G)`` of the numpy code.
    """
    return np.asarray(tf.convert_to_tensor(gradient).numpy(), dtype=np.float64)


# ---- full batch ----------------------------------------------------------------------------------


def loss(factors: Factors, ratings: Ratings, objective, reg=0.02) -> float:
    r"""The full-batch loss :math:`L(\theta)`, computed with TensorFlow ops.

    Same arguments and value as :func:`funksvd.loss` (equal up to rounding, ~1e-15 relative).

    Parameters
    ----------
    factors : Factors
        The point :math:`\theta = (P, Q, b_u, b_i)`; converted to float64.
    ratings : Ratings
    objective : Objective or str
        An :class:`~funksvd.Objective`, a rule name or a key of :data:`~funksvd.OBJECTIVES`.
    reg : float or mapping, default 0.02
        :math:`\lambda`, one for all blocks or one per block ``{"P", "Q", "bu", "bi"}``.

    Returns
    -------
    float

    Notes
    -----
    For each entry :math:`(u, i, r_{ui})` of :math:`\mathcal E` (the observed ratings, or every
    cell with missing as 0 when ``entries="dense"``), with gathered rows:

    .. math::

        z_{ui} = \mu + b_u + b_i + p_u^\top q_i, \qquad e_{ui} = r_{ui} - h(z_{ui})

        L = \frac{1}{N} \sum_{(u,i) \in \mathcal E} \big( c\,\rho(e_{ui}) + \Omega_{ui} \big) + \Omega

    :math:`N = |\mathcal E|` for ``reduction="mean"``, else 1. The per-rating penalty gathers the
    parameters of each entry, :math:`\Omega_{ui} = \lambda_P w_f \lVert p_u\rVert^2 +
    \lambda_Q w_f \lVert q_i\rVert^2 + \lambda_{b_u} w_b b_u^2 + \lambda_{b_i} w_b b_i^2`;
    the whole-model penalty is :math:`\Omega = \sum_\theta \lambda_\theta w_\theta
    \lVert\theta\rVert_F^2` (``"frobenius"``) or :math:`\sum_\theta \lambda_\theta w_\theta
    \lVert\theta\rVert_1` (``"l1"``).
    """
    objective = as_objective(objective)
    lam = tf_block_reg(reg, factors)
    theta = {block: tf.constant(np.asarray(value, dtype=np.float64), DTYPE)
             for block, value in factors.params().items()}
    users, items, values = select_entries(objective, factors, ratings)
    return float(tf_loss(objective, theta, users, items, values, factors.mu, lam))


def tape_gradients(factors: Factors, ratings: Ratings, objective, reg=0.02) -> dict:
    r"""The raw output of :meth:`tf.GradientTape.gradient` for :math:`L(\theta)`, by block.

    Same arguments as :func:`loss`. Blocks reached only through ``tf.gather`` come back as
    :class:`tf.IndexedSlices` (one row per gathered entry, duplicates not yet summed); blocks
    that a whole-model penalty also touches come back dense. :func:`gradients` densifies them.

    Notes
    -----
    Reverse-mode automatic differentiation of the loss :math:`L` of :func:`loss`. For
    :math:`p_u = \texttt{gather}(P, \mathrm{users})_j` the tape returns the slices

    .. math:: \Big(\mathrm{indices} = \mathrm{users},\
       \mathrm{values}_j = \frac{\partial L}{\partial z_j}\, q_{i_j}\Big),

    one per entry, before any summation.
    """
    objective = as_objective(objective)
    lam = tf_block_reg(reg, factors)
    theta = tf_variables(factors, objective.learn_mu)
    users, items, values = select_entries(objective, factors, ratings)
    with tf.GradientTape() as tape:
        value = tf_loss(objective, theta, users, items, values, factors.mu, lam)
    return tape.gradient(value, theta, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def gradients(factors: Factors, ratings: Ratings, objective, reg=0.02) -> dict[str, np.ndarray]:
    r""":math:`\partial L/\partial\theta` by TensorFlow autodiff, as float64 arrays.

    Same arguments as :func:`loss`; same keys as :func:`funksvd.gradients` (``"P", "Q"``, for a
    biased model ``"bu", "bi"``, and ``"mu"`` when the objective trains it). This is the oracle
    the hand-derived gradients are checked against.

    Notes
    -----
    The tape differentiates the loss of :func:`loss`; the gather gradients are densified by
    :func:`densify`, which sums the rows of repeated indices:

    .. math::

        \frac{\partial L}{\partial p_u} = \sum_{(u,i) \in \mathcal E} g_{ui}\, q_i
        + \frac{\partial\Omega}{\partial p_u},
        \qquad g_{ui} = \frac{\partial L}{\partial z_{ui}} = -\frac{c\,\rho'(e_{ui})\,h'(z_{ui})}{N}

    and likewise for :math:`q_i, b_u, b_i` -- the tape never sees this formula, it only
    applies the chain rule to the ops of :func:`loss`.
    """
    return {block: densify(g) for block, g in tape_gradients(factors, ratings, objective, reg).items()}

