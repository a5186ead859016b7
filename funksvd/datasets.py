r"""Rating data, under the name the README and tutorials use: everything of :mod:`funksvd.data`.

.. code-block:: python

    from funksvd.datasets import load_movielens, train_test_split
"""

from . import data as _data
from .data import *  # noqa: F401,F403 -- the same public names, one list (funksvd.data.__all__)

__all__ = list(_data.__all__)
