r"""The classic toy problems, embedded, and the quuxlabs article's run reproduced.

Small matrices from the tutorials funksvd reconciles; the numbers are facts of those articles
(see the docs' "Conventions" page), the code is funksvd's own.
"""

from __future__ import annotations

import numpy as np

from ..base.log import log
from ..base.rng import check_random_state
from ..model.factors import Factors
from ..fullbatch.stopping import plateau
from ..fullbatch.trainer import train
from ..maths.objectives import OBJECTIVES
from ..model.ratings import Ratings
from ..sgd.steps import sgd_epoch

__all__ = [
    "QUUXLABS_R",
    "QUUXLABS_PUBLISHED",
    "TF2018_R",
    "quuxlabs_ratings",
    "tf2018_ratings",
    "run_quuxlabs_article",
    "completed_matrix",
    "harmonic_problem",
    "plateau",
    "harmonic_experiment",
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
                         random_state=0, rule: str = "quuxlabs_listing", engine: str = "python", init=None):
    r"""The article's training run on its toy matrix, as its code listing does it.

    Initialisation :math:`P, Q \sim \mathcal N(0, (1/K)^2)`, biases 0,
    :math:`\mu` = mean of the observed (non-zero) entries; each iteration shuffles the observed
    samples and applies ``rule`` (the listing's by default) once to each.

    Parameters
    ----------
    K, alpha, beta, iterations
        The article's names: factors, learning rate, regularisation, passes.
    random_state : int or numpy Generator, default 0
        Seed of the initialisation (when ``init`` is not given) and of the shuffles.
    rule : str, default "quuxlabs_listing"
    engine : {"python", "compiled"}
    init : Factors, optional
        Start from these values (5 users x 4 items, ``K`` factors; e.g. the article's own random
        draw) instead of drawing them; no draw is made, the shuffles use ``random_state`` alone.

    Returns
    -------
    factors : Factors
        The trained parameters; ``factors.predict`` completes the matrix.
    errors : list of float
        The article's reported "error" after each iteration,
        :math:`\sqrt{\sum_{(u,i)\in\mathcal K} e_{ui}^2}` (a root of a sum, not an RMSE).
    """
    ratings = quuxlabs_ratings()
    rng = check_random_state(random_state)
    if init is None:
        factors = Factors.random(
            ratings.n_users, ratings.n_items, K, mu=ratings.mean(), init_std_dev=1.0 / K, random_state=rng
        )
    else:
        if not isinstance(init, Factors):
            raise TypeError(f"init must be a funksvd.Factors, got {type(init).__name__}")
        if (init.n_users, init.n_items, init.n_factors) != (ratings.n_users, ratings.n_items, K):
            raise ValueError(f"init is {init.n_users} x {init.n_items} with {init.n_factors} factors; the article "
                             f"needs {ratings.n_users} x {ratings.n_items} with K={K}")
        factors = init
    errors = []
    for _ in range(iterations):
        factors = sgd_epoch(factors, ratings, rule, lr=alpha, reg=beta, order=rng.permutation(len(ratings)),
                            engine=engine)
        e = ratings.values - factors.predict(ratings.users, ratings.items)
        errors.append(float(np.sqrt(np.sum(e * e))))
    return factors, errors


def completed_matrix(factors: Factors) -> np.ndarray:
    """Every cell's prediction, ``n_users x n_items``: :meth:`Factors.full <funksvd.Factors.full>`."""
    return factors.full()


# ---- the 2021 "Funk SVD with GradientTape" tutorial ------------------------------------------------


def harmonic_problem(n: int = 500, k: int = 30, random_state=0, init_std_dev: float = 1.0) -> dict:
    r"""The 2021 tutorial's data: a harmonic-spectrum matrix, its random mask, and the start factors.

    Returns a dict: ``U``, ``V`` (the generating :math:`n \times n` Gaussian matrices),
    ``spectrum`` (:math:`1/(j+1)`), ``M``, ``train`` (boolean mask of the kept cells) and
    ``start`` (unbiased :class:`~funksvd.Factors`, :math:`P, Q \sim \mathcal N(0, \text{init\_std\_dev}^2)`),
    all drawn in that order from ``numpy.random.default_rng(random_state)``. Both
    :func:`harmonic_experiment` and its TensorFlow twin start from it.

    Notes
    -----
    .. math:: M = \sum_{j=0}^{n-1} \frac{1}{j+1}\, u_j v_j^\top = U \operatorname{diag}\Big(\frac{1}{j+1}\Big) V^\top

    :math:`0.7\,n^2` cells are drawn with replacement; the distinct cells drawn (about
    :math:`1 - e^{-0.7} \approx 50\%`) are kept for training, the others are the validation set.
    """
    rng = check_random_state(random_state)
    U = rng.standard_normal((n, n))
    V = rng.standard_normal((n, n))
    spectrum = 1.0 / np.arange(1, n + 1)
    M = (U * spectrum) @ V.T
    drawn = np.zeros((n, n), dtype=bool)
    n_draws = int(0.7 * n * n)
    drawn[rng.integers(0, n, n_draws), rng.integers(0, n, n_draws)] = True
    start = Factors.random(n, n, k, biased=False, init_std_dev=init_std_dev, random_state=rng)
    return {"U": U, "V": V, "spectrum": spectrum, "M": M, "train": drawn, "start": start}


