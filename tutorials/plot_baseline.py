r"""
The baseline predictor: the bar every factor model must clear
=============================================================

Before any factors, a rating is mostly the global mean, how generous the user is and how
liked the item is:

.. math:: \hat r_{ui} = \mu + b_u + b_i .

Koren, Bell and Volinsky [Koren2009]_ fit these *baseline* biases first and measure every
factor model against them; so should a student. This page derives the regularised biases in
closed form, checks that they are a critical point of their loss with funksvd's hand
gradient, and puts them beside a factor model on MovieLens 100K [Harper2015]_, by RMSE and by
the ranking metrics of a ``leave_k_out`` split.

**The derivation.** With :math:`\mathcal K` the observed ratings, :math:`R(i)` the users who
rated item :math:`i` and :math:`R(u)` the items user :math:`u` rated, minimise

.. math::

    L(b) = \sum_{(u,i) \in \mathcal K} (r_{ui} - \mu - b_u - b_i)^2
           + \lambda_u \sum_u b_u^2 + \lambda_i \sum_i b_i^2 .

:math:`b_i` appears only in the terms of the ratings of item :math:`i` and in its penalty, so

.. math::

    \frac{\partial L}{\partial b_i} = -2 \sum_{u \in R(i)} (r_{ui} - \mu - b_u - b_i)
    + 2 \lambda_i b_i = 0
    \quad\Longrightarrow\quad
    b_i = \frac{\sum_{u \in R(i)} (r_{ui} - \mu - b_u)}{\lambda_i + |R(i)|},

and in the same way :math:`b_u = \sum_{i \in R(u)} (r_{ui} - \mu - b_i) / (\lambda_u + |R(u)|)`.
Each is a **shrunk mean**: the mean deviation of the item's ratings, times
:math:`|R(i)| / (\lambda_i + |R(i)|)`. An item rated once by a fan moves by
:math:`1/(1 + \lambda_i)` of that rating's excess; an item rated 500 times is barely shrunk.
:math:`\lambda` works like :math:`\lambda_i` pseudo-ratings at the global mean.

The two formulas depend on each other. Koren's recipe [Koren2010]_ takes one pass:
:math:`b_i` with :math:`b_u = 0`, then :math:`b_u` from those :math:`b_i` (with
:math:`\lambda_i = 25`, :math:`\lambda_u = 10`). Alternating the two to convergence is block
coordinate descent on a convex quadratic, each step an exact minimisation over one block,
so it converges to the joint minimiser of :math:`L`.
"""

# %%
# The biases in closed form
# -------------------------
import matplotlib.pyplot as plt
import numpy as np

import funksvd
from funksvd import Factors, FunkSVD, Objective
from funksvd.data import example_dataset, leave_k_out
from funksvd.evaluation import evaluate_ranking

data = example_dataset(download=True)  # found here or above, else downloaded
print(f"{data.source}: {data.ratings}")
# 10 ratings of every user held out; ranking: are the held-out 4s and 5s in the top 10?
train, test = leave_k_out(data.ratings, k=10, random_state=0)
mu = train.mean()
LAM_I, LAM_U = 25.0, 10.0


def shrunk_mean(residual, index, n, lam):
    """sum of residual over each index / (lam + count): the closed-form bias."""
    total = np.bincount(index, weights=residual, minlength=n)
    return total / (lam + np.bincount(index, minlength=n))


def baseline(ratings, passes=1):
    """b_i from b_u, then b_u from b_i, ``passes`` times, from b_u = 0."""
    u, i, r = ratings.users, ratings.items, ratings.values
    bu = np.zeros(ratings.n_users)
    for _ in range(passes):
        bi = shrunk_mean(r - mu - bu[u], i, ratings.n_items, LAM_I)
        bu = shrunk_mean(r - mu - bi[i], u, ratings.n_users, LAM_U)
    # a Factors with one zero factor: every funksvd metric takes it as it is
    zeros_u, zeros_i = np.zeros((ratings.n_users, 1)), np.zeros((ratings.n_items, 1))
    return Factors(zeros_u, zeros_i, bu, bi, mu)


one_pass, converged = baseline(train, 1), baseline(train, 300)

