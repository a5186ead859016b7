"""The default visiting order (shuffle="grid") and the float32 path, both new in the engine.

Oracles: multisets of (user, item, value) triples; the user and item ranges recomputed from
the ids; funksvd.sgd_epoch (Python engine) run over the grid's copy in the drawn cell order;
the Python engine for the compiled one; numba's own record of the types it compiled for.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Factors, FunkSVD, Ratings, sgd_epoch
from funksvd.sgd import orders as grid_module
from funksvd.sgd.compiled import compiled_cells
from funksvd.sgd.loops import bind, run_cells
from funksvd.sgd.orders import Grid
from funksvd.maths.rules import RULES


@pytest.fixture
def ratings(rng):
    n = 4000
    return Ratings(rng.integers(0, 300, n), rng.integers(0, 200, n), rng.integers(1, 6, n).astype(float), 300, 200)


@pytest.fixture
def small_cells(monkeypatch):
    """Cells of a few rows, so that a small problem has a real grid (here 10 x 4 cells at k=4, float64); a user's
    13 ratings may be split over the 4 item ranges (MIN_REUSE 1)."""
    monkeypatch.setattr(grid_module, "USER_CELL_BYTES", 30 * 4 * 8)
    monkeypatch.setattr(grid_module, "ITEM_CELL_BYTES", 50 * 4 * 8)
    monkeypatch.setattr(grid_module, "MIN_REUSE", 1)


def _triples(users, items, values):
    return sorted(zip(np.asarray(users).tolist(), np.asarray(items).tolist(), np.asarray(values).tolist()))


def test_the_copy_is_a_permutation_and_each_cell_a_few_rows_of_p_and_q(ratings, small_cells, rng):
    """Oracle: sorted triples (the copy holds every rating once); the id spans of each cell
    against the byte budgets (30 rows of P, 50 of Q here; ranges are balanced by rating count,
    so a span may exceed its budget by a little: factor 2), i.e. a cell's rows stay in cache."""
    grid = Grid(ratings, 4, np.float64, rng)
    assert grid.n_cells > 20
    assert _triples(grid.users, grid.items, grid.values) == _triples(ratings.users, ratings.items, ratings.values)
    for a, b in zip(grid.bounds[:-1], grid.bounds[1:]):
        users, items = grid.users[a:b], grid.items[a:b]
        assert users.max() - users.min() + 1 <= 2 * 30
        assert items.max() - items.min() + 1 <= 2 * 50


def test_few_ratings_per_user_get_fewer_item_ranges(ratings, small_cells, monkeypatch, rng):
    """Oracle: the arithmetic of the cap. 4,000 ratings of 300 users are 13 a user: with MIN_REUSE 4 the
    item ranges are at most 4000 // (300 * 4) = 3 (not the 4 the byte budget asks for), with MIN_REUSE 8 one, so a
    user's row of P is fetched for about MIN_REUSE of its ratings at least."""
    cells = {}
    for reuse in (1, 4, 8):
        monkeypatch.setattr(grid_module, "MIN_REUSE", reuse)
        cells[reuse] = Grid(ratings, 4, np.float64, rng).n_cells
    assert cells[1] == 10 * 4 and cells[4] == 10 * 3 and cells[8] == 10 * 1


def test_an_epoch_visits_every_rating_once(ratings, small_cells, rng):
    """Oracle: the triples an instrumented kernel receives, sorted, equal the ratings' triples."""
    grid = Grid(ratings, 4, np.float64, rng)
    visited = []

    def recording_epoch(P, Q, bu, bi, mu, users, items, values, order, lr, reg):
        visited.extend(zip(users[order].tolist(), items[order].tolist(), values[order].tolist()))
        return 0.0

    grid.run(bind(run_cells, epoch=recording_epoch), (None,) * 4, 0.0, None, None, rng)
    assert sorted(visited) == _triples(ratings.users, ratings.items, ratings.values)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_a_grid_fit_is_sgd_epochs_over_the_copy_in_the_drawn_cell_order(ratings, small_cells, engine):
    """Oracle: sgd_epoch (Python engine) over the grid's copy, cells in the order drawn from the
    same generator (init first, then the one shuffle, then one cell order per epoch). Python
    engine: bit-identical; compiled: 1e-12 (fused multiply-adds only)."""
    model = FunkSVD(n_factors=4, n_epochs=2, random_state=7, engine=engine).fit(ratings)
    gen = np.random.default_rng(7)
    expected = Factors.random(ratings.n_users, ratings.n_items, 4, mu=ratings.mean(), random_state=gen)
    grid = Grid(ratings, 4, np.float64, gen)
    copy = Ratings(grid.users, grid.items, grid.values, ratings.n_users, ratings.n_items)
    for _ in range(2):
        order = np.concatenate([np.arange(grid.bounds[c], grid.bounds[c + 1]) for c in gen.permutation(grid.n_cells)])
        expected = sgd_epoch(expected, copy, order=order)
    for block, value in expected.params().items():
        got = model.factors_.params()[block]
        if engine == "python":
            assert np.array_equal(got, value)
        else:
            np.testing.assert_allclose(got, value, rtol=1e-12, atol=1e-12)


