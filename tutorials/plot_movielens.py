r"""
Training on MovieLens 100K
==========================

The same per-rating rule that the derivations prove, compiled, on 100,000 real ratings
[Harper2015]_: learning curves and early stopping.

MovieLens data may not be redistributed, so it is read from the shared folder beside the
repository (or from ``$FUNKSVD_ML100K``); where it is absent (a downloaded notebook) it is
downloaded once, checked against its published SHA-256, and the first output says so. Only
without a network does the tutorial run on synthetic ratings of the same shape, with a warning.
What the curves do is computed from the run and printed under each figure.
"""

# %%
# The data and a split
# --------------------

import matplotlib.pyplot as plt
import numpy as np

from funksvd import FunkSVD, rmse
from funksvd.data import example_dataset, train_test_split


data = example_dataset(download=True)  # found here or above, else downloaded
ratings = data.ratings
print(f"{data.source}: {ratings}")
train, test = train_test_split(ratings, test_size=0.2, random_state=0)

# %%
# Learning curves
# ---------------
# Surprise's defaults (k = 100, lr 0.005, reg 0.02), run for 60 epochs instead of Surprise's
# 20, to see where the test error stops following the training error.
model = FunkSVD(n_epochs=60, random_state=0).fit(train, validation=test)
epochs = [h["epoch"] for h in model.history_]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(epochs, [h["train_rmse"] for h in model.history_],
        label="training (running) RMSE")
ax.plot(epochs, [h["val_rmse"] for h in model.history_], label="test RMSE")
ax.axvline(20, color="grey", ls=":", label="Surprise's 20 epochs")
ax.set(xlabel="epoch", ylabel="RMSE", title="FunkSVD, k = 100, lr 0.005, reg 0.02")
ax.legend()
fig.tight_layout()
train_curve = [h["train_rmse"] for h in model.history_]
test_curve = [h["val_rmse"] for h in model.history_]
best = int(np.argmin(test_curve))
print(f"training RMSE: {train_curve[0]:.4f} after epoch 1, "
      f"{train_curve[-1]:.4f} after 60")
print(f"test RMSE: {test_curve[0]:.4f} after epoch 1, {test_curve[19]:.4f} after 20, "
      f"lowest {test_curve[best]:.4f} after {epochs[best]}, "
      f"{test_curve[-1]:.4f} after 60")
rise = test_curve[-1] - test_curve[best]
if rise > 5e-4:
    train_too = "falls" if train_curve[-1] < train_curve[best] else "rises"
    print(f"so the test RMSE turns after epoch {epochs[best]} and rises by {rise:.4f}, "
          f"while the training RMSE {train_too}")
else:
    print("so the test RMSE has not turned within 60 epochs")

# %%
# Early stopping keeps the best epoch
# -----------------------------------
# With ``patience`` the estimator stops once the validation RMSE has not improved for that many
# epochs and restores the best parameters. (Here the test split doubles as validation, which is
# fine for a picture but not for a reported score: ``benchmarks/bench_accuracy.py`` tunes on
# training folds only.)
stopped = FunkSVD(n_epochs=200, patience=5, random_state=0).fit(train, validation=test)
print(f"stopped after {stopped.n_epochs_} epochs, kept epoch {stopped.best_epoch_}, "
      f"test RMSE {rmse(stopped, test):.4f}")

# %%
# Simon Funk's one-feature-at-a-time schedule has a tutorial of its own:
# :ref:`sphx_glr_auto_tutorials_plot_funk_features.py`.