# %%
# Is it the minimiser? The loss above is a funksvd objective: squared error summed
# over the ratings, a Frobenius penalty of weight 1 on the biases (``reg`` per block;
# P and Q are zero and unpenalised). Its hand gradient must vanish at the converged
# biases, and not at Koren's one pass.
objective = Objective(penalty="frobenius", bias_reg_weight=1.0)
reg = {"P": 0.0, "Q": 0.0, "bu": LAM_U, "bi": LAM_I}
for name, f in (("one pass", one_pass), ("300 passes", converged)):
    g = funksvd.gradients(f, train, objective, reg)
    print(f"{name}: loss {funksvd.loss(f, train, objective, reg):,.1f}, "
          f"max |dL/db_u| {np.abs(g['bu']).max():.1e}, "
          f"max |dL/db_i| {np.abs(g['bi']).max():.1e}")

# %%
# The shrinkage, item by item: the raw mean deviation of each item's ratings against its
# shrunk bias. Items with few ratings are pulled towards 0; popular ones keep their mean.
counts = np.bincount(train.items, minlength=train.n_items)
seen = counts > 0
total = np.bincount(train.items, weights=train.values - mu, minlength=train.n_items)
raw = np.divide(total, counts, out=np.zeros(train.n_items), where=seen)  # no shrinkage
fig, ax = plt.subplots(figsize=(6.4, 3.6))
points = ax.scatter(raw[seen], converged.bi[seen], c=np.log10(counts[seen]), s=6,
                    cmap="viridis")
ax.plot([-3, 2], [-3, 2], color="0.6", lw=1, label="no shrinkage")
ax.set(xlabel=r"raw mean deviation $\bar r_i - \mu$", ylabel=r"shrunk bias $b_i$",
       title=rf"$\lambda_i = {LAM_I:g}$: few ratings, strong pull to 0")
fig.colorbar(points, label="log10 ratings of the item")
ax.legend(loc="upper left")
fig.tight_layout()

# %%
# The bar, by RMSE and by ranking
# -------------------------------
# The same held-out ratings score both ways: RMSE of the predicted ratings, and, with the
# held-out ratings of 4 or more as the relevant items, precision, recall and nDCG of each
# user's top 10 among the items not in their training ratings. A factor model is
# :class:`~funksvd.FunkSVD` with Surprise's defaults (100 factors, 20 epochs).
mean_only = one_pass.replace(bu=np.zeros(train.n_users), bi=np.zeros(train.n_items))
factor_model = FunkSVD(random_state=0).fit(train).factors_
models = {"global mean": mean_only, "biases, one pass": one_pass,
          "biases, converged": converged, "FunkSVD (100 factors)": factor_model}
scores = {}
for name, f in models.items():
    if f is mean_only:  # every score ties: a "ranking" would be the tie order
        ranking = dict.fromkeys(("precision@10", "recall@10", "ndcg@10"), np.nan)
    else:
        ranking = evaluate_ranking(f, train, test, k=10, threshold=4)
    scores[name] = {"RMSE": funksvd.rmse(f, test), **ranking}
    print(f"{name:>22}: RMSE {scores[name]['RMSE']:.4f}  "
          f"precision@10 {ranking['precision@10']:.3f}  "
          f"recall@10 {ranking['recall@10']:.3f}  ndcg@10 {ranking['ndcg@10']:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0), layout="constrained")
names = list(scores)
for ax, metric in zip(axes, ("RMSE", "ndcg@10")):
    ax.barh(names, [scores[n][metric] for n in names], color=["0.6", "C0", "C1", "C2"])
    ax.set(xlabel=metric, title="lower is better" if metric == "RMSE" else "higher")
    ax.invert_yaxis()
axes[1].set_yticks([])

# %%
# What the numbers say
# --------------------
bias_gain = scores["global mean"]["RMSE"] - scores["biases, converged"]["RMSE"]
factors_ = scores["FunkSVD (100 factors)"]
factor_gain = scores["biases, converged"]["RMSE"] - factors_["RMSE"]
print(f"RMSE: the biases take {bias_gain:.3f} off the global mean, the 100 factors a "
      f"further {factor_gain:.3f}")
ndcg_gain = factors_["ndcg@10"] - scores["biases, converged"]["ndcg@10"]
verdict = "beats" if ndcg_gain > 0 else "does not beat"
print(f"nDCG@10: FunkSVD {verdict} the baseline's one list for everyone "
      f"({ndcg_gain:+.3f})")

# %%
# Most of what RMSE rewards is in the biases (printed above): the factors' gain on top
# of them is the part a factor model is for. For ranking, the baseline's top 10 is the
# same list of well-liked, often-rated films for every user (:math:`b_u` is a constant
# per user), and that list is a strong ranker; a model trained for RMSE, as
# :class:`~funksvd.FunkSVD` is, need not beat it, and the line above says whether it
# did here. Report a factor model beside this baseline, on both kinds of metric.
