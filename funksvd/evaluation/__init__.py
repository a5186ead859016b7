r"""Evaluation: top-N recommendation, ranking metrics and cross-validation.

.. code-block:: python

    from funksvd.evaluation import top_n
    items, scores = top_n(model.factors_, users, n=10, exclude=train)

Everything here is numpy only.
"""

from .ranking import items_by_user, top_n

__all__ = ["items_by_user", "top_n"]
