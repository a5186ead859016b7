"""The facts the "classic tutorials, reproduced" pages (tutorials/classics/) state, pinned.

The pages compute their prose from their runs; these tests pin the few facts they rest on that
do not depend on the run: published numbers, integer arithmetic, and the two pitfalls (the
2018 toy has more free parameters than ratings; the 2019 dense loss fits missing cells as 0).
"""

import numpy as np

from funksvd import OBJECTIVES, Factors, Ratings, train
from funksvd.classics import (
    QUUXLABS_PUBLISHED,
    QUUXLABS_R,
    TF2018_R,
    completed_matrix,
    tf2018_ratings,
)
from funksvd.fullbatch.optimizers import RMSprop


def test_quuxlabs_published_matrix_fits_the_observed_cells_to_0_06():
    """The quuxlabs page: the article's printed matrix is at most 0.06 from an observed rating.

    Oracle: a published number -- the article's completed matrix (REFERENCE section 1), typed
    here again, and the hand-found worst cell: user 4 rated item 2 a 5, printed 4.94.
    """
    printed = np.array([[4.99, 3.00, 3.34, 1.01], [4.00, 3.18, 2.98, 1.01], [1.02, 0.96, 5.54, 4.97],
                        [1.00, 0.60, 4.78, 3.97], [1.53, 1.05, 4.94, 4.03]])
    np.testing.assert_array_equal(QUUXLABS_PUBLISHED, printed)
    observed = QUUXLABS_R > 0
    worst = np.abs(printed - QUUXLABS_R)[observed].max()
    assert np.isclose(worst, 0.06, atol=1e-12)  # |5 - 4.94|, to rounding of the decimals
    assert np.isclose(abs(printed[4, 2] - QUUXLABS_R[4, 2]), worst)


def test_int32_wrap_of_the_reported_dimension_and_the_first_netflix_user_past_it():
    """The 2016 page: -2,007,852,676 is 2,287,114,620 wrapped to int32; Netflix users from 120,849 on overflow.

    Oracle: integer arithmetic by hand: 2**32 - 2,007,852,676 = 2,287,114,620 > 2**31 - 1, and
    120,848 * 17,770 = 2,147,468,960 <= 2,147,483,647 < 2,147,486,730 = 120,849 * 17,770.
    """
    assert np.array(2_287_114_620).astype(np.int32) == -2_007_852_676
    assert 120_848 * 17_770 == 2_147_468_960 <= np.iinfo(np.int32).max < 120_849 * 17_770 == 2_147_486_730
    assert np.iinfo(np.int32).max // 17_770 + 1 == 120_849  # the page's formula


def test_tf2018_toy_is_fitted_exactly_by_a_family_of_completions():
    """The 2018 page: 13 ratings, 14 free parameters; gradient descent fits all 13, the missing cells depend on
    the start.

    Oracle: the data itself (the observed ratings) and a parameter count by hand,
    (5 + 4) * 2 - 2**2 = 14 > 13: one direction is free, and item 2, rated once, takes it
    (its two factors meet one equation). Users 0 and 4 rate items 1 and 3 alike (5 and 2),
    which fixes both users' two factors to the same vector, so each completes the other's
    missing cell: (0, 2) = r(4, 2) = 2 and (4, 0) = r(0, 0) = 3, whatever the start. Two
    starts, the page's lr 0.01 and 5000 steps.
    """
    ratings = tf2018_ratings()
    observed = np.isfinite(TF2018_R)
    assert observed.sum() == 13 and (5 + 4) * 2 - 2 * 2 == 14
    completions = []
    for seed in (2, 8):
        start = Factors.random(5, 4, 2, biased=False, init="uniform", random_state=seed)
        factors, _ = train(start, ratings, objective=OBJECTIVES["tf_masked_2018"], reg=0.0, optimizer="sgd",
                           learning_rate=0.01, n_epochs=5000)
        completions.append(completed_matrix(factors))
    for R_hat in completions:
        np.testing.assert_allclose(R_hat[observed], TF2018_R[observed], atol=1e-3)  # loss ~1e-10 at the end
    for R_hat in completions:
        np.testing.assert_allclose([R_hat[0, 2], R_hat[4, 0]], [2.0, 3.0], atol=1e-3)
    gap = np.abs(completions[0] - completions[1])
    assert gap[1:4, 2].min() > 0.1  # item 2's other missing cells move with the start


def test_keras_dense_loss_predicts_unrated_cells_below_the_lowest_rating():
    """The 2019 page: the MSE over the dense matrix (missing = 0) pushes unrated cells below every real rating.

    Oracle: the minimiser of a cell's squared error against 0 is 0, while the lowest scaled
    rating is 1/5; the same model on the observed ratings only (the control) predicts unrated
    cells inside the rating range. A small random problem, 10% of the cells rated.
    """
    rng = np.random.default_rng(0)
    n_users, n_items = 40, 60
    cells = rng.choice(n_users * n_items, size=240, replace=False)
    users, items = np.divmod(cells, n_items)
    ratings = Ratings(users, items, rng.integers(1, 6, size=240) / 5, n_users, n_items)
    unrated = ~ratings.mask()
    dense = OBJECTIVES["keras_sigmoid_2019"].replace(learn_mu=True)
    medians = {}
    for name, objective in (("dense", dense), ("observed", dense.replace(entries="observed"))):
        start = Factors.random(n_users, n_items, 15, init="glorot", random_state=0)
        factors, _ = train(start, ratings, objective=objective, reg=0.0, optimizer=RMSprop(1e-3, momentum=0.9),
                           n_epochs=500)
        u, i = np.nonzero(unrated)
        medians[name] = float(np.median(objective.predict(factors, u, i)))
    assert medians["dense"] < 0.2 <= medians["observed"]  # 0.2 = the lowest rating, 1 star, scaled
