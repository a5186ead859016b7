"""How :class:`~funksvd.FunkSVD` trains: visiting orders, the epoch generators of both schedules,
the shared loop (running loss, validation, divergence guard, early stopping, progress bar) and
the TensorFlow engine's hand-over. A mixin of :class:`~funksvd.estimator.model.FunkSVD`.
"""

from __future__ import annotations

import time
from typing import Any
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import lru_cache

import numpy as np

from ..base.errors import DivergenceError
from ..base.measures import root_mean_square_of_sse
from ..model.factors import BLOCKS, Factors
from ..sgd.funk_schedule import train_features
from ..sgd.orders import Grid
from ..sgd.loops import typed_scalars
from ..sgd.strata import Strata
from ..base.optional import require_pandas, require_tensorflow
from ..base.progress import progress_bar
from ..maths.objectives import weighted_row_squares, weighted_squares
from ..maths.rules import RULES, get_rule
from ..sgd.steps import cells_function, epoch_function
from .scores import compiled_sse, factor_arrays, rmse_of
from .state import EstimatorState

__all__ = ["Training", "DIVERGENCE_FACTOR", "SHUFFLE_BLOCK", "sse_upper_bound"]

#: Ratings per run of ``shuffle="blocks"``.
SHUFFLE_BLOCK = 4096

#: Training stops with :class:`~funksvd.DivergenceError` when the loss exceeds this multiple of
#: the loss at the start values (computed exactly, once, before the first epoch).
DIVERGENCE_FACTOR = 1e3


