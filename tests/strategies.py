"""Hypothesis strategies: small, *generic* factorisation problems of every shape the library accepts.

Hypothesis draws the structure -- 1-8 users and items, 1-5 factors, biased or not (half and
half), how many pairs repeat -- and a seed. The numbers are then built from that seed so that
they are generic: every factor, bias and rating is drawn from its own stratum of a range bounded
away from zero (:func:`generic`), so within a block no two are equal and none is near 0; the
observed cells are a random subset of the matrix at a random density; the regularisation and the
learning rates are drawn per block from ranges bounded away from 0. Hypothesis alone would shrink
numbers towards 0 and repeat them (zero factors, constant ratings, ``reg == 0`` in about half of
its draws), which lets a slip that only shows on generic input pass; the degenerate cases are
pinned explicitly with ``@example`` instead (:func:`degenerate_examples`, ``reg=0.0``).
``tests/test_strategies.py`` measures the share of degenerate draws.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st

from funksvd import BLOCKS, OBJECTIVES, RULES, Factors, Objective, Ratings
from funksvd.classics import QUUXLABS_R, TF2018_R
from funksvd.maths.objectives import DATA_TERMS, ENTRIES, LINKS, PENALTIES, REDUCTIONS

#: Magnitude ranges: factors, biases; ratings and the global offset mu are positive.
FACTOR_RANGE = (0.2, 2.0)
BIAS_RANGE = (0.1, 1.0)
RATING_RANGE = (0.5, 5.0)
MU_RANGE = (0.5, 4.0)
#: Per-block regularisation and learning rates, bounded away from 0 (reg = 0 is an ``@example``).
REG_RANGE = (0.05, 1.0)
LR_RANGE = (0.001, 0.3)

#: Seeds for numpy's generator. Four bytes rather than ``st.integers(0, 2**32 - 1)``: hypothesis draws
#: small integers (0, 1, ...) again and again, bytes far less (measured in tests/test_strategies.py).
SEEDS = st.binary(min_size=4, max_size=4).map(lambda b: int.from_bytes(b, "little"))

#: Every combination of the Objective options (with unusual weights), the classics, and the rules' losses.
GRID_OBJECTIVES = [
    Objective(data=d, reduction=r, entries=e, penalty=p, link=lk, data_weight=0.7,
              factor_reg_weight=0.4, bias_reg_weight=1.3)
    for d, r, e, p, lk in itertools.product(DATA_TERMS, REDUCTIONS, ENTRIES, PENALTIES, LINKS)
]
ALL_OBJECTIVES = GRID_OBJECTIVES + list(OBJECTIVES.values()) + [rule.objective for rule in RULES.values()]
rules = st.sampled_from(sorted(RULES))


def uniform_from(options):
    """One of ``options``, uniformly (chosen by a drawn seed: ``sampled_from`` favours the first ones)."""
    options = list(options)
    return SEEDS.map(lambda seed: options[np.random.default_rng(seed).integers(len(options))])


#: An objective of ALL_OBJECTIVES, uniformly, so that every option is drawn about as often as it is listed.
objectives = uniform_from(ALL_OBJECTIVES)


def generic(rng: np.random.Generator, shape, low: float, high: float, signed: bool = True) -> np.ndarray:
    r"""Distinct values with magnitudes in ``[low, high)``, randomly signed when ``signed``.

    Stratified: the :math:`n` entries take the :math:`n` strata
    :math:`[low + j\,w, low + (j+1)\,w)`, :math:`w = (high - low)/n`, in random order, each at a
    uniform point of its stratum. So no two magnitudes are equal, none is below ``low``, and
    the values spread over the whole range whatever :math:`n`.
    """
    n = int(np.prod(shape))
    width = (high - low) / max(n, 1)
    magnitude = low + width * (rng.permutation(n) + rng.uniform(0.0, 1.0, n))
    sign = rng.choice([-1.0, 1.0], n) if signed else 1.0
    return (sign * magnitude).reshape(shape)


def generic_factors(rng: np.random.Generator, n_users: int, n_items: int, k: int, biased: bool) -> Factors:
    """Generic factors (see :func:`generic`): every entry of ``P``, ``Q``, ``bu``, ``bi`` distinct and nonzero."""
    P = generic(rng, (n_users, k), *FACTOR_RANGE)
    Q = generic(rng, (n_items, k), *FACTOR_RANGE)
    if not biased:
        return Factors(P, Q)
    bu = generic(rng, n_users, *BIAS_RANGE)
    bi = generic(rng, n_items, *BIAS_RANGE)
    return Factors(P, Q, bu, bi, mu=float(rng.uniform(*MU_RANGE)))


@st.composite
def problems(draw, duplicates=True, biased=None, k=None):
    """``(factors, ratings)``: a random set of observed cells (at least one), repeated pairs when
    ``duplicates``, generic factors and ratings; ``biased`` and ``k`` drawn when None."""
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(1, 8))
    k = draw(st.integers(1, 5)) if k is None else k
    biased = draw(st.sampled_from([True, False])) if biased is None else biased
    n_repeats = draw(st.integers(0, 3)) if duplicates else 0
    rng = np.random.default_rng(draw(SEEDS))
    mask = rng.random((n_users, n_items)) < rng.uniform(0.2, 1.0)
    if not mask.any():
        mask[rng.integers(n_users), rng.integers(n_items)] = True
    users, items = np.nonzero(mask)
    repeat = rng.integers(0, len(users), n_repeats)
    users = np.concatenate([users, users[repeat]])
    items = np.concatenate([items, items[repeat]])
    values = generic(rng, len(users), *RATING_RANGE, signed=False)
    ratings = Ratings(users, items, values, n_users, n_items)
    return generic_factors(rng, n_users, n_items, k, biased), ratings


def one_per_block(range_):
    """A dict ``{"P", "Q", "bu", "bi"} -> float``, each drawn uniformly from ``range_`` (distinct a.s.)."""
    return SEEDS.map(lambda seed: dict(zip(BLOCKS, np.random.default_rng(seed).uniform(*range_, len(BLOCKS)))))


#: lambda per block, bounded away from 0; pin ``reg=0.0`` with ``@example``.
regs = one_per_block(REG_RANGE)
#: Learning rate per block.
lrs = one_per_block(LR_RANGE)


def classic_examples():
    """The toy matrices of the classics, at seeded random factors: pinned with ``@example``."""
    out = []
    for R, missing in ((QUUXLABS_R, 0), (TF2018_R, np.nan)):
        ratings = Ratings.from_dense(R, missing=missing)
        for biased in (True, False):
            factors = Factors.random(ratings.n_users, ratings.n_items, 2, biased=biased,
                                     mu=ratings.mean() if biased else 0.0, init_std_dev=0.5, random_state=1)
            out.append((factors, ratings))
    return out


def degenerate_examples():
    """The degenerate cases that the generic draws avoid, pinned with ``@example``.

    One rating; zero factors; constant factors and ratings (every cell of a 3x2 matrix
    observed, so dense objectives apply); a zero column of ``P`` and zero biases.
    """
    one = Ratings([0], [0], [3.0], 1, 1)
    users, items = np.indices((3, 2))
    full = Ratings(users.ravel(), items.ravel(), np.full(6, 4.0), 3, 2)
    rng = np.random.default_rng(7)
    zero_column = generic_factors(rng, 3, 2, 2, biased=True)
    zero_column = zero_column.replace(P=zero_column.P * [1.0, 0.0], bu=np.zeros(3), bi=np.zeros(2))
    return [
        (Factors([[0.5]], [[-1.5]], [0.2], [-0.3], mu=3.0), one),
        (Factors(np.zeros((3, 2)), np.zeros((2, 2))), full),
        (Factors(np.full((3, 2), 0.7), np.full((2, 2), 0.7), np.full(3, 0.1), np.full(2, 0.1), mu=3.0), full),
        (zero_column, full),
    ]


@st.composite
def svdpp_problems(draw):
    """``(factors, Y, ratings, implicit)`` for SVD++: a biased :func:`problems` draw, generic :math:`Y`,
    :math:`N(u)` = the distinct items of each user (users without ratings have an empty :math:`N(u)`)."""
    from funksvd.maths.svdpp import Implicit

    factors, ratings = draw(problems(biased=True))
    rng = np.random.default_rng(draw(SEEDS))
    Y = generic(rng, factors.Q.shape, *FACTOR_RANGE)
    return factors, Y, ratings, Implicit.from_ratings(ratings)


#: lambda per SVD++ block ``P, Q, bu, bi, Y``, bounded away from 0.
regs5 = SEEDS.map(lambda seed: dict(zip(("P", "Q", "bu", "bi", "Y"),
                                        np.random.default_rng(seed).uniform(*REG_RANGE, 5))))
