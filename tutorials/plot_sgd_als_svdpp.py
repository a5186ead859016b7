r"""
SGD, ALS and SVD++ on MovieLens 100K
====================================

Three ways to fit a factor model to the same ratings [Harper2015]_, each with its estimator's
defaults:

* **SGD** on biased MF (:class:`funksvd.FunkSVD`, Surprise's ``SVD``): a small step after every
  rating;
* **ALS** on the same model (:class:`funksvd.ALS`): every user's :math:`(p_u, b_u)` solved
  exactly with the items fixed, then every item's (:doc:`/derivations/als`);
* **SVD++** (:class:`funksvd.SVDpp`, Surprise's ``SVDpp``): the model itself grows, each user's
  vector adding :math:`|N(u)|^{-1/2} \sum_{j \in N(u)} y_j` over the items they rated, fitted by SGD.

Learning curves per epoch and per second, test RMSE, and where each wins. Every number in the
text under a figure is computed from the run, so it holds for whatever data the build had (MovieLens
100K where found, else synthetic ratings of its shape; the first line says which).
"""

# %%
# The data and three fits
# -----------------------
# One 80/20 split; the test ratings are passed as ``validation`` only to record the test RMSE
# after every epoch (nothing is tuned on them here). Each estimator runs with its defaults,
# for more epochs than its default where the curve is worth seeing further.

import matplotlib.pyplot as plt
import numpy as np

from funksvd import ALS, FunkSVD, SVDpp, loss, rmse
from funksvd.data import example_dataset, train_test_split

data = example_dataset()  # MovieLens 100K if found here or above, else synthetic
print(f"{data.source}: {data.ratings}")
train, test = train_test_split(data.ratings, test_size=0.2, random_state=0)

models = {
    "SGD": FunkSVD(n_epochs=40, random_state=0),  # k = 100, lr 0.005, reg 0.02
    "ALS": ALS(n_epochs=15, random_state=0),  # k = 50, reg 0.12, weighted
    "SVD++": SVDpp(random_state=0),  # k = 20, lr 0.007, reg 0.02, 20 epochs
}
curves = {}
for name, model in models.items():
    model.fit(train, validation=test)
    history = model.history_
    epochs = np.arange(1, len(history) + 1)
    seconds = np.cumsum([h["seconds"] for h in history])
    curves[name] = (epochs, seconds, np.array([h["val_rmse"] for h in history]))

# %%
# Learning curves
# ---------------
# Left, per epoch (a sweep for ALS); right, per second of wall-clock time (each epoch's time
# includes computing the test RMSE, the same for all three).

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
for name, (epochs, seconds, val) in curves.items():
    left.plot(epochs, val, marker=".", label=name)
    right.plot(seconds, val, marker=".", label=name)
left.set(xlabel="epoch (ALS: sweep)", ylabel="test RMSE", title="per epoch")
right.set(xlabel="seconds (cumulative)", xscale="log", title="per second")
left.legend()
fig.tight_layout()

summary = {}
for name, (epochs, seconds, val) in curves.items():
    best = int(np.argmin(val))
    near = int(np.flatnonzero(val <= val[best] + 0.005)[0])  # first one within 0.005
    summary[name] = {"lowest": val[best], "epochs": epochs[near],
                     "seconds": seconds[near]}
    print(f"{name}: test RMSE {val[-1]:.4f} at the end, lowest {val[best]:.4f} "
          f"after epoch {epochs[best]}; within 0.005 of it after epoch "
          f"{epochs[near]} ({seconds[near]:.2f} s); "
          f"{seconds[-1] / len(epochs) * 1000:.0f} ms per epoch")
WINS = {"lowest": "lowest test RMSE",
        "epochs": "fewest epochs to within 0.005 of its best",
        "seconds": "fewest seconds to within 0.005 of its best"}
for measure, what in WINS.items():
    winner = min(summary, key=lambda name: summary[name][measure])
    value = summary[winner][measure]
    print(f"{what}: {winner} ({value:.2f} s)" if measure == "seconds"
          else f"{what}: {winner} ({value:.4g})")

# %%
# Where each wins. ALS needs a handful of sweeps: each one jumps to the exact minimiser of one
# side, so per epoch it is the fastest by far, and there is no learning rate to tune or to
# diverge. Per second it is a race between SGD's cheap epochs, :math:`O(|\mathcal K|\,k)` each,
# and ALS's few expensive ones, :math:`O(|\mathcal K|\,k^2 + (n_u + n_i)\,k^3)`: the more factors,
# the more the cubic solves weigh. An SVD++ epoch is SGD plus each user's implicit sum over the
# items they rated and its :math:`y_j` steps, and it brings what the other two lack, the implicit
# feedback of *which* items a user rated; its defaults (k = 20, Surprise's settings) are not
# tuned either. The printed lines above say which won what
# on this run; tuned and cross-validated figures are in ``benchmarks/RESULTS.md``.

# %%
# The same loss, walked two ways
# ------------------------------
# With the weighted :math:`\lambda` (its default) ALS minimises exactly the loss SGD's
# ``"funk"`` rule descends, :math:`\sum \tfrac12 e^2 + \tfrac\lambda2(\lVert p_u\rVert^2 +
# \lVert q_i\rVert^2 + b_u^2 + b_i^2)` summed over the ratings. So the two can be put on one scale:
# FunkSVD at ALS's :math:`k = 50` and :math:`\lambda = 0.12`, against the ALS run above. (SGD's
# ``history_`` loss is its running loss, a few percent above the exact one; the exact final
# losses are printed.)

als = models["ALS"]
sgd = FunkSVD(n_factors=50, reg_all=0.12, n_epochs=40, random_state=0).fit(train)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(np.arange(1, 41), [h["loss"] for h in sgd.history_], marker=".",
        label="SGD (running loss)")
ax.plot(np.arange(1, 16), [h["loss"] for h in als.history_], marker=".",
        label="ALS (exact loss)")
ax.set(xlabel="epoch (ALS: sweep)", ylabel="training loss", yscale="log",
       title="k = 50, reg 0.12, one loss")
ax.legend()
fig.tight_layout()
exact_sgd = loss(sgd.factors_, train, "funk", 0.12)
exact_als = loss(als.factors_, train, "funk", 0.12)
print(f"exact loss at the end: SGD {exact_sgd:.1f} after 40 epochs, "
      f"ALS {exact_als:.1f} after 15 sweeps "
      f"({'ALS' if exact_als < exact_sgd else 'SGD'} lower); "
      f"test RMSE SGD {rmse(sgd, test):.4f}, ALS {rmse(als, test):.4f}")

# %%
# ALS goes all the way to a minimiser of the loss; SGD with small steps and a fixed number of
# epochs stops on the way, which regularises too. That is why the two want different
# :math:`\lambda`: at SGD's default 0.02 the minimiser itself overfits.
low = ALS(reg_all=0.02, random_state=0).fit(train)
print(f"reg 0.02: ALS test RMSE {rmse(low, test):.4f} "
      f"(training RMSE {low.history_[-1]['train_rmse']:.4f}); "
      f"FunkSVD, 40 epochs: {rmse(models['SGD'], test):.4f}")

# %%
# The tuned figures, on 5-fold cross-validation rather than one split, are in
# ``benchmarks/RESULTS.md`` (``bench_als.py``, ``bench_accuracy.py``).
