r"""
Five pitfalls, each caught in the act
=====================================

Five mistakes that the classic tutorials make or invite, each reproduced with funksvd and
shown: missing ratings read as zeros, a flat index that overflows ``int32``, finite
differences across the kink of an absolute value, a learning rate that diverges, and a
gradient off by a factor of 2. :doc:`/conventions` lists them; here they happen.
"""

# %%
# 1. Missing is not zero
# ----------------------
# The quuxlabs matrix [AuYeung2010]_ writes 0 for "not rated". An objective over the
# observed entries ignores those cells; an objective over the *dense* matrix
# (``entries="dense"``, as the 2019 Keras tutorial [Keras2019]_ does) fits them as ratings
# of 0. Both are minimised by plain gradient descent from the same start, with the same
# small Frobenius penalty.
import matplotlib.pyplot as plt
import numpy as np

import funksvd
from funksvd import Factors, Objective, Ratings
from funksvd.classics import QUUXLABS_R, quuxlabs_ratings

ratings = quuxlabs_ratings()  # 14 observed ratings; the 6 zeros are missing
missing = QUUXLABS_R == 0


def descend(objective, steps=3000, lr=0.01, reg=0.01):
    """Full-batch gradient descent on P and Q (no biases) from a fixed random start."""
    f = Factors.random(5, 4, 2, biased=False, init_std_dev=0.5, random_state=0)
    for _ in range(steps):
        g = objective.gradients(f, ratings, reg)
        f = f.replace(P=f.P - lr * g["P"], Q=f.Q - lr * g["Q"])
    return f


fits = {
    "observed entries only": descend(Objective(penalty="frobenius")),
    "dense, missing as 0": descend(Objective(entries="dense", penalty="frobenius")),
}
fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.9), layout="constrained")
panels = [("observed R", np.where(missing, np.nan, QUUXLABS_R))]
panels += [(name, f.P @ f.Q.T) for name, f in fits.items()]
for ax, (title, M) in zip(axes, panels):
    im = ax.imshow(M, vmin=0, vmax=5.5, cmap="viridis")
    for (u, i), value in np.ndenumerate(M):
        if np.isfinite(value):
            weight = "bold" if missing[u, i] else "normal"
            ax.text(i, u, f"{value:.1f}", ha="center", va="center", color="w",
                    fontsize=8, weight=weight)
    ax.set(title=title, xticks=[], yticks=[])
    ax.title.set_fontsize(9)
fig.colorbar(im, ax=axes, shrink=0.8)
for name, f in fits.items():
    R_hat = f.P @ f.Q.T
    print(f"{name}: mean prediction {R_hat[missing].mean():.2f} on the missing "
          f"cells, RMSE {funksvd.rmse(f, ratings):.2f} on the observed ones")

# %%
# The bold numbers are the model's guesses for the missing cells. Fitted to the dense
# matrix, it has learned that "not rated" means a rating near 0, and it fits the real
# ratings worse too, since two factors must now also explain the zeros.
#
# The fix: a weight on the unobserved cells
# ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
# Between "ignore the missing cells" and "they are ratings of 0" lies *weighted* matrix
# factorisation, the loss of implicit-feedback recommenders (Hu, Koren and Volinsky, 2008):
# every cell counts, the unobserved ones with a small weight :math:`w_0`. With
# :math:`C_{ui} = 1` on the observed cells and :math:`w_0` elsewhere, :math:`R_{ui} = 0`
# where missing and :math:`E = R - P Q^\top`,
#
# .. math::
#
#     L_{w_0}(P, Q) = \sum_{u,i} C_{ui}\, E_{ui}^2 + \lambda w \big(\lVert P\rVert_F^2
#     + \lVert Q\rVert_F^2\big).
#
# :math:`w_0 = 0` is the observed-entries loss and :math:`w_0 = 1` the dense one. Each cell
# is a squared error weighted by a constant, so, as for the masked loss, with
# :math:`\partial E_{ui}/\partial p_u = -q_i`,
#
# .. math::
#
#     \frac{\partial L_{w_0}}{\partial P} = -2\,(C \circ E)\,Q + 2 \lambda w P, \qquad
#     \frac{\partial L_{w_0}}{\partial Q} = -2\,(C \circ E)^\top P + 2 \lambda w Q .
#
# Written out and checked three ways: against funksvd's observed-entries and dense
# objectives at the two ends, and by finite differences in between.
from funksvd.check.finite_differences import numerical_gradients

