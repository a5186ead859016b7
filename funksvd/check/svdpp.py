r"""Check the hand gradient of the SVD++ objective against TensorFlow, finite differences and sympy.

:func:`check_svdpp_gradients` is :func:`~funksvd.check.check_gradients` for the five blocks
``P, Q, bu, bi, Y`` of :func:`funksvd.maths.svdpp_objective.svdpp_gradients`, with the same
report. The oracles:

* ``"tensorflow"``: :class:`tf.GradientTape` on the loss written again in TF ops
  (:mod:`funksvd.autodiff.svdpp`);
* ``"finite_differences"``: :func:`~funksvd.check.finite_differences.central_differences` of
  :func:`~funksvd.maths.svdpp_objective.svdpp_loss` with the step :math:`h = 1`. Every error
  :math:`e_{ui}` is affine in any one coordinate of :math:`P, Q, b_u, b_i, Y` (:math:`y_{jf}`
  enters :math:`z_u` once, times :math:`\eta_u`), so the loss is quadratic along each axis and
  the central difference is exact up to rounding, whose estimate enters the tolerance;
* ``"symbolic"``: sympy builds :math:`L` from its definition, a loop over the ratings and
  :math:`N(u)` with one symbol per parameter, rating, :math:`\mu` and :math:`\lambda_b`
  (:func:`derived_gradients`), and differentiates it; evaluated at the point, that is the
  reference. For funksvd's own gradient the hand code itself (``svdpp_gradients`` with the
  ``Implicit`` methods it calls) is also executed on the same symbols and proved equal:
  :math:`\mathrm{simplify}(\text{hand} - \text{derived}) = 0` for every entry
  (:func:`prove_svdpp`), for all values of the parameters, ratings and :math:`\lambda`, on the
  case's ratings and :math:`N(u)`.

sympy and TensorFlow are imported on use only.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from ..base.optional import require_tensorflow
from ..base.rng import check_random_state
from ..maths import svdpp_objective
from ..maths.svdpp import SVDPP_BLOCKS, Implicit
from ..model.factors import Factors
from ..model.ratings import Ratings
from .finite_differences import central_differences
from .gradients import ORACLES, GradientReport, OracleUnavailable, block_row, checked_manual, skipped_rows
from .symbolic import MAX_SYMBOLS, Proof, SympyMissing, is_zero, require_sympy

__all__ = ["LABEL", "check_svdpp_gradients", "derived_gradients", "prove_svdpp", "svdpp_case"]

#: How the SVD++ objective is named in reports and in ``funksvd check``.
LABEL = "svdpp (Surprise's SVD++ loss)"


def svdpp_case(random_state=0) -> tuple[Factors, np.ndarray, Ratings, Implicit, dict[str, float]]:
    r"""``(factors, Y, ratings, implicit, reg)``: a small generic SVD++ problem drawn from ``random_state``.

    4 users, 5 items, :math:`k = 2`, 10 ratings. :math:`N(u)` is not always the rated set: user 0
    implicitly rated what it rated, user 1 also item 4 that it did not rate, user 2 not item 4
    that it rated, and user 3 nothing (:math:`\eta_3 = 0`); :math:`|N(u)| = 3, 4, 2, 0`, and every
    item is in some :math:`N(u)`, so every row of :math:`\partial L/\partial Y` has a data term.
    Ratings, factors, biases and :math:`Y` are continuous draws (distinct and non-zero), and
    :math:`\lambda` is drawn for each block.
    """
    rng = check_random_state(random_state)
    users = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3])
    items = np.array([0, 1, 2, 0, 1, 3, 2, 3, 4, 4])
    ratings = Ratings(users, items, rng.uniform(1.0, 5.0, len(users)), 4, 5)
    implicit = Implicit(np.array([0, 3, 7, 9, 9]), np.array([0, 1, 2, 0, 1, 3, 4, 2, 3]))
    factors = Factors(rng.normal(0, 0.5, (4, 2)), rng.normal(0, 0.5, (5, 2)), rng.normal(0, 0.3, 4),
                      rng.normal(0, 0.3, 5), ratings.mean())
    Y = rng.normal(0, 0.5, (5, 2))
    reg = {b: float(x) for b, x in zip(SVDPP_BLOCKS, rng.uniform(0.02, 0.2, len(SVDPP_BLOCKS)))}
    return factors, Y, ratings, implicit, reg


def check_svdpp_gradients(factors: Factors, Y, ratings: Ratings, implicit: Implicit, reg=0.02, manual=None,
                          oracles=ORACLES, rtol: float = 1e-6, atol: float = 1e-9) -> GradientReport:
    r"""Compare the SVD++ gradient with TensorFlow autodiff, finite differences and sympy (module notes).

    Parameters
    ----------
    factors : Factors
        :math:`P, Q, b_u, b_i, \mu` (biased); converted to float64.
    Y : array_like
        The implicit factors :math:`y_j`, one row per item.
    ratings : Ratings
    implicit : Implicit
        :math:`N(u)`.
    reg : float or mapping
        :math:`\lambda`, one float or one per block ``P, Q, bu, bi, Y``.
    manual : callable, optional
        ``manual(factors, Y, ratings, implicit, reg)`` returning a dict of the 5 blocks. Default:
        funksvd's :func:`~funksvd.maths.svdpp_objective.svdpp_gradients` (looked up when called),
        whose code the symbolic oracle also proves (:func:`prove_svdpp`).
    oracles, rtol, atol
        As for :func:`~funksvd.check.check_gradients`: entry :math:`j` passes when
        :math:`|m_j - o_j| \le \mathrm{atol} + \mathrm{rtol}\,|o_j| + n_j`, with :math:`n_j` the
        rounding estimate of finite differences (0 for TensorFlow and sympy). A slip in a
        derivation is an O(1) relative error; rounding is O(1e-13).

    Returns
    -------
    GradientReport
        One row per block and oracle; an oracle that cannot run (TensorFlow or sympy not
        installed, a case too large for sympy) has rows that say ``skipped`` and a reason in
        ``report.skipped``.
    """
    unknown = set(oracles) - set(ORACLES)
    if unknown:
        raise ValueError(f"unknown oracle(s) {sorted(unknown)}; choose from {ORACLES}")
    factors = Factors(np.asarray(factors.P, np.float64), np.asarray(factors.Q, np.float64),
                      np.asarray(factors.bu, np.float64), np.asarray(factors.bi, np.float64), factors.mu)
    Y = np.asarray(Y, np.float64)
    params = {"P": factors.P, "Q": factors.Q, "bu": factors.bu, "bi": factors.bi, "Y": Y}
    shapes = {block: value.shape for block, value in params.items()}
    hand = manual or svdpp_objective.svdpp_gradients
    got = checked_manual(hand(factors, Y, ratings, implicit, reg), shapes)
    lam = svdpp_objective.per_block5(reg)
    n_u, n_i, c = svdpp_objective.penalty_weights(ratings, implicit, factors.n_users, factors.n_items)
    weights = {"P": n_u[:, None], "Q": n_i[:, None], "bu": n_u, "bi": n_i, "Y": c[:, None]}
    penalty = {block: lam[block] * weights[block] * params[block] for block in shapes}  # for the diagnosis
    rows, skipped = [], {}
    for oracle in oracles:
        try:
            reference, noise, unproved = _reference(oracle, factors, Y, ratings, implicit, reg, manual is None)
        except OracleUnavailable as exc:
            skipped[oracle] = str(exc)
            rows.extend(skipped_rows(oracle, shapes))
            continue
        for block in shapes:
            o = np.asarray(reference[block], np.float64).reshape(shapes[block])
            rows.append(block_row(block, oracle, got[block], o, atol + rtol * np.abs(o) + noise[block],
                                  np.zeros(shapes[block], bool), penalty[block], len(ratings),
                                  unproved.get(block, "")))
    return GradientReport(LABEL, tuple(rows), rtol, atol, skipped)


def _reference(oracle, factors, Y, ratings, implicit, reg, prove):
    """``(gradients, error allowance, {block: why unproved})`` of one oracle, or :class:`OracleUnavailable`."""
    exact = dict.fromkeys(SVDPP_BLOCKS, 0.0)
    if oracle == "tensorflow":
        try:
            require_tensorflow("the tensorflow oracle")
            from ..autodiff.svdpp import svdpp_gradients as tape_gradients  # imported on first use only
        except ImportError as exc:
            raise OracleUnavailable(str(exc)) from None
        return tape_gradients(factors, Y, ratings, implicit, reg), exact, {}
    if oracle == "finite_differences":
        def loss(theta):
            point = Factors(theta["P"], theta["Q"], theta["bu"], theta["bi"], factors.mu)
            return svdpp_objective.svdpp_loss(point, theta["Y"], ratings, implicit, reg)

        params = {"P": factors.P, "Q": factors.Q, "bu": factors.bu, "bi": factors.bi, "Y": Y}
        grads, noise = central_differences(loss, params, h=1.0)  # exact up to rounding (module notes)
        return grads, noise, {}
    size = sum(np.size(v) for v in (factors.P, factors.Q, factors.bu, factors.bi, Y)) + len(ratings)
    if size > MAX_SYMBOLS:
        raise OracleUnavailable(f"the symbolic oracle is for small cases: this one has {size} parameters and "
                                f"ratings, more than {MAX_SYMBOLS} symbols")
    try:
        symbols, derived = derived_gradients(ratings, implicit, factors.n_users, factors.n_items, factors.n_factors)
    except SympyMissing as exc:
        raise OracleUnavailable(str(exc)) from None
    reference = _evaluate(symbols, derived, factors, Y, ratings, reg)
    unproved: dict[str, str] = {}
    if prove:
        proof = prove_svdpp(ratings, implicit, factors.n_users, factors.n_items, factors.n_factors,
                            (symbols, derived))
        for block in SVDPP_BLOCKS:
            entries = [key for key in proof.mismatched if key.partition("[")[0] == block]
            if entries:
                unproved[block] = ("sympy does not prove funksvd's hand formula: simplify(hand - derived) != 0 "
                                   f"for {entries[0]}")
    return reference, exact, unproved


def _symbol_arrays(shapes: dict, n_ratings: int):
    """One real sympy symbol per parameter (object arrays), per rating ``r_n``, for ``mu`` and each ``lambda_b``."""
    sp = require_sympy()
    theta = {}
    for block, shape in shapes.items():
        names = [sp.Symbol(f"{block}_{'_'.join(map(str, j))}", real=True) for j in np.ndindex(shape)]
        theta[block] = np.array(names, dtype=object).reshape(shape)
    r = np.array(sp.symbols(f"r_0:{n_ratings}", real=True), dtype=object).reshape(n_ratings)
    lam = {block: sp.Symbol(f"lambda_{block}", positive=True) for block in shapes}
    return types.SimpleNamespace(theta=theta, r=r, mu=sp.Symbol("mu", real=True), lam=lam)


def derived_gradients(ratings: Ratings, implicit: Implicit, n_users: int, n_items: int, k: int):
    r"""sympy's :math:`\partial L/\partial\theta` of the SVD++ loss, built from its definition on symbols.

    .. math:: L = \sum_{(u,i)} \tfrac12 e_{ui}^2 + \tfrac12\Big(\lambda_P\lVert p_u\rVert^2
              + \lambda_Q\lVert q_i\rVert^2 + \lambda_{b_u} b_u^2 + \lambda_{b_i} b_i^2
              + \lambda_Y \sum_{j \in N(u)} \lVert y_j\rVert^2\Big),\quad
              e_{ui} = r_{ui} - \mu - b_u - b_i - q_i^\top\Big(p_u + \frac{1}{\sqrt{|N(u)|}}\sum_{j \in N(u)} y_j\Big),

    a loop over the ratings (their indices from ``ratings``, their values symbols) and over
    :math:`N(u)`, never funksvd's numpy code. Returns ``(symbols, gradients)``: the symbols
    (``.theta`` per block, ``.r``, ``.mu``, ``.lam``) and one object array of expressions per block.
    """
    sp = require_sympy()
    shapes = {"P": (n_users, k), "Q": (n_items, k), "bu": (n_users,), "bi": (n_items,), "Y": (n_items, k)}
    s = _symbol_arrays(shapes, len(ratings))
    P, Q, bu, bi, Y = (s.theta[b] for b in SVDPP_BLOCKS)
    half = sp.Rational(1, 2)
    L = sp.Integer(0)
    for n, (u, i) in enumerate(zip(ratings.users.tolist(), ratings.items.tolist())):
        N = implicit.indices[implicit.indptr[u]:implicit.indptr[u + 1]].tolist()
        z = [P[u, f] + (sum(Y[j, f] for j in N) / sp.sqrt(len(N)) if N else 0) for f in range(k)]
        e = s.r[n] - s.mu - bu[u] - bi[i] - sum(Q[i, f] * z[f] for f in range(k))
        L += half * e ** 2 + half * (s.lam["P"] * sum(P[u, f] ** 2 for f in range(k))
                                     + s.lam["Q"] * sum(Q[i, f] ** 2 for f in range(k))
                                     + s.lam["bu"] * bu[u] ** 2 + s.lam["bi"] * bi[i] ** 2
                                     + s.lam["Y"] * sum(Y[j, f] ** 2 for j in N for f in range(k)))
    derived = {block: np.array([sp.diff(L, x) for x in s.theta[block].flat], dtype=object).reshape(shapes[block])
               for block in SVDPP_BLOCKS}
    return s, derived


def _evaluate(s, derived, factors, Y, ratings, reg) -> dict[str, np.ndarray]:
    """The derived gradients at the point, in float64."""
    sp = require_sympy()
    lam = svdpp_objective.per_block5(reg)
    params = {"P": factors.P, "Q": factors.Q, "bu": factors.bu, "bi": factors.bi, "Y": Y}
    args = [x for b in SVDPP_BLOCKS for x in s.theta[b].flat] + list(s.r) + [s.mu] + [s.lam[b] for b in SVDPP_BLOCKS]
    values = ([float(v) for b in SVDPP_BLOCKS for v in np.asarray(params[b]).flat] + [float(v) for v in ratings.values]
              + [float(factors.mu)] + [lam[b] for b in SVDPP_BLOCKS])
    flat = [e for b in SVDPP_BLOCKS for e in derived[b].flat]
    out = np.asarray(sp.lambdify(args, flat, modules="numpy")(*values), dtype=np.float64)
    grads, j = {}, 0
    for block in SVDPP_BLOCKS:
        size = derived[block].size
        grads[block] = out[j:j + size].reshape(derived[block].shape)
        j += size
    return grads


class _ObjectNumpy:
    """numpy, with the calls of the SVD++ hand code that make float arrays making object arrays for sympy."""

    float64 = object

    def __init__(self, sp):
        self._sp = sp

    def __getattr__(self, name):
        return getattr(np, name)

    def zeros(self, shape, dtype=None):
        return np.full(shape, self._sp.Integer(0), dtype=object)

    def zeros_like(self, a, dtype=None):
        return self.zeros(np.shape(a))

    def sqrt(self, x):
        return np.vectorize(self._sp.sqrt, otypes=[object])(x)

    def divide(self, a, b, out=None, where=True):  # the code's float literal 1.0 as the exact 1 it is
        a = self._sp.Rational(a) if isinstance(a, float) else a
        return np.divide(a, b, out=out, where=np.asarray(where, bool))

    def bincount(self, x, weights=None, minlength=0):
        if weights is None:
            return np.bincount(x, minlength=minlength)
        out = self.zeros(max(minlength, int(np.max(x, initial=-1)) + 1))
        np.add.at(out, x, weights)
        return out


def _rebound(function, **names):
    """``function`` with globals ``names`` replaced: its own code, run on other values."""
    return types.FunctionType(function.__code__, {**function.__globals__, **names}, function.__name__,
                              function.__defaults__, function.__closure__)


def prove_svdpp(ratings: Ratings, implicit: Implicit, n_users: int, n_items: int, k: int, derived=None) -> Proof:
    r"""Run funksvd's SVD++ hand gradient on symbols and prove it equal to sympy's derivative of :math:`L`.

    The current :func:`funksvd.maths.svdpp_objective.svdpp_gradients` (and the helpers it calls:
    ``_pieces``, ``_y_weights``, ``Implicit.sizes``, ``.scales``, ``.sums``) is executed as written,
    with ``np`` bound to a shim whose arrays hold sympy expressions, on the symbols of
    :func:`derived_gradients` for the structure of ``ratings`` and ``implicit``; every entry must
    satisfy :math:`\mathrm{simplify}(\text{hand} - \text{derived}) = 0` (after :func:`sympy.expand`,
    which puts these polynomials in normal form). ``Proof.mismatched`` names the first entry of
    each block that is not proved. ``derived``: the output of :func:`derived_gradients`, if
    already built.
    """
    sp = require_sympy()
    s, grads = derived or derived_gradients(ratings, implicit, n_users, n_items, k)
    shim = _ObjectNumpy(sp)
    hand_code = svdpp_objective.svdpp_gradients
    fake_implicit = types.SimpleNamespace(indptr=implicit.indptr, indices=implicit.indices, n_users=implicit.n_users)
    for name in ("sizes", "scales", "sums"):
        setattr(fake_implicit, name, types.MethodType(_rebound(getattr(Implicit, name), np=shim), fake_implicit))
    P, Q, bu, bi, Y = (s.theta[b] for b in SVDPP_BLOCKS)
    fake_factors = types.SimpleNamespace(P=P, Q=Q, bu=bu, bi=bi, mu=s.mu, n_users=n_users, n_items=n_items, n_factors=k)
    fake_ratings = types.SimpleNamespace(users=ratings.users, items=ratings.items, values=s.r)
    helpers = {name: _rebound(hand_code.__globals__[name], np=shim) for name in ("_pieces", "_y_weights")
               if name in hand_code.__globals__}
    run = _rebound(hand_code, np=shim, per_block5=dict, **helpers)
    got = run(fake_factors, Y, fake_ratings, fake_implicit, dict(s.lam))
    hand: dict[str, Any] = {}
    derived_entries: dict[str, Any] = {}
    mismatched: list[str] = []
    for block in SVDPP_BLOCKS:
        for j in np.ndindex(grads[block].shape):
            key = f"{block}[{', '.join(map(str, j))}]"
            hand[key], derived_entries[key] = sp.sympify(np.asarray(got[block])[j]), grads[block][j]
            if block not in {m.partition("[")[0] for m in mismatched} and not is_zero(
                    sp.expand(hand[key] - derived_entries[key])):
                mismatched.append(key)  # the first entry that differs names its block (simplify is slow if not 0)
    return Proof("svdpp", not mismatched, hand, derived_entries, tuple(mismatched),
                 "funksvd.maths.svdpp_objective.svdpp_gradients and the Implicit methods it calls, run on symbols")
