"""The foundation: validation, random_state, measures.

Oracles: literal values and the documented messages; numpy's own generators for ``random_state``.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd.base.errors import InputError, UnknownIdError
from funksvd.base.measures import mean_absolute, root_mean_square, root_mean_square_of_sse
from funksvd.base.rng import check_random_state
from funksvd.base.validation import (check_indices, indices_within, non_negative, positive_int, positive_number,
                                     probability)


@pytest.mark.parametrize("call, message", [
    (lambda: positive_int(0, "n"), "n must be a positive integer, got 0"),
    (lambda: positive_int(True, "n"), "n must be a positive integer, got True"),
    (lambda: positive_int(2.0, "n"), "n must be a positive integer, got 2.0"),
    (lambda: positive_int("3", "k", none_ok=True), "k must be a positive integer or None, got '3'"),
    (lambda: non_negative(float("nan"), "reg"), "reg must be a finite number >= 0, got nan"),
    (lambda: positive_number(0, "lr"), "lr must be a positive number, got 0"),
    (lambda: probability(1.0, "rho", high_open=True), r"rho must be in \[0, 1\), got 1.0"),
    (lambda: probability(0.0, "decay", low_open=True), r"decay must be in \(0, 1\], got 0.0"),
    (lambda: indices_within(np.array([0, 3]), 3, "test.items"), r"test.items\[1\] = 3 is out of range: the model "
                                                                   r"has 3 items, indices 0..2"),
])
def test_validators_refuse_with_the_documented_message(call, message):
    """Oracle: the messages, literally; every refusal is an InputError (a ValueError)."""
    with pytest.raises(InputError, match=message):
        call()


def test_validators_pass_good_values_through():
    """Oracle: literal values."""
    assert positive_int(np.int64(3), "n") == 3 and positive_int(3.0, "n", whole=True) == 3
    assert positive_int(None, "n", none_ok=True) is None
    assert non_negative(0, "reg") == 0.0 and positive_number(0.5, "lr") == 0.5
    assert probability(0.0, "momentum") == 0.0 and probability(1.0, "momentum") == 1.0
    assert check_indices([2.0, 0], "users", 3).tolist() == [2, 0]
    with pytest.raises(UnknownIdError, match=r"users\[0\] = 3 is not a valid id: there are 3 users, ids 0..2"):
        check_indices([3], "users", 3)


def test_random_state_is_an_int_a_generator_or_none():
    """Oracle: numpy.random.default_rng of the same seed; a Generator is used as it is, not copied."""
    assert check_random_state(5).random() == np.random.default_rng(5).random()
    rng = np.random.default_rng(1)
    assert check_random_state(rng) is rng
    assert isinstance(check_random_state(None), np.random.Generator)
    for bad in (1.5, True, -1, np.random.RandomState(0)):
        with pytest.raises(InputError, match="random_state must be None, an int >= 0 or a numpy.random.Generator"):
            check_random_state(bad)


def test_measures_by_hand():
    """Oracle: errors 0, 2, -2: RMSE sqrt(8 / 3), MAE 4 / 3; an SSE of 8 over 3 errors gives the same RMSE."""
    e = np.array([0.0, 2.0, -2.0])
    assert root_mean_square(e) == pytest.approx(np.sqrt(8 / 3), rel=1e-15)
    assert mean_absolute(e) == pytest.approx(4 / 3, rel=1e-15)
    assert root_mean_square_of_sse(8.0, 3) == pytest.approx(np.sqrt(8 / 3), rel=1e-15)
