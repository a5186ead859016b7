"""Ratings and Factors: validation with pointed messages, round trips, immutability.

Oracles: the documented error messages; literal arrays written out below.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import FunkSVD, Factors, Ratings
from funksvd.base.memory import CACHE_LINE, aligned_copy, aligned_empty, owns_block
from funksvd.classics import QUUXLABS_R, TF2018_R


def test_from_dense_with_zero_marker_round_trips():
    """Oracle: the quuxlabs matrix itself (0 = missing) and its 13 non-zero cells counted by hand."""
    ratings = Ratings.from_dense(QUUXLABS_R, missing=0)
    assert len(ratings) == 13 and ratings.shape == (5, 4)
    np.testing.assert_array_equal(ratings.to_dense(missing=0), QUUXLABS_R)
    assert ratings.users.dtype == np.int64 and ratings.values.dtype == np.float64


def test_from_dense_with_nan_marker_round_trips():
    """Oracle: the 2018 tutorial's matrix (NaN = missing), 13 observed cells counted by hand."""
    ratings = Ratings.from_dense(TF2018_R)
    assert len(ratings) == 13
    np.testing.assert_array_equal(ratings.to_dense(), TF2018_R)
    np.testing.assert_array_equal(ratings.mask(), ~np.isnan(TF2018_R))


def test_explicit_sizes_keep_unrated_users():
    """n_users larger than any id is kept (oracle: the argument)."""
    ratings = Ratings([0], [0], [3.0], n_users=10, n_items=2)
    assert ratings.shape == (10, 2)


@pytest.mark.parametrize(
    "args, message",
    [
        (([0, 1], [0], [1.0, 2.0]), "same length"),
        (([], [], []), "no ratings"),
        (([0, 1], [0, 1], [1.0, np.nan]), r"values\[1\] = nan is not finite"),
        (([0, 1], [0, 1], [np.inf, 1.0]), r"values\[0\] = inf is not finite"),
        (([0, -1], [0, 1], [1.0, 2.0]), r"users\[1\] = -1 is negative"),
        (([0, 1], [0, 5], [1.0, 2.0], 2, 3), r"items\[1\] = 5 is out of range for n_items=3"),
        (([0, 2], [0, 1], [1.0, 2.0], 2), r"users\[1\] = 2 is out of range for n_users=2"),
        (([0.5], [0], [1.0]), r"users\[0\] = 0.5 is not a whole number"),
        (([[0]], [0], [1.0]), "one-dimensional"),
        ((["a"], [0], [1.0]), "integer ids"),
        (([0], [0], [1.0], 0), "at least 1"),
    ],
)
def test_ratings_bad_input(args, message):
    """Oracle: the documented ValueError naming the offending entry."""
    with pytest.raises(ValueError, match=message):
        Ratings(*args)


def test_from_dense_bad_input():
    """NaN under a numeric marker, inf, all-missing, wrong rank (oracle: messages naming the cell)."""
    with pytest.raises(ValueError, match=r"R\[0, 1\] is NaN but missing=0"):
        Ratings.from_dense([[1, np.nan]], missing=0)
    with pytest.raises(ValueError, match=r"R\[1, 0\] = inf"):
        Ratings.from_dense([[1, 2], [np.inf, 3]])
    with pytest.raises(ValueError, match="no observed entries"):
        Ratings.from_dense([[0, 0]], missing=0)
    with pytest.raises(ValueError, match="2-D"):
        Ratings.from_dense([1, 2, 3])


def test_to_dense_refuses_duplicates():
    """A cell holds one value (oracle: message naming the repeated rating)."""
    ratings = Ratings([0, 1, 0], [1, 1, 1], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ratings.duplicate_pairs(), [2])
    with pytest.raises(ValueError, match=r"rating 2 repeats the pair \(user 0, item 1\)"):
        ratings.to_dense()


