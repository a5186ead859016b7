r"""
Only the product is identified: rotations and balance
=====================================================

The data see :math:`P Q^\top` only, so :math:`(P A, Q A^{-\top})` fits exactly as well as
:math:`(P, Q)` for any invertible :math:`A`; an L2 penalty narrows the freedom to rotations.
Two runs from different seeds therefore learn *different* factors with the *same* predictions.
"""

# %%
# A planted rank-3 problem
# ------------------------
import matplotlib.pyplot as plt
import numpy as np

import funksvd
from funksvd.maths.symmetry import balance, principal_angles, procrustes_align

rng = np.random.default_rng(0)
n_users, n_items, k = 30, 20, 3
R_true = rng.normal(size=(n_users, k)) @ rng.normal(size=(n_items, k)).T
observed = rng.random((n_users, n_items)) < 0.6
ratings = funksvd.Ratings.from_dense(np.where(observed, R_true, np.nan))


def fit(seed, epochs=300):
    factors = funksvd.Factors.random(n_users, n_items, k, biased=False,
                                     init_std_dev=0.3, random_state=seed)
    order_rng = np.random.default_rng(seed)
    for _ in range(epochs):
        factors = funksvd.sgd_epoch(factors, ratings, "funk", lr=0.02, reg=0.01,
                                    order=order_rng.permutation(len(ratings)),
                                    engine="compiled")
    return factors


a, b = fit(1), fit(2)
print("RMSE of run 1, run 2:", funksvd.rmse(a, ratings), funksvd.rmse(b, ratings))
print("largest |P_1 - P_2|:", np.abs(a.P - b.P).max())
print("largest |P_1 Q_1^T - P_2 Q_2^T|:", np.abs(a.P @ a.Q.T - b.P @ b.Q.T).max())

# %%
# Same subspace, different basis
# ------------------------------
# The principal angles between the column spaces of :math:`P_1` and :math:`P_2` are near
# zero, and the orthogonal Procrustes rotation maps one onto the other.
print("principal angles (rad):", np.round(principal_angles(a.P, b.P), 4))
R = procrustes_align(a.P, b.P)
print("after alignment, largest |P_1 R - P_2|:", np.abs(a.P @ R - b.P).max())

fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
axes[0].scatter(a.P[:, 0], b.P[:, 0], s=12)
axes[0].set(title="first factor, raw", xlabel="run 1", ylabel="run 2")
axes[1].scatter((a.P @ R)[:, 0], b.P[:, 0], s=12)
axes[1].set(title="first factor, aligned", xlabel="run 1 rotated")
fig.tight_layout()

# %%
# Balance
# -------
# For the per-rating L2 penalty of the funk loss, the gradient satisfies
# :math:`P^\top \partial L/\partial P - (\partial L/\partial Q)^\top Q
# = \lambda (P^\top N_u P - Q^\top N_i Q)` (counts :math:`N_u, N_i` of ratings per user and
# item), so at any critical point the *count-weighted* balance vanishes, while the plain
# :math:`P^\top P - Q^\top Q` need not. Full-batch gradient descent from run 1 shows it.
objective = funksvd.RULES["funk"].objective
factors, lam, lr = a, 0.5, 0.004
weighted, plain = [], []
for step in range(4000):
    g = objective.gradients(factors, ratings, lam)
    factors = factors.replace(P=factors.P - lr * g["P"], Q=factors.Q - lr * g["Q"])
    weighted.append(np.linalg.norm(balance(factors, ratings)))
    plain.append(np.linalg.norm(balance(factors)))

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.semilogy(weighted, label=r"$\|P^\top N_u P - Q^\top N_i Q\|_F$ (count-weighted)")
ax.semilogy(plain, label=r"$\|P^\top P - Q^\top Q\|_F$")
ax.set(xlabel="gradient-descent step", ylabel="balance",
       title=f"funk loss, lambda = {lam}")
ax.legend()
fig.tight_layout()
print(f"after {step + 1} steps: weighted {weighted[-1]:.2e}, plain {plain[-1]:.2e}")
