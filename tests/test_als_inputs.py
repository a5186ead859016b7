"""``ALS`` against a confused ``random_state`` and a typo that asks for terabytes: one InputError, before training.

Oracles: the parameter written in each case, which the message must name; the memory need counted in the test.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import ALS
from funksvd.base.errors import InputError
from tests.test_estimator_bounds import small

RATINGS = small(0)


@pytest.mark.parametrize("seed", ["seed", -1, 1.5, True])
def test_a_bad_random_state_is_named(seed):
    """Oracle: the one convention of funksvd.base.rng (int >= 0, Generator or None); numpy's own errors before."""
    with pytest.raises(InputError, match="random_state must be None, an int >= 0"):
        ALS(n_factors=2, n_epochs=1, engine="python", random_state=seed).fit(RATINGS)


def test_the_same_seed_is_bit_identical():
    """Oracle: two fits from the same integer seed, compared bit for bit."""
    a, b = (ALS(n_factors=2, n_epochs=2, engine="python", random_state=7).fit(RATINGS) for _ in range(2))
    np.testing.assert_array_equal(a.factors_.P, b.factors_.P)
    np.testing.assert_array_equal(a.factors_.Q, b.factors_.Q)


def test_the_memory_estimate_refuses_before_allocating(monkeypatch):
    """``n_factors=10**7`` on 8 users x 6 items with 1 GiB available: refused, the refit keeping the model.
    Oracle: the need counted here, (8 + 6) rows x (10**7 + 1) numbers x 8 bytes x 2 copies."""
    from funksvd.estimator import params

    monkeypatch.setattr(params, "available_memory", lambda: 2**30)
    needed = (8 + 6) * (10**7 + 1) * 8 * 2
    model = ALS(n_factors=3, n_epochs=1, engine="python").fit(RATINGS)
    before = model.predict([0, 1], [0, 1])
    with pytest.raises(InputError, match=rf"n_factors=10000000 for 8 users and 6 items needs about "
                                         rf"{needed / 2**30:,.1f} GiB"):
        model.set_params(n_factors=10**7).fit(RATINGS)
    np.testing.assert_array_equal(model.predict([0, 1], [0, 1]), before)
