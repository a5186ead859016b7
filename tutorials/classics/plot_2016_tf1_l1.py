r"""
TensorFlow 1, 2016: absolute errors and an L1 penalty on MovieLens 100K
=======================================================================

**What the original did.** A 2016 blog post [Hamed2016]_ factorises MovieLens 100K (100,000
ratings, 943 users, 1,682 movies) with TensorFlow 1. It keeps a random 70% of the ratings
for training (``numpy.random.rand(n) < 0.7``), shifts the ids to 0-based, and models
:math:`\hat r_{ui} = u_u^\top v_i` with :math:`U` (943 x 10) and :math:`V` (10 x 1682) drawn
from ``tf.truncated_normal`` (standard deviation 1, redrawn beyond 2). The loss is the sum of
**absolute** errors plus an L1 penalty,

.. math::

   L = \sum_{(u,i) \in \mathcal K} |r_{ui} - u_u^\top v_i| + \lambda \big(\textstyle\sum |U| + \sum |V|\big),
   \qquad \frac{\partial L}{\partial u_u} = -\sum_i \operatorname{sign}(e_{ui})\, v_i
   + \lambda \operatorname{sign}(u_u),

with :math:`\lambda = 0.001` (the post's prose names a norm penalty; its code sums the
absolute values of the entries, the penalty above, and this page follows the code), minimised
by plain gradient descent with learning rate 0.001
decayed by 0.96 every 10,000 steps (staircase), for 500 full-batch steps. Its test figure is
meant to be :math:`\sum e^2 / (2 n_{\mathrm{test}})` over the test ratings, but its code
squares the *training* difference op again (a reader points this out), so what it computes is
the training errors' sum over :math:`2 n_{\mathrm{test}}`; both are computed below. It gathers
predictions from the flattened dense product at ``u * n_items + i``.

**Here:** :func:`funksvd.train` with ``OBJECTIVES["tf1_l1_2016"]`` (the subgradient above,
with :math:`\operatorname{sign}(0) = 0`), ``optimizer="sgd"``, ``decay_rate=0.96,
decay_steps=10_000``, the same split rule, start and 500 steps: nothing is shrunk. funksvd
gathers rows of :math:`U` and :math:`V` per rating and never forms the flat index.
"""

# %%
# The data and the 70/30 split
# ----------------------------

import matplotlib.pyplot as plt
import numpy as np

from funksvd import OBJECTIVES, Factors, mae, rmse, train
from funksvd.classics import Comparison
from funksvd.data import example_dataset


data = example_dataset(download=True)  # found here or above, else downloaded
ratings, source = data.ratings, data.source
print(f"{source}: {ratings}")
keep = np.random.default_rng(0).random(len(ratings)) < 0.7  # the post's rule, seeded
train_set = ratings.subset(np.flatnonzero(keep))
test_set = ratings.subset(np.flatnonzero(~keep))
print(f"{len(train_set):,} training and {len(test_set):,} test ratings")

# %%
# 500 steps of plain gradient descent
# -----------------------------------
# The test figure is recorded after every step (``validation``): the post's
# :math:`\sum e^2 / (2 n_{\mathrm{test}})` is half the test MSE.
STEPS, LAMBDA = 500, 0.001
start = Factors.random(ratings.n_users, ratings.n_items, 10, biased=False,
                       init="truncated_normal", init_std_dev=1.0, random_state=0)
factors, history = train(start, train_set, objective=OBJECTIVES["tf1_l1_2016"],
                         reg=LAMBDA, optimizer="sgd", learning_rate=0.001,
                         decay_rate=0.96, decay_steps=10_000, n_epochs=STEPS,
                         validation=test_set)
seconds = sum(h["seconds"] for h in history)
figure = np.array([h["val_rmse"] ** 2 / 2 for h in history])
print(f"{STEPS} steps in {seconds:.1f} s; the learning rate never decays: the first "
      f"decay would come at step 10,000")

fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(np.arange(1, STEPS + 1), [h["loss"] / len(train_set) for h in history],
        label="training loss / n_train (mean |e| + penalty)")
ax.plot(np.arange(1, STEPS + 1), figure, label=r"test figure $\sum e^2 / (2 n)$")
ax.set(xlabel="gradient-descent step", yscale="log", title="L1 loss, lr 0.001, k = 10")
ax.legend()
fig.tight_layout()
best = int(np.argmin(figure))
print(f"test figure: {figure[0]:.3f} after step 1, lowest {figure[best]:.3f} at step "
      f"{best + 1}, {figure[-1]:.3f} after step {STEPS}")
