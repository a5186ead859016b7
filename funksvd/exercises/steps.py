r"""Exercises whose answer is an update or a per-rating gradient: the rules, Funk's feature step, the optimisers.

In-place updates are graded by what they leave in the arrays (every entry, so a change to the
wrong row fails too) and by the error they return, against the update written out again in the
grader in vectorised form; the per-rating gradients of SVD++ and the finite-difference exercise
against central differences, which are exact for these losses (the loss is quadratic along each
coordinate: :mod:`funksvd.check.finite_differences`).
"""

from __future__ import annotations

import numpy as np

from .cases import coordinate_differences, problem
from .exercise import Case, Exercise, Slip

__all__ = ["EXERCISES"]


# ---- the per-rating rules --------------------------------------------------------------------

def _rating_case(rng, index):
    pb = problem(rng, index, biased=True)
    f = pb.factors
    j = int(rng.integers(len(pb.ratings)))
    u, i, r = int(pb.ratings.users[j]), int(pb.ratings.items[j]), float(pb.ratings.values[j])
    lr = tuple(float(x) for x in rng.uniform(0.01, 0.2, 4))  # one per block, distinct: a mix-up shows
    reg = tuple(float(x) for x in rng.uniform(0.05, 0.5, 4))
    args = (f.P.copy(), f.Q.copy(), f.bu.copy(), f.bi.copy(), f.mu, u, i, r, lr, reg)
    return Case(args, pb.label + f", rating (u={u}, i={i}, r={r:.3g})")


def funk_step(P, Q, bu, bi, mu, u, i, r, lr, reg):
    """Simon Funk's SGD step on one rating (u, i, r), in place; return the error e before the update.

    Per-rating loss: 1/2 e^2 + 1/2 (reg_pu |p_u|^2 + reg_qi |q_i|^2 + reg_bu bu_u^2 + reg_bi bi_i^2),
    e = r - (mu + bu_u + bi_i + p_u . q_i); each block steps by minus its learning rate times its
    gradient, all gradients at the values before the step. lr = (lr_pu, lr_qi, lr_bu, lr_bi) and
    reg = (reg_pu, reg_qi, reg_bu, reg_bi), in block order P, Q, bu, bi.
    """
    lr_pu, lr_qi, lr_bu, lr_bi = lr
    reg_pu, reg_qi, reg_bu, reg_bi = reg
    err = r - (mu + bu[u] + bi[i] + P[u] @ Q[i])
    bu[u] += lr_bu * (err - reg_bu * bu[u])
    bi[i] += lr_bi * (err - reg_bi * bi[i])
    p_u = P[u].copy()
    P[u] += lr_pu * (err * Q[i] - reg_pu * P[u])
    Q[i] += lr_qi * (err * p_u - reg_qi * Q[i])
    return err


def _funk_variant(two=1.0, sign=1.0, updated_row=False, bias_reg=True, bias_two=1.0):
    def step(P, Q, bu, bi, mu, u, i, r, lr, reg):
        err = sign * (r - (mu + bu[u] + bi[i] + P[u] @ Q[i]))
        p_old, q_old = P[u].copy(), Q[i].copy()
        bu[u] += lr[2] * (bias_two * err - reg[2] * bias_reg * bu[u])
        bi[i] += lr[3] * (bias_two * err - reg[3] * bias_reg * bi[i])
        P[u] = p_old + lr[0] * (two * err * q_old - reg[0] * p_old)
        Q[i] = q_old + lr[1] * (two * err * (P[u] if updated_row else p_old) - reg[1] * q_old)
        return err
    return step


