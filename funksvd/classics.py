r"""The classic toy problems, embedded, and the quuxlabs article's run reproduced.

Small matrices from the tutorials funksvd reconciles; the numbers are facts of those articles
(see the docs' "Conventions" page), the code is funksvd's own.
"""

from __future__ import annotations

import numpy as np

from .factors import Factors
from .ratings import Ratings
from .sgd import sgd_epoch

__all__ = [
    "QUUXLABS_R",
    "QUUXLABS_PUBLISHED",
    "TF2018_R",
    "quuxlabs_ratings",
    "tf2018_ratings",
    "run_quuxlabs_article",
]

#: Albert Au Yeung's toy matrix (quuxlabs, 2010/2017); 0 means missing.
QUUXLABS_R = np.array(
    [[5, 3, 0, 1], [4, 0, 0, 1], [1, 1, 0, 5], [1, 0, 0, 4], [0, 1, 5, 4]], dtype=np.float64
)
QUUXLABS_R.flags.writeable = False

#: The completed matrix the article prints after its run (random init, so approximate).
QUUXLABS_PUBLISHED = np.array(
    [
        [4.99, 3.00, 3.34, 1.01],
        [4.00, 3.18, 2.98, 1.01],
        [1.02, 0.96, 5.54, 4.97],
        [1.00, 0.60, 4.78, 3.97],
        [1.53, 1.05, 4.94, 4.03],
    ]
)
QUUXLABS_PUBLISHED.flags.writeable = False

#: The 2018 TensorFlow masked-factorisation tutorial's matrix; NaN means missing.
TF2018_R = np.array(
    [[3, 5, np.nan, 2], [4, np.nan, np.nan, 1], [5, 4, np.nan, 1], [1, np.nan, np.nan, 3], [np.nan, 5, 2, 2]]
)
TF2018_R.flags.writeable = False


def quuxlabs_ratings() -> Ratings:
    """The quuxlabs toy matrix as :class:`~funksvd.Ratings` (zeros are missing)."""
    return Ratings.from_dense(QUUXLABS_R, missing=0)


def tf2018_ratings() -> Ratings:
    """The 2018 TensorFlow tutorial's matrix as :class:`~funksvd.Ratings` (NaN is missing)."""
    return Ratings.from_dense(TF2018_R)


def run_quuxlabs_article(K: int = 2, alpha: float = 0.1, beta: float = 0.01, iterations: int = 20,
                         random_state=0, rule: str = "quuxlabs_listing", engine: str = "python"):
    r"""The article's training run on its toy matrix, as its code listing does it.

    Initialisation :math:`P, Q \sim \mathcal N(0, (1/K)^2)`, biases 0,
    :math:`\mu` = mean of the observed (non-zero) entries; each iteration shuffles the observed
    samples and applies ``rule`` (the listing's by default) once to each.

    Returns
    -------
    factors : Factors
        The trained parameters; ``factors.predict`` completes the matrix.
    errors : list of float
        The article's reported "error" after each iteration,
        :math:`\sqrt{\sum_{(u,i)\in\mathcal K} e_{ui}^2}` (a root of a sum, not an RMSE).
    """
    ratings = quuxlabs_ratings()
    rng = np.random.default_rng(random_state)
    factors = Factors.random(
        ratings.n_users, ratings.n_items, K, mu=ratings.mean(), init_std_dev=1.0 / K, random_state=rng
    )
    errors = []
    for _ in range(iterations):
        factors = sgd_epoch(factors, ratings, rule, lr=alpha, reg=beta, order=rng.permutation(len(ratings)),
                            engine=engine)
        e = ratings.values - factors.predict(ratings.users, ratings.items)
        errors.append(float(np.sqrt(np.sum(e * e))))
    return factors, errors


def completed_matrix(factors: Factors) -> np.ndarray:
    """Every cell's prediction, ``n_users x n_items`` (for toy sizes)."""
    users, items = np.indices((factors.n_users, factors.n_items))
    return factors.predict(users, items)