print(f"test RMSE {rmse(factors, test_set):.3f}, test MAE {mae(factors, test_set):.3f}")
e_train = train_set.values - factors.predict(train_set.users, train_set.items)
as_written = float(np.sum(e_train**2)) / (2 * len(test_set))
print(f"the post's figure as its code computes it (training errors squared, over "
      f"2 n_test): {as_written:.3f}; as intended (test errors): {figure[-1]:.3f}")

# %%
# The start is far from the data (printed below): the first steps mostly shrink and align
# the factors. Then the absolute loss pulls each prediction towards the *median* of its
# ratings, with a gradient of the same size however close a rating already is, so at a fixed
# step the descent does not settle; the post's decay would only start at step 10,000.
z0 = start.predict(train_set.users, train_set.items)
print(f"at the start the predictions have mean {z0.mean():.2f} and standard deviation "
      f"{z0.std():.2f}; the ratings {train_set.values.mean():.2f} and "
      f"{train_set.values.std():.2f}")
last = np.array([h["loss"] for h in history[-50:]])
print(f"over the last 50 steps the training loss moves within "
      f"{(last.max() - last.min()) / last.mean():.2%} of its mean")

# %%
# How the predictions are spread
# ------------------------------
r_hat = factors.predict(test_set.users, test_set.items)
fig, ax = plt.subplots(figsize=(6.4, 3.2))
ax.hist(r_hat, bins=80, range=(-2, 8), color="C1", alpha=0.8, label="prediction")
ax.hist(test_set.values, bins=80, range=(-2, 8), color="C0", alpha=0.6,
        label="test rating")
ax.set(xlabel="rating", ylabel="count")
ax.legend()
fig.tight_layout()
outside = np.mean((r_hat < 1) | (r_hat > 5))
print(f"{outside:.1%} of the test predictions fall outside [1, 5] "
      f"(no biases, no clipping)")

# %%
# The flat index and int32
# ------------------------
# The post gathers prediction :math:`(u, i)` at position ``u * n_items + i`` of the flattened
# :math:`943 \times 1682` product. That position is an ``int32`` in TensorFlow 1 by default,
# and wraps past :math:`2^{31} - 1`:
INT32_MAX = np.iinfo(np.int32).max
netflix_users, netflix_items = 480_189, 17_770
first = INT32_MAX // netflix_items + 1  # first user with a flat index past int32
print(f"MovieLens 100K: {ratings.n_users * ratings.n_items:,} cells, far below "
      f"{INT32_MAX:,}; Netflix: {netflix_users * netflix_items:,} cells, and every "
      f"user from index {first:,} on has a flat index beyond int32")
reported = -2_007_852_676  # the size a reader's run reported as negative
print(f"{2**32 + reported:,} as int32 is {np.array(2**32 + reported).astype(np.int32)}")

# %%
# A reader of the post hit "dimension ... must be non-negative but is -2007852676": a product
# of 2,287,114,620 cells wrapped to a negative int32. funksvd never forms the flat index: its
# gradients gather rows of :math:`U` and :math:`V` per rating with ``int64`` indices.
#
# Published, ours, and why they differ
# ------------------------------------
# "Published" lists what the post states; it prints no test figure that our notes record.
rows = [
    ("data", "100,000 / 943 / 1,682",
     f"{len(ratings):,} / {ratings.n_users:,} / {ratings.n_items:,}", ""),
    ("split", "rand < 0.7", f"the same, seeded: {len(train_set):,} train",
     "another draw"),
    ("loss", "sum |e| + 0.001 L1", "the same (hand subgradient)", ""),
    ("penalty", "prose: a norm; code: sum |U| + sum |V|", "sum |U| + sum |V|",
     "we follow the code"),
    ("optimiser", "GD 0.001, x0.96 / 10k", "the same; no decay in 500 steps", ""),
    ("steps", "500", f"{STEPS}", ""),
    ("test sum e^2 / (2n), as intended", None, f"{figure[-1]:.3f}", ""),
    ("the same, as its code computes it", None, f"{as_written:.3f}",
     "squares the training differences"),
    ("flat index", "int32, wraps", "never formed (int64 rows)", "u * n_items + i"),
]

Comparison(rows)
