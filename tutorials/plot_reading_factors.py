r"""
Reading the factors: what a trained model has learned about films
=================================================================

A trained model is more than its RMSE: its item vectors :math:`q_i` and biases :math:`b_i`
say what it learned about each film, as Koren, Bell and Volinsky [Koren2009]_ show for the
Netflix data. This page reads them on MovieLens 100K [Harper2015]_: the films with the most
extreme biases, a two-dimensional map of :math:`Q` by principal components, and what the
length of :math:`q_i` does to "similar films" when they are ranked by the dot product
instead of the cosine.

Two cautions first. Only :math:`P Q^\top` is determined by the data: any invertible
:math:`A` gives :math:`(P A)(Q A^{-\top})^\top = P Q^\top`, and with an L2 penalty still any
rotation (:ref:`sphx_glr_auto_tutorials_plot_rotations.py`), so a single factor has no
meaning of its own; principal components fix a basis from the data, which is why they are
the thing to look at. And a bias is a shrunk mean (:ref:`sphx_glr_auto_tutorials_plot_baseline.py`),
so the films with one or two ratings sit near 0, not at the extremes.
"""

# %%
# A model on all of MovieLens 100K
# --------------------------------
import matplotlib.pyplot as plt
import numpy as np

from funksvd import FunkSVD
from funksvd.data import example_dataset

data = example_dataset(download=True)  # found here or above, else downloaded
print(f"{data.source}: {data.ratings}")
model = FunkSVD(n_factors=20, n_epochs=40, reg_all=0.05, random_state=0).fit(data)
Q, bi = model.factors_.Q, model.factors_.bi
titles = np.asarray(data.item_titles, dtype=object)
counts = np.bincount(data.ratings.items, minlength=data.n_items)
print(f"{model.n_factors} factors, {model.n_epochs_} epochs, "
      f"training RMSE {model.history_[-1]['train_rmse']:.3f}")

# %%
# The extreme biases
# ------------------
# :math:`b_i` is what the model adds to :math:`\mu` for a film before any taste enters.
# Among the films with at least 50 ratings, the highest and the lowest:
often = np.flatnonzero(counts >= 50)
order = often[np.argsort(bi[often])]
for label, picks in (("highest b_i", order[::-1][:6]), ("lowest b_i", order[:6])):
    print(label)
    for i in picks:
        print(f"  {bi[i]:+.2f}  {titles[i]}  ({counts[i]} ratings)")
rare = counts <= 2
print(f"films with 1 or 2 ratings: |b_i| at most {np.abs(bi[rare]).max():.2f}, "
      f"against {np.abs(bi[often]).max():.2f} among those with 50 or more")

# %%
# A map of Q by principal components
# ----------------------------------
# Centre the item vectors of the films with at least 100 ratings and take the two
# directions of largest variance (the first right singular vectors of the centred
# matrix); each film's coordinates are its projections on them.
shown = np.flatnonzero(counts >= 100)
centred = Q[shown] - Q[shown].mean(axis=0)
_, s, Vt = np.linalg.svd(centred, full_matrices=False)
xy = centred @ Vt[:2].T
explained = s[:2] ** 2 / np.sum(s**2)
fig, ax = plt.subplots(figsize=(7.2, 5.6))
ax.scatter(xy[:, 0], xy[:, 1], s=5, color="0.7")
label = np.argsort(-counts[shown])[:45]  # the most rated of them get their titles
for j in label:
    ax.annotate(titles[shown[j]][:28], xy[j], fontsize=6.5, ha="center")
ax.set(xlabel=f"first component ({explained[0]:.0%} of the variance)",
       ylabel=f"second component ({explained[1]:.0%})",
       title="item vectors q_i of the films with 100+ ratings")
fig.tight_layout()
for k in (0, 1):
    ends = np.argsort(xy[:, k])
    print(f"component {k + 1}: one end {', '.join(titles[shown[ends[:3]]])}; "
          f"other end {', '.join(titles[shown[ends[-3:]]])}")

# %%
# What the two ends of each component share is for the reader to judge from the titles
# printed above: the model was told nothing about genres or years, only who rated what.
#
# Dot product, cosine and popularity
# ----------------------------------
# ``similar_items`` ranks by the cosine of the item vectors, or by their dot product
# :math:`q_i^\top q_j = \lVert q_i\rVert \lVert q_j\rVert \cos\theta`. The dot product keeps
# the lengths, and the lengths grow with the number of ratings: a film rated often has its
# vector pulled by many gradient steps, a rarely rated one stays near its small random
# start (the penalty shrinks it further).
norms = np.linalg.norm(Q, axis=1)
seen = counts > 0
corr = np.corrcoef(np.log(counts[seen]), norms[seen])[0, 1]
print(f"correlation of log(ratings) and ||q_i||: {corr:.2f}")
star_wars = 50  # the MovieLens id of Star Wars (1977)
print(f"films most similar to {titles[model.item_index(star_wars)]}:")
lists = {metric: model.similar_items(star_wars, n=8, metric=metric)
         for metric in ("cosine", "dot")}
for metric, ranking in lists.items():
    ranked = ranking.indices
    print(f"  by {metric}: median {np.median(counts[ranked]):.0f} ratings; "
          + "; ".join(str(t) for t in ranking.titles[:5]))

fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.scatter(counts[seen], norms[seen], s=4, color="0.6")
for k, (metric, ranking) in enumerate(lists.items()):
    ax.scatter(counts[ranking.indices], norms[ranking.indices], s=28, color=f"C{k}",
               label=f"8 nearest by {metric}")
ax.set(xscale="log", xlabel="ratings of the film", ylabel=r"$\|q_i\|$",
       title="the dot product prefers long vectors: popular films")
ax.legend()
fig.tight_layout()

# %%
# Ranked by the dot product, the neighbours are pulled towards the long vectors, the much
# rated films (their median count is printed above); the cosine compares directions only.
# Neither is "right": the dot product is what the model would predict for a user whose
# taste is the query's vector, the cosine is closer to "films like this one". Choose by
# what the list is for, and say which.
