r"""
quuxlabs 2010, as republished in 2017: the article's equations against its own listing
======================================================================================

Albert Au Yeung's tutorial [AuYeung2010]_ completes a 5 x 4 ratings matrix (0 = missing).
**Which version:** this page reproduces the **2017 republication**, its listing and its
settings (:math:`K = 2` factors *with biases*, :math:`\alpha = 0.1`, 20 iterations). The
original 2010 post had no biases, and ran :math:`\alpha = 0.0002` for 5000 steps; that
version is not run here. **What the 2017 version did:** its *equations* update

.. math::

   p_u \leftarrow p_u + \alpha\,(2 e_{ui}\, q_i - \beta\, p_u), \qquad
   q_i \leftarrow q_i + \alpha\,(2 e_{ui}\, p_u - \beta\, q_i), \qquad
   b_u \leftarrow b_u + \alpha\,(e_{ui} - \beta\, b_u)

(a factor 2 on the factors, none on the biases), while its *code listing* drops the 2, and
updates :math:`q_i` with the :math:`p_u` it has just updated. **Its settings:** start
:math:`P, Q \sim \mathcal N(0, 1/K^2)`, biases 0, :math:`b` = mean of the observed ratings
(fixed); 20 iterations, each a shuffled pass over the 14 observed ratings; :math:`\alpha = 0.1`,
:math:`\beta = 0.01`; it prints the completed matrix and an "error" :math:`\sqrt{\sum e^2}`.

Here both rules run with exactly those settings on funksvd's per-rating SGD
(:func:`funksvd.classics.run_quuxlabs_article`, rules ``"quuxlabs_listing"`` and ``"quuxlabs"``
of :data:`funksvd.RULES`). The start is random and the article does not give its seed, so each
rule runs from 200 seeds and the published matrix is compared with that spread. Nothing is
shrunk: the whole page runs in a few seconds.
"""

# %%
# The matrix and 200 runs of each rule
# ------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from funksvd.classics import (
    QUUXLABS_PUBLISHED,
    QUUXLABS_R,
    Comparison,
    completed_matrix,
    run_quuxlabs_article,
)

observed = QUUXLABS_R > 0
cells = np.argwhere(~observed)  # the missing (user, item) cells, row by row
seeds = range(200)
rules = {"quuxlabs_listing": "the listing (no 2, sequential)",
         "quuxlabs": "the equations (2 e on P, Q)"}
runs = {rule: [run_quuxlabs_article(rule=rule, random_state=s) for s in seeds]
        for rule in rules}
completed = {rule: np.array([completed_matrix(f) for f, _ in runs[rule]])
             for rule in rules}
errors = {rule: np.array([e for _, e in runs[rule]]) for rule in rules}
print(QUUXLABS_R)

# %%
# The published matrix against our spread
# ---------------------------------------
# One column per missing cell: a dot per seed, for each rule, and the article's printed value
# as a red cross. The observed cells are fitted closely by every run; the missing ones are
# guesses of a rank-2 model that the data barely constrain, so they depend on the start.
fig, ax = plt.subplots(figsize=(6.4, 3.6))
rng = np.random.default_rng(0)
for k, (rule, label) in enumerate(rules.items()):
    for c, (u, i) in enumerate(cells):
        x = c + (k - 0.5) * 0.3 + rng.uniform(-0.06, 0.06, len(seeds))
        ax.plot(x, completed[rule][:, u, i], ".", ms=3, color=f"C{k}",
                label=label if c == 0 else None)
ax.plot(range(len(cells)), [QUUXLABS_PUBLISHED[u, i] for u, i in cells], "x",
        color="red", ms=9, mew=2, label="published")
ax.set_xticks(range(len(cells)), [f"({u},{i})" for u, i in cells])
ax.set(xlabel="missing cell (user, item)", ylabel="completed value",
       title=f"{len(seeds)} seeds per rule, alpha 0.1, beta 0.01, 20 iterations")
ax.legend(fontsize=8)
fig.tight_layout()


def rank_in_spread(values, published):
    """Percentile of ``published`` among our runs (0: below all, 100: above all)."""
    return 100.0 * np.mean(values < published)


listing = completed["quuxlabs_listing"]
percentiles = [rank_in_spread(listing[:, u, i], QUUXLABS_PUBLISHED[u, i])
               for u, i in cells]
inside = sum(5 <= p <= 95 for p in percentiles)
print(f"The published value of {inside} of the {len(cells)} missing cells lies "
      f"between the 5th and 95th percentiles of the listing's {len(seeds)} runs.")

# %%
# The article's "error", iteration by iteration
# ---------------------------------------------
# The article reports :math:`\sqrt{\sum_{\mathcal K} e^2}` (a root of a sum, not an RMSE).
# Median and 10-90% band over the seeds: the equations' factor 2 doubles the step on
# :math:`P` and :math:`Q` and fits faster.
fig, ax = plt.subplots(figsize=(6.4, 3.6))
its = np.arange(1, 21)
for k, (rule, label) in enumerate(rules.items()):
    lo, mid, hi = np.percentile(errors[rule], [10, 50, 90], axis=0)
    ax.semilogy(its, mid, color=f"C{k}", label=label)
    ax.fill_between(its, lo, hi, color=f"C{k}", alpha=0.2)
ax.set(xlabel="iteration", ylabel=r"$\sqrt{\sum e^2}$ on the 14 observed ratings")
ax.legend()
fig.tight_layout()
final = {rule: float(np.median(errors[rule][:, -1])) for rule in rules}
print(f"after 20 iterations, median error: listing {final['quuxlabs_listing']:.3f}, "
      f"equations {final['quuxlabs']:.3f}")

# %%
# Published, ours, and why they differ
# ------------------------------------
# "Ours" is the listing's median over the seeds, with its 5th and 95th percentiles in
# brackets; the observed-cell error is the largest :math:`|r_{ui} - \hat r_{ui}|` over the 14
# ratings (median over seeds; in parentheses the equations' rule). "Published" is the
# 2017 version's printed matrix, or a figure computed from it.
pub_obs = np.abs(QUUXLABS_PUBLISHED - QUUXLABS_R)[observed].max()
our_obs = np.abs(listing - QUUXLABS_R)[:, observed].max(axis=1)
eq_obs = np.abs(completed["quuxlabs"] - QUUXLABS_R)[:, observed].max(axis=1)
lo, mid, hi = np.percentile(listing[:, ~observed], [5, 50, 95], axis=0)
rows = [("max |e|, observed", f"{pub_obs:.2f}",
         f"{np.median(our_obs):.2f} (eq. {np.median(eq_obs):.2f})",
         "median over seeds; the 2 of the equations fits faster")]
published = QUUXLABS_PUBLISHED[~observed]  # row-major, as cells
for (u, i), p, a, b, c, pct in zip(cells, published, lo, mid, hi, percentiles):
    beyond = min(pct, 100 - pct)  # % of our runs beyond the published value
    why = ("inside our 5-95% band" if beyond >= 5
           else f"only {beyond:.1f}% of runs beyond it")
    rows.append((f"missing ({u},{i})", f"{p:.2f}", f"{b:.2f} [{a:.2f}, {c:.2f}]",
                 f"random start, seed unknown: {why}"))
rows.append(("the code that printed it", "its listing", "listing and equations",
             "they differ: the factor 2, and the order of P and Q"))
Comparison(rows)
