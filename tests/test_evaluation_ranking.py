"""Top-N recommendation from factors (:func:`funksvd.evaluation.top_n`).

Oracles: literal hand computations of the scores :math:`\\mu + b_u + b_i + p_u^\\top q_i`
written out below, and a brute-force full sort (Python ``sorted`` on ``(-score, item)``) of
every item's :meth:`Factors.predict`, with integer factors so that both computations are
exact and ties are plentiful.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Factors, Ratings
from funksvd.evaluation import items_by_user, top_n


def hand_factors() -> Factors:
    """Two users, four items, one factor; scores worked out in the tests."""
    return Factors(P=[[1.0], [2.0]], Q=[[1.0], [3.0], [-1.0], [0.5]], bu=[0.5, -1.0], bi=[0.0, -2.0, 1.0, 0.25], mu=3.0)


def test_scores_and_order_match_a_hand_computation():
    """Oracle: literal hand computation.

    user 0: mu + bu = 3.5; s = 3.5 + bi + 1*q
        item 0: 3.5 + 0    + 1    = 4.5
        item 1: 3.5 - 2    + 3    = 4.5
        item 2: 3.5 + 1    - 1    = 3.5
        item 3: 3.5 + 0.25 + 0.5  = 4.25
      -> order by score, ties by lower index: 0 (4.5), 1 (4.5), 3 (4.25), 2 (3.5)
    user 1: mu + bu = 2.0; s = 2 + bi + 2*q
        item 0: 2 + 0    + 2 = 4
        item 1: 2 - 2    + 6 = 6
        item 2: 2 + 1    - 2 = 1
        item 3: 2 + 0.25 + 1 = 3.25
      -> 1 (6), 0 (4), 3 (3.25), 2 (1)
    """
    items, scores = top_n(hand_factors(), [0, 1], n=3)
    np.testing.assert_array_equal(items, [[0, 1, 3], [1, 0, 3]])
    np.testing.assert_array_equal(scores, [[4.5, 4.5, 4.25], [6.0, 4.0, 3.25]])  # dyadic: exact
    assert items.dtype == np.int64 and scores.dtype == np.float64


def test_a_scalar_user_gives_one_list():
    """Oracle: the hand computation above (user 1: items 1, 0 with scores 6, 4)."""
    items, scores = top_n(hand_factors(), 1, n=2)
    np.testing.assert_array_equal(items, [1, 0])
    np.testing.assert_array_equal(scores, [6.0, 4.0])


def test_no_users_give_empty_lists():
    """Oracle: shapes by definition: zero users -> a (0, n) array of each kind."""
    items, scores = top_n(hand_factors(), [], n=3)
    assert items.shape == scores.shape == (0, 3) and items.dtype == np.int64


def test_ties_at_the_cut_go_to_the_lower_item_index():
    """Oracle: hand computation. Unbiased, one factor, p = 1: the scores are q = [1, 2, 2, 2, 0, 2].

    The best is item 1, 2, 3 or 5 (all 2); with n=2 the lower indices 1 and 2 must win, whatever
    order argpartition leaves them in; n=5 takes all four 2s (1, 2, 3, 5) and then item 0 (1).
    """
    factors = Factors(P=[[1.0]], Q=[[1.0], [2.0], [2.0], [2.0], [0.0], [2.0]])
    for n, expected in [(1, [1]), (2, [1, 2]), (3, [1, 2, 3]), (5, [1, 2, 3, 5, 0]), (6, [1, 2, 3, 5, 0, 4])]:
        items, _ = top_n(factors, [0], n=n)
        np.testing.assert_array_equal(items[0], expected, err_msg=f"n={n}")


def test_excluded_items_never_appear_and_short_lists_are_padded():
    """Oracle: hand computation on :func:`hand_factors`.

    user 0 rated items 0 and 1 (item 0 twice: excluded once, not twice); left: 3 (4.25), 2 (3.5),
    then padding (-1, -inf) up to n=4. user 1 rated nothing: 1, 0, 3, 2 as before.
    """
    train = Ratings([0, 0, 0], [0, 1, 0], [5.0, 4.0, 5.0], n_users=2, n_items=4)
    items, scores = top_n(hand_factors(), [0, 1], n=4, exclude=train)
    np.testing.assert_array_equal(items, [[3, 2, -1, -1], [1, 0, 3, 2]])
    np.testing.assert_array_equal(scores, [[4.25, 3.5, -np.inf, -np.inf], [6.0, 4.0, 3.25, 1.0]])


def test_n_beyond_the_catalogue_is_padded():
    """Oracle: hand computation; 4 items, n=6 -> the 4 in order (user 1: 1, 0, 3, 2), then two pads."""
    items, scores = top_n(hand_factors(), [1], n=6)
    np.testing.assert_array_equal(items, [[1, 0, 3, 2, -1, -1]])
    np.testing.assert_array_equal(scores[0, 4:], [-np.inf, -np.inf])


def test_candidates_restrict_the_items():
    """Oracle: hand computation; user 1 among items {2, 3, 0} (given unordered): 0 (4), 3 (3.25), 2 (1)."""
    factors = hand_factors()
    for candidates in ([2, 3, 0], np.array([True, False, True, True])):
        items, scores = top_n(factors, [1], n=3, candidates=candidates)
        np.testing.assert_array_equal(items, [[0, 3, 2]])
        np.testing.assert_array_equal(scores, [[4.0, 3.25, 1.0]])
    # user 0 with candidates {1, 2} and item 1 excluded: only item 2, then padding
    train = Ratings([0], [1], [5.0], n_users=2, n_items=4)
    items, _ = top_n(factors, [0], n=2, candidates=[1, 2], exclude=train)
    np.testing.assert_array_equal(items, [[2, -1]])


def brute_force(factors: Factors, user: int, n: int, banned=()) -> list[int]:
    """Every item's predict(), sorted by (-score, item) in plain Python, banned items removed."""
    scores = factors.predict(np.full(factors.n_items, user), np.arange(factors.n_items))
    ranked = sorted((i for i in range(factors.n_items) if i not in banned), key=lambda i: (-scores[i], i))
    return ranked[:n] + [-1] * max(0, n - len(ranked))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("batch_size", [1, 3, None])