FUNK_STEP = Exercise(
    name="funk_step",
    title="Funk's per-rating rule",
    page="derivations/rules",
    prompt=r"""For one rating :math:`(u, i, r)` with
:math:`e = r - (\mu + b_u + b_i + p_u^\top q_i)` and the per-rating loss

.. math:: \ell = \tfrac12 e^2 + \tfrac12\big(\lambda_P \lVert p_u\rVert^2 + \lambda_Q \lVert q_i\rVert^2
          + \lambda_{b_u} b_u^2 + \lambda_{b_i} b_i^2\big),

take one gradient step on :math:`p_u, q_i, b_u, b_i` together, each block with its own
learning rate :math:`\gamma_\theta` and every gradient evaluated *before* the step. Write
``funk_step(P, Q, bu, bi, mu, u, i, r, lr, reg)``, with ``lr`` and ``reg`` 4-tuples in block
order ``(P, Q, bu, bi)`` as in :mod:`funksvd.maths.rules`: it updates the arrays in place and
returns :math:`e`. Graded on random cases and by :func:`funksvd.check.check_rule`.""",
    function=funk_step,
    draw=_rating_case,
    outputs=("err", "P", "Q", "bu", "bi"),
    inplace=("P", "Q", "bu", "bi"),
    oracle=_funk_variant(),
    rule="funk",
    oracle_name="the update written out again in the grader (vectorised, from copies of the old rows) and check_rule",
    rtol=1e-12, atol=1e-14,
    slips=(
        Slip("a factor 2 on p and q: that is the gradient of e^2, the quuxlabs equations, not of 1/2 e^2",
             _funk_variant(two=2.0)),
        Slip("q_i was updated from the new p_u (the quuxlabs listing's order): keep the old row for q_i",
             _funk_variant(updated_row=True)),
        Slip("a sign slip: e = r - r_hat, and the step adds lr e q_i", _funk_variant(sign=-1.0)),
        Slip("the biases are regularised too: b_u += lr (e - lambda b_u)", _funk_variant(bias_reg=False)),
    ),
)


def quuxlabs_step(P, Q, bu, bi, mu, u, i, r, lr, reg):
    """The quuxlabs article's equations on one rating, in place; return the error e before the update.

    p_u += lr_pu (2 e q_i - reg_pu p_u), q_i += lr_qi (2 e p_u - reg_qi q_i) (the factor 2 of d(e^2)/de),
    bu_u += lr_bu (e - reg_bu bu_u), bi_i += lr_bi (e - reg_bi bi_i) (no factor 2), all from the old values.
    lr and reg are 4-tuples in block order P, Q, bu, bi.
    """
    lr_pu, lr_qi, lr_bu, lr_bi = lr
    reg_pu, reg_qi, reg_bu, reg_bi = reg
    err = r - (mu + bu[u] + bi[i] + P[u] @ Q[i])
    bu[u] += lr_bu * (err - reg_bu * bu[u])
    bi[i] += lr_bi * (err - reg_bi * bi[i])
    p_u = P[u].copy()
    P[u] += lr_pu * (2.0 * err * Q[i] - reg_pu * P[u])
    Q[i] += lr_qi * (2.0 * err * p_u - reg_qi * Q[i])
    return err


QUUXLABS_STEP = Exercise(
    name="quuxlabs_step",
    title="The quuxlabs article's equations, as a step",
    page="derivations/rules",
    prompt=r"""The quuxlabs article differentiates :math:`e^2 + \frac{\beta}{2}(\lVert p\rVert^2 + \lVert q\rVert^2)`
and writes

.. math::

    p_u \leftarrow p_u + \alpha\,(2\, e\, q_i - \beta\, p_u), \qquad
    q_i \leftarrow q_i + \alpha\,(2\, e\, p_u - \beta\, q_i),

    b_u \leftarrow b_u + \alpha\,(e - \beta\, b_u), \qquad b_i \leftarrow b_i + \alpha\,(e - \beta\, b_i),

all from the old values, with no factor 2 on the biases. Write
``quuxlabs_step(P, Q, bu, bi, mu, u, i, r, lr, reg)`` (``lr``, ``reg``: 4-tuples in block order
``(P, Q, bu, bi)``). :func:`funksvd.check.check_rule` also grades it: which loss is it a gradient step of?""",
    function=quuxlabs_step,
    draw=_rating_case,
    outputs=("err", "P", "Q", "bu", "bi"),
    inplace=("P", "Q", "bu", "bi"),
    oracle=_funk_variant(two=2.0),
    rule="quuxlabs",
    oracle_name="the update written out again in the grader and check_rule",
    rtol=1e-12, atol=1e-14,
    slips=(
        Slip("the factor 2 on p and q is missing: that is Funk's rule, the gradient of 1/2 e^2", _funk_variant()),
        Slip("a factor 2 on the biases too: the article writes the bias rules without it",
             _funk_variant(two=2.0, bias_two=2.0)),
        Slip("q_i was updated from the new p_u (the listing's order, not the equations')",
             _funk_variant(two=2.0, updated_row=True)),
    ),
)


