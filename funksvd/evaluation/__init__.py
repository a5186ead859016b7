r"""Evaluation: top-N recommendation, ranking metrics and cross-validation.

.. code-block:: python

    from funksvd import FunkSVD
    from funksvd.evaluation import cross_validate, top_n
    items, scores = top_n(model.factors_, users, n=10, exclude=train)
    results = cross_validate(FunkSVD(random_state=0), data, cv=5, measures=("rmse", "ndcg@10"))

Everything here is numpy only.
"""

from .cross_validation import CrossValidation, cross_validate
from .ranking_metrics import coverage, evaluate_ranking, map_at_k, ndcg_at_k, precision_at_k, recall_at_k
from .top_n import items_by_user, top_n

__all__ = [
    "CrossValidation",
    "cross_validate",
    "coverage",
    "evaluate_ranking",
    "items_by_user",
    "map_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "top_n",
]