def test_equals_a_brute_force_sort_with_many_ties(seed, batch_size):
    """Oracle: brute-force full sort of Factors.predict with the tie rule written out.

    Small integer factors make every score an exact small integer in both computations (so
    equality is exact) and make ties common; batch sizes 1 and 3 (7 users) check that the
    batching changes nothing.
    """
    rng = np.random.default_rng(seed)
    n_users, n_items = 7, 11
    factors = Factors(rng.integers(-2, 3, (n_users, 2)), rng.integers(-2, 3, (n_items, 2)),
                      rng.integers(-1, 2, n_users), rng.integers(-1, 2, n_items), mu=3.0)
    train = Ratings(rng.integers(0, n_users, 25), rng.integers(0, n_items, 25), np.ones(25), n_users, n_items)
    users = np.array([6, 0, 3, 3, 5, 1, 2])  # unordered, with a repeat
    for n in (1, 4, 11):
        items, scores = top_n(factors, users, n=n, exclude=train, batch_size=batch_size)
        for row, u in enumerate(users):
            banned = set(train.items[train.users == u].tolist())
            expected = brute_force(factors, u, n, banned)
            assert items[row].tolist() == expected, (n, u)
            real = np.array(expected) >= 0
            np.testing.assert_array_equal(scores[row][real], factors.predict(u, np.array(expected)[real]))
            assert np.all(scores[row][~real] == -np.inf)


def test_items_by_user_is_a_csr_of_the_ratings():
    """Oracle: literal. Ratings (u, i): (2,5) (0,1) (2,3) (0,4); user 1 has none, user 3 has none."""
    ratings = Ratings([2, 0, 2, 0], [5, 1, 3, 4], np.ones(4), n_users=3, n_items=6)
    indptr, items = items_by_user(ratings, n_users=4)
    np.testing.assert_array_equal(indptr, [0, 2, 2, 4, 4])
    np.testing.assert_array_equal(items, [1, 4, 5, 3])


@pytest.mark.parametrize("call, message", [
    (lambda f: top_n(f, [2]), "users\\[0\\] = 2 is out of range"),
    (lambda f: top_n(f, [0.0]), "integer user indices"),
    (lambda f: top_n(f, [0], n=0), "n must be a positive integer"),
    (lambda f: top_n(f, [0], candidates=[1, 1]), "lists item 1 more than once"),
    (lambda f: top_n(f, [0], candidates=[4]), "candidates\\[0\\] = 4 is out of range"),
    (lambda f: top_n(f, [0], candidates=np.array([True, False])), "one entry per item"),
    (lambda f: top_n(f, [0], exclude=Ratings([0], [7], [1.0], 1, 8)), "exclude.items\\[0\\] = 7 is out of range"),
    (lambda f: top_n(f, [0], batch_size=0), "batch_size must be a positive integer"),
])
def test_bad_input_is_refused_with_a_clear_message(call, message):
    """Oracle: the documented error messages."""
    with pytest.raises(ValueError, match=message):
        call(hand_factors())


def test_overflowing_scores_are_refused():
    """Oracle: 1e200 * 1e200 overflows float64 to inf; an inf score must not rank silently."""
    with pytest.raises(ValueError, match="too large for float64"):
        top_n(Factors([[1e200]], [[1e200], [1.0]]), [0])


# ---- property: any shape, exclusions, candidates and batch size -------------------------------------

from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

SMALL_INT = st.integers(-2, 2).map(float)  # exact scores, frequent ties


