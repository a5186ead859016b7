"""What the parts of :class:`~funksvd.FunkSVD` share: its parameters and fitted attributes, declared once.

:class:`~funksvd.FunkSVD` is assembled from :class:`~funksvd.estimator.training.Training`,
:class:`~funksvd.estimator.recommend.Recommending` and
:class:`~funksvd.estimator.persistence.Persistence`; each reads attributes that the estimator sets.
:class:`EstimatorState` names them with their types (annotations only: nothing is set here), so
that a reader of one part, and the type checker, know what the others provide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..maths.objectives import Objective
    from ..model.factors import Factors
    from .raw import Lookup

__all__ = ["EstimatorState"]


class EstimatorState:
    """The parameters (set by ``__init__``) and fitted attributes (set by ``fit``, ending in ``_``)."""

    # constructor parameters (see FunkSVD)
    n_factors: int
    n_epochs: int
    lr_all: float
    reg_all: float
    rule: Any
    biased: bool
    init_mean: float
    init_std_dev: float
    shuffle: Any
    random_state: Any
    engine: str
    schedule: str
    dtype: Any
    verbose: bool
    lr_bu: float | None
    lr_bi: float | None
    lr_pu: float | None
    lr_qi: float | None
    reg_bu: float | None
    reg_bi: float | None
    reg_pu: float | None
    reg_qi: float | None
    patience: int | None
    min_improvement: float
    feature_epochs: int
    feature_min_epochs: int
    feature_min_improvement: float
    feature_init: float
    feature_trailing: bool
    optimizer: Any
    batch_size: int | None
    decay_rate: float | None
    n_jobs: int

    # fitted attributes
    factors_: Factors
    mu_: float
    global_mean_: float
    rating_range_: tuple[float, float]
    history_: list[dict]
    n_epochs_: int
    best_epoch_: int
    stopped_early_: bool
    # None when fitted on bare Ratings, or not kept (checked where used, hence Any)
    user_ids_: Any  # IdMap or None
    item_ids_: Any  # IdMap or None
    item_titles_: Any  # numpy.ndarray or None
    _train_ratings: Any  # Ratings or None
    _rated: Any  # (indptr, items) or None
    _counts: Any  # (per user, per item) or None

    if TYPE_CHECKING:  # provided by FunkSVD itself
        def get_params(self, deep: bool = True) -> dict: ...

        @classmethod
        def _param_names(cls) -> list[str]: ...

        def _fitted(self) -> Factors: ...

        def _published(self) -> Any: ...

        def _hyper(self, kind: str) -> dict[str, float]: ...

        def _objective(self) -> Objective: ...

        @property
        def _users(self) -> Lookup: ...

        @property
        def _items(self) -> Lookup: ...

        def _rated_items(self, user: int) -> np.ndarray: ...