# ---- Funk's feature-at-a-time schedule ---------------------------------------------------------

def _feature_case(rng, index):
    pb = problem(rng, index)
    ratings = pb.ratings
    j = int(rng.integers(len(ratings)))
    f = int(rng.integers(pb.factors.n_factors))
    cache = rng.uniform(0.5, 5.5, size=len(ratings))  # some predictions leave [1, 5]: the clip acts
    lr = float(rng.uniform(0.01, 0.2))
    args = (pb.factors.P.copy(), pb.factors.Q.copy(), cache, f, int(ratings.users[j]), int(ratings.items[j]), j,
            float(ratings.values[j]), lr, pb.reg, 1.0, 5.0)
    return Case(args, pb.label + f", feature f = {f}, rating j = {j}, cache[j] = {cache[j]:.3g}")


def feature_step(P, Q, cache, f, u, i, j, r, lr, reg, lo, hi):
    """Funk's step on feature f alone for rating j = (u, i, r); cache[j] holds what every other feature predicts.

    Prediction clip(cache[j] + P[u, f] Q[i, f], lo, hi); per-rating loss 1/2 e^2 + reg/2 (P[u, f]^2 + Q[i, f]^2),
    the clip ignored in the gradient. Update P[u, f] and Q[i, f] in place (both from the old values);
    return e. The cache is not changed by a step.
    """
    puf, qif = P[u, f], Q[i, f]
    err = r - min(max(cache[j] + puf * qif, lo), hi)
    P[u, f] += lr * (err * qif - reg * puf)
    Q[i, f] += lr * (err * puf - reg * qif)
    return err


def _feature_variant(clip=True, dot=False, updated=False):
    def step(P, Q, cache, f, u, i, j, r, lr, reg, lo, hi):
        z = cache[j] + (P[u] @ Q[i] if dot else P[u, f] * Q[i, f])
        err = r - (np.clip(z, lo, hi) if clip else z)
        puf, qif = P[u, f], Q[i, f]
        P[u, f] = puf + lr * (err * qif - reg * puf)
        Q[i, f] = qif + lr * (err * (P[u, f] if updated else puf) - reg * qif)
        return err
    return step


FEATURE_STEP = Exercise(
    name="feature_step",
    title="Funk's feature-at-a-time step with the residual cache",
    page="derivations/funk_schedule",
    prompt=r"""Funk trains one feature :math:`f` at a time. The cache :math:`c_j` of rating
:math:`j = (u, i, r)` holds what everything else predicts (:math:`\mu`, the biases, the other
features), so

.. math:: \hat r = \operatorname{clip}(c_j + p_{uf}\, q_{if}), \qquad e = r - \hat r, \qquad
          \ell = \tfrac12 e^2 + \tfrac{\lambda}{2}(p_{uf}^2 + q_{if}^2),

with the clip to :math:`[r_{\min}, r_{\max}]` ignored in the gradient. Write
``feature_step(P, Q, cache, f, u, i, j, r, lr, reg, lo, hi)``: one gradient step on
:math:`p_{uf}, q_{if}` (both from their old values) in place; return :math:`e`; leave the cache alone.""",
    function=feature_step,
    draw=_feature_case,
    outputs=("err", "P", "Q"),
    inplace=("P", "Q"),
    oracle=_feature_variant(),
    oracle_name="the step written out again in the grader",
    rtol=1e-12, atol=1e-14,
    slips=(
        Slip("the prediction is clipped to [lo, hi] before the error: e = r - clip(c_j + p_uf q_if)",
             _feature_variant(clip=False)),
        Slip("the whole p_u . q_i was added to the cache, which already holds the other features: only p_uf q_if",
             _feature_variant(dot=True)),
        Slip("q_if was updated from the new p_uf: both from the old values", _feature_variant(updated=True)),
    ),
)