class Training(EstimatorState):
    """The training half of :class:`~funksvd.FunkSVD` (its parameters live on the estimator)."""

    def history_frame(self):
        """``history_`` as a pandas DataFrame, one row per epoch indexed by ``epoch`` (ImportError without pandas)."""
        pd = require_pandas("FunkSVD.history_frame()")
        return pd.DataFrame(self.history_).set_index("epoch")

    def _order(self, rng, n: int):
        """The visiting order of the next epoch as an index array.

        The joint schedule's ``"grid"`` is :class:`~funksvd.sgd.orders.Grid` instead.

        A fresh permutation, stored order, shuffled runs, or (``"grid"`` on the feature
        schedule) one permutation drawn now and kept for every epoch.
        """
        buffer = _arange_into(np.empty(n, dtype=np.int32 if n < 2**31 else np.int64))
        if self.shuffle == "blocks":
            return lambda: _block_order(buffer, SHUFFLE_BLOCK, rng)
        if self.shuffle == "grid":
            rng.shuffle(buffer)
            return lambda: buffer
        if not self.shuffle:
            return lambda: buffer

        def shuffled():  # rng.permutation(n), drawn into one reused buffer (int32 while n < 2**31)
            rng.shuffle(_arange_into(buffer))
            return buffer

        return shuffled

    def _joint(self, start, mu, ratings, rng, rating_range, counts=None):
        """All factors at once: one ``epoch_function(rule, engine)`` call per epoch (per block with ``n_jobs > 1``).

        ``start``: the given :class:`~funksvd.Factors` (``init=``, trained on a copy) or the arrays
        ``(P, Q, bu, bi)`` this fit has just drawn (trained in place). Returns the epochs, the arrays
        they train, and the divergence guard's reference loss where it was computed here (over the
        grid's copy, cell by cell), else None.
        """
        assert start is not None, "the joint schedule always starts from drawn or given factors"
        if isinstance(start, Factors):
            arrays = P, Q, bu, bi = start.mutable_copy()
        else:
            P, Q, bu, bi = start
            empty = np.zeros(0, P.dtype)
            arrays = P, Q, bu, bi = P, Q, empty if bu is None else bu, empty.copy() if bi is None else bi
        start_mu = mu
        row_bytes = P.shape[1] * P.itemsize  # picks the compiled loop (funksvd.sgd.compiled.compiled_epoch)
        run = epoch_function(self.rule, self.engine, row_bytes)
        lr_of, reg_of = self._hyper("lr"), self._hyper("reg")
        lr, reg = tuple(lr_of[b] for b in BLOCKS), tuple(reg_of[b] for b in BLOCKS)
        mu, lr, reg = typed_scalars(P.dtype, mu, lr, reg)  # float32 end to end for a float32 model
        if self.n_jobs == 1 and self.shuffle == "grid":
            grid = Grid(ratings, P.shape[1], P.dtype, rng, self.engine, counts)
            cells = cells_function(self.rule, self.engine, row_bytes)
            reference = None
            if self.engine == "compiled":  # the same sum over the copy, whose cells keep their rows in cache
                reference = self._reference_loss(
                    arrays, start_mu, ratings, counts,
                    sse_of=lambda: grid.sum_squared_errors(compiled_sse(), arrays, start_mu))

            def grid_epochs():
                for _ in range(self.n_epochs):
                    yield None, grid.run(cells, arrays, mu, lr, reg, rng), True

            return grid_epochs(), arrays, reference

        values = ratings.values.astype(P.dtype, copy=False)
        if self.n_jobs == 1:
            next_order = self._order(rng, len(ratings))

            def ordered_epochs():
                for _ in range(self.n_epochs):
                    yield None, float(run(P, Q, bu, bi, mu, ratings.users, ratings.items, values,
                                          next_order(), lr, reg)), True

            return ordered_epochs(), arrays, None

        strata = Strata(ratings, self.n_jobs)
        # threads only help the compiled loop, which releases the GIL; the Python engine runs
        # the same blocks one after another (and gives the same result)
        threaded = self.engine == "compiled"

        def epochs():
            with ThreadPoolExecutor(self.n_jobs) if threaded else nullcontext() as pool:
                for _ in range(self.n_epochs):
                    if self.shuffle:
                        strata.shuffle(rng)
                    yield None, float(strata.run(run, arrays, mu, ratings, lr, reg, pool, values)), True

        return epochs(), arrays, None

    def _feature(self, start: Factors | None, mu, ratings, rng, rating_range):
        """Funk's schedule (:func:`funksvd.sgd.funk_schedule.train_features`): columns start at 0, each one contiguous
        (Fortran order), and one visiting order drawn for the whole fit."""
        dtype = np.dtype(self.dtype)
        shape = (ratings.n_users, ratings.n_items)
        nb = shape if self.biased else (0, 0)
        P = np.zeros((shape[0], self.n_factors), dtype, order="F")
        Q = np.zeros((shape[1], self.n_factors), dtype, order="F")
        bu = np.zeros(nb[0], dtype) if start is None or not self.biased else start.bu.copy()
        bi = np.zeros(nb[1], dtype) if start is None or not self.biased else start.bi.copy()
        lr, reg = self._hyper("lr"), self._hyper("reg")
        order = self._order(rng, len(ratings))()
        ids = np.uint32 if max(shape) < 2**32 else np.int64  # unsigned: no negative-index check per read
        reference = self._reference_loss((P, Q, bu, bi), mu, ratings)
        epochs = train_features(
            P, Q, bu, bi, np.full(len(ratings), mu, dtype),
            ratings.users[order].astype(ids), ratings.items[order].astype(ids),
            ratings.values[order], lr=tuple(lr[b] for b in BLOCKS), reg=tuple(reg[b] for b in BLOCKS),
            rating_range=rating_range, max_epochs=self.feature_epochs,
            min_improvement=self.feature_min_improvement, min_epochs=self.feature_min_epochs,
            feature_init=self.feature_init, trailing=self.feature_trailing,
            start=None if start is None else (start.P, start.Q), engine=self.engine,
            guard=lambda epoch, loss: self._guard(epoch, loss, reference, ()),
        )
        return epochs, (P, Q, bu, bi)

    def _train(self, epochs, arrays, mu, ratings, validation, total, counts=None, reference=None) -> None:
        """The loop shared by both schedules: loss, validation, divergence guard, early stopping, bar.

        ``counts``: the ratings of each user and each item (:func:`rating_counts`), if counted already;
        ``reference``: the divergence guard's reference loss (:meth:`_reference_loss`), if computed already.
        """
        counts = rating_counts(ratings) if counts is None else counts
        reg = self._hyper("reg")
        stopper = EarlyStopping(self.patience, self.min_improvement)
        if reference is None and self.schedule == "joint":
            reference = self._reference_loss(arrays, mu, ratings, counts)
        # a finite loss means finite parameters where the penalty sees them (reg > 0: a non-finite
        # entry of a rated row makes its term non-finite; an unrated row never moves): only the
        # blocks without a penalty need their own check
        unpenalised = tuple(a for a, b in zip(arrays, BLOCKS) if reg[b] == 0.0)
        bar = progress_bar(total, f"FunkSVD[{self.engine}, {self.schedule}]", self.verbose)
        try:
            tic = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):
                for epoch, (feature, sse, stage_done, *checked) in enumerate(epochs, start=1):
                    if checked:  # schedule="feature": loss and guard per stage in funksvd.sgd.funk_schedule
                        loss = checked[0]
                    else:
                        loss = _running_loss(self.rule, sse, arrays, reg, counts, self.engine)
                        assert reference is not None  # the joint schedule: set above
                        self._guard(epoch, loss, reference, unpenalised)
                    val = None if validation is None else rmse_of(arrays, mu, validation, self.engine)
                    record = {"epoch": epoch, "loss": loss, "train_rmse": root_mean_square_of_sse(sse, len(ratings)),
                              "val_rmse": val, "seconds": 0.0, "kept": False}
                    if self.schedule == "feature":
                        record["feature"] = feature
                    stop = stage_done and stopper.update(epoch, val, arrays)
                    toc = time.perf_counter()
                    record["seconds"], tic = toc - tic, toc
                    self.history_.append(record)
                    bar.update(1, loss=loss, val_rmse=val, **({"feature": feature} if feature is not None else {}))
                    if stop:
                        break
        finally:
            if hasattr(epochs, "close"):
                epochs.close()
            bar.close()
        best = stopper.best_epoch if stopper.active else len(self.history_)
        if stopper.active:
            arrays = stopper.best_arrays
        P, Q, bu, bi = arrays
        self.factors_ = Factors.from_arrays(P, Q, bu, bi, mu, own=True)  # the fit's own arrays: kept, not copied
        self.mu_ = float(mu)
        self.n_epochs_ = len(self.history_)
        self.best_epoch_ = best
        self.stopped_early_ = stopper.stopped
        if best:
            self.history_[best - 1]["kept"] = True

    def _start_loss(self, arrays, mu, ratings, counts=None, sse=None) -> float:
        """The rule's loss at the start values ``arrays``, exactly: the reference of the divergence guard.

        ``sse``: its sum of squared errors, if the caller summed it already (e.g. over the grid's copy).
        """
        if counts is None:
            counts = rating_counts(ratings)
        if sse is None:
            engine = "compiled" if self.engine == "compiled" else "python"
            sse = rmse_of(arrays, mu, ratings, engine) ** 2 * len(ratings)
        return _running_loss(self.rule, sse, arrays, self._hyper("reg"), counts, self.engine)

    def _reference_loss(self, arrays, mu, ratings, counts=None, sse_of=None) -> float:
        r"""The divergence guard's reference: the loss at the start values, at least the loss of predicting 0.

        The floor :math:`c \sum r^2` (the data term of :math:`\hat r = 0`) is positive for any
        real ratings, so a start that fits the data exactly (all ratings equal, or one rating:
        loss 0) does not make the first small penalty look like an explosion.

        The start loss is summed over the ratings (``sse_of()`` gives its sum of squared errors, if
        the caller has a faster way) only when it can exceed the floor: :func:`sse_upper_bound`,
        from row norms alone, usually shows that it cannot (small random starts predict about
        :math:`\mu`), and the reference is then the floor, the same value without a pass over
        the ratings.
        """
        counts = rating_counts(ratings) if counts is None else counts
        c = RULES[get_rule(self.rule).name].objective.data_weight
        values = ratings.values
        square_sum = float(np.einsum("i,i->", values, values, dtype=np.float64))
        floor = c * square_sum
        penalty = _running_loss(self.rule, 0.0, arrays, self._hyper("reg"), counts, self.engine)
        bound = c * sse_upper_bound(arrays, mu, ratings, counts, square_sum, self.engine) + penalty
        if bound * (1.0 + 1e-6) <= floor:  # the margin covers the rounding of the sums (about 1e-9 at 1e7 terms)
            return floor
        return max(self._start_loss(arrays, mu, ratings, counts, None if sse_of is None else sse_of()), floor)

    def _guard(self, epoch: int, loss: float, reference: float, arrays) -> None:
        """Raise :class:`DivergenceError` on a non-finite epoch, or a loss above ``DIVERGENCE_FACTOR * reference``.

        Every engine and both schedules run this same guard against the same reference,
        :meth:`_reference_loss`: the loss at the start values (at least that of predicting 0),
        computed once, exactly, before the first epoch. Measured against the first epoch's
        loss instead, a run that had already exploded in its first epoch would pass.
        """
        finite = np.isfinite(loss) and all(np.isfinite(a).all() for a in arrays)
        exploded = finite and loss > DIVERGENCE_FACTOR * max(reference, 1e-300)
        if finite and not exploded:
            return
        lr = self._hyper("lr")
        block = max(lr, key=lambda b: lr[b])
        name = "lr_all" if len(set(lr.values())) == 1 else {"P": "lr_pu", "Q": "lr_qi"}.get(block, f"lr_{block}")
        what = (f"training loss became {loss}" if not np.isfinite(loss) else
                "a parameter became non-finite" if not finite else
                f"training loss grew to {loss:.4g}, over {DIVERGENCE_FACTOR:g} times its reference {reference:.4g} "
                "(the loss at the start values)")
        raise DivergenceError(
            f"epoch {epoch}: {what} with {name}={lr[block]:g} (rule {get_rule(self.rule).name!r}, "
            f"schedule {self.schedule!r}); the learning rate is too large for this data: "
            f"try {name} <= {lr[block] / 10:g}"
        )

    def _fit_tensorflow(self, start: Factors | None, ratings, validation, rng, rating_range):
        """Hand the model to :func:`funksvd.autodiff.train`; our callback records, guards and stops."""
        assert start is not None, "engine='tensorflow' runs the joint schedule, which always has a start"
        require_tensorflow("engine='tensorflow'")  # a clear ImportError without TensorFlow
        from .. import autodiff  # imported on first use only

        stopper = EarlyStopping(self.patience, self.min_improvement)
        reference = self._reference_loss(factor_arrays(start), start.mu, ratings)
        state: dict[str, Any] = {"tic": time.perf_counter(), "best_factors": None}
        bar = progress_bar(self.n_epochs, "FunkSVD[tensorflow]", self.verbose)

        def callback(epoch, loss, get_factors):
            epoch = len(self.history_) + 1
            loss = float(loss)
            self._guard(epoch, loss, reference, ())
            factors = get_factors() if validation is not None else None
            val = None if validation is None else rmse_of(factor_arrays(factors), factors.mu, validation)
            stop = stopper.update(epoch, val, None)
            if stopper.best_epoch == epoch and stopper.active:
                state["best_factors"] = factors
            toc = time.perf_counter()
            self.history_.append({"epoch": epoch, "loss": loss, "train_rmse": None, "val_rmse": val,
                                  "seconds": toc - state["tic"], "kept": False})
            state["tic"] = toc
            bar.update(1, loss=loss, val_rmse=val)
            return stop

        seed = None if self.random_state is None else int(rng.integers(2**31 - 1))
        try:
            factors, _ = autodiff.train(
                start, ratings, objective=get_rule(self.rule).name, reg=self._hyper("reg"),
                optimizer=self.optimizer, learning_rate=float(self.lr_all), n_epochs=self.n_epochs,
                batch_size=self.batch_size, decay_rate=self.decay_rate, decay_steps=1000, validation=None,
                random_state=seed, callback=callback, verbose=False,
            )
        finally:
            bar.close()
        best = stopper.best_epoch if stopper.active else len(self.history_)
        factors = state["best_factors"] if stopper.active else factors
        if factors.dtype != np.dtype(self.dtype):  # autodiff trains in float64
            factors = factors.replace(**{name: value.astype(self.dtype) for name, value in factors.params().items()})
        self.factors_ = factors
        self.mu_ = float(start.mu)
        self.n_epochs_ = len(self.history_)
        self.best_epoch_ = best
        self.stopped_early_ = stopper.stopped
        self.rating_range_ = rating_range
        if best:
            self.history_[best - 1]["kept"] = True
        return self


