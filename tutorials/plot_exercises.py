r"""
Exercises: derive it yourself, and let funksvd grade it
=======================================================

Every derivation of the documentation ends in an exercise, and :mod:`funksvd.exercises`
holds them all: a prompt, a **stub** to fill in and a **grader** that runs your function on
fresh random cases against an oracle that does not trust your derivation (central
differences, which are exact along a coordinate for these losses, and TensorFlow's autodiff
when it is installed). A wrong answer gets a diagnosis, not just "no": a missing factor 2, a
sign, the wrong weight of :math:`\lambda`, a sum where a mean was meant.

This page is best used as its notebook (the download links are at the end): fill in a
stub, run its cell, then run the grading cell below it, until it says *correct*. Here, in
the documentation, the stubs are unfilled, so each grading cell reports exactly that; one
deliberately wrong answer shows what a diagnosis looks like. The same exercises run from a
shell: ``funksvd exercise`` lists them, ``funksvd exercise NAME --starter > mine.py`` writes
a stub, ``funksvd exercise NAME mine.py`` grades it.
"""

# %%
# The exercises
# -------------
import matplotlib.pyplot as plt
import numpy as np

from funksvd import exercises
from funksvd.check.finite_differences import numerical_gradients
from funksvd.model.factors import Factors

# finite differences need nothing installed; add "tensorflow" for the autodiff oracle
ORACLES = ("finite_differences",)
for name in exercises.names():
    print(f"{name:<20} {exercises.get(name).title}")

# %%
# 1. The masked squared loss in matrix form
# -----------------------------------------
# With the mask :math:`M` (1 where a rating is observed, 0 elsewhere) and
# :math:`E = M \circ (R - P Q^\top)`, the loss is
# :math:`L(P, Q) = \sum_{u,i} M_{ui} (R_{ui} - p_u^\top q_i)^2 = \lVert E \rVert_F^2`.
# Derive :math:`\partial L / \partial P` and :math:`\partial L / \partial Q` as matrix
# products (no loop over the entries), and fill in the stub.


def masked_gradient(R, M, P, Q):
    """The gradient of L = sum over u, i of M[u, i] * (R[u, i] - p_u . q_i)^2.

    R: ratings (0 where missing), M: mask (1 observed, 0 missing), both
    n_users x n_items; P: n_users x k, Q: n_items x k. Return (dLdP, dLdQ),
    shaped like P and Q.
    """
    raise NotImplementedError("your derivation goes here")


# %%
# The grading cell: run it after every attempt.
report = exercises.get("masked_gradient").grade(masked_gradient, oracles=ORACLES)
print(report.summary())
print("\n".join(report.hints))

# %%
# What a wrong answer looks like
# ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
# A classic slip: :math:`\partial e^2 / \partial e = 2e`, and the 2 forgotten. The grader
# names it, and so does a picture: the slip's gradient divided by the true one (by central
# differences) is :math:`\tfrac12` in every entry.


def masked_gradient_slip(R, M, P, Q):
    E = M * (R - P @ Q.T)
    return -E @ Q, -E.T @ P  # the 2 of d(e^2)/de is missing


report = exercises.get("masked_gradient").grade(masked_gradient_slip, oracles=ORACLES)
print(report.summary())
print("\n".join(report.hints))

rng = np.random.default_rng(0)
R = rng.integers(1, 6, (6, 5)).astype(float)
M = (rng.random((6, 5)) < 0.6).astype(float)
point = Factors(rng.normal(size=(6, 2)), rng.normal(size=(5, 2)))


def loss(f):
    return float(np.sum(M * (R - f.P @ f.Q.T) ** 2))


true, _ = numerical_gradients(loss, point)
slip_P, slip_Q = masked_gradient_slip(R, M, point.P, point.Q)
ratios = {"P": slip_P / true["P"], "Q": slip_Q / true["Q"]}
fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.0), layout="constrained")
for ax, (label, ratio) in zip(axes, ratios.items()):
    im = ax.imshow(ratio, vmin=0, vmax=1, cmap="viridis")
    ax.set(title=rf"slip $\partial L/\partial {label}$ / true", xticks=[], yticks=[])
fig.colorbar(im, ax=axes, shrink=0.8)
print(f"ratio in every entry: {np.unique(np.round(slip_P / true['P'], 12))}")

# %%
# 2. The item biases in closed form
# ---------------------------------
# The baseline predictor without user biases, :math:`\hat r_{ui} = \mu + b_i`, minimises
# :math:`L(b) = \sum_{(u,i)} (r_{ui} - \mu - b_i)^2 + \lambda \sum_i b_i^2`. Set
# :math:`\partial L / \partial b_i = 0` and solve (the derivation is on
# :ref:`sphx_glr_auto_tutorials_plot_baseline.py`, with user biases too).


def item_biases(items, r, n_items, mu, lam):
    """The item biases minimising sum_j (r_j - mu - b[items_j])^2
    + lam * sum_i b_i^2 (no user biases).

    items: the item of each rating (0 .. n_items - 1), r: the ratings.
    Return b, shape (n_items,).
    """
    raise NotImplementedError("your derivation goes here")


# %%
report = exercises.get("item_biases").grade(item_biases, oracles=ORACLES)
print(report.summary())
print("\n".join(report.hints))

# %%
# 3. Adam's step, as Keras computes it
# ------------------------------------
# Keras' Adam keeps moments :math:`m, v`, zero at the start, and at step :math:`t`
# updates :math:`m \leftarrow m + (1 - \beta_1)(g - m)`,
# :math:`v \leftarrow v + (1 - \beta_2)(g^2 - v)`, then steps by
# :math:`\alpha_t = \gamma \sqrt{1 - \beta_2^t} / (1 - \beta_1^t)`:
# :math:`\theta \leftarrow \theta - \alpha_t m / (\sqrt v + \hat\epsilon)`. The bias
# correction sits in the step size, so :math:`\hat\epsilon` is added to the *uncorrected*
# :math:`\sqrt v`.


def adam_step(theta, g, m, v, t, lr, beta_1, beta_2, eps):
    """Keras' Adam step t (t = 1 on the first step), in place on theta, m, v;
    g is the gradient.

    m += (1 - beta_1)(g - m); v += (1 - beta_2)(g^2 - v);
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t); theta -= alpha m / (sqrt(v) + eps).
    """
    raise NotImplementedError("your derivation goes here")


# %%
report = exercises.get("adam_step").grade(adam_step, oracles=ORACLES)
print(report.summary())
print("\n".join(report.hints))

# %%
# More
# ----
# The other exercises (listed at the top) work the same way: ``print(exercises.get(name)
# .starter)`` gives the stub, ``exercises.get(name).grade(fn)`` grades it, and the
# documentation's exercises page has each prompt with its solution folded away.