def _cache_case(rng, index):
    pb = problem(rng, index, biased=True)
    f, r = pb.factors, pb.ratings
    stage = int(rng.integers(f.n_factors))
    return Case((f.P, f.Q, f.bu, f.bi, f.mu, r.users.copy(), r.items.copy(), stage),
                pb.label + f", stage f = {stage}")


def residual_cache(P, Q, bu, bi, mu, users, items, f):
    """The cache while feature f trains: c_j = mu + bu[u_j] + bi[i_j] + sum over g < f of P[u_j, g] Q[i_j, g].

    users, items: the user and item of each rating. Return c, one entry per rating.
    """
    cache = np.empty(len(users))
    for j in range(len(users)):
        cache[j] = mu + bu[users[j]] + bi[items[j]] + sum(P[users[j], g] * Q[items[j], g] for g in range(f))
    return cache


def _cache_variant(last, offsets=True, biases=True):
    def cache(P, Q, bu, bi, mu, users, items, f):
        value = np.einsum("jk,jk->j", P[users, :last(f)], Q[items, :last(f)])
        return value + (mu if offsets else 0.0) + ((bu[users] + bi[items]) if biases else 0.0)
    return cache


RESIDUAL_CACHE = Exercise(
    name="residual_cache",
    title="The residual cache of Funk's schedule",
    page="derivations/funk_schedule",
    prompt=r"""While feature :math:`f` trains, the features :math:`g < f` are finished and frozen, and
what they predict, with :math:`\mu` and the biases, is cached per rating :math:`j = (u_j, i_j)`:

.. math:: c_j = \mu + b_{u_j} + b_{i_j} + \sum_{g < f} p_{u_j g}\, q_{i_j g} .

Write ``residual_cache(P, Q, bu, bi, mu, users, items, f)`` returning :math:`c` (features are
numbered from 0, so stage :math:`f = 0` caches no feature).""",
    function=residual_cache,
    draw=_cache_case,
    outputs=("cache",),
    oracle=_cache_variant(lambda f: f),
    oracle_name="the cache written with einsum in the grader",
    rtol=1e-12, atol=1e-13,
    slips=(
        Slip("the feature being trained is in the cache: the sum runs over g < f, not g <= f",
             _cache_variant(lambda f: f + 1)),
        Slip("mu is missing from the cache", _cache_variant(lambda f: f, offsets=False)),
        Slip("the biases are missing from the cache", _cache_variant(lambda f: f, biases=False)),
    ),
)


# ---- gradient checking -----------------------------------------------------------------------

def _fd_case(rng, index):
    pb = problem(rng, index)
    h = float(rng.choice([0.5, 1.0, 2.0]))
    return Case((pb.R, pb.M, pb.factors.P, pb.factors.Q, h), pb.label + f", h = {h:g}")


def central_differences(R, M, P, Q, h):
    """D[u, f] = (L(P + h E_uf) - L(P - h E_uf)) / (2 h) for L(P) = sum M o (R - P Q^T)^2, E_uf the unit matrix.

    Return D, shaped like P (one central difference per coordinate of P, Q fixed).
    """
    def loss(P):
        return float((M * (R - P @ Q.T) ** 2).sum())

    D = np.zeros_like(P)
    for u in range(P.shape[0]):
        for f in range(P.shape[1]):
            step = np.zeros_like(P)
            step[u, f] = h
            D[u, f] = (loss(P + step) - loss(P - step)) / (2 * h)
    return D


def _fd_variant(forward=False, denominator=2.0, together=False):
    def differences(R, M, P, Q, h):
        def loss(X):
            return float((M * (R - X @ Q.T) ** 2).sum())
        D = np.zeros_like(P)
        for index in np.ndindex(P.shape):
            step = np.full_like(P, h) if together else np.zeros_like(P)
            step[index] = h
            low = loss(P) if forward else loss(P - step)
            D[index] = (loss(P + step) - low) / (h if forward else denominator * h)
        return D
    return differences


