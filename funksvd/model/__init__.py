r"""The data model: ratings, factors, raw-id maps and the one vectorised prediction.

.. math:: \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i
"""

from .factors import BLOCKS, Factors
from .ratings import Ratings

__all__ = ["BLOCKS", "Factors", "Ratings"]
