r"""
Funk 2006: one feature at a time, with his settings
===================================================

**What the original did.** Simon Funk's "Try This at Home" [Funk2006]_ trains a rank-:math:`k`
model of the Netflix Prize ratings one feature at a time: feature :math:`f` alone, over all
ratings, for on the order of 100 epochs; then it is frozen, what it predicts is cached, and
feature :math:`f + 1` starts. Per rating, with the prediction clipped to [1, 5],

.. math::

   e = r_{ui} - \operatorname{clip}(\hat r_{ui}), \qquad
   p_{uf} \leftarrow p_{uf} + \gamma\,(e\, q_{if} - K\, p_{uf}), \qquad
   q_{if} \leftarrow q_{if} + \gamma\,(e\, p_{uf} - K\, q_{if})

(both from the old values). **His settings:** :math:`\gamma` = lrate = 0.001,
:math:`K` = 0.015, every feature starts at 0.1, about 100 epochs per feature, 40 features as
the usual illustration; 100,480,507 ratings of 17,770 movies by 480,189 users.

**Here:** ``FunkSVD(schedule="feature")`` (:mod:`funksvd.sgd.funk_schedule`, the compiled per-rating
kernels) with exactly his :math:`\gamma`, :math:`K`, start value and clipping, and exactly 100
epochs per feature, on MovieLens 100K (80/20 split, seed 0) instead of Netflix, which is not
available. **Shrunk:** 5 features instead of 40, so that the page builds in seconds; the
curves below show what the later features still add. funksvd starts with a bias stage (Funk
seeded his model with averages); like his reference code it lets the features not trained yet
take part at their start value, the trailing constant :math:`(k - f - 1) \cdot 0.1^2` while
feature :math:`f` trains (``feature_trailing=True``).
"""

# %%
# The data
# --------

import matplotlib.pyplot as plt
import numpy as np

from funksvd import FunkSVD, rmse
from funksvd.classics import Comparison
from funksvd.data import example_dataset, train_test_split


data = example_dataset(download=True)  # found here or above, else downloaded
ratings, source = data.ratings, data.source
print(f"{source}: {ratings}")
train, test = train_test_split(ratings, test_size=0.2, random_state=0)
density = len(ratings) / (ratings.n_users * ratings.n_items)
netflix_density = 100_480_507 / (480_189 * 17_770)
print(f"density {density:.1%} here, {netflix_density:.1%} for Netflix")

# %%
# Train with Funk's settings, and with a ten times larger step
# ------------------------------------------------------------
# ``feature_min_epochs = feature_epochs = 100`` makes every stage exactly 100 epochs, as in
# the post (funksvd's default would end a stage once it stops improving). The second run
# changes one thing, :math:`\gamma = 0.01`; the reason is in the next section.
N_FEATURES = 5  # Funk's illustration has 40: shrunk for the docs build


def funk(lr):
    """Funk's schedule and settings, with learning rate ``lr``."""
    model = FunkSVD(n_factors=N_FEATURES, schedule="feature", lr_all=lr, reg_all=0.015,
                    feature_init=0.1, feature_epochs=100, feature_min_epochs=100,
                    feature_trailing=True, random_state=0)
    return model.fit(train, validation=test)


models = {0.001: funk(0.001), 0.01: funk(0.01)}
for lr, model in models.items():
    seconds = sum(h["seconds"] for h in model.history_)
    print(f"lrate {lr}: {model.n_epochs_} epochs ({N_FEATURES} features + the bias "
          f"stage) in {seconds:.1f} s; test RMSE {rmse(model, test):.4f}")

# %%
# The learning curves, feature by feature
# ---------------------------------------
# Test RMSE at every epoch (solid) and training RMSE (dashed, the running one); the shaded
# bands are alternate stages, the first one the biases. With Funk's step the curves hardly
# move after the bias stage; with ten times his step every feature takes off, the training
# RMSE falls stage after stage, and the test RMSE does not follow (printed below).
fig, ax = plt.subplots(figsize=(6.4, 3.8))
for k, (lr, model) in enumerate(models.items()):
    epochs = np.array([h["epoch"] for h in model.history_])
    ax.plot(epochs, [h["val_rmse"] for h in model.history_], color=f"C{k}",
            label=f"test, lrate {lr}")
    ax.plot(epochs, [h["train_rmse"] for h in model.history_], "--", color=f"C{k}",
            label=f"training, lrate {lr}")
