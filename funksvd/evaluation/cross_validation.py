r"""``cross_validate``: k-fold cross-validation of an estimator, in the spirit of Surprise's.

.. code-block:: python

    from funksvd import FunkSVD, cross_validate
    results = cross_validate(FunkSVD(random_state=0), data, cv=5,
                             measures=("rmse", "mae", "precision@10", "ndcg@10"), threshold=4)
    results["test_rmse"].mean(), results["test_rmse"].std()
    print(results.summary())
"""

from __future__ import annotations

import copy
import re
import time

import numpy as np

from ..base.log import log
from ..data import kfold
from ..base.errors import InputError
from .accuracy import mae, rmse
from ..model.ratings import Ratings
from .ranking_metrics import evaluate_ranking

__all__ = ["cross_validate", "CrossValidation", "ACCURACY_MEASURES", "RANKING_MEASURES"]

#: Measures of predicted ratings, computed by :func:`funksvd.rmse` and :func:`funksvd.mae`.
ACCURACY_MEASURES = {"rmse": rmse, "mae": mae}
#: Measures of top-k lists, spelled ``"<name>@<k>"`` (e.g. ``"ndcg@10"``); see :func:`evaluate_ranking`.
RANKING_MEASURES = ("precision", "recall", "ndcg", "map", "coverage")

_RANKING = re.compile(rf"^({'|'.join(RANKING_MEASURES)})@([0-9]+)$")


def _parse_measures(measures) -> tuple[list[str], dict[int, list[str]]]:
    """``(accuracy names, {k: ranking names})``, lower-cased, or a ValueError naming the bad one."""
    if isinstance(measures, str):
        measures = (measures,)
    measures = [m.lower() if isinstance(m, str) else m for m in measures]
    if not measures:
        raise ValueError("measures is empty; ask for at least one, e.g. ('rmse', 'mae')")
    accuracy: list = []
    ranking: dict = {}
    for m in measures:
        match = _RANKING.match(m) if isinstance(m, str) else None
        if m in ACCURACY_MEASURES:
            accuracy.append(m)
        elif match and int(match.group(2)) >= 1:
            ranking.setdefault(int(match.group(2)), []).append(match.group(1))
        else:
            raise ValueError(
                f"unknown measure {m!r}: expected one of {sorted(ACCURACY_MEASURES)} or a ranking measure "
                f"'<name>@<k>' with name in {RANKING_MEASURES} and k >= 1, e.g. 'precision@10'")
        if measures.count(m) > 1:
            raise ValueError(f"measure {m!r} is listed twice")
    return accuracy, ranking


def _clone(model, seeds=None):
    """A fresh, unfitted copy with the same parameters (scikit-learn's clone, shallow).

    ``seeds``: for a model whose ``random_state`` is a numpy Generator, a Generator of the
    copy's own (:func:`_fold_seeds`), so that no two folds, and not the caller, share one.
    """
    if not (hasattr(model, "get_params") and hasattr(model, "fit")):
        raise TypeError(f"model must be an estimator with get_params() and fit(), got {type(model).__name__}")
    params = model.get_params()
    if seeds is not None:
        params["random_state"] = next(seeds)
    return type(model)(**params)


def _fold_seeds(model):
    """Independent child Generators, one per fold, of a model's Generator ``random_state`` (else None).

    They are spawned (``numpy.random.Generator.spawn``) from a copy of the Generator, so the
    caller's Generator is never advanced and the same Generator state gives the same folds'
    models on every call.
    """
    state = getattr(model, "get_params", dict)().get("random_state")
    if not isinstance(state, np.random.Generator):
        return None
    parent = copy.deepcopy(state)

    def children():
        while True:
            yield parent.spawn(1)[0]

    return children()


def _folds(ratings, cv, random_state):
    """The (train, test) pairs of ``cv``: a fold count >= 2 for kfold, or the caller's iterable of pairs."""
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        if cv < 2:
            raise InputError(f"cv must be a number of folds >= 2 or an iterable of (train, test) pairs, got {cv!r}")
        return kfold(ratings, n_splits=int(cv), random_state=random_state)
    if isinstance(cv, (str, bytes, bool, float, np.floating)) or cv is None or not hasattr(cv, "__iter__"):
        raise InputError(f"cv must be a number of folds >= 2 or an iterable of (train, test) pairs, got {cv!r}")
    if random_state is not None:
        raise InputError("random_state shuffles kfold's folds; with explicit folds (cv an iterable) leave it None")
    return cv


class CrossValidation(dict):
    """Per-fold results of :func:`cross_validate`: a ``dict`` of float64 arrays, one entry per fold.

    ``results["test_rmse"].mean()`` and ``.std()`` summarise a measure; :meth:`summary` lays
    out every measure with its folds, mean and standard deviation.
    """

    def summary(self) -> str:
        """A table: one row per measure, one column per fold, then the mean and the standard deviation.

        The standard deviation is the population one (``numpy.std``, ``ddof=0``), as Surprise prints.
        """
        if not self:
            return ""
        n_folds = len(next(iter(self.values())))
        width = max(len(name) for name in self) + 2
        header = " " * width + "".join(f"{'Fold ' + str(f + 1):>10}" for f in range(n_folds))
        lines = [header + f"{'Mean':>10}{'Std':>10}"]
        for name, values in self.items():
            cells = "".join(f"{v:>10.4f}" for v in values)
            lines.append(f"{name:<{width}}{cells}{np.mean(values):>10.4f}{np.std(values):>10.4f}")
        return "\n".join(lines)