CENTRAL = Exercise(
    name="central_differences",
    title="Central differences are exact here, whatever the step",
    page="derivations/gradient_checking",
    prompt=r"""Along one coordinate :math:`p_{uf}` the masked squared loss is a quadratic
:math:`a + b\,t + c\,t^2`, so the central difference

.. math:: D_{uf} = \frac{L(P + h\,\epsilon_{uf}) - L(P - h\,\epsilon_{uf})}{2h}

equals :math:`\partial L/\partial p_{uf}` *exactly* for every :math:`h`, even :math:`h = 2`.
Write ``central_differences(R, M, P, Q, h)`` returning the matrix :math:`D` for
:math:`L(P) = \sum_{u,i} M_{ui} (R_{ui} - p_u^\top q_i)^2`. It is graded against the exact gradient.""",
    function=central_differences,
    draw=_fd_case,
    outputs=("D",),
    oracle=lambda R, M, P, Q, h: -2.0 * (M * (R - P @ Q.T)) @ Q,
    oracle_name="the exact gradient -2 (M o E) Q (central differences of a quadratic have no truncation error)",
    rtol=1e-9, atol=1e-9,
    slips=(
        Slip("a forward difference (L(P + h) - L(P)) / h: its error c h does not vanish for a quadratic",
             _fd_variant(forward=True)),
        Slip("divided by h: the central difference spans 2h", _fd_variant(denominator=1.0)),
        Slip("every coordinate was moved at once: perturb one coordinate at a time",
             _fd_variant(together=True)),
    ),
)


# ---- the optimisers as Keras computes them -----------------------------------------------------

def _adam_case(rng, index):
    shape = ((3, 2), (5,), (2, 4), (4, 1), (6,))[index % 5]
    scale = (1.0, 1e-7, 1e-3, 1e-6, 10.0)[index % 5]  # small gradients: where epsilon's place shows
    theta = rng.normal(0.0, 1.0, size=shape)
    g = rng.normal(0.0, scale, size=shape)
    m = rng.normal(0.0, scale, size=shape)
    v = rng.uniform(0.0, 1.0, size=shape) * scale**2
    t = int(rng.integers(1, 6))
    args = (theta, g, m, v, t, float(rng.uniform(0.001, 0.1)), float(rng.uniform(0.8, 0.95)),
            float(rng.uniform(0.99, 0.9999)), 1e-7)
    return Case(args, f"theta of shape {shape}, gradients of size {scale:g}, step t = {t}")


def adam_step(theta, g, m, v, t, lr, beta_1, beta_2, eps):
    """Keras' Adam step t (t = 1 on the first step), in place on theta, m, v; g is the gradient.

    m += (1 - beta_1)(g - m); v += (1 - beta_2)(g^2 - v);
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t); theta -= alpha m / (sqrt(v) + eps).
    """
    m += (1 - beta_1) * (g - m)
    v += (1 - beta_2) * (g * g - v)
    alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    theta -= alpha * m / (np.sqrt(v) + eps)


def _adam_variant(correct=True, paper=False, shift=0, swap=False):
    def step(theta, g, m, v, t, lr, beta_1, beta_2, eps):
        a1, a2 = (beta_1, beta_2) if swap else (1 - beta_1, 1 - beta_2)
        m[...] = m + a1 * (g - m)
        v[...] = v + a2 * (g * g - v)
        power = t - shift
        c1, c2 = (1 - beta_1**power, 1 - beta_2**power) if correct else (1.0, 1.0)
        if paper:
            theta[...] = theta - lr * (m / c1) / (np.sqrt(v / c2) + eps)
        else:
            theta[...] = theta - lr * np.sqrt(c2) / c1 * m / (np.sqrt(v) + eps)
    return step