LAM_W = 0.01 * 0.5  # reg times Objective's default factor weight w = 1/2, as above
R0 = np.where(missing, 0.0, QUUXLABS_R)


def weighted(f, w0):
    """L_{w0} and its gradient (dict of P, Q) by the formulas above."""
    C = np.where(missing, w0, 1.0)
    E = R0 - f.P @ f.Q.T
    value = np.sum(C * E**2) + LAM_W * (np.sum(f.P**2) + np.sum(f.Q**2))
    return value, {"P": -2 * (C * E) @ f.Q + 2 * LAM_W * f.P,
                   "Q": -2 * (C * E).T @ f.P + 2 * LAM_W * f.Q}


point = Factors.random(5, 4, 2, biased=False, init_std_dev=0.5, random_state=1)
for w0, objective in ((0.0, Objective(penalty="frobenius")),
                      (1.0, Objective(entries="dense", penalty="frobenius"))):
    theirs = objective.gradients(point, ratings, 0.01)
    ours = weighted(point, w0)[1]
    gap = max(np.abs(ours[b] - theirs[b]).max() for b in "PQ")
    print(f"w0 = {w0:g}: max |ours - funksvd's {objective.entries} gradient| = "
          f"{gap:.1e}")
fd, _ = numerical_gradients(lambda f: weighted(f, 0.1)[0], point)
print(f"w0 = 0.1: max |ours - central differences| = "
      f"{max(np.abs(weighted(point, 0.1)[1][b] - fd[b]).max() for b in 'PQ'):.1e}")


def descend_weighted(w0, steps=3000, lr=0.01):
    """Full-batch gradient descent on L_{w0}, from the start of ``descend``."""
    f = Factors.random(5, 4, 2, biased=False, init_std_dev=0.5, random_state=0)
    for _ in range(steps):
        g = weighted(f, w0)[1]
        f = f.replace(P=f.P - lr * g["P"], Q=f.Q - lr * g["Q"])
    return f