def _scores(model, train: Ratings | None, test: Ratings, accuracy, ranking, threshold, prefix: str,
            progress: bool) -> dict:
    out = {f"{prefix}_{m}": ACCURACY_MEASURES[m](model, test) for m in accuracy}
    for k, names in ranking.items():
        found = evaluate_ranking(model, train, test, k=k, threshold=threshold, verbose=progress)
        out.update({f"{prefix}_{name}@{k}": found[f"{name}@{k}"] for name in names})
    return out


def cross_validate(model, data, cv=5, measures=("rmse", "mae"), random_state=None, return_train_measures=False,
                   verbose=False, threshold=None, progress=False) -> CrossValidation:
    r"""Fit a fresh copy of ``model`` on each fold's training set and measure it on the held-out fold.

    Parameters
    ----------
    model : estimator
        Anything with ``get_params()``, ``fit(ratings)`` and ``predict(users, items)``, such as
        :class:`~funksvd.FunkSVD`. It is not fitted itself: each fold fits
        ``type(model)(**model.get_params())``, so every fold starts from the same parameters
        (including an integer ``random_state``). A numpy Generator as ``random_state`` is not
        shared: each fold's copy gets an independent child Generator, spawned
        (``Generator.spawn``) from a copy of it, so the caller's Generator is never advanced and
        the same Generator state gives the same results on every call.
    data : Ratings or Dataset
        The ratings (a :class:`~funksvd.data.Dataset` is used through ``.ratings``).
    cv : int >= 2 or iterable of (train, test) pairs, default 5
        Number of folds of :func:`funksvd.data.kfold` (Surprise's ``KFold``), or the
        folds themselves as :class:`~funksvd.Ratings` pairs (e.g. from a leave-k-out split).
    measures : sequence of str, default ("rmse", "mae")
        ``"rmse"``, ``"mae"`` (case-insensitive, as in Surprise) and ranking measures
        ``"precision@k"``, ``"recall@k"``, ``"ndcg@k"``, ``"map@k"``, ``"coverage@k"`` for any
        ``k >= 1``, computed by :func:`evaluate_ranking` (training items excluded from the
        lists, relevance = held-out items rated at least ``threshold``).
    random_state : int, numpy Generator or RandomState, optional
        Seeds the fold shuffle of :func:`~funksvd.data.kfold` (an int gives Surprise's
        folds). Only with an integer ``cv``.
    return_train_measures : bool, default False
        Also measure each fitted model on its own training set (``"train_<measure>"``); ranking
        measures then exclude nothing and take the training items as the relevant ones.
    verbose : bool, default False
        Print each fold's measures as it ends and the summary table at the end.
    threshold : float, optional
        Lowest rating that makes a held-out item relevant for the ranking measures; default
        every held-out item.
    progress : bool, default False
        Progress bars (tqdm, stderr) while the top-k lists of the ranking measures are computed.

    Returns
    -------
    CrossValidation
        A dict of float64 arrays, one entry per fold: ``"test_<measure>"`` for each measure
        (e.g. ``"test_rmse"``, ``"test_ndcg@10"``), ``"train_<measure>"`` when asked,
        ``"fit_time"`` and ``"test_time"`` in seconds. ``.summary()`` formats it.

    Raises
    ------
    ValueError
        On an unknown or repeated measure, a ``cv`` that is neither an integer >= 2 nor an
        iterable of pairs, or ``random_state`` given with explicit folds.
    TypeError
        If ``model`` is not an estimator or ``data`` holds no ratings.

    Notes
    -----
    For each fold :math:`f` with training set :math:`\mathcal K_{-f}` and test set
    :math:`\mathcal K_f`, a fresh model is fitted on :math:`\mathcal K_{-f}` and, with
    :math:`e_{ui} = r_{ui} - \hat r_{ui}`,

    .. math::

        \mathrm{RMSE}_f = \sqrt{\frac{1}{|\mathcal K_f|} \sum_{(u,i) \in \mathcal K_f} e_{ui}^2},
        \qquad
        \mathrm{MAE}_f = \frac{1}{|\mathcal K_f|} \sum_{(u,i) \in \mathcal K_f} |e_{ui}|

    are reported per fold (not pooled): the mean over folds is Surprise's figure.
    """
    accuracy, ranking = _parse_measures(measures)
    ratings = data if isinstance(data, Ratings) else getattr(data, "ratings", None)
    if not isinstance(ratings, Ratings):
        raise TypeError(f"data must be a funksvd.Ratings or a Dataset, got {type(data).__name__}")
    folds = _folds(ratings, cv, random_state)
    _clone(model)  # refuse a non-estimator before any work
    seeds = _fold_seeds(model)
    columns: dict[str, list[float]] = {}
    for number, fold in enumerate(folds, start=1):
        try:
            train, test = fold
        except (TypeError, ValueError):
            raise InputError(f"fold {number} of cv must be a pair (train, test), got {fold!r:.80}") from None
        if not (isinstance(train, Ratings) and isinstance(test, Ratings)):
            raise TypeError(f"fold {number} must be a pair of funksvd.Ratings (train, test), "
                            f"got {type(train).__name__}, {type(test).__name__}")
        estimator = _clone(model, seeds)
        start = time.perf_counter()
        estimator.fit(train)
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        found = _scores(estimator, train, test, accuracy, ranking, threshold, "test", progress)
        test_time = time.perf_counter() - start
        if return_train_measures:
            found.update(_scores(estimator, None, train, accuracy, ranking, threshold, "train", progress))
        found.update(fit_time=fit_time, test_time=test_time)
        for name, value in found.items():
            columns.setdefault(name, []).append(float(value))
        log(f"fold {number}: " + ", ".join(f"{name} {value:.4f}" for name, value in found.items()), verbose)
    if not columns:
        raise ValueError("cv gave no folds")
    results = CrossValidation({name: np.array(values, dtype=np.float64) for name, values in columns.items()})
    log(results.summary(), verbose)
    return results
