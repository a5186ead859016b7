r"""Rating data, under the name the README and tutorials use: see :mod:`funksvd.data`.

.. code-block:: python

    from funksvd.datasets import load_movielens, train_test_split
"""

from .data import (
    MOVIELENS_GENRES,
    RELEASES,
    Dataset,
    fetch_movielens,
    kfold,
    leave_k_out,
    load_movielens,
    load_triples,
    synthetic_netflix,
    train_test_split,
)

__all__ = [
    "MOVIELENS_GENRES",
    "RELEASES",
    "Dataset",
    "fetch_movielens",
    "kfold",
    "leave_k_out",
    "load_movielens",
    "load_triples",
    "synthetic_netflix",
    "train_test_split",
]
