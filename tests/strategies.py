"""Hypothesis strategies: small factorisation problems of every shape the library accepts.

1-8 users and items, 1-5 factors, arbitrary masks of observed cells (at least one), optional
repeated (u, i) pairs, bounded floats drawn independently for every parameter, biased or not.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from funksvd import OBJECTIVES, RULES, Factors, Objective, Ratings
from funksvd.classics import QUUXLABS_R, TF2018_R
from funksvd.objectives import DATA_TERMS, ENTRIES, LINKS, PENALTIES, REDUCTIONS

FACTOR = st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False)
BIAS = st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)
RATING = st.floats(0.0, 5.0, allow_nan=False, allow_subnormal=False)
REG = st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)

#: Every combination of the Objective options (with unusual weights), the classics, and the rules' losses.
GRID_OBJECTIVES = [
    Objective(data=d, reduction=r, entries=e, penalty=p, link=lk, data_weight=0.7,
              factor_reg_weight=0.4, bias_reg_weight=1.3)
    for d, r, e, p, lk in itertools.product(DATA_TERMS, REDUCTIONS, ENTRIES, PENALTIES, LINKS)
]
ALL_OBJECTIVES = GRID_OBJECTIVES + list(OBJECTIVES.values()) + [rule.objective for rule in RULES.values()]
objectives = st.sampled_from(ALL_OBJECTIVES)
rules = st.sampled_from(sorted(RULES))


@st.composite
def factors_for(draw, n_users: int, n_items: int, biased=None, k=None) -> Factors:
    """Random factors for the given shape; ``biased``/``k`` drawn when None."""
    k = draw(st.integers(1, 5)) if k is None else k
    biased = draw(st.booleans()) if biased is None else biased
    P = draw(arrays(np.float64, (n_users, k), elements=FACTOR))
    Q = draw(arrays(np.float64, (n_items, k), elements=FACTOR))
    if not biased:
        return Factors(P, Q)
    bu = draw(arrays(np.float64, n_users, elements=BIAS))
    bi = draw(arrays(np.float64, n_items, elements=BIAS))
    return Factors(P, Q, bu, bi, mu=draw(st.floats(0.0, 4.0)))


@st.composite
def problems(draw, duplicates=True, biased=None, k=None):
    """``(factors, ratings)``: an arbitrary mask of observed cells, plus repeated pairs when allowed."""
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(1, 8))
    mask = draw(arrays(bool, (n_users, n_items)))
    if not mask.any():
        mask[draw(st.integers(0, n_users - 1)), draw(st.integers(0, n_items - 1))] = True
    users, items = np.nonzero(mask)
    if duplicates:
        repeat = draw(st.lists(st.integers(0, len(users) - 1), max_size=3))
        users = np.concatenate([users, users[repeat]])
        items = np.concatenate([items, items[repeat]])
    values = draw(arrays(np.float64, len(users), elements=RATING))
    ratings = Ratings(users, items, values, n_users, n_items)
    return draw(factors_for(n_users, n_items, biased=biased, k=k)), ratings


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
