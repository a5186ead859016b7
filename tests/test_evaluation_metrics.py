"""Ranking metrics (precision, recall, nDCG, MAP at k; coverage) and :func:`evaluate_ranking`.

Oracles: literal hand computations, each written out in the test's docstring or comments
(log2(2) = 1, log2(4) = 2 are exact; log2(3), log2(6) stay symbolic as ``math.log2``), and a
plain Python per-user implementation of the textbook definitions (``reference``) for random
lists. Tolerance: values built from the same few float64 operations in another order agree
to a few ulps; 1e-12 absolute is far below any mistake a metric can make (the smallest
difference between two distinct metric values here is > 1e-3).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from funksvd import Factors, FunkSVD, Ratings
from funksvd.evaluation import (
    coverage,
    evaluate_ranking,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

METRICS = (precision_at_k, recall_at_k, ndcg_at_k, map_at_k)
TOL = 1e-12  # see the module docstring
L3, L6 = math.log2(3), math.log2(6)


def values(recommended, relevant, k):
    return [metric(recommended, relevant, k) for metric in METRICS]


def test_two_hits_in_five_by_hand():
    """Oracle: hand computation. List 1 2 3 4 5, relevant {2, 5, 9}, k = 5: hits at ranks 2 and 5.

    P@5 = 2/5; R@5 = 2/3;
    nDCG@5 = (1/log2 3 + 1/log2 6) / (1/log2 2 + 1/log2 3 + 1/log2 4)   [ideal: min(5, 3) = 3 hits]
           = (1/L3 + 1/L6) / (1 + 1/L3 + 1/2);
    AP@5 = (P@2 + P@5) / min(5, 3) = (1/2 + 2/5) / 3 = 0.3.
    """
    got = values([[1, 2, 3, 4, 5]], [{2, 5, 9}], 5)
    expected = [2 / 5, 2 / 3, (1 / L3 + 1 / L6) / (1 + 1 / L3 + 1 / 2), 0.3]
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_the_cut_off_truncates_the_list():
    """Oracle: hand computation. The same list at k = 2 sees 1 2: one hit at rank 2.

    P@2 = 1/2; R@2 = 1/3; nDCG@2 = (1/L3) / (1 + 1/L3) [ideal min(2, 3) = 2]; AP@2 = P@2 / min(2, 3) = 1/4.
    """
    got = values(np.array([[1, 2, 3, 4, 5]]), [[9, 5, 2]], 2)
    np.testing.assert_allclose(got, [1 / 2, 1 / 3, (1 / L3) / (1 + 1 / L3), 1 / 4], rtol=0, atol=TOL)


@pytest.mark.parametrize("recommended", [[[7, 8]], np.array([[7, 8, -1, -1]]), np.array([[7, 8]])])
def test_fewer_than_k_recommended(recommended):
    """Oracle: hand computation. List 7 8 (then nothing or -1 padding), relevant {8}, k = 4.

    An empty place is a miss: P@4 = 1/4; R@4 = 1; nDCG@4 = (1/L3) / 1 [ideal min(4, 1) = 1 hit];
    AP@4 = P@2 / min(4, 1) = 1/2.
    """
    np.testing.assert_allclose(values(recommended, [[8]], 4), [1 / 4, 1, 1 / L3, 1 / 2], rtol=0, atol=TOL)


def test_no_hits_give_zero():
    """Oracle: hand computation. List 0 1 2, relevant {5}: no hit, every metric 0 (exactly)."""
    assert values([[0, 1, 2]], [[5]], 3) == [0.0, 0.0, 0.0, 0.0]


def test_all_hits_give_one():
    """Oracle: hand computation. List 3 1 2 = relevant {1, 2, 3}, k = 3: every metric 1.

    nDCG: DCG equals the ideal (1 + 1/L3 + 1/2); AP = (1/1 + 2/2 + 3/3) / 3 = 1.
    """
    np.testing.assert_allclose(values([[3, 1, 2]], [{1, 2, 3}], 3), [1, 1, 1, 1], rtol=0, atol=TOL)


def test_more_relevant_items_than_k():
    """Oracle: hand computation. List 0 1, relevant {0, 1, 2, 3}, k = 2: a perfect list of length 2.

    P@2 = 1; R@2 = 2/4; nDCG@2 = 1 (ideal DCG has min(2, 4) = 2 terms);
    AP@2 = (1/1 + 2/2) / min(2, 4) = 1 (ml_metrics.apk convention; dividing by |R| = 4 would give 1/2).
    """
    np.testing.assert_allclose(values([[0, 1]], [[0, 1, 2, 3]], 2), [1, 0.5, 1, 1], rtol=0, atol=TOL)


def test_means_over_users_skip_users_without_relevant_items():
    """Oracle: hand computation. Users: A = the 'two hits in five' case, B = 'fewer than k' at k = 5
    (list 7 8, relevant {8}), C = relevant set empty (skipped, NaN per user).

    B at k = 5: P = 1/5, R = 1, nDCG = 1/L3, AP = 1/2.
    Means over A and B: P = (2/5 + 1/5)/2 = 0.3; R = (2/3 + 1)/2 = 5/6;
    nDCG = ((1/L3 + 1/L6)/(1.5 + 1/L3) + 1/L3)/2; MAP = (0.3 + 0.5)/2 = 0.4.
    """
    recommended = [[1, 2, 3, 4, 5], [7, 8], [1, 2]]
    relevant = [{2, 5, 9}, {8}, set()]
    ndcg_a = (1 / L3 + 1 / L6) / (1.5 + 1 / L3)
    np.testing.assert_allclose(values(recommended, relevant, 5), [0.3, 5 / 6, (ndcg_a + 1 / L3) / 2, 0.4],
                               rtol=0, atol=TOL)
    per_user = precision_at_k(recommended, relevant, 5, per_user=True)
    np.testing.assert_allclose(per_user[:2], [2 / 5, 1 / 5], rtol=0, atol=TOL)
    assert np.isnan(per_user[2])
    with pytest.raises(ValueError, match="no user has a relevant item"):
        recall_at_k([[1, 2]], [[]], 2)


def test_repeated_relevant_items_count_once():
    """Oracle: hand computation. Relevant [4, 4] is the set {4}: list 4 0, k = 2 -> R@2 = 1, AP@2 = 1/1."""
    assert recall_at_k([[4, 0]], [[4, 4]], 2) == 1.0
    assert map_at_k([[4, 0]], [[4, 4]], 2) == 1.0


@pytest.mark.parametrize("recommended, message", [
    ([[1, 2, 1]], "lists item 1 twice"),
    (np.array([[3, -1, 2]]), "item after the padding"),
    ([[0, -2]], "is not an item index"),
    ([[0.5, 1.0]], "integer item indices"),
    (np.array([1, 2]), "one list per user"),
])
@pytest.mark.parametrize("metric", METRICS)
def test_malformed_lists_are_refused(metric, recommended, message):
    """Oracle: the documented error messages (each fault sits within the first k = 3 places)."""
    with pytest.raises(ValueError, match=message):
        metric(recommended, [[1]], 3)


def test_relevant_must_match_the_lists_and_k_be_positive():
    """Oracle: the documented error messages."""
    with pytest.raises(ValueError, match="relevant has 1 entries but recommended has 2 lists"):
        precision_at_k([[0], [1]], [[0]], 1)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        ndcg_at_k([[0]], [[0]], 0)
    with pytest.raises(ValueError, match="not an item index"):
        map_at_k([[0]], [[-3]], 1)


def test_coverage_by_hand():
    """Oracle: hand computation. Lists {0, 1, pad} and {1, 2, 3}, catalogue of 10 items.

    Whole lists: {0, 1, 2, 3} -> 4/10; first item only (k = 1): {0, 1} -> 2/10.
    """
    lists = np.array([[0, 1, -1], [1, 2, 3]])
    assert coverage(lists, 10) == 0.4
    assert coverage(lists, 10, k=1) == 0.2
    assert coverage([[0, 1], [1, 2, 3]], 4) == 1.0
    with pytest.raises(ValueError, match="item 3 is recommended but the catalogue has n_items=3"):
        coverage(lists, 3)


def reference(lists, relevant, k):
    """Textbook definitions, one user at a time, in plain Python (no numpy); None for a skipped user."""
    out = []
    for items, rel in zip(lists, relevant):
        rel = set(rel)
        if not rel:
            out.append(None)
            continue
        top = [i for i in items[:k] if i >= 0]
        gains = [1 if i in rel else 0 for i in top]
        hits = sum(gains)
        dcg = sum(g / math.log2(j + 2) for j, g in enumerate(gains))
        idcg = sum(1 / math.log2(j + 2) for j in range(min(k, len(rel))))
        ap = sum(sum(gains[:j + 1]) / (j + 1) for j, g in enumerate(gains) if g) / min(k, len(rel))
        out.append((hits / k, hits / len(rel), dcg / idcg, ap))
    return out


@pytest.mark.parametrize("seed", range(10))
def test_random_lists_match_the_textbook_definitions(seed):
    """Oracle: ``reference`` above (per-user Python loops over the definitions), on random lists
    of random lengths (some shorter than k, some users without relevant items)."""
    rng = np.random.default_rng(seed)
    n_users, n_items, k = 12, 20, 6
    lists = [rng.permutation(n_items)[:rng.integers(0, 9)].tolist() for _ in range(n_users)]
    relevant = [rng.choice(n_items, rng.integers(0, 8), replace=True).tolist() for _ in range(n_users)]
    relevant[0] = []
    ref = reference(lists, relevant, k)
    for m, metric in enumerate(METRICS):
        per_user = metric(lists, relevant, k, per_user=True)
        for u, r in enumerate(ref):
            if r is None:
                assert np.isnan(per_user[u])
            else:
                assert per_user[u] == pytest.approx(r[m], abs=TOL), (metric.__name__, u)
        assert metric(lists, relevant, k) == pytest.approx(np.mean([r[m] for r in ref if r]), abs=TOL)


# ---- evaluate_ranking -----------------------------------------------------------------------------


def hand_factors() -> Factors:
    """Scores (see tests/test_evaluation_ranking.py): user 0: items 0..3 -> 4.5, 4.5, 3.5, 4.25;
    user 1: 4, 6, 1, 3.25."""
    return Factors(P=[[1.0], [2.0]], Q=[[1.0], [3.0], [-1.0], [0.5]], bu=[0.5, -1.0], bi=[0.0, -2.0, 1.0, 0.25], mu=3.0)


TRAIN = Ratings([0], [0], [4.0], n_users=2, n_items=4)
TEST = Ratings([0, 0, 1], [1, 2, 3], [5.0, 2.0, 4.0], n_users=2, n_items=4)


def test_evaluate_ranking_by_hand():
    """Oracle: hand computation, k = 2.

    Lists (train item 0 excluded for user 0): user 0 -> 1 (4.5), 3 (4.25); user 1 -> 1 (6), 0 (4).
    No threshold: R_0 = {1, 2}, R_1 = {3}.
      user 0: hit at rank 1: P = 1/2, R = 1/2, nDCG = 1 / (1 + 1/L3), AP = (1/1) / min(2, 2) = 1/2.
      user 1: no hit: 0 everywhere.
      means: P = 1/4, R = 1/4, nDCG = 1 / (2 (1 + 1/L3)), MAP = 1/4; coverage {0, 1, 3} = 3/4.
    """
    got = evaluate_ranking(hand_factors(), TRAIN, TEST, k=2)
    expected = {"precision@2": 1 / 4, "recall@2": 1 / 4, "ndcg@2": 1 / (2 * (1 + 1 / L3)), "map@2": 1 / 4,
                "coverage@2": 3 / 4, "n_users": 2, "n_skipped": 0}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=TOL), key


def test_evaluate_ranking_threshold_skips_and_counts_users():
    """Oracle: hand computation, k = 2, same lists as above.

    threshold 4: R_0 = {1} (5 >= 4; item 2 rated 2 is not relevant), R_1 = {3}:
      user 0: P = 1/2, R = 1, nDCG = 1, AP = 1; user 1: 0. Means 1/4, 1/2, 1/2, 1/2; coverage 3/4.
    threshold 4.5: R_1 is empty (4 < 4.5): user 1 skipped and counted; user 0 alone:
      P = 1/2, R = 1, nDCG = 1, MAP = 1; coverage of user 0's list {1, 3} = 2/4.
    """
    got = evaluate_ranking(hand_factors(), TRAIN, TEST, k=2, threshold=4)
    assert [got[m] for m in ("precision@2", "recall@2", "ndcg@2", "map@2", "coverage@2")] == \
        pytest.approx([1 / 4, 1 / 2, 1 / 2, 1 / 2, 3 / 4], abs=TOL)
    assert (got["n_users"], got["n_skipped"]) == (2, 0)
    got = evaluate_ranking(hand_factors(), TRAIN, TEST, k=2, threshold=4.5)
    assert [got[m] for m in ("precision@2", "recall@2", "ndcg@2", "map@2", "coverage@2")] == \
        pytest.approx([1 / 2, 1, 1, 1, 1 / 2], abs=TOL)
    assert (got["n_users"], got["n_skipped"]) == (1, 1)
    with pytest.raises(ValueError, match="no test rating reaches threshold=6"):
        evaluate_ranking(hand_factors(), TRAIN, TEST, k=2, threshold=6)


def test_evaluate_ranking_without_exclusion():
    """Oracle: hand computation. train=None: user 0's list is 0, 1 (tie at 4.5, lower index first);
    R_0 = {1, 2}: a hit at rank 2: P = 1/2, nDCG = (1/L3) / (1 + 1/L3), AP = P@2 / min(2, 2) = (1/2) / 2 = 1/4."""
    got = evaluate_ranking(hand_factors(), None, TEST.subset([0, 1]), k=2)
    assert got["precision@2"] == pytest.approx(1 / 2, abs=TOL)
    assert got["ndcg@2"] == pytest.approx((1 / L3) / (1 + 1 / L3), abs=TOL)
    assert got["map@2"] == pytest.approx(1 / 4, abs=TOL)
    assert (got["n_users"], got["n_skipped"]) == (1, 0)


def test_evaluate_ranking_takes_a_fitted_model():
    """Oracle: the same call on the model's own factors_ (the estimator is only unwrapped)."""
    ratings = Ratings([0, 0, 1, 1, 2], [0, 1, 1, 2, 3], [5.0, 3.0, 4.0, 1.0, 2.0], n_users=3, n_items=5)
    model = FunkSVD(n_factors=2, n_epochs=3, engine="python", random_state=0).fit(ratings)
    test = Ratings([0, 2], [4, 0], [5.0, 4.0], n_users=3, n_items=5)
    assert evaluate_ranking(model, ratings, test, k=3) == evaluate_ranking(model.factors_, ratings, test, k=3)
    with pytest.raises(TypeError, match="fitted estimator with factors_"):
        evaluate_ranking(FunkSVD(), ratings, test)
    with pytest.raises(ValueError, match="test.items\\[0\\] = 4 is out of range"):
        evaluate_ranking(hand_factors(), None, Ratings([0], [4], [5.0], 1, 5))
    with pytest.raises(ValueError, match="train.users\\[0\\] = 2 is out of range"):
        evaluate_ranking(hand_factors(), Ratings([2], [0], [5.0], 3, 1), TEST)
    with pytest.raises(TypeError, match="test must be a funksvd.Ratings"):
        evaluate_ranking(hand_factors(), None, [(0, 1, 5.0)])


