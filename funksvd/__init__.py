r"""funksvd: matrix factorisation for recommender systems, derived by hand and proved.

.. math:: \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i

The classic per-rating update rules (:data:`RULES`), full-batch objectives with hand-derived
gradients (:class:`Objective`), SGD that runs them (:func:`sgd_step`, :func:`sgd_epoch`) and an
estimator that trains at compiled speed (:class:`FunkSVD`); full-batch training on the hand
gradients with SGD, Adam or RMSprop (:func:`train`).
Importing funksvd imports numpy only; TensorFlow lives in :mod:`funksvd.autodiff` and numba in
:mod:`funksvd.sgd.compiled`, both loaded on first use.
"""

from ._version import __version__ as __version__
from .data import Dataset
from .base.errors import DivergenceError, NotFittedError, UnknownIdError
from .check import derive
from .estimator import FunkSVD
from .evaluation import cross_validate
from .model.factors import BLOCKS, Factors
from .fullbatch.trainer import train
from .evaluation.accuracy import mae, rmse
from .maths.objectives import OBJECTIVES, Objective, gradients, loss
from .model.ratings import Ratings
from .maths.rules import RULES, Rule
from .sgd.steps import sgd_epoch, sgd_step

__all__ = [
    "BLOCKS",
    "Dataset",
    "DivergenceError",
    "Factors",
    "FunkSVD",
    "NotFittedError",
    "OBJECTIVES",
    "Objective",
    "RULES",
    "Ratings",
    "Rule",
    "UnknownIdError",
    "cross_validate",
    "derive",
    "gradients",
    "loss",
    "mae",
    "rmse",
    "sgd_epoch",
    "sgd_step",
    "train",
]


def __getattr__(name: str):
    """``funksvd.autodiff`` on first access (PEP 562), so that ``import funksvd`` never imports TensorFlow."""
    if name == "autodiff":
        import importlib

        return importlib.import_module(".autodiff", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