def test_grid_fit_is_deterministic(ratings):
    """Oracle: np.array_equal of two fits with the same random_state (compiled, default order)."""
    a = FunkSVD(n_factors=5, n_epochs=3, random_state=3).fit(ratings).factors_
    b = FunkSVD(n_factors=5, n_epochs=3, random_state=3).fit(ratings).factors_
    assert a.equals(b)


def test_float32_model_compiles_a_float32_kernel(ratings):
    """A float32 model is float32 end to end: mu, lr, reg and the values reach the kernel as
    float32 (before, they were float64 and promoted every product). Oracle: the argument types
    numba records for the compiled epoch loop."""
    import numba

    FunkSVD(n_factors=3, n_epochs=1, random_state=0, dtype=np.float32).fit(ratings)
    signatures = compiled_cells(RULES["funk"]).signatures  # the grid's epoch, one call over its cells
    float32_call = [sig for sig in signatures if sig[0].dtype == numba.float32]
    assert float32_call, signatures
    P, Q, bu, bi, mu, users, items, values, bounds, cells, arange, lr, reg, sses = float32_call[0]
    assert mu == numba.float32 and values.dtype == numba.float32
    assert set(lr) == {numba.float32} and set(reg) == {numba.float32}


def test_float32_engines_agree(ratings):
    """Oracle: the Python engine in float32 (numpy float32 scalars stay float32 under NEP 50).
    Tolerance 1e-5: float32 rounding (eps 6e-8) amplified over 2 epochs of 4000 updates, with
    fused multiply-adds rounding differently in the compiled kernel."""
    kw = dict(n_factors=4, n_epochs=2, random_state=1, dtype=np.float32)
    a = FunkSVD(engine="compiled", **kw).fit(ratings).factors_
    b = FunkSVD(engine="python", **kw).fit(ratings).factors_
    assert a.dtype == b.dtype == np.float32
    for block in a.blocks:
        np.testing.assert_allclose(a.params()[block], b.params()[block], rtol=1e-5, atol=1e-5)


def test_feature_schedule_default_order_is_one_permutation_for_every_epoch(ratings, monkeypatch):
    """With schedule="feature" the default order is drawn once and the ratings are put in that
    order for the whole fit (Funk's ~2,000 short epochs would otherwise pay a shuffle each, and
    read through a permutation). Oracle: numpy's ``default_rng(seed).permutation(n)`` (nothing
    else is drawn before it in this schedule), applied to the ratings by hand."""
    from funksvd.estimator import training

    seen = []
    original = training.train_features

    def spy(P, Q, bu, bi, cache, users, items, values, **kwargs):
        seen.append((np.array(users), np.array(items), np.array(values)))
        return original(P, Q, bu, bi, cache, users, items, values, **kwargs)

    monkeypatch.setattr(training, "train_features", spy)
    FunkSVD(n_factors=2, schedule="feature", feature_epochs=3, feature_min_epochs=1, random_state=4,
            engine="python").fit(ratings)
    expected = np.random.default_rng(4).permutation(len(ratings))
    assert len(seen) == 1  # one call: the whole schedule runs on the arrays handed in once
    users, items, values = seen[0]
    assert np.array_equal(users, ratings.users[expected])
    assert np.array_equal(items, ratings.items[expected])
    assert np.array_equal(values, ratings.values[expected])