def test_ratings_are_immutable():
    """Oracle: AttributeError on assignment, ValueError on writing into an array."""
    ratings = Ratings([0], [0], [1.0])
    with pytest.raises(AttributeError):
        ratings.values = np.array([2.0])
    with pytest.raises(ValueError):
        ratings.values[0] = 2.0


def test_ratings_copy_their_input():
    """Changing the caller's array does not change the Ratings (oracle: the original value)."""
    values = np.array([1.0, 2.0])
    ratings = Ratings([0, 1], [0, 1], values)
    values[0] = 99.0
    assert ratings.values[0] == 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"P": np.ones((2, 3)), "Q": np.ones((2, 2))}, "same number of factors"),
        ({"P": np.ones(3), "Q": np.ones((2, 2))}, "P must be 2-D"),
        ({"bu": np.zeros(2)}, "both bu and bi"),
        ({"bu": np.zeros(3), "bi": np.zeros(2)}, "bu has 3 entries but P has 2 users"),
        ({"bu": np.zeros(2), "bi": np.zeros(5)}, "bi has 5 entries but Q has 2 items"),
        ({"P": [[1.0, np.nan], [0.0, 0.0]]}, r"P\[0, 1\] = nan is not finite"),
        ({"mu": np.inf}, "mu = inf"),
        ({"P": np.ones((0, 2))}, "at least one row"),
    ],
)
def test_factors_bad_input(kwargs, message):
    """Oracle: the documented ValueError naming the block and entry."""
    args = {"P": np.ones((2, 2)), "Q": np.ones((2, 2))} | kwargs
    with pytest.raises(ValueError, match=message):
        Factors(**args)


def test_factors_predict_by_hand():
    """r_hat = mu + b_u + b_i + p_u . q_i (oracle: 3 + 0.5 - 0.25 + (1*2 + 2*-1) = 3.25)."""
    factors = Factors([[1.0, 2.0]], [[2.0, -1.0]], [0.5], [-0.25], mu=3.0)
    assert factors.predict([0], [0])[0] == 3.25
    assert Factors([[1.0, 2.0]], [[2.0, -1.0]]).predict(0, 0) == 0.0


def test_factors_immutable_and_replace():
    """Oracle: AttributeError on assignment; replace() copies and leaves the original alone."""
    factors = Factors(np.ones((2, 2)), np.ones((3, 2)))
    with pytest.raises(AttributeError, match="replace"):
        factors.P = np.zeros((2, 2))
    with pytest.raises(ValueError):
        factors.P[0, 0] = 5.0
    changed = factors.replace(P=np.zeros((2, 2)))
    assert changed.P.sum() == 0 and factors.P.sum() == 4
    with pytest.raises(TypeError, match="unknown parameter"):
        factors.replace(W=1)


def test_random_factors_are_reproducible():
    """Same random_state -> bit-identical factors (oracle: np.array_equal)."""
    a = Factors.random(5, 4, 3, random_state=7)
    b = Factors.random(5, 4, 3, random_state=7)
    c = Factors.random(5, 4, 3, random_state=8)
    assert a.equals(b) and not a.equals(c)
    assert a.biased and np.all(a.bu == 0)
    assert Factors.random(2, 2, 1, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="n_factors"):
        Factors.random(2, 2, 0)


def test_mutable_copy_round_trip():
    """Oracle: the original factors, bit for bit."""
    for factors in (Factors.random(3, 2, 2, random_state=0), Factors.random(3, 2, 2, biased=False, random_state=0)):
        arrays = factors.mutable_copy()
        assert Factors.from_arrays(*arrays, factors.mu).equals(factors)


