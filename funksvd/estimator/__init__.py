"""The :class:`FunkSVD` estimator: parameters and prediction (:mod:`.model`), training
(:mod:`.training`), array-level prediction (:mod:`.prediction`), parameter checks (:mod:`.params`)."""

from ..base.errors import NotFittedError
from .model import ENGINES, SCHEDULES, FunkSVD
from .als import ALS
from .svdpp import SVDpp
from .training import DIVERGENCE_FACTOR, SHUFFLE_BLOCK

__all__ = ["FunkSVD", "ALS", "SVDpp", "ENGINES", "SCHEDULES", "DIVERGENCE_FACTOR", "SHUFFLE_BLOCK", "NotFittedError"]