@pytest.mark.parametrize("key_batch", [1 << 20, 300, 1])
@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_the_counting_sort_and_the_cell_shuffle_give_the_literal_construction(ratings, small_cells, engine, key_batch,
                                                                              monkeypatch):
    """The copy is built by a compiled counting sort and a Fisher-Yates shuffle of each cell.

    Oracle: the literal construction, written out here in numpy and plain Python: the cell of each
    rating, ``np.argsort(cell, kind="stable")``, then for each cell of ``m`` ratings the keys
    ``rng.random(m)`` of the same generator state and the textbook Fisher-Yates walk (``t`` from
    ``m - 1`` down to 1 swaps ``t`` with ``floor(key_t (t + 1))``). Bit-identical copy, bounds and
    the uint32 ids dtype, whether Python or numba runs the setup's loops, and however many cells'
    keys are drawn in one call (``KEY_BATCH``: all cells at once, batches of a few cells, one cell).
    """
    monkeypatch.setattr(grid_module, "KEY_BATCH", key_batch)
    grid = Grid(ratings, 4, np.float64, np.random.default_rng(9), engine)
    rng = np.random.default_rng(9)
    n_user_groups = grid_module._groups(ratings.n_users, 4 * 8, grid_module.USER_CELL_BYTES)
    n_item_groups = min(grid_module._groups(ratings.n_items, 4 * 8, grid_module.ITEM_CELL_BYTES),
                        len(ratings) // (ratings.n_users * grid_module.MIN_REUSE))
    assert n_user_groups * n_item_groups > 4  # several cells, or the test proves little
    user_group = grid_module.balanced_groups(ratings.users, ratings.n_users, n_user_groups)
    item_group = grid_module.balanced_groups(ratings.items, ratings.n_items, n_item_groups)
    cell = user_group[ratings.users] * n_item_groups + item_group[ratings.items]
    index = np.argsort(cell, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=n_user_groups * n_item_groups))])
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b - a > 1:
            keys, piece = rng.random(b - a), index[a:b]
            for t in range(b - a - 1, 0, -1):
                s = int(keys[t] * (t + 1))
                piece[t], piece[s] = piece[s], piece[t]
    assert np.array_equal(grid.users, ratings.users[index]) and grid.users.dtype == np.uint32
    assert np.array_equal(grid.items, ratings.items[index]) and grid.items.dtype == np.uint32
    assert np.array_equal(grid.values, ratings.values[index])
    assert np.array_equal(grid.bounds, np.unique(bounds))


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_int32_ratings_fit_the_same_model(ratings, engine):
    """``Ratings(..., index_dtype=np.int32)`` changes storage only. Oracle: the fit on the same
    ratings with int64 ids, same random_state: bit-identical factors, with the default grid, a
    fresh permutation, DSGD strata and Funk's feature schedule (ids are read as indices only)."""
    narrow = Ratings(ratings.users, ratings.items, ratings.values, ratings.n_users, ratings.n_items,
                     index_dtype=np.int32)
    assert narrow.users.dtype == narrow.items.dtype == np.int32
    for settings in ({"shuffle": "grid"}, {"shuffle": True}, {"n_jobs": 2},
                     {"schedule": "feature", "feature_epochs": 2, "feature_min_epochs": 1}):
        kw = dict(n_factors=4, n_epochs=2, random_state=2, engine=engine, **settings)
        assert FunkSVD(**kw).fit(narrow).factors_.equals(FunkSVD(**kw).fit(ratings).factors_), settings


def test_the_start_loss_over_the_copy_is_the_loss_over_the_ratings(ratings, small_cells):
    """Oracle: a literal numpy sum of (r - mu - b_u - b_i - p_u.q_i)^2 over the ratings in stored order.

    The grid sums the same terms cell by cell (a different order): equal to 1e-12 relative in
    float64 (rounding of a few hundred terms of size ~1).
    """
    from funksvd.estimator.scores import compiled_sse

    grid = Grid(ratings, 4, np.float64, np.random.default_rng(3))
    assert grid.n_cells > 4
    start = Factors.random(ratings.n_users, ratings.n_items, 4, mu=3.0, random_state=4)
    rng = np.random.default_rng(5)
    bu, bi = rng.normal(size=ratings.n_users), rng.normal(size=ratings.n_items)
    P, Q = start.P.copy(), start.Q.copy()
    e = ratings.values - (3.0 + bu[ratings.users] + bi[ratings.items]
                          + np.sum(P[ratings.users] * Q[ratings.items], axis=1))
    got = grid.sum_squared_errors(compiled_sse(), (P, Q, bu, bi), 3.0)
    assert got == pytest.approx(float(np.sum(e * e)), rel=1e-12)
