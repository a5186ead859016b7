r"""
The quuxlabs toy matrix, three ways
===================================

Albert Au Yeung's tutorial completes a 5 x 4 ratings matrix with K = 2 factors. Its equations
and its code listing are two different rules (see :doc:`/derivations`); here both, and Simon
Funk's rule, run with the article's settings on the same seed.
"""

# %%
# The matrix and the article's settings
# -------------------------------------
# Zeros are missing ratings. The article trains for 20 iterations with
# :math:`\alpha = 0.1`, :math:`\beta = 0.01`, shuffling the observed samples each time.
import matplotlib.pyplot as plt
import numpy as np

from funksvd.classics import QUUXLABS_R, completed_matrix, run_quuxlabs_article

print(QUUXLABS_R)

# %%
# Train with each rule
# --------------------
# ``run_quuxlabs_article`` reproduces the article's loop: :math:`\mathcal N(0, 1/K^2)`
# initialisation, :math:`\mu` = mean of the observed ratings, one shuffled pass per iteration.
# The "error" it records is the article's :math:`\sqrt{\sum e^2}`.
runs = {rule: run_quuxlabs_article(rule=rule, random_state=0)
        for rule in ("quuxlabs_listing", "quuxlabs", "funk")}

fig, ax = plt.subplots(figsize=(6, 3.5))
for rule, (factors, errors) in runs.items():
    ax.semilogy(range(1, 21), errors, marker="o", ms=3, label=rule)
ax.set_xlabel("iteration")
ax.set_ylabel(r"$\sqrt{\sum e^2}$ on observed ratings")
ax.set_title("Same settings, three rules")
ax.legend()
fig.tight_layout()

# %%
# The factor 2 of the equations doubles the effective step on :math:`P, Q`, so ``quuxlabs``
# fits fastest; the listing and ``funk`` differ only in the order of the Q update and track
# each other closely.
#
# The completed matrix
# --------------------
# Observed cells are reproduced; the missing ones are the model's guesses and depend on the
# random start, which is why the article's printed values there cannot be matched exactly.
factors, _ = runs["quuxlabs_listing"]
R_hat = completed_matrix(factors)
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4), layout="constrained")
observed = np.where(QUUXLABS_R > 0, QUUXLABS_R, np.nan)
for ax, M, title in ((axes[0], observed, "observed R"),
                     (axes[1], R_hat, "completed by the listing rule")):
    im = ax.imshow(M, vmin=0, vmax=6, cmap="viridis")
    ax.set_title(title)
    for (u, i), value in np.ndenumerate(M):
        if np.isfinite(value):
            ax.text(i, u, f"{value:.2f}", ha="center", va="center", color="w",
                    fontsize=8)
    ax.set_xlabel("item")
    ax.set_ylabel("user")
fig.colorbar(im, ax=axes, shrink=0.8)
print(np.round(R_hat, 2))