for s in range(1, N_FEATURES + 1, 2):
    ax.axvspan(100 * s + 0.5, 100 * (s + 1) + 0.5, color="0.93", lw=0)
ax.set(xlabel="epoch (100 per stage)", ylabel="RMSE", ylim=(0.7, 1.1),
       title="K 0.015, init 0.1, clipped, 100 epochs per feature")
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()


def stage_ends(model):
    """The record of the last epoch of each stage: {None (biases) or f: record}."""
    ends = {}
    for h in model.history_:
        ends[h["feature"]] = h
    return ends


def escape_epoch(model, f, drop=0.002):
    """First epoch of stage ``f`` with a training RMSE ``drop`` below its start."""
    stage = [h for h in model.history_ if h["feature"] == f]
    start = stage[0]["train_rmse"]
    below = [j + 1 for j, h in enumerate(stage) if h["train_rmse"] < start - drop]
    return below[0] if below else None


slow = models[0.001]
escapes = [escape_epoch(slow, f) for f in range(N_FEATURES)]
shown = ", ".join("never" if e is None else str(e) for e in escapes)
ends = {lr: stage_ends(m) for lr, m in models.items()}
print(f"lrate 0.001: epoch of each stage at which the training RMSE has dropped "
      f"by 0.002: {shown}")
for lr, e in ends.items():
    last = e[N_FEATURES - 1]
    print(f"lrate {lr}: test RMSE {e[None]['val_rmse']:.4f} after the biases, "
          f"{last['val_rmse']:.4f} after {N_FEATURES} features; training RMSE "
          f"{e[None]['train_rmse']:.4f} -> {last['train_rmse']:.4f}")

# %%
# Why 100 epochs are not 100 epochs
# ---------------------------------
# A feature starts at the constant 0.1, close to a saddle point of the residual, and has to
# escape it before it learns anything. How far it moves in an epoch depends on how many
# updates each row receives: one per rating of that user or movie. Funk's step and his 100
# epochs were tuned on Netflix, whose movies have a hundred times more ratings each than
# MovieLens' training split:
per_movie = {"Netflix": 100_480_507 / 17_770, "here": len(train) / train.n_items}
per_user = {"Netflix": 100_480_507 / 480_189, "here": len(train) / train.n_users}
print(f"ratings per movie: Netflix {per_movie['Netflix']:.0f}, "
      f"here {per_movie['here']:.0f}; per user: Netflix {per_user['Netflix']:.0f}, "
      f"here {per_user['here']:.0f}")

fig, ax = plt.subplots(figsize=(6.4, 3.0))
for k, (lr, e) in enumerate(ends.items()):
    x = np.arange(N_FEATURES + 1)
    ax.plot(x, [e[None]["val_rmse"]] + [e[f]["val_rmse"] for f in range(N_FEATURES)],
            marker="o", color=f"C{k}", label=f"lrate {lr}")
ax.set(xlabel="features trained (0 = biases only)", ylabel="test RMSE at stage end")
ax.legend()
fig.tight_layout()

# %%
# Published, ours, and why they differ
# ------------------------------------
# Funk's post reports no MovieLens figure. For a published number on this very split the
# project's reference table has LensKit's FunkSVD (the same feature-wise schedule; 100
# features x 20 epochs, damped-mean biases, its own step): test RMSE 0.956.
fast = ends[0.01]
reasons = []
if all(e is None for e in escapes):
    reasons.append("0.001: no feature escaped")
if fast[N_FEATURES - 1]["val_rmse"] > fast[None]["val_rmse"]:
    reasons.append("0.01: overfits at K 0.015")
rows = [
    ("data", "Netflix, 100.5M ratings", f"{source}, {len(train):,} train",
     "Netflix is not available"),
    ("density", f"{netflix_density:.1%}", f"{density:.1%}", "different data"),
    ("ratings per movie", f"{per_movie['Netflix']:,.0f}", f"{per_movie['here']:.0f}",
     "an epoch moves a feature far less here"),
    ("lrate, K, init, clip", "0.001, 0.015, 0.1, [1,5]", "the same; and lrate 0.01",
     ""),
    ("epochs per feature", "about 100 or more", "100", "same"),
    ("features", "40", f"{N_FEATURES}", "shrunk for build time"),
    ("test RMSE (80/20, seed 0)", None,
     f"{rmse(models[0.001], test):.3f} (0.001), {rmse(models[0.01], test):.3f} (0.01)",
     "; ".join(reasons + ["LensKit's FunkSVD on this split: 0.956"])),
]

Comparison(rows)
