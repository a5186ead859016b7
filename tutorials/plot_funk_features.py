r"""
Simon Funk's schedule: one feature at a time
============================================

Funk's Netflix Prize recipe [Funk2006]_ does not train all :math:`k` factors together. It
trains feature :math:`f` alone, over all ratings, until it stops improving; freezes it; caches
what it predicts; and moves on to :math:`f + 1`. ``FunkSVD(schedule="feature")`` runs that
schedule (:mod:`funksvd.sgd.funk_schedule`): first the biases, then the features one by one, each
stage with Funk's rule on a single column of :math:`P` and :math:`Q`,

.. math::

   p_{uf} \leftarrow p_{uf} + \gamma\,(e_{ui}\, q_{if} - \lambda p_{uf}), \qquad
   q_{if} \leftarrow q_{if} + \gamma\,(e_{ui}\, p_{uf} - \lambda q_{if}),

with :math:`e_{ui}` the error of the clipped prediction and both updates from the old
values. Here are its learning curves on MovieLens 100K, stage by stage.

MovieLens may not be redistributed: it is read from the shared folder beside the repository
(or ``$FUNKSVD_ML100K``); where it is absent (a downloaded notebook) it is downloaded once,
checked against its published SHA-256, saying so. Every statement about the curves below is
computed from the run and printed under each figure.
"""

# %%
# The data
# --------

import matplotlib.pyplot as plt
import numpy as np

from funksvd import FunkSVD, rmse
from funksvd.data import example_dataset, train_test_split


data = example_dataset(download=True)  # found here or above, else downloaded
ratings, source = data.ratings, data.source
print(f"{source}: {ratings}")
train, test = train_test_split(ratings, test_size=0.2, random_state=0)


def stage_ends(model):
    """The last record of each stage: {None (biases) or feature f: record}."""
    ends = {}
    for record in model.history_:
        ends[record["feature"]] = record
    return ends


def trend(values, labels):
    """One sentence describing a sequence of RMSEs, from the numbers themselves."""
    best = int(np.argmin(values))
    text = (f"falls from {values[0]:.4f} ({labels[0]}) "
            f"to {values[best]:.4f} ({labels[best]})")
    if best == 0:
        text = f"is lowest at the start, {values[0]:.4f} ({labels[0]})"
    if best < len(values) - 1 and values[-1] - values[best] > 5e-4:
        text += f", then rises to {values[-1]:.4f} ({labels[-1]})"
    elif best < len(values) - 1:
        text += f", then stays within 5e-4 of it to {values[-1]:.4f} ({labels[-1]})"
    return text


def label(f):
    return "biases only" if f is None else f"{f + 1} feature{'s' * (f > 0)}"


# %%
# Learning curves, stage by stage
# -------------------------------
# Ten features with Surprise's step and penalty (:math:`\gamma = 0.005`,
# :math:`\lambda = 0.02`). Each stage runs at least ``feature_min_epochs = 30`` epochs (a new
# feature starts near a saddle point and needs them to take off), then stops once an epoch
# improves the training RMSE by less than 0.01%. The shaded bands are the stages; the
# training RMSE is the running one of each epoch (errors taken before each update).
model = FunkSVD(n_factors=10, schedule="feature", random_state=0)
model.fit(train, validation=test)

epochs = np.array([h["epoch"] for h in model.history_])
stage = [h["feature"] for h in model.history_]
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(epochs, [h["train_rmse"] for h in model.history_], label="training (running)")
ax.plot(epochs, [h["val_rmse"] for h in model.history_], label="test")
starts = [j for j in range(len(stage)) if j == 0 or stage[j] != stage[j - 1]]
for n, j in enumerate(starts):
    end = starts[n + 1] if n + 1 < len(starts) else len(stage)
    if n % 2:
        ax.axvspan(epochs[j] - 0.5, epochs[end - 1] + 0.5, color="0.92", lw=0)
ax.set(xlabel="epoch (all stages)", ylabel="RMSE",
       title="schedule='feature', k = 10, lr 0.005, reg 0.02")
ax.legend()
fig.tight_layout()

ends = stage_ends(model)
keys = list(ends)
epochs_per_stage = np.diff([0] + [ends[f]["epoch"] for f in keys])
print(f"{len(keys) - 1} features in {model.n_epochs_} epochs; epochs per stage: "
      f"{', '.join(map(str, epochs_per_stage))}")
print("At the end of each stage, the training RMSE",
      trend([ends[f]["train_rmse"] for f in keys], [label(f) for f in keys]) + ";")
print("the test RMSE",
      trend([ends[f]["val_rmse"] for f in keys], [label(f) for f in keys]) + ".")
gains = -np.diff([ends[f]["train_rmse"] for f in keys])
flat = [str(f + 1) for f, g in zip(keys[1:], gains) if g < 1e-3]
print("Features that lowered the training RMSE by less than 0.001:",
      ", ".join(flat) or "none")

# %%
# What to look for: the training error can only go down as features are added if each
# feature finds structure in the residual, and the test error follows it only while that
# structure is shared with unseen ratings. Each feature is trained to convergence before
# the next one exists, so with a small penalty a feature can keep fitting the training noise
# after it stopped helping the test set. Stages that end at the 30-epoch minimum with hardly
# any change are features that have not escaped their saddle point within those epochs.
#
# A larger penalty
# ----------------
# The remedy in Funk's post is regularisation (his :math:`K`, here :math:`\lambda`). The
# same schedule with :math:`\lambda = 0.1` and :math:`\gamma = 0.01`, against the run above,
# measured at the end of each stage:
strong = FunkSVD(n_factors=10, schedule="feature", reg_all=0.1, lr_all=0.01,
                 random_state=0)
strong.fit(train, validation=test)

fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
for fitted, name in ((model, "lr 0.005, reg 0.02"), (strong, "lr 0.01, reg 0.1")):
    e = stage_ends(fitted)
    x = [0 if f is None else f + 1 for f in e]
    line, = ax.plot(x, [e[f]["val_rmse"] for f in e], marker="o", ms=4,
                    label=f"test, {name}")
    ax.plot(x, [e[f]["train_rmse"] for f in e], ls="--", color=line.get_color(),
            label=f"training, {name}")
ax.set(xlabel="features trained (0 = biases only)",
       ylabel="RMSE at the end of the stage", xticks=range(11))
fig.legend(loc="outside lower center", ncols=2, fontsize=8)

e = stage_ends(strong)
print("With reg 0.1 the test RMSE",
      trend([e[f]["val_rmse"] for f in e], [label(f) for f in e]) + ";")
print(f"final test RMSE {rmse(strong, test):.4f}, "
      f"against {rmse(model, test):.4f} with reg 0.02.")

# %%
# Early stopping counts stages
# ----------------------------
# With ``patience`` the estimator judges the validation RMSE at the end of each stage (a
# feature on its slow start would otherwise look like overfitting) and keeps the best one.
# Here the test split doubles as the validation set, which is fine for a picture but not for
# a reported score.
stopped = FunkSVD(n_factors=10, schedule="feature", patience=2, random_state=0)
stopped.fit(train, validation=test)
kept = stopped.history_[stopped.best_epoch_ - 1]["feature"]
print(f"ran {len(stage_ends(stopped)) - 1} features, kept the model after "
      f"{label(kept)} (epoch {stopped.best_epoch_}): "
      f"test RMSE {rmse(stopped, test):.4f}")