from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def ranking_cases(draw):
    """Lists of distinct items (possibly empty or shorter than k) and relevant collections with repeats."""
    n_users, n_items = draw(st.integers(1, 6)), draw(st.integers(1, 12))
    lists = [draw(st.lists(st.integers(0, n_items - 1), unique=True, max_size=n_items)) for _ in range(n_users)]
    relevant = [draw(st.lists(st.integers(0, n_items - 1), max_size=8)) for _ in range(n_users)]
    relevant[draw(st.integers(0, n_users - 1))].append(0)  # at least one user is evaluated
    return lists, relevant, draw(st.integers(1, 8))


@given(case=ranking_cases())
@example(case=([[0, 1, 2]], [[0, 1, 2]], 3))  # all hits
@example(case=([[]], [[0]], 2))  # nothing recommended
def test_metrics_equal_the_textbook_definitions(case):
    """Oracle: ``reference`` (per-user Python loops over the definitions), per user and mean."""
    lists, relevant, k = case
    ref = reference(lists, relevant, k)
    for m, metric in enumerate(METRICS):
        per_user = metric(lists, relevant, k, per_user=True)
        assert [None if np.isnan(v) else pytest.approx(v, abs=TOL) for v in per_user] == \
            [None if r is None else r[m] for r in ref]
        assert metric(lists, relevant, k) == pytest.approx(np.mean([r[m] for r in ref if r]), abs=TOL)