def test_factors_copy_their_input_unless_handed_over():
    """Oracle: identity and the writeable flag. ``Factors(...)`` copies (a later write to the caller's
    array does not reach it); ``from_arrays(own=True)`` keeps a fit's own arrays, read-only; a view
    handed over is copied all the same (its base could still be written)."""
    P, Q, bu, bi = np.ones((2, 2)), np.ones((3, 2)), np.zeros(2), np.zeros(3)
    copied = Factors(P, Q, bu, bi)
    P[0, 0] = 5.0
    assert copied.P[0, 0] == 1.0 and P.flags.writeable
    owned = Factors.from_arrays(P, Q, bu, bi, 0.0, own=True)
    assert owned.P is P and owned.bi is bi and not P.flags.writeable
    base = np.ones((4, 2))
    viewed = Factors.from_arrays(base[:2], Q, bu, bi, 0.0, own=True)
    assert viewed.P.base is None and base.flags.writeable


@pytest.mark.parametrize("shape, dtype", [((1, 1), np.float32), ((943, 100), np.float64), ((7, 3), np.float32),
                                          (5, np.float64), ((3, 1, 2), np.float64)])
def test_aligned_arrays_start_on_a_cache_line(shape, dtype):
    """Oracle: the address modulo 64 and the requested shape and dtype; a copy equals its source bit for bit
    (np.array_equal), and only an array that is its whole block counts as owning it (a slice of one does not)."""
    a = aligned_empty(shape, dtype)
    assert a.ctypes.data % CACHE_LINE == 0 and a.shape == np.empty(shape).shape and a.dtype == dtype
    assert a.flags.c_contiguous and a.flags.writeable and owns_block(a)
    source = np.arange(a.size, dtype=dtype).reshape(a.shape)
    copy = aligned_copy(source)
    assert copy.ctypes.data % CACHE_LINE == 0 and np.array_equal(copy, source) and owns_block(copy)
    if a.ndim == 2 and a.shape[0] > 1:
        assert not owns_block(a[1:]) and not owns_block(a[:1])  # a part: the rest of the block is reachable


def test_start_values_are_cache_aligned_and_drawn_as_numpy_draws_them():
    """Oracle: numpy's Generator drawing the literal shapes (``standard_normal((n, k)) * s``, P then Q; ``random``
    for the uniform init) and the address modulo 64 of P and Q, which the compiled loops read by vector loads."""
    for dtype in (np.float64, np.float32):
        factors = Factors.random(9, 7, 5, random_state=3, dtype=dtype, init_std_dev=0.3)
        rng = np.random.default_rng(3)
        P = rng.standard_normal((9, 5), dtype=dtype) * dtype(0.3)
        Q = rng.standard_normal((7, 5), dtype=dtype) * dtype(0.3)
        assert np.array_equal(factors.P, P) and np.array_equal(factors.Q, Q)
        uniform = Factors.random(9, 7, 5, random_state=3, dtype=dtype, init="uniform", init_range=(-1.0, 2.0))
        rng = np.random.default_rng(3)
        assert np.array_equal(uniform.P, rng.random((9, 5), dtype=dtype) * dtype(3.0) + dtype(-1.0))
        for block in (factors.P, factors.Q, *factors.mutable_copy()[:2]):
            assert block.ctypes.data % CACHE_LINE == 0
        # a fit trains its drawn arrays in place and keeps them (no copy when handed over)
        model = FunkSVD(n_factors=5, n_epochs=1, random_state=0, dtype=dtype).fit(Ratings([0, 1, 2], [1, 0, 2],
                                                                                          [1.0, 3.0, 5.0]))
        assert model.factors_.P.ctypes.data % CACHE_LINE == 0 and model.factors_.Q.ctypes.data % CACHE_LINE == 0
        assert owns_block(model.factors_.P) and not model.factors_.P.flags.writeable