ADAM = Exercise(
    name="adam_step",
    title="Adam's step with Keras' bias correction",
    page="derivations/optimizers",
    prompt=r"""Keras' Adam keeps moments :math:`m, v` (zero at the start) and at step :math:`t = 1, 2, \dots`

.. math:: m \leftarrow m + (1 - \beta_1)(g - m), \qquad v \leftarrow v + (1 - \beta_2)(g^2 - v),

          \alpha_t = \gamma\,\frac{\sqrt{1 - \beta_2^{\,t}}}{1 - \beta_1^{\,t}}, \qquad
          \theta \leftarrow \theta - \frac{\alpha_t\, m}{\sqrt{v} + \hat\epsilon} :

the bias correction sits in the step size, so :math:`\hat\epsilon` is added to the *uncorrected*
:math:`\sqrt v`. Write ``adam_step(theta, g, m, v, t, lr, beta_1, beta_2, eps)`` updating
``theta, m, v`` in place (the betas as given, in float64).""",
    function=adam_step,
    draw=_adam_case,
    outputs=("theta", "m", "v"),
    inplace=("theta", "m", "v"),
    oracle=_adam_variant(),
    oracle_name="the step written out again in the grader",
    rtol=1e-10, atol=1e-15,
    slips=(
        Slip("no bias correction: the step size is lr sqrt(1 - beta_2^t) / (1 - beta_1^t)",
             _adam_variant(correct=False)),
        Slip("the paper's form, epsilon added to the corrected sqrt(v_hat): Keras adds it to the uncorrected "
             "sqrt(v)", _adam_variant(paper=True)),
        Slip("the powers use t - 1: the first step is t = 1", _adam_variant(shift=1)),
        Slip("beta and 1 - beta swapped in the moment updates: m += (1 - beta_1)(g - m)", _adam_variant(swap=True)),
    ),
)


def _momentum_case(rng, index):
    shape = ((3, 2), (5,), (2, 4), (4, 1))[index % 4]
    nesterov = index % 2 == 1
    args = (rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape), float(rng.uniform(0.01, 0.2)),
            float(rng.uniform(0.5, 0.95)), nesterov)
    return Case(args, f"theta of shape {shape}, nesterov = {nesterov}")


def momentum_step(theta, g, m, lr, momentum, nesterov):
    """Keras' SGD step with momentum, in place on theta and the velocity m; g is the gradient.

    m = momentum m - lr g; then theta += m, or with nesterov theta += momentum m - lr g.
    """
    m *= momentum
    m -= lr * g
    if nesterov:
        theta += momentum * m - lr * g
    else:
        theta += m


def _momentum_variant(torch=False, ignore_nesterov=False, sign=1.0):
    def step(theta, g, m, lr, momentum, nesterov):
        if torch:
            m[...] = momentum * m + g
            theta[...] = theta - lr * (g + momentum * m if nesterov else m)
            return
        m[...] = momentum * m - lr * g
        theta[...] = theta + sign * (momentum * m - lr * g if nesterov and not ignore_nesterov else m)
    return step


MOMENTUM = Exercise(
    name="momentum_step",
    title="Momentum and Nesterov momentum, as Keras keeps the velocity",
    page="derivations/optimizers",
    prompt=r"""Keras' ``SGD(momentum=beta, nesterov=...)`` keeps a velocity :math:`m` (zero at the start):

.. math:: m \leftarrow \beta\, m - \gamma\, g, \qquad
          \theta \leftarrow \theta + m \quad\text{or, with Nesterov,}\quad
          \theta \leftarrow \theta + \beta\, m - \gamma\, g .

Write ``momentum_step(theta, g, m, lr, momentum, nesterov)`` updating ``theta`` and ``m`` in place.""",
    function=momentum_step,
    draw=_momentum_case,
    outputs=("theta", "m"),
    inplace=("theta", "m"),
    oracle=_momentum_variant(),
    oracle_name="the step written out again in the grader",
    rtol=1e-12, atol=1e-14,
    n_cases=6,
    slips=(
        Slip("PyTorch's velocity (m = beta m + g, theta -= lr m): Keras keeps m = beta m - lr g, with the rate "
             "inside", _momentum_variant(torch=True)),
        Slip("Nesterov was ignored: with nesterov, theta += beta m - lr g (after the velocity update)",
             _momentum_variant(ignore_nesterov=True)),
        Slip("a sign slip: the velocity already carries the minus, theta += m", _momentum_variant(sign=-1.0)),
    ),
)


# ---- SVD++ -----------------------------------------------------------------------------------

