r"""
TensorFlow 2018: masked gradient descent on a 5 x 4 matrix
==========================================================

**What the original did.** A 2018 TensorFlow tutorial [TF2018]_ completes a 5 x 4 ratings
matrix with NaN for the missing entries. It builds the dense product :math:`P Q^\top`, keeps
the observed cells with a boolean mask, and minimises the plain sum of squared errors

.. math::

   L(P, Q) = \sum_{(u,i) \in \mathcal K} \big(r_{ui} - p_u^\top q_i\big)^2, \qquad
   \frac{\partial L}{\partial P} = -2\,(M \circ E)\,Q, \quad
   \frac{\partial L}{\partial Q} = -2\,(M \circ E)^\top P

(no biases, no penalty) by plain gradient descent. **Its settings:** :math:`k = 2`,
:math:`P, Q \sim \mathcal U(0, 1)`, 5000 steps; it prints the completed matrix.

**Here:** :func:`funksvd.train` with the objective ``OBJECTIVES["tf_masked_2018"]`` (its
hand-derived gradient is the formula above), ``optimizer="sgd"``, ``Factors.random(...,
init="uniform")`` and 5000 full-batch steps: nothing is shrunk. The reference notes do not
record the tutorial's learning rate or its printed matrix; the step used here, 0.01, is
stated where it is set. One line at the end checks the TensorFlow twin.
"""

# %%
# The matrix, and a count
# -----------------------
import matplotlib.pyplot as plt
import numpy as np

from funksvd import OBJECTIVES, Factors, train
from funksvd.classics import TF2018_R, Comparison, completed_matrix, tf2018_ratings

ratings = tf2018_ratings()
observed = np.isfinite(TF2018_R)
n_obs, (n_users, n_items), k = int(observed.sum()), TF2018_R.shape, 2
free = (n_users + n_items) * k - k * k  # P A, Q A^-T give the same product: k^2 fewer
print(TF2018_R)
print(f"{n_obs} observed ratings; a rank-{k} product has {free} free parameters "
      f"({(n_users + n_items) * k} entries minus {k * k} for the change of basis)")

# %%
# With more free parameters than ratings, gradient descent can fit every observed rating
# exactly, and does so along a whole family of solutions: the missing cells are whatever the
# start leads to. Column 2 has a single rating.
#
# 5000 steps from ten starts
# --------------------------
LEARNING_RATE = 0.01  # not recorded for the original; stable on this matrix
STEPS = 5000
seeds = range(10)
runs = {}
for seed in seeds:
    start = Factors.random(n_users, n_items, k, biased=False, init="uniform",
                           random_state=seed)
    runs[seed] = train(start, ratings, objective=OBJECTIVES["tf_masked_2018"], reg=0.0,
                       optimizer="sgd", learning_rate=LEARNING_RATE, n_epochs=STEPS)

fig, ax = plt.subplots(figsize=(6.4, 3.6))
for seed, (factors, history) in runs.items():
    ax.semilogy([h["loss"] for h in history], lw=1, color="C0", alpha=0.7)
ax.set(xlabel="gradient-descent step", ylabel="sum of squared masked errors",
       title=f"k = 2, U(0, 1) start, lr {LEARNING_RATE}, {len(seeds)} seeds")
fig.tight_layout()
final = np.array([history[-1]["loss"] for _, history in runs.values()])
print(f"loss after {STEPS} steps: largest {final.max():.1e}, "
      f"smallest {final.min():.1e}")

# %%
# Every run drives the loss on the observed ratings towards 0 (the curves above); the speed
# differs from start to start.
#
# The completed matrices
# ----------------------
# Seed 0's completion, and the spread of each missing cell over the ten seeds.
completed = np.array([completed_matrix(f) for f, _ in runs.values()])
spread = completed.max(axis=0) - completed.min(axis=0)
fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.4), layout="constrained")
panels = ((completed[0], "seed 0: completed", "rating"),
          (np.where(observed, np.nan, spread), "missing cells: max - min over seeds",
           "spread"))
for ax, (M, title, label) in zip(axes, panels):
    im = ax.imshow(M, cmap="viridis")
    for (u, i), value in np.ndenumerate(M):
        if np.isfinite(value):
            ax.text(i, u, f"{value:.2f}", ha="center", va="center", color="w",
                    fontsize=8)
    ax.set(title=title, xlabel="item", ylabel="user")
    fig.colorbar(im, ax=ax, shrink=0.8, label=label)
for u, i in np.argwhere(~observed):  # frame the cells the model filled in
    axes[0].add_patch(plt.Rectangle((i - 0.45, u - 0.45), 0.9, 0.9, fill=False, lw=1.5,
                                    ec="red"))
observed_error = np.abs(completed - np.nan_to_num(TF2018_R))[:, observed].max()
print("seed 0 completes the matrix as")
print(np.round(completed[0], 2))
print(f"largest error on an observed cell over all seeds: {observed_error:.1e}; "
      f"spread of the missing cells over seeds: {spread[~observed].min():.2f} to "
      f"{spread[~observed].max():.2f}")

moving = [f"({u},{i})" for u, i in np.argwhere(~observed & (spread > 0.01))]
print(f"missing cells that depend on the start (spread > 0.01): {', '.join(moving)}")

# %%
# Red frames (left) mark the cells the model filled in. The missing cells (right) move by up to the
# printed spread between seeds, while the observed ones agree to the printed error. The
# cells that move are in column 2, the movie rated once: its two factors meet one equation,
# the free direction the parameter count above leaves. Cell (0, 2) does not move: users 0
# and 4 rate items 1 and 3 alike, which gives them the same factors, so user 0 inherits
# user 4's rating of item 2.
#
# The TensorFlow twin
# -------------------
# The same objective differentiated by ``tf.GradientTape`` (:func:`funksvd.autodiff.train`)
# from seed 0's start: the first 200 steps agree with the hand gradients.
from funksvd import autodiff  # TensorFlow is imported here, on first use

start = Factors.random(n_users, n_items, k, biased=False, init="uniform",
                       random_state=0)
options = {"objective": OBJECTIVES["tf_masked_2018"], "reg": 0.0, "optimizer": "sgd",
           "learning_rate": LEARNING_RATE, "n_epochs": 200}
ours, _ = train(start, ratings, **options)
twin, _ = autodiff.train(start, ratings, **options)
gap = max(np.abs(ours.P - twin.P).max(), np.abs(ours.Q - twin.Q).max())
print(f"after 200 steps, hand gradients vs GradientTape: largest difference {gap:.1e}")

# %%
# Published, ours, and why they differ
# ------------------------------------
rows = [
    ("data", "5 x 4, NaN missing", f"the same, {n_obs} ratings", ""),
    ("loss, optimiser", "masked SSE, plain GD", "the same (hand gradient)", ""),
    ("start, steps", "U(0,1), 5000", f"U(0,1), {STEPS}", ""),
    ("learning rate", None, f"{LEARNING_RATE}", "chosen: stable here"),
    ("observed cells", "fitted", f"max error {observed_error:.0e}", ""),
    ("missing cells", "one printed matrix",
     f"spread up to {spread[~observed].max():.2f}",
     f"{free} free parameters > {n_obs} ratings"),
]

Comparison(rows)
