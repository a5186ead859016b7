r"""
Training on MovieLens 100K
==========================

The same per-rating rule that the derivations prove, compiled, on 100,000 real ratings:
learning curves, early stopping, and Simon Funk's one-feature-at-a-time schedule.

MovieLens data may not be redistributed, so it is read from the shared folder beside the
repository (or from ``$FUNKSVD_ML100K``); where it is absent this tutorial falls back to a small
synthetic data set of the same shape and says so.
"""

# %%
# The data and a split
# --------------------
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from funksvd import FunkSVD, rmse
from funksvd.datasets import load_movielens, synthetic_netflix, train_test_split

candidates = [Path(os.environ.get("FUNKSVD_ML100K", "")), Path.cwd() / "../shared/data/ml-100k",
              Path.cwd() / "../../shared/data/ml-100k"]
folder = next((p for p in candidates if (p / "u.data").is_file()), None)
if folder is not None:
    ratings = load_movielens(folder).ratings
    print(f"MovieLens 100K from {folder.resolve()}: {ratings}")
else:
    ratings = synthetic_netflix(943, 1682, 100_000, random_state=0)
    print(f"MovieLens 100K not found; synthetic data of the same shape instead: {ratings}")
train, test = train_test_split(ratings, test_size=0.2, random_state=0)

# %%
# Learning curves
# ---------------
# Surprise's defaults (k = 100, 20 epochs, lr 0.005, reg 0.02) stop well before the test RMSE
# turns; 60 epochs show the turn: training error keeps falling, test error rises again.
model = FunkSVD(n_epochs=60, random_state=0).fit(train, validation=test)
epochs = [h["epoch"] for h in model.history_]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(epochs, [h["train_rmse"] for h in model.history_], label="training (running) RMSE")
ax.plot(epochs, [h["val_rmse"] for h in model.history_], label="test RMSE")
ax.axvline(20, color="grey", ls=":", label="Surprise's 20 epochs")
ax.set(xlabel="epoch", ylabel="RMSE", title="FunkSVD, k = 100, lr 0.005, reg 0.02")
ax.legend()
fig.tight_layout()
best = min(model.history_, key=lambda h: h["val_rmse"])
print(f"best test RMSE {best['val_rmse']:.4f} at epoch {best['epoch']}; after 60 epochs {rmse(model, test):.4f}")

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
# Simon Funk's schedule
# ---------------------
# One feature at a time, each trained until it stops improving, then frozen into a cached
# residual. Each finished feature lowers the training error; the test error follows for the
# first features and then flattens.
funk = FunkSVD(n_factors=20, schedule="feature", random_state=0).fit(train, validation=test)
stage_end = {}
for record in funk.history_:
    stage_end[record["feature"]] = record
features = [f for f in stage_end if f is not None]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot([f + 1 for f in features], [stage_end[f]["train_rmse"] for f in features], marker="o", ms=3,
        label="training (running) RMSE")
ax.plot([f + 1 for f in features], [stage_end[f]["val_rmse"] for f in features], marker="o", ms=3,
        label="test RMSE")
ax.set(xlabel="features trained", ylabel="RMSE at the end of the feature", title="schedule='feature'")
ax.legend()
fig.tight_layout()
print(f"{len(features)} features in {funk.n_epochs_} epochs; test RMSE {rmse(funk, test):.4f}")
