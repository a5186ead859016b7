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
    """dL/dP and dL/dQ, scattered over the observed ratings (forgot the 2 of d(e^2)/de)."""
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
# central difference :math:`(L(\theta + h) - L(\theta - h)) / 2h` is its derivative for *every*
# step :math:`h`. Only rounding, of order :math:`\varepsilon |L| / h`, remains: the larger the
# step the better, which the report's tiny errors above show with :math:`h = 1`.
from funksvd.finite_differences import numerical_gradients

objective = funksvd.OBJECTIVES["tf_masked_2018"]
hand = objective.gradients(factors, ratings)
for h in (1e-6, 1e-3, 1.0, 10.0):
    fd, _ = numerical_gradients(lambda f: objective.loss(f, ratings), factors, h=h)
    print(f"h = {h:<6g}  max |hand - fd| = {np.abs(hand['P'] - fd['P']).max():.1e}")
