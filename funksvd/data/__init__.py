r"""Rating data: raw ids and their indices, MovieLens and delimited files, splits, synthetic data.

.. code-block:: python

    from funksvd.data import Dataset, load_movielens, train_test_split, leave_k_out
    data = load_movielens("ml-100k")                       # a release name, a folder, or a zip
    data = Dataset.from_frame(df, user="userId", item="movieId", rating="rating")
    train, test = train_test_split(data, test_size=0.2, random_state=0)  # Datasets: raw ids, titles kept
    train, test = train_test_split(data.ratings, test_size=0.2, random_state=0)  # bare Ratings (indices)

Modules: :mod:`~funksvd.data.dataset` (the :class:`Dataset`, ``from_frame``, ``from_arrays``),
:mod:`~funksvd.data.movielens` (the MovieLens layouts), :mod:`~funksvd.data.download`
(verified, cached downloads), :mod:`~funksvd.data.delimited` (generic text files),
:mod:`~funksvd.data.splits`, :mod:`~funksvd.data.synthetic`, and :mod:`~funksvd.data.text`
(the parsing all loaders share). Nothing here imports pandas; plain numpy throughout.
"""

from .dataset import Dataset
from .delimited import load_triples
from .download import RELEASES, fetch_movielens
from .local import example_dataset, find_movielens
from .movielens import MOVIELENS_GENRES, load_movielens
from .splits import kfold, leave_k_out, train_test_split
from .synthetic import synthetic_netflix

__all__ = [
    "MOVIELENS_GENRES",
    "RELEASES",
    "Dataset",
    "example_dataset",
    "fetch_movielens",
    "find_movielens",
    "kfold",
    "leave_k_out",
    "load_movielens",
    "load_triples",
    "synthetic_netflix",
    "train_test_split",
]
