r"""
Check your own gradient
=======================

You derived :math:`\partial L/\partial P` on paper and coded it. Is it right?
:func:`funksvd.check.check_gradients` compares it, entry by entry, with TensorFlow's
``GradientTape`` and with finite differences, and names the classic slips.
"""

# %%
# A loss and a first attempt
# --------------------------
# The masked squared loss of the 2018 TensorFlow tutorial,
# :math:`L = \sum_{(u,i)\ \text{observed}} (r_{ui} - p_u^\top q_i)^2`, on its own toy matrix.
import numpy as np

import funksvd
from funksvd.check import check_gradients
from funksvd.classics import tf2018_ratings

ratings = tf2018_ratings()
factors = funksvd.Factors.random(ratings.n_users, ratings.n_items, 2, biased=False,
                                 init_std_dev=0.5, random_state=0)


def my_gradient(factors, ratings):
    """dL/dP and dL/dQ, over the observed ratings (forgot the 2 of d(e^2)/de)."""
    e = ratings.values - factors.predict(ratings.users, ratings.items)
    dLdP = np.zeros_like(factors.P)
    dLdQ = np.zeros_like(factors.Q)
    np.add.at(dLdP, ratings.users, -e[:, None] * factors.Q[ratings.items])
    np.add.at(dLdQ, ratings.items, -e[:, None] * factors.P[ratings.users])
    return {"P": dLdP, "Q": dLdQ}


report = check_gradients("tf_masked_2018", factors, ratings, manual=my_gradient)
print(report)

# %%
# The report points at the worst entry of each block and recognises the pattern: every entry
# is exactly half the true value. Since :math:`\partial e^2/\partial e = 2e`, the fix is a 2:


def fixed_gradient(factors, ratings):
    return {block: 2.0 * g for block, g in my_gradient(factors, ratings).items()}


print(check_gradients("tf_masked_2018", factors, ratings, manual=fixed_gradient))

# %%
# Why the finite differences are exact here
# -----------------------------------------
# Along any single coordinate, :math:`e_{ui}` is affine, so :math:`L` is a quadratic and the
# central difference :math:`(L(\theta + h) - L(\theta - h)) / 2h` is its derivative for
# *every* step :math:`h`. Only rounding, of order :math:`\varepsilon |L| / h`, remains: the
# larger the step the better, which is why the report above, taken with :math:`h = 1`, agrees
# to about 1e-14. Along a random direction it is different: moving :math:`p_u` and
# :math:`q_i` together makes :math:`L` quartic, and the central difference picks up an
# :math:`O(h^2)` truncation error. Both, against the hand-derived gradient:
import matplotlib.pyplot as plt

from funksvd.check.finite_differences import numerical_gradients

objective = funksvd.OBJECTIVES["tf_masked_2018"]
hand = objective.gradients(factors, ratings)
params = factors.params()
rng = np.random.default_rng(1)
direction = {b: rng.normal(size=v.shape) for b, v in params.items()}
# the exact directional derivative, by the chain rule
slope = sum(float((hand[b] * direction[b]).sum()) for b in params)


def along(t):
    """L at factors + t * direction."""
    moved = factors.replace(**{b: params[b] + t * direction[b] for b in params})
    return objective.loss(moved, ratings)


steps = np.logspace(-7, 1, 17)
coordinate, bound, random_dir = [], [], []
for h in steps:
    fd, noise = numerical_gradients(lambda f: objective.loss(f, ratings), factors, h=h)
    coordinate.append(max(np.abs(hand[b] - fd[b]).max() for b in params))
    bound.append(max(noise.values()))
    random_dir.append(abs((along(h) - along(-h)) / (2 * h) - slope))

fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.loglog(steps, np.maximum(coordinate, 1e-17), "o-", ms=4,
          label="one coordinate at a time: max |hand - fd|")
ax.loglog(steps, bound, ":", color="C0",
          label=r"rounding bound $8\varepsilon \max|L| / h$")
ax.loglog(steps, np.maximum(random_dir, 1e-17), "s-", ms=4,
          label="random direction: |directional derivative - fd|")
ax.set(xlabel="step h", ylabel="error", title="central differences on tf_masked_2018")
ax.legend(fontsize=8)
fig.tight_layout()
for h, c, r in zip(steps[::4], coordinate[::4], random_dir[::4]):
    print(f"h = {h:<8.0e} coordinate-wise {c:.1e}   random direction {r:.1e}")

# %%
# Coordinate-wise errors fall as :math:`1/h` and stay under the rounding bound; along a
# random direction the error falls with :math:`h` only until rounding takes over, then grows
# as :math:`h^2`. That is why :func:`~funksvd.check.check_gradients` perturbs one coordinate
# at a time, with a large step.