def masked_mse(factors: Factors, M: np.ndarray, W: np.ndarray) -> float:
    r""":math:`\frac{1}{\sum W}\sum_{u,i} W_{ui}\,(M - P Q^\top)_{ui}^2`: the MSE where :math:`W` holds."""
    E = (M - factors.P @ factors.Q.T)[W]
    return float(np.mean(E * E))


def harmonic_experiment(n=500, k=30, random_state=0, max_steps=40_000, optimizer="adam", learning_rate=0.01,
                        check_every=1000, window=5, tolerance=0.01, init_std_dev=1.0, monitor="validation",
                        verbose=False):
    r"""The 2021 "Funk SVD with GradientTape" tutorial, run on the hand-derived gradients (:func:`funksvd.train`).

    Parameters
    ----------
    n, k : int, default 500 and 30
        :math:`M` is :math:`n \times n`; :math:`k` factors are fitted.
    random_state : int, default 0
        Seed of :func:`harmonic_problem` (data and start).
    max_steps : int, default 40000
        Cap on the number of full-batch steps.
    optimizer : {"adam", "sgd", "rmsprop"} or funksvd.fullbatch.optimizers.Optimizer, default "adam"
        The tutorial compares plain gradient descent (``"sgd"``, learning rate 0.001) with Adam
        (learning rate 0.01).
    learning_rate : float, default 0.01
    check_every, window, tolerance : default 1000, 5, 0.01
        Every ``check_every`` steps record the monitored MSE; stop on :func:`~funksvd.fullbatch.stopping.plateau`.
    init_std_dev : float, default 1.0
    monitor : {"validation", "train"}, default "validation"
        The tutorial stops on the validation MSE (the held-out cells).
    verbose : bool, default False

    Returns
    -------
    dict
        ``val_mse`` (the tutorial reports about 0.032), ``train_mse``, ``full_mse`` (every cell),
        ``steps``, ``seconds``, ``n_train``, ``n_validation``, ``tail`` (see Notes), ``checks``
        (the recorded MSEs), the fitted ``factors`` and the generating ``U``, ``V``.

    Notes
    -----
    The objective is ``OBJECTIVES["tf2_mse_2021"]``,
    :math:`L = \frac{1}{|\mathcal K|}\sum_{(u,i)\in\mathcal K}(M_{ui} - p_u^\top q_i)^2`. The terms
    :math:`j \ge k` of the generating sum carry a per-cell variance, the tail variance
    :math:`\tau = \sum_{j=k}^{n-1}(j+1)^{-2} \approx 1/k` (``tail``). It is a scale, not a floor:
    :math:`u_j, v_j` are Gaussian, not orthonormal, so that sum is not the SVD of :math:`M`, and
    the best rank-:math:`k` matrix (Eckart-Young: the truncated SVD of the complete :math:`M`)
    comes lower, a validation MSE of about 0.026 against :math:`\tau \approx 0.031` for
    :math:`n = 500` (:doc:`/derivations/not_svd`). The
    learned :math:`P, Q` are not :math:`U, V`: only :math:`P Q^\top` is determined, up to an
    invertible change of basis. :func:`funksvd.autodiff.harmonic_experiment` is the TensorFlow twin.
    """
    if monitor not in ("validation", "train"):
        raise ValueError(f"monitor={monitor!r}; expected 'validation' or 'train'")
    problem = harmonic_problem(n, k, random_state, init_std_dev)
    M, kept = problem["M"], problem["train"]
    users, items = np.nonzero(kept)
    ratings = Ratings(users, items, M[users, items], n, n)
    watched = kept if monitor == "train" else ~kept
    checks = []

    def stop(epoch, loss, get_factors):
        if epoch % check_every:
            return False
        checks.append(masked_mse(get_factors(), M, watched))
        log(f"step {epoch}: {monitor} mse {checks[-1]:.5f}", verbose)
        return plateau(checks, window, tolerance)

    factors, history = train(problem["start"], ratings, objective=OBJECTIVES["tf2_mse_2021"], reg=0.0,
                             optimizer=optimizer, learning_rate=learning_rate, n_epochs=max_steps, callback=stop)
    return {
        "val_mse": masked_mse(factors, M, ~kept),
        "train_mse": masked_mse(factors, M, kept),
        "full_mse": masked_mse(factors, M, np.ones_like(kept)),
        "steps": len(history),
        "seconds": float(sum(h["seconds"] for h in history)),
        "n_train": int(kept.sum()),
        "n_validation": int((~kept).sum()),
        "tail": float(np.sum(problem["spectrum"][k:] ** 2)),
        "checks": checks,
        "factors": factors,
        "U": problem["U"],
        "V": problem["V"],
    }