def _svdpp_case(rng, index):
    k = (2, 3, 1, 4, 2)[index % 5]
    n = (3, 1, 4, 2, 6)[index % 5]
    args = (rng.normal(0, 0.5, k), rng.normal(0, 0.5, k), rng.normal(0, 0.5, (n, k)), float(rng.uniform(1, 5)),
            float(rng.uniform(3, 4)), float(rng.normal(0, 0.3)), float(rng.normal(0, 0.3)),
            float(rng.uniform(0.05, 0.5)))
    return Case(args, f"k = {k}, |N(u)| = {n}")


def svdpp_gradients(p_u, q_i, Y, r, mu, b_u, b_i, lam):
    """The gradients of SVD++'s per-rating loss with respect to q_i and to the implicit factors Y (rows y_j, j in N(u)).

    r_hat = mu + b_u + b_i + q_i . (p_u + |N(u)|^(-1/2) sum_j y_j), e = r - r_hat,
    loss = 1/2 e^2 + lam/2 (|q_i|^2 + sum_j |y_j|^2). Return (dq, dY), shaped like q_i and Y.
    """
    implicit = p_u + Y.sum(axis=0) / np.sqrt(len(Y))
    err = r - (mu + b_u + b_i + q_i @ implicit)
    return -err * implicit + lam * q_i, -err * q_i / np.sqrt(len(Y)) + lam * Y


def _svdpp_oracle(p_u, q_i, Y, r, mu, b_u, b_i, lam):
    def loss(q, Y):
        e = r - mu - b_u - b_i - q @ (p_u + Y.sum(axis=0) / np.sqrt(len(Y)))
        return 0.5 * e * e + 0.5 * lam * (q @ q + (Y * Y).sum())
    return (coordinate_differences(lambda q: loss(q, Y), q_i), coordinate_differences(lambda y: loss(q_i, y), Y))


def _svdpp_variant(norm=lambda n: 1.0 / np.sqrt(n), explicit_only=False):
    def gradients(p_u, q_i, Y, r, mu, b_u, b_i, lam):
        implicit = p_u + Y.sum(axis=0) / np.sqrt(len(Y))
        err = r - (mu + b_u + b_i + q_i @ implicit)
        return -err * (p_u if explicit_only else implicit) + lam * q_i, -err * q_i * norm(len(Y)) + lam * Y
    return gradients


SVDPP = Exercise(
    name="svdpp_gradients",
    title="SVD++: the gradient of the implicit factors",
    page="derivations/svdpp",
    prompt=r"""SVD++ adds the items :math:`N(u)` a user rated, each with an implicit factor :math:`y_j`:

.. math::

    \hat r_{ui} = \mu + b_u + b_i + q_i^\top \Big(p_u + \lvert N(u)\rvert^{-1/2} \sum_{j \in N(u)} y_j\Big),

    \ell = \tfrac12 e^2 + \tfrac{\lambda}{2}\Big(\lVert q_i\rVert^2 + \sum_{j \in N(u)} \lVert y_j\rVert^2\Big).

Write ``svdpp_gradients(p_u, q_i, Y, r, mu, b_u, b_i, lam)`` returning :math:`(\partial\ell/\partial q_i,
\partial\ell/\partial Y)`, with row :math:`j` of ``Y`` the factor :math:`y_j`.""",
    function=svdpp_gradients,
    draw=_svdpp_case,
    outputs=("dq", "dY"),
    oracle=_svdpp_oracle,
    oracle_name="central differences of the per-rating loss (exact: it is quadratic along each coordinate)",
    rtol=1e-8, atol=1e-10,
    slips=(
        Slip("the |N(u)|^(-1/2) of the prediction is missing from dY", _svdpp_variant(norm=lambda n: 1.0)),
        Slip("|N(u)|^(-1) where the prediction has |N(u)|^(-1/2)", _svdpp_variant(norm=lambda n: 1.0 / n)),
        Slip("dq uses p_u alone: q_i multiplies p_u + |N(u)|^(-1/2) sum y_j", _svdpp_variant(explicit_only=True)),
    ),
)


EXERCISES = (FUNK_STEP, QUUXLABS_STEP, FEATURE_STEP, RESIDUAL_CACHE, CENTRAL, ADAM, MOMENTUM, SVDPP)