@pytest.mark.parametrize("entry", [np.nan, np.inf, -np.inf])
def test_a_non_finite_entry_is_found_however_the_sum_turns_out(entry):
    """Oracle: the documented ValueError naming the entry. The check first sums the block (a
    non-finite entry makes any sum non-finite); a finite block whose float64 sum overflows
    (entries of 1e308) must still be accepted, and +inf beside -inf (a NaN sum) still named."""
    big = np.full((2, 2), 1e308)
    with np.errstate(over="ignore"):
        assert not np.isfinite(big.sum())
    assert Factors(big, np.ones((1, 2))).P[1, 1] == 1e308
    P = np.ones((3, 2))
    P[2, 1] = entry
    with pytest.raises(ValueError, match=rf"P\[2, 1\] = {entry} is not finite"):
        Factors(P, np.ones((1, 2)))
    if np.isinf(entry):  # +inf beside -inf: the sum is NaN, and the first of them is named
        P[0, 0] = -entry
        with pytest.raises(ValueError, match=rf"P\[0, 0\] = {-entry} is not finite"):
            Factors(P, np.ones((1, 2)))


def test_float32_values_and_no_copy():
    """dtype=float32 stores float32; copy=False keeps the caller's arrays, now read-only (oracle: identity)."""
    users, items = np.array([0, 1], dtype=np.int64), np.array([1, 0], dtype=np.int64)
    values = np.array([4.0, 5.0], dtype=np.float32)
    ratings = Ratings(users, items, values, dtype=np.float32, copy=False)
    assert ratings.values is values and ratings.users is users and not values.flags.writeable
    assert ratings.mean() == 4.5 and ratings.subset([1]).values.dtype == np.float32
    assert Ratings(users, items, values).values.dtype == np.float64
    with pytest.raises(ValueError, match="dtype"):
        Ratings([0], [0], [1.0], dtype=np.int64)


# ---- Ratings: pickling, sizes, ids, values (issue 7) ------------------------------------------------


def test_ratings_pickle_and_deepcopy_round_trip():
    """Oracle: the original (==, dtype) and its immutability after pickle / deepcopy / copy."""
    import copy
    import pickle

    for ratings in (Ratings([0, 2, 1], [1, 0, 1], [5.0, 3.5, 1.0], n_users=4, n_items=3),
                    Ratings([0, 1], [1, 0], [4.0, 5.0], dtype=np.float32)):
        for copied in (pickle.loads(pickle.dumps(ratings)), copy.deepcopy(ratings), copy.copy(ratings)):
            assert copied == ratings and copied.shape == ratings.shape
            assert copied.values.dtype == ratings.values.dtype
            with pytest.raises(AttributeError, match="immutable"):
                copied.n_users = 9
            with pytest.raises(ValueError):
                copied.values[0] = 0.0


@pytest.mark.parametrize("n_users", [2.5, 3.0, "3", True])
def test_sizes_must_be_integers(n_users):
    """n_users=2.5 was truncated to 2, "3" parsed (oracle: the ValueError naming the argument)."""
    with pytest.raises(ValueError, match=r"n_users must be an integer, got"):
        Ratings([0, 1], [0, 1], [1.0, 2.0], n_users=n_users)
    assert Ratings([0, 1], [0, 1], [1.0, 2.0], n_users=np.int32(3)).n_users == 3


@pytest.mark.parametrize(
    "users, message",
    [
        (np.array([0, 2**64 - 1], dtype=np.uint64), r"users\[1\] = 18446744073709551615 does not fit in int64"),
        (np.array([0, 1e20]), r"users\[1\] = 1e\+20 does not fit in int64"),
        (np.array([0, 2.0**63]), r"users\[1\] = 9.223372036854776e\+18 does not fit in int64"),
    ],
)
def test_huge_ids_are_named_not_wrapped(users, message):
    """A uint64 or 1e20 id was reported as a wrapped negative number (oracle: the message names it)."""
    with pytest.raises(ValueError, match=message + r".*Dataset\.from_arrays"):
        Ratings(users, [0, 1], [1.0, 2.0])