weights = [0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
runs = [descend_weighted(w0) for w0 in weights]
guess = [(f.P @ f.Q.T)[missing].mean() for f in runs]
fit = [funksvd.rmse(f, ratings) for f in runs]
fig, ax = plt.subplots(figsize=(6.4, 3.2))
x = [max(w0, 3e-4) for w0 in weights]  # w0 = 0 drawn at the left edge
ax.plot(x, guess, "o-", label="mean prediction, missing cells")
ax.plot(x, fit, "s-", label="RMSE, observed ratings")
ax.set(xscale="log", xlabel="weight $w_0$ of the unobserved cells (left: 0)",
       title="from ignoring the missing cells to reading them as 0")
ax.legend()
fig.tight_layout()
for w0, g_, r_ in zip(weights, guess, fit):
    print(f"w0 = {w0:<5g}: missing cells predicted {g_:.2f} on average, "
          f"observed RMSE {r_:.2f}")

# %%
# The curve slides from one end of the picture above to the other. For explicit ratings,
# where a missing cell is *unknown*, :math:`w_0 = 0` (the observed-entries loss) is the
# right choice; a small :math:`w_0` is for implicit feedback, where a missing cell is
# weak evidence of no interest, and what "small" means is read off a curve like this
# one (or tuned on held-out data), not assumed.
#
# 2. The flat index that overflows
# --------------------------------
# The 2016 TensorFlow tutorial [Hamed2016]_ forms the dense product :math:`PQ^\top`, flattens
# it, and gathers the prediction of rating :math:`(u, i)` at ``u * n_items + i``. At Netflix
# scale [Bennett2007]_ that index passes :math:`2^{31} - 1`, the largest ``int32``, and
# ``int32`` arithmetic wraps around without a word.
n_users, n_items = 480_189, 17_770
u = np.arange(n_users, dtype=np.int32)
start32 = u * np.int32(n_items)  # the first cell of row u, in int32: wraps silently
start64 = u.astype(np.int64) * n_items  # the same in int64: exact
first_bad = int(np.argmax(start32 != start64))

fig, ax = plt.subplots(figsize=(6.4, 3.2))
ax.plot(u, start64 / 1e9, label="int64 (exact)")
ax.plot(u, start32 / 1e9, lw=0.8, label="int32 (wraps)")
ax.axhline((2**31 - 1) / 1e9, color="grey", ls=":", label=r"$2^{31} - 1$")
ax.axvline(first_bad, color="C3", lw=0.8)
ax.set(xlabel="user u", ylabel="u * n_items (billions)",
       title="Netflix shape: 480,189 users x 17,770 movies")
ax.legend(fontsize=8)
fig.tight_layout()

print(f"rows from user {first_bad:,} on ({1 - first_bad / n_users:.0%} of the users) "
      "start at a wrong index")
print(f"{'(u, i)':>18} {'int64 index':>15} {'int32 index':>15}  int32 reads cell")
for cell in [(100_000, 5), (first_bad, 0), (300_000, 123), (n_users - 1, n_items - 1)]:
    i32 = (np.int32([cell[0]]) * np.int32(n_items) + np.int32(cell[1]))[0]  # wraps
    i64 = cell[0] * n_items + cell[1]
    read = "(negative: an error)"
    if i32 >= 0:
        read = str(tuple(map(int, divmod(int(i32), n_items))))
    print(f"{str(cell):>18} {i64:>15,} {int(i32):>15,}  {read}")

# %%
# A wrapped index is either negative (TensorFlow then fails with a shape error) or, worse,
# a valid index of *another* cell: the model silently trains on the wrong prediction. The
# dense product would also need :math:`8.5 \cdot 10^9` floats (68 GB). funksvd gathers the
# rows :math:`p_u, q_i` with ``int64`` indices instead, and never forms it:
big = Factors.random(n_users, n_items, 2, random_state=0)
print(big.predict([n_users - 1], [n_items - 1]), "from", big.P.nbytes + big.Q.nbytes,
      "bytes of factors")

# %%
# 3. Finite differences across a kink
# -----------------------------------
# The 2016 tutorial's loss is :math:`\sum |e_{ui}|` with an L1 penalty (objective
# ``tf1_l1_2016``). Along one coordinate it is piecewise linear, with a kink where an error
# crosses 0. A central difference :math:`(L(\theta + h) - L(\theta - h))/2h` is exact as
# long as the stencil crosses no kink; across one it returns a blend of the two slopes. One
# rating, :math:`r = 1.3`, and :math:`p_{00} = q_{00} = 1`: the kink along :math:`p_{00}`
# sits 0.3 to the right.
from funksvd.check.finite_differences import kink_mask, numerical_gradients

l1 = funksvd.OBJECTIVES["tf1_l1_2016"]
one = Ratings([0], [0], [1.3], n_users=1, n_items=1)
point = Factors([[1.0]], [[1.0]])


def loss_at(t):
    return l1.loss(point.replace(P=[[1.0 + t]]), one, reg=0.0)


hand = l1.gradients(point, one, reg=0.0)["P"][0, 0]
fd_loss = lambda f: l1.loss(f, one, reg=0.0)  # noqa: E731
print(f"hand-derived (sub)gradient dL/dp00 = {hand:+.3f}")
print(f"{'h':>6} {'central difference':>20} {'kink_mask flags it':>20}")
for h in (0.01, 0.1, 0.25, 0.5, 1.0):
    fd, _ = numerical_gradients(fd_loss, point, h=h, blocks=("P",))
    flagged = kink_mask(l1, point, one, h)["P"][0, 0]
    print(f"{h:>6g} {fd['P'][0, 0]:>+20.3f} {str(bool(flagged)):>20}")

t = np.linspace(-1.2, 1.2, 241)
fig, ax = plt.subplots(figsize=(6.4, 3.2))
ax.plot(t, [loss_at(x) for x in t], color="k", label=r"$L(p_{00} + t) = |0.3 - t|$")
for h, color in ((0.1, "C0"), (1.0, "C3")):
    slope = (loss_at(h) - loss_at(-h)) / (2 * h)
    ax.plot([-h, h], [loss_at(-h), loss_at(h)], "o--", color=color, ms=4,
            label=f"central difference, h = {h:g}: slope {slope:+.2f}")
ax.axvline(0.3, color="grey", ls=":", label="kink (e = 0)")
ax.set(xlabel="t", ylabel="loss")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Steps smaller than the distance to the kink give the true slope, -1; larger ones do not,
# and :func:`~funksvd.check.finite_differences.kink_mask` flags exactly those (it is conservative:
# it flags a stencil that comes within twice the step). At :math:`e = 0` itself the
# derivative does not exist; funksvd takes :math:`\operatorname{sign}(0) = 0`, and
# :func:`~funksvd.check.check_gradients` excludes flagged entries and counts them as
# "at kink" in its report.
#
# 4. A learning rate that diverges
# --------------------------------
# The per-rating step moves the prediction of its own rating by about
# :math:`\gamma\, e\, (2 + \lVert p_u\rVert^2 + \lVert q_i\rVert^2)`, so once
# :math:`\gamma (2 + \lVert p_u\rVert^2 + \lVert q_i\rVert^2) > 2` a step overshoots and
# the error grows instead of shrinking; as the factors grow during training, a learning
# rate that was fine at the start stops being fine. funksvd checks every epoch and raises
# :class:`~funksvd.DivergenceError`, with a smaller rate to try, instead of returning NaN
# factors. Synthetic ratings of MovieLens 100K's shape, :math:`k = 100`:
from funksvd.data import synthetic_netflix

data = synthetic_netflix(943, 1682, 100_000, random_state=0)
fig, ax = plt.subplots(figsize=(6.4, 3.2))
for lr in (0.005, 0.05, 0.1, 0.2):
    model = funksvd.FunkSVD(lr_all=lr, n_epochs=20, random_state=0)
    try:
        model.fit(data)
        outcome = f"trained, training RMSE {model.history_[-1]['train_rmse']:.3f}"
    except funksvd.DivergenceError as error:
        outcome = f"DivergenceError: {error}"
    curve = [h["train_rmse"] for h in model.history_]
    line, = ax.plot(range(1, len(curve) + 1), curve, marker=".",
                    label=f"lr_all = {lr:g}")
    if len(curve) < 20:
        ax.plot(len(curve) + 1, 1.0, "x", ms=10, mew=2, color=line.get_color())
        ax.annotate("diverged", (len(curve) + 1, 1.0), xytext=(6, -3),
                    textcoords="offset points", color=line.get_color())
    print(f"lr_all = {lr:<5g} {outcome}")
ax.set(xlabel="epoch", ylabel="training RMSE (running)", ylim=(0, 1.1))
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# A cross marks the epoch at which training stopped. The estimator is left unfitted
# (``history_`` keeps the epochs that did run), so no caller ever gets NaN predictions.
#
# 5. The factor 2 that ``check_gradients`` finds
# ----------------------------------------------
# Surprise [Hug2020]_ documents its loss as :math:`\sum e^2 + \lambda(\dots)` and descends
# :math:`\tfrac12 e^2 + \tfrac\lambda2(\dots)`: the gradient of the loss it *descends* is
# half the gradient of the loss it *documents*. Hand the first as "your" gradient of the
# second, and :func:`~funksvd.check.check_gradients` names the slip (finite differences as
# the oracle, so TensorFlow is not needed):
from funksvd.check import check_gradients

factors = Factors.random(5, 4, 2, mu=ratings.mean(), init_std_dev=0.5, random_state=0)
descended = funksvd.RULES["funk"].objective  # 1/2 e^2 + lambda/2 (...)
documented = funksvd.OBJECTIVES["surprise_documented"]  # e^2 + lambda (...)
report = check_gradients(documented, factors, ratings, manual=descended.gradients,
                         oracles=("finite_differences",))
print(report)

true, _ = numerical_gradients(lambda f: documented.loss(f, ratings, 0.02), factors)
mine = descended.gradients(factors, ratings, 0.02)
fig, ax = plt.subplots(figsize=(4.6, 4.0))
for block in factors.blocks:
    ax.scatter(true[block].ravel(), mine[block].ravel(), s=14, label=block)
lim = np.abs(np.concatenate([g.ravel() for g in true.values()])).max() * 1.1
ax.plot([-lim, lim], [-lim, lim], color="grey", ls=":", label="y = x (correct)")
ax.plot([-lim, lim], [-lim / 2, lim / 2], color="C3", lw=0.8, label="y = x / 2")
ax.set(xlabel="finite differences of the documented loss",
       ylabel="the gradient handed in", title="every entry on the half line")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Both losses have the same minimiser, so Surprise trains correctly; but a derivation checked
# against the documented loss fails by exactly this factor. The same diagnosis catches the
# 2 forgotten in :math:`\partial e^2/\partial e = 2e` (see
# :ref:`sphx_glr_auto_tutorials_plot_check_your_gradient.py`).

# sphinx_gallery_thumbnail_number = 2
