r"""Evaluation: top-N recommendation, ranking metrics and cross-validation.

.. code-block:: python

    from funksvd.evaluation import top_n
    items, scores = top_n(model.factors_, users, n=10, exclude=train)

Everything here is numpy only.
"""

from .metrics import coverage, evaluate_ranking, map_at_k, ndcg_at_k, precision_at_k, recall_at_k
from .ranking import items_by_user, top_n

__all__ = [
    "coverage",
    "evaluate_ranking",
    "items_by_user",
    "map_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "top_n",
]
