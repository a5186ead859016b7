"""The compiled standard normal draws (funksvd.sgd.normal_draws) against numpy's own.

Oracle: numpy's ``Generator.standard_normal(dtype=..., out=...)`` from a generator seeded alike,
an independent implementation (numpy's C). Equality is exact (``array_equal``, bit for bit), and
so is the generator's state afterwards: every later draw is numpy's too. The samples are large
enough to pass through every branch of the ziggurat: the fast exit (over 99% of draws), the wedge
test with its rejections, and the tail beyond the last layer, r = 3.654..., which only layer 0's
branch produces (counted below: about 2.6e-4 of the draws, some 270 in a million).
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd.model.factors import random_parameters
from funksvd.sgd import normal_draws
from funksvd.sgd.normal_draws import MIN_DRAWS, fill_standard_normal

TAIL = 3.6541528853610087963519472518  # numpy's ziggurat_nor_r: only the tail branch draws beyond it
DTYPES = (np.float32, np.float64)


def generators(seed: int, skew: int):
    """Two generators in the same state; ``skew`` uint32 draws first leave numpy's buffered half full or empty."""
    pair = np.random.default_rng(seed), np.random.default_rng(seed)
    for rng in pair:
        rng.integers(0, 2**32, skew, dtype=np.uint32)
    return pair


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed, skew", [(0, 0), (1, 1), (2024, 3)])
def test_the_same_draws_and_state_as_numpy(dtype, seed, skew):
    ours, numpys = generators(seed, skew)
    expected = np.empty(MIN_DRAWS + 7, dtype)
    numpys.standard_normal(dtype=dtype, out=expected)
    drawn = np.empty_like(expected)
    fill_standard_normal(ours, drawn)
    assert np.array_equal(drawn, expected)
    assert (np.abs(expected) > TAIL).sum() > 100  # the tail branch ran, many times
    assert ours.bit_generator.state == numpys.bit_generator.state
    assert np.array_equal(ours.random(5), numpys.random(5))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 1000])
def test_short_arrays_through_the_compiled_loop(monkeypatch, dtype, n):
    """With the threshold at 0 the compiled loop runs the short cases too (first draw, the buffered half)."""
    monkeypatch.setattr(normal_draws, "MIN_DRAWS", 0)
    for skew in (0, 1):
        ours, numpys = generators(7, skew)
        drawn = np.full(n, np.nan, dtype)
        fill_standard_normal(ours, drawn)
        assert np.array_equal(drawn, numpys.standard_normal(n, dtype=dtype))
        assert ours.bit_generator.state == numpys.bit_generator.state


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_2d_table_is_drawn_in_memory_order(monkeypatch, dtype):
    monkeypatch.setattr(normal_draws, "MIN_DRAWS", 0)
    ours, numpys = generators(3, 1)
    drawn = np.empty((37, 11), dtype)
    fill_standard_normal(ours, drawn)
    expected = np.empty((37, 11), dtype)
    numpys.standard_normal(dtype=dtype, out=expected)
    assert np.array_equal(drawn, expected)


@pytest.mark.parametrize("make", [lambda: np.random.Generator(np.random.MT19937(5)),
                                  lambda: np.random.Generator(np.random.PCG64DXSM(5))])
def test_other_bit_generators_go_to_numpy(monkeypatch, make):
    monkeypatch.setattr(normal_draws, "MIN_DRAWS", 0)
    drawn = np.empty(500)
    fill_standard_normal(make(), drawn)
    assert np.array_equal(drawn, make().standard_normal(500))


def test_a_fortran_ordered_table_goes_to_numpy(monkeypatch):
    """numpy fills a column-major ``out`` in its memory order; the compiled loop takes C order only."""
    monkeypatch.setattr(normal_draws, "MIN_DRAWS", 0)
    table = np.zeros((50, 8), order="F")
    fill_standard_normal(np.random.default_rng(9), table)
    expected = np.zeros((50, 8), order="F")
    np.random.default_rng(9).standard_normal(out=expected)
    assert np.array_equal(table, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_fits_start_values_do_not_depend_on_the_fill(dtype):
    """random_parameters with the compiled fill (what engine="compiled" passes) gives Factors.random's arrays."""
    n_users = MIN_DRAWS // 8 + 1  # P alone takes the compiled loop
    kwargs = dict(init_std_dev=0.1, init_mean=0.25, random_state=11, dtype=dtype)
    compiled = random_parameters(n_users, 300, 8, fill_normal=fill_standard_normal, **kwargs)
    numpy_only = random_parameters(n_users, 300, 8, **kwargs)
    for a, b in zip(compiled, numpy_only):
        assert np.array_equal(a, b)