class EarlyStopping:
    """Patience on the validation RMSE; keeps a copy of the best epoch's arrays."""

    def __init__(self, patience, min_improvement):
        self.active = patience is not None
        self.patience = patience
        self.min_improvement = min_improvement
        self.best = np.inf
        self.best_epoch = 0
        self.best_arrays = None
        self.wait = 0
        self.stopped = False

    def update(self, epoch: int, val, arrays) -> bool:
        """Record epoch ``epoch``; True when training should stop."""
        if not self.active:
            return False
        improved = val < (1.0 - self.min_improvement) * self.best
        if val < self.best:
            self.best, self.best_epoch = val, epoch
            if arrays is not None:
                self.best_arrays = tuple(a.copy() for a in arrays)
        self.wait = 0 if improved else self.wait + 1
        self.stopped = self.wait >= self.patience
        return self.stopped


def _block_order(out: np.ndarray, block: int, rng) -> np.ndarray:
    """Fill ``out`` with runs ``[s, s + block)`` of 0..n-1, the runs in random order (the last may be short)."""
    n = len(out)
    starts = rng.permutation(-(-n // block)) * block
    position, step = 0, max(1, (1 << 22) // block)
    for first in range(0, len(starts), step):
        index = (starts[first:first + step, None] + np.arange(block)).ravel()
        index = index[index < n]
        out[position:position + len(index)] = index
        position += len(index)
    return out


def _arange_into(out: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Fill ``out`` with 0, 1, ..., len(out) - 1 without an n-sized temporary."""
    for first in range(0, len(out), chunk):
        out[first:first + chunk] = np.arange(first, min(first + chunk, len(out)))
    return out


def rating_counts(ratings, engine: str = "python") -> tuple[np.ndarray, np.ndarray]:
    """The number of ratings of each user and of each item, as float64 (the weights of the per-rating penalty).

    ``engine="compiled"`` counts both in one compiled pass (:func:`count_ratings`); otherwise
    ``np.bincount``, chunk by chunk. The same counts either way.
    """
    if engine == "compiled":
        counts = np.zeros(ratings.n_users), np.zeros(ratings.n_items)
        _compiled("count_ratings")(ratings.users, ratings.items, *counts)
        return counts
    return _counts(ratings.users, ratings.n_users), _counts(ratings.items, ratings.n_items)


def count_ratings(users, items, user_counts, item_counts):
    """``user_counts[u] += 1`` and ``item_counts[i] += 1`` for each rating ``(u, i)``: one pass, no copy of the ids."""
    for j in range(users.shape[0]):
        user_counts[users[j]] += 1.0
        item_counts[items[j]] += 1.0


def _counts(ids: np.ndarray, n: int, chunk: int = 1 << 22) -> np.ndarray:
    """``np.bincount(ids, minlength=n)`` as float64, chunk by chunk (bincount copies a read-only input whole)."""
    counts = np.zeros(n, dtype=np.float64)
    for first in range(0, len(ids), chunk):
        counts += np.bincount(ids[first:first + chunk], minlength=n)
    return counts


@lru_cache(maxsize=None)
def _compiled(name: str):
    """:func:`count_ratings` or :func:`~funksvd.maths.objectives.weighted_row_squares`, compiled on first use."""
    from ..sgd.compiled import jit

    return jit({"count_ratings": count_ratings, "weighted_row_squares": weighted_row_squares,
                "row_norm_sums": row_norm_sums}[name])


#: Entries of P and Q from which the compiled engine sums the bound's row norms in a compiled loop.
COMPILED_NORMS_MIN = 1 << 19


def row_norm_sums(theta, counts):
    r"""``(max_u ||theta_u||^2, sum_u n_u ||theta_u||^2)`` in float64, one pass: :func:`sse_upper_bound`'s row terms.

    The literal loop the compiled engine runs; the Python engine takes the same sums from numpy
    (``einsum``), the additions in another order.
    """
    largest = 0.0
    total = 0.0
    for u in range(theta.shape[0]):
        square = 0.0
        for f in range(theta.shape[1]):
            value = np.float64(theta[u, f])
            square += value * value
        largest = max(largest, square)
        total += counts[u] * square
    return largest, total


def sse_upper_bound(arrays, mu, ratings, counts, square_sum=None, engine: str = "python") -> float:
    r"""An upper bound of the sum of squared errors :math:`\sum_{(u,i) \in \mathcal K} e_{ui}^2` from row norms.

    Notes
    -----
    Over the ratings, :math:`e = (r - \mu) - b_u - b_i - p_u^\top q_i` is a sum of four
    vectors; the triangle inequality of the Euclidean norm, then Cauchy-Schwarz
    (:math:`(p_u^\top q_i)^2 \le \lVert p_u\rVert^2 \lVert q_i\rVert^2`), give

    .. math::

        \sqrt{\textstyle\sum e_{ui}^2} \le \sqrt{\textstyle\sum (r_{ui} - \mu)^2}
        + \sqrt{\textstyle\sum_u n_u b_u^2} + \sqrt{\textstyle\sum_i n_i b_i^2} + \sqrt{B}

        B = \min\big(\max_i \lVert q_i\rVert^2 \textstyle\sum_u n_u \lVert p_u\rVert^2,\;
        \max_u \lVert p_u\rVert^2 \textstyle\sum_i n_i \lVert q_i\rVert^2\big)

    with :math:`\sum (r - \mu)^2 = \sum r^2 - 2\mu \sum r + |\mathcal K| \mu^2`: one pass over
    the values and :math:`O((n_{\mathrm{users}} + n_{\mathrm{items}})\,k)` work, where the sum itself
    reads two rows per rating. ``counts``: :func:`rating_counts`; ``square_sum``: :math:`\sum r^2`,
    if known; ``engine="compiled"`` takes the row terms from :func:`row_norm_sums` compiled (one
    pass over each matrix, no temporaries) where the matrices hold :data:`COMPILED_NORMS_MIN`
    entries or more (below that numpy is as fast as loading the compiled loop).
    """
    P, Q, bu, bi = arrays
    values = ratings.values
    if square_sum is None:
        square_sum = float(np.einsum("i,i->", values, values, dtype=np.float64))
    total = float(np.sum(values, dtype=np.float64))
    centred = max(square_sum - 2.0 * mu * total + len(values) * mu * mu, 0.0)
    user_counts, item_counts = counts
    root = np.sqrt(centred)
    def weighted(n, squares):  # sum_u n_u squares_u (einsum, not a BLAS dot that would wake BLAS threads)
        return float(np.einsum("i,i->", n, squares))

    if len(bu):  # in float64 throughout: a bound, not an estimate
        root += np.sqrt(weighted(user_counts, np.square(bu, dtype=np.float64)))
        root += np.sqrt(weighted(item_counts, np.square(bi, dtype=np.float64)))
    if engine == "compiled" and P.size + Q.size >= COMPILED_NORMS_MIN:
        (p_max, p_sum), (q_max, q_sum) = (_compiled("row_norm_sums")(theta, n) for theta, n in
                                          ((P, user_counts), (Q, item_counts)))
    else:
        p_norms = np.einsum("ij,ij->i", P, P, dtype=np.float64)
        q_norms = np.einsum("ij,ij->i", Q, Q, dtype=np.float64)
        p_max, p_sum = p_norms.max(initial=0.0), weighted(user_counts, p_norms)
        q_max, q_sum = q_norms.max(initial=0.0), weighted(item_counts, q_norms)
    root += np.sqrt(min(q_max * p_sum, p_max * q_sum))
    return float(root * root)


def _running_loss(rule, sse: float, arrays, reg: dict, counts, engine: str = "python") -> float:
    r"""The rule's loss with the epoch's running SSE as data term (see :class:`FunkSVD` Notes).

    The penalty's sums :math:`\sum_u n_u \lVert\theta_u\rVert^2` are
    :func:`~funksvd.maths.objectives.weighted_squares`, or with ``engine="compiled"`` its compiled
    loop :func:`~funksvd.maths.objectives.weighted_row_squares` (the same sums up to the order of
    the additions: one pass over each block, no temporaries).
    """
    objective = RULES[get_rule(rule).name].objective
    assert (objective.data, objective.reduction, objective.entries, objective.penalty, objective.link) == (
        "squared", "sum", "observed", "per_rating", "identity"), objective
    weights = {"P": objective.factor_reg_weight, "Q": objective.factor_reg_weight,
               "bu": objective.bias_reg_weight, "bi": objective.bias_reg_weight}
    squares = _compiled("weighted_row_squares") if engine == "compiled" else None
    penalty = 0.0
    for block, theta, count in zip(BLOCKS, arrays, (counts[0], counts[1], counts[0], counts[1])):
        if theta.size == 0 or reg[block] == 0.0:
            continue
        if squares is None:
            penalty += reg[block] * weights[block] * weighted_squares(theta, count)
        else:
            penalty += reg[block] * weights[block] * squares(theta.reshape(len(theta), -1), count)
    return objective.data_weight * sse + penalty