def test_int32_ids_are_stored_as_int32_and_kept_by_subset_and_pickle():
    """Oracle: the dtypes and the ids as given; ``copy=False`` keeps an int32 array without copying."""
    import pickle

    users = np.array([0, 2**31 - 1, 5], dtype=np.int32)
    R = Ratings(users, [1, 0, 2], [1.0, 2.0, 3.0], 2**31, 3, index_dtype=np.int32, copy=False)
    assert R.users.dtype == R.items.dtype == np.int32 and np.shares_memory(R.users, users)
    assert R.users.tolist() == [0, 2**31 - 1, 5] and R.n_users == 2**31
    assert R.subset([2, 0]).users.dtype == pickle.loads(pickle.dumps(R)).items.dtype == np.int32
    assert Ratings([0], [0], [1.0]).users.dtype == np.int64  # the default


@pytest.mark.parametrize("users", [np.array([0, 2**31]), np.array([0, 2**31], dtype=np.uint32),
                                   np.array([0, 2.0**31]), [0, 2**40]])
def test_ids_past_int32_are_refused_not_wrapped(users):
    """An id of 2**31 would wrap to -2**31 in int32 (oracle: the message names the id as given)."""
    with pytest.raises(ValueError, match=rf"users\[1\] = {users[1]} does not fit in int32"):
        Ratings(users, [0, 1], [1.0, 2.0], index_dtype=np.int32)


def test_index_dtype_is_int32_or_int64():
    """Oracle: the ValueError naming the argument."""
    with pytest.raises(ValueError, match="index_dtype must be numpy.int32 or numpy.int64"):
        Ratings([0], [0], [1.0], index_dtype=np.int16)


@pytest.mark.parametrize(
    "values, message",
    [
        ([1.0, 2 + 1j], r"values\[1\] = \(2\+1j\) is not a real number"),
        (np.array([1.0, 2 + 1j]), r"values\[1\] = \(2\+1j\) is not a real number"),
        ([1.0, "4"], r"values\[1\] = '4' is not a real number"),
        ([1.0, None], r"values\[1\] = None is not a real number"),
        (np.array([True, False]), r"values\[0\] = True is not a real number"),
    ],
)
def test_values_must_be_real_numbers(values, message):
    """Complex values gave a raw TypeError, text was parsed (oracle: a ValueError naming the entry)."""
    with pytest.raises(ValueError, match=message):
        Ratings([0, 1], [0, 1], values)


def test_from_dense_rejects_non_real_input_and_markers():
    """missing=None and complex cells gave raw TypeErrors (oracle: ValueErrors naming the marker or cell)."""
    with pytest.raises(ValueError, match="missing must be a real number .* got None"):
        Ratings.from_dense([[1.0, 0.0]], missing=None)
    with pytest.raises(ValueError, match="missing must be a real number"):
        Ratings.from_dense([[1.0, 0.0]], missing="0")
    with pytest.raises(ValueError, match=r"R\[1, 0\] = \(2\+3j\) is not a real number"):
        Ratings.from_dense(np.array([[1.0, 0.0], [2 + 3j, 1.0]]), missing=0)
    with pytest.raises(ValueError, match=r"R\[0, 1\] = None is not a real number"):
        Ratings.from_dense([[1.0, None]])


def test_sparse_raw_ids_warn_and_name_the_fix():
    """Ids 0 and 3e9 ask for 3e9 users; fewer than half of an inferred range used warns (oracle: the counts)."""
    with pytest.warns(UserWarning, match=r"only 2 of the 3000000001 user ids .*Dataset\.from_frame"):
        Ratings([0, 3_000_000_000], [0, 1], [1.0, 2.0])
    with pytest.warns(UserWarning, match=r"only 1 of the 3 item ids"):
        Ratings([0, 1, 2], [2, 2, 2], [1.0, 2.0, 3.0])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Ratings([0, 2], [0, 1], [1.0, 2.0])  # 2 of 3 users: at least half, no warning
        Ratings([0], [0], [1.0], n_users=10, n_items=1)  # explicit sizes: the caller's choice
