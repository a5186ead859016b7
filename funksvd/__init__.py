r"""funksvd: matrix factorisation for recommender systems, derived by hand and proved.

.. math:: \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i

The classic per-rating update rules (:data:`RULES`), full-batch objectives with hand-derived
gradients (:class:`Objective`), SGD that runs them (:func:`sgd_step`, :func:`sgd_epoch`) and an
estimator that trains at compiled speed (:class:`FunkSVD`); full-batch training on the hand
gradients with SGD, Adam or RMSprop (:func:`train`).
Importing funksvd imports numpy only; TensorFlow lives in :mod:`funksvd.autodiff` and numba in
:mod:`funksvd.sgd.compiled`, both loaded on first use.

The layers, lowest first (a module imports only from its own folder and the ones above it)::

    base/        errors, validation, Frozen containers, random_state, RMSE/MAE, logging, optional imports
    model/       Ratings, Factors and the one vectorised prediction, IdMap (raw ids)
    data/        Dataset, loaders (MovieLens, delimited), download, splits, synthetic data
    maths/       per-rating rules (RULES), objectives with hand gradients (OBJECTIVES), entries, symmetry
    sgd/         sgd_step, sgd_epoch, the epoch loop, the numba engine, visiting orders, DSGD, Funk's schedule
    fullbatch/   train on the hand gradients, Keras-faithful SGD/Adam/RMSprop in numpy
    classics/    the classic tutorials' toy problems and published outputs
    autodiff/    the TensorFlow twin (the only place TensorFlow is imported)
    check/       check_gradients: finite differences and TensorFlow against the hand gradients
    evaluation/  accuracy, top-N lists, ranking metrics, cross-validation
    estimator/   FunkSVD: parameters, training, recommendations, persistence
    sklearn.py   FunkSVDRegressor for scikit-learn (imports scikit-learn)
    cli/         the command line
"""

from ._version import __version__ as __version__
from .data import Dataset
from .base.errors import DivergenceError, NotFittedError, UnknownIdError
from .check import derive
from .estimator import ALS, FunkSVD, SVDpp
from .evaluation import cross_validate
from .model.factors import BLOCKS, Factors
from .fullbatch.trainer import train
from .evaluation.accuracy import mae, rmse
from .maths.objectives import OBJECTIVES, Objective, gradients, loss
from .model.ratings import Ratings
from .maths.rules import RULES, Rule
from .sgd.steps import sgd_epoch, sgd_step

__all__ = [
    "ALS",
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
    "SVDpp",
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