@st.composite
def cases(draw):
    """Integer-valued factors, optional exclusions and candidates, a list length and a batch size."""
    n_users, n_items, k = draw(st.integers(1, 6)), draw(st.integers(1, 9)), draw(st.integers(1, 3))
    biased = draw(st.booleans())
    factors = Factors(draw(arrays(np.float64, (n_users, k), elements=SMALL_INT)),
                      draw(arrays(np.float64, (n_items, k), elements=SMALL_INT)),
                      draw(arrays(np.float64, n_users, elements=SMALL_INT)) if biased else None,
                      draw(arrays(np.float64, n_items, elements=SMALL_INT)) if biased else None,
                      mu=draw(st.sampled_from([0.0, 3.0])))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1)), max_size=20))
    exclude = Ratings(*zip(*pairs), np.ones(len(pairs)), n_users, n_items) if pairs else None
    candidates = draw(st.none() | st.lists(st.integers(0, n_items - 1), unique=True))
    return factors, exclude, candidates, draw(st.integers(1, 11)), draw(st.none() | st.integers(1, 4))


@given(case=cases())
@example(case=(Factors(np.zeros((3, 2)), np.zeros((5, 2))), None, None, 3, 2))  # every score ties
@example(case=(Factors(np.ones((2, 1)), np.ones((3, 1))), Ratings([0, 0, 0, 1], [0, 1, 2, 1], np.ones(4)),
               [], 2, None))  # no candidates at all
def test_top_n_equals_the_brute_force_sort(case):
    """Oracle: brute-force full sort of Factors.predict by (-score, item) in plain Python (exact
    scores, as the factors are small integers), restricted to the candidates, exclusions removed."""
    factors, exclude, candidates, n, batch_size = case
    users = np.arange(factors.n_users)
    items, scores = top_n(factors, users, n=n, exclude=exclude, candidates=candidates, batch_size=batch_size)
    allowed = set(range(factors.n_items)) if candidates is None else set(candidates)
    for u in users:
        banned = set(range(factors.n_items)) - allowed
        if exclude is not None:
            banned |= set(exclude.items[exclude.users == u].tolist())
        expected = brute_force(factors, u, n, banned)
        assert items[u].tolist() == expected
        real = np.array(expected) >= 0
        np.testing.assert_array_equal(scores[u][real], factors.predict(u, np.array(expected)[real]))
        assert np.all(scores[u][~real] == -np.inf)


# ---- pairs_in, the relevant items without a loop, progress (review findings 8, 12) -------------------------


@pytest.mark.parametrize("seed", range(5))
def test_pairs_in_equals_set_membership(seed):
    """Oracle: Python set membership of (user, item) tuples; repeated pairs on both sides."""
    from funksvd.evaluation.top_n import pairs_in

    rng = np.random.default_rng(seed)
    ref = Ratings(rng.integers(0, 6, 40), rng.integers(0, 7, 40), np.ones(40), 6, 7)
    asked = Ratings(rng.integers(0, 6, 30), rng.integers(0, 7, 30), np.ones(30), 6, 7)
    known = set(zip(ref.users.tolist(), ref.items.tolist()))
    expected = [(u, i) in known for u, i in zip(asked.users.tolist(), asked.items.tolist())]
    assert pairs_in(asked, ref).tolist() == expected
    assert pairs_in(asked, asked).all()
    one = Ratings([5], [6], [1.0], 6, 7)
    expected = [(u, i) == (5, 6) for u, i in zip(asked.users.tolist(), asked.items.tolist())]
    assert pairs_in(asked, one).tolist() == expected


@pytest.mark.parametrize("seed", range(5))
def test_relevant_pairs_equal_the_per_user_sets(seed):
    """Oracle: the per-user loop it replaces, with Python sets (distinct items, ascending)."""
    from funksvd.evaluation.ranking_metrics import _relevant_pairs

    rng = np.random.default_rng(seed)
    test = Ratings(rng.integers(0, 9, 50), rng.integers(0, 8, 50), np.ones(50), 12, 8)
    users, indptr, items = _relevant_pairs(test)
    by_user = {}
    for u, i in zip(test.users.tolist(), test.items.tolist()):
        by_user.setdefault(u, set()).add(i)
    assert users.tolist() == sorted(by_user)
    assert [items[indptr[j]:indptr[j + 1]].tolist() for j in range(len(users))] == [sorted(by_user[u]) for u in users]


def test_top_n_and_evaluate_ranking_show_progress_only_when_asked(capsys):
    """Oracle: tqdm's bar on stderr with the unit "user" when verbose, nothing otherwise."""
    from funksvd.evaluation import evaluate_ranking

    f = hand_factors()
    test = Ratings([0, 1], [0, 1], [5.0, 5.0], f.n_users, f.n_items)
    evaluate_ranking(f, None, test, k=1)
    assert capsys.readouterr().err == ""
    evaluate_ranking(f, None, test, k=1, verbose=True)
    assert "user" in capsys.readouterr().err
