"""``funksvd.SVDpp``: seeds, engines, the functional epochs, save/load, unknown ids, fold-in, Surprise.

Oracles: a second fit (bit-identical seeds); the Python engine (same source); the functional
``svdpp_epoch`` loop from the same start; ``svdpp_predict`` of the objective module; the hand
gradient of the SVD++ loss (proved by finite differences and TensorFlow) at the folded-in user;
Surprise's own ``SVDpp`` when scikit-surprise is installed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import funksvd
from funksvd import Factors, FunkSVD, Ratings, SVDpp
from funksvd.base.errors import InputError, UnknownIdError
from funksvd.data import Dataset
from funksvd.maths.svdpp import Implicit
from funksvd.maths.svdpp_objective import svdpp_gradients, svdpp_predict
from funksvd.sgd.svdpp_engine import svdpp_epoch


def ratings_of(rng, n_users=12, n_items=15, density=0.4):
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True
    mask[rng.integers(0, n_users, n_items), np.arange(n_items)] = True
    users, items = np.nonzero(mask)
    order = rng.permutation(len(users))
    return Ratings(users[order], items[order], rng.integers(1, 6, len(users)).astype(float), n_users, n_items)


def arrays(model):
    f = model.factors_
    return (f.P, f.Q, f.bu, f.bi, model.y_)


def test_exported():
    """``funksvd.SVDpp`` is the estimator, with Surprise's signature and defaults (oracle: scikit-surprise 1.1.5's)."""
    assert funksvd.SVDpp is SVDpp
    params = SVDpp().get_params()
    surprise = {"n_factors": 20, "n_epochs": 20, "init_mean": 0, "init_std_dev": 0.1, "lr_all": 0.007,
                "reg_all": 0.02, "random_state": None, "verbose": False, "cache_ratings": False}
    surprise.update((f"{kind}_{block}", None) for kind in ("lr", "reg") for block in ("bu", "bi", "pu", "qi", "yj"))
    assert {k: params[k] for k in surprise} == surprise
    assert repr(SVDpp(n_factors=5)) == "SVDpp(n_factors=5)"


@pytest.mark.parametrize("variant", ["per_rating", "lazy", "cached"])
def test_same_seed_bit_identical(rng, variant):
    """Oracle: a second fit with the same random_state; another seed differs."""
    R = ratings_of(rng)
    a = SVDpp(n_factors=4, n_epochs=3, random_state=7, variant=variant, shuffle=True).fit(R)
    b = SVDpp(n_factors=4, n_epochs=3, random_state=7, variant=variant, shuffle=True).fit(R)
    c = SVDpp(n_factors=4, n_epochs=3, random_state=8, variant=variant, shuffle=True).fit(R)
    for x, y in zip(arrays(a), arrays(b)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.y_, c.y_)


@pytest.mark.parametrize("variant", ["per_rating", "lazy", "cached"])
def test_engines_agree_and_equal_the_functional_epochs(rng, variant):
    """Oracles: the Python engine (1e-12, fastmath reassociation) and svdpp_epoch from the same start (exact)."""
    R = ratings_of(rng)
    start = Factors.random(R.n_users, R.n_items, 4, mu=R.mean(), random_state=1)
    Y = np.random.default_rng(2).normal(0, 0.1, (R.n_items, 4))
    lr = {"P": 0.01, "Q": 0.02, "bu": 0.005, "bi": 0.007, "Y": 0.015}
    reg = {"P": 0.03, "Q": 0.02, "bu": 0.01, "bi": 0.05, "Y": 0.04}
    kw = {"n_factors": 4, "n_epochs": 4, "variant": variant,
          "lr_pu": 0.01, "lr_qi": 0.02, "lr_bu": 0.005, "lr_bi": 0.007,
              "lr_yj": 0.015, "reg_pu": 0.03, "reg_qi": 0.02, "reg_bu": 0.01, "reg_bi": 0.05, "reg_yj": 0.04}
    py = SVDpp(engine="python", **kw).fit(R, init=(start, Y))
    co = SVDpp(engine="compiled", **kw).fit(R, init=(start, Y))
    for x, y in zip(arrays(py), arrays(co)):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    F, Yf = start, Y
    for _ in range(4):
        F, Yf = svdpp_epoch(F, Yf, R, variant=variant, lr=lr, reg=reg)
    for x, y in zip(arrays(py), (F.P, F.Q, F.bu, F.bi, Yf)):
        np.testing.assert_array_equal(x, y)


def test_predict_is_the_svdpp_prediction_and_unknown_ids(rng):
    """Oracle: svdpp_predict (the objective module's formula); unknown ids raise, or get Surprise's baseline."""
    R = ratings_of(rng)
    raw_users, raw_items = np.array([f"u{u}" for u in R.users]), np.array([f"i{i}" for i in R.items])
    data = Dataset.from_arrays(raw_users, raw_items, R.values)
    model = SVDpp(n_factors=3, n_epochs=2, random_state=0).fit(data)
    users, items = data.ratings.users, data.ratings.items
    got = model.predict(data.raw_user(users), data.raw_item(items))
    want = svdpp_predict(model.factors_, model.y_, model.implicit_, users, items)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    with pytest.raises(UnknownIdError):
        model.predict(["u1"], ["nobody"])
    f = model.factors_
    u = data.user_index("u1")
    assert model.predict("u1", "nobody", unknown="baseline") == pytest.approx(f.mu + f.bu[u], rel=1e-15)
    assert model.predict("nobody", "nothing", unknown="baseline") == pytest.approx(f.mu, rel=1e-15)


def test_save_load_roundtrip_and_kind(rng, tmp_path):
    """Oracle: the model before saving (bit for bit); the file's model kind is checked both ways."""
    R = ratings_of(rng)
    model = SVDpp(n_factors=3, n_epochs=2, random_state=0, variant="cached").fit(R)
    path = tmp_path / "m.npz"
    model.save(path)
    back = SVDpp.load(path)
    for x, y in zip(arrays(model), arrays(back)):
        np.testing.assert_array_equal(x, y)
    assert back.get_params() == model.get_params() and back.history_ == model.history_
    np.testing.assert_array_equal(back.predict(R.users, R.items), model.predict(R.users, R.items))
    assert back.recommend(0, n=5).ids.tolist() == model.recommend(0, n=5).ids.tolist()
    Q = model.factors_.Q  # similar_items compares the item factors q_i (not y_j): the cosine, by hand
    cosine = Q @ Q[2] / (np.linalg.norm(Q, axis=1) * np.linalg.norm(Q[2]))
    similar = back.similar_items(2, n=4)
    np.testing.assert_allclose(similar.scores, cosine[similar.indices], rtol=1e-12)
    assert similar.indices.tolist() == [j for j in np.argsort(-cosine, kind="stable") if j != 2][:4]
    assert type(FunkSVD.load(path)) is SVDpp  # FunkSVD.load reads every kind, by the file's "model" field
    FunkSVD(n_factors=2, n_epochs=1, random_state=0).fit(R).save(tmp_path / "f.npz")
    with pytest.raises(InputError, match="FunkSVD model"):
        SVDpp.load(tmp_path / "f.npz")


def test_fold_in_minimises_the_svdpp_loss(rng):
    """Oracle: the hand SVD++ gradient of the new user's p_u and b_u at the fold-in is 0 (1e-10: a linear solve).

    The new user is appended as a user of the model with N(u) = the items given; the fold-in's z must
    be p_u + |N|^(-1/2) sum y_j, and recommend must rank by mu + b_u + b_i + q_i . z.
    """
    R = ratings_of(rng)
    model = SVDpp(n_factors=3, n_epochs=3, random_state=0, reg_pu=0.05, reg_bu=0.03).fit(R)
    items, values = np.array([1, 4, 6, 9]), np.array([5.0, 3.0, 4.0, 1.0])
    new = model.fold_in(items, values)
    v = model.y_[items].sum(axis=0) / 2.0
    f = model.factors_
    u = R.n_users
    F = Factors(np.vstack([f.P, new.p_u - v]), f.Q, np.append(f.bu, new.b_u), f.bi, f.mu)
    both = Ratings(np.append(R.users, [u] * 4), np.append(R.items, items), np.append(R.values, values), u + 1,
                   R.n_items)
    implicit = Implicit.from_ratings(both)
    g = svdpp_gradients(F, model.y_, both, implicit, {"P": 0.05, "Q": 0.02, "bu": 0.03, "bi": 0.02, "Y": 0.02})
    np.testing.assert_allclose(g["P"][u], 0.0, atol=1e-10)
    assert abs(g["bu"][u]) < 1e-10
    ranking = model.recommend(new, n=3)
    expected = f.mu + new.b_u + f.bi + f.Q @ new.p_u
    np.testing.assert_allclose(ranking.scores, expected[ranking.indices], rtol=1e-13)


def test_bad_parameters_are_named(rng):
    """Oracle: the error messages."""
    R = ratings_of(rng)
    for params, match in (({"variant": "fast"}, "variant"), ({"engine": "tensorflow"}, "engine"),
                          ({"lr_yj": -1.0}, "lr_yj"), ({"n_factors": 0}, "n_factors")):
        with pytest.raises(InputError, match=match):
            SVDpp(**params).fit(R)


def test_divergence_is_reported(rng):
    """Oracle: DivergenceError naming the learning rate (lr_all = 5 explodes)."""
    R = ratings_of(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(funksvd.DivergenceError, match="lr_all"):
            SVDpp(n_factors=3, lr_all=5.0, random_state=0).fit(R)


def test_matches_surprise_svdpp(rng):
    """Oracle: scikit-surprise's SVDpp itself, from the same initial factors; 3 epochs, predictions to 1e-12.

    Surprise visits users in first-appearance order and each user's items in stored order; the
    raw ids are chosen so that first appearance and funksvd's sorted indices agree.
    """
    surprise = pytest.importorskip("surprise")
    pd = pytest.importorskip("pandas")

    R = ratings_of(rng)
    order = np.lexsort((rng.random(len(R)), R.users))  # users in increasing order, items shuffled within
    R = R.subset(order)
    frame = pd.DataFrame({"u": [f"{u:03d}" for u in R.users], "i": [f"{i:03d}" for i in R.items], "r": R.values})
    trainset = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=(1, 5))).build_full_trainset()
    start = surprise.SVDpp(n_factors=4, n_epochs=0, random_state=3).fit(trainset)
    peer = surprise.SVDpp(n_factors=4, n_epochs=3, random_state=3).fit(trainset)
    uid = [trainset.to_inner_uid(f"{u:03d}") for u in range(R.n_users)]
    iid = [trainset.to_inner_iid(f"{i:03d}") for i in range(R.n_items)]
    init = Factors(start.pu[uid], start.qi[iid], np.zeros(R.n_users), np.zeros(R.n_items), trainset.global_mean)
    ours = SVDpp(n_factors=4, n_epochs=3, engine="python").fit(R, init=(init, start.yj[iid]))
    theirs = np.array([peer.estimate(trainset.to_inner_uid(f"{u:03d}"), trainset.to_inner_iid(f"{i:03d}"))
                       for u, i in zip(R.users, R.items)])
    np.testing.assert_allclose(ours.predict(R.users, R.items), theirs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.y_, peer.yj[iid], rtol=1e-12, atol=1e-12)


def _rewrite(path, out, change):
    """Copy the .npz at ``path`` to ``out`` with ``change(members)`` applied to its {name: array} members."""
    import zipfile

    with np.load(path, allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    change(members)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, value in members.items():
            with archive.open(name + ".npy", "w") as file:
                np.lib.format.write_array(file, np.asarray(value), allow_pickle=False)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(Y=m["Y"][:-1]), "Y has shape"),
    (lambda m: m.update(Y=m["Y"].astype(np.float32)), "Y has shape"),
    (lambda m: m.pop("implicit_items"), "implicit_items' of an SVDpp model is missing"),
    (lambda m: m.update(implicit_items=m["implicit_items"] + 1000), "implicit_items must be item indices"),
    (lambda m: m.update(implicit_indptr=m["implicit_indptr"][::-1].copy()), "implicit_indptr must rise"),
])
def test_a_damaged_svdpp_file_is_one_clear_error(rng, tmp_path, change, message):
    """Oracle: the edits written in the test (a short or retyped Y, a missing or out-of-range N(u)).

    One InputError each."""
    model = SVDpp(n_factors=3, n_epochs=1, random_state=0).fit(ratings_of(rng))
    model.save(tmp_path / "m.npz")
    _rewrite(tmp_path / "m.npz", tmp_path / "bad.npz", change)
    with pytest.raises(InputError, match=message):
        SVDpp.load(tmp_path / "bad.npz")


def test_a_funksvd_file_with_an_svdpp_member_is_refused(rng, tmp_path):
    """Oracle: Y is a member of the SVDpp format only; a FunkSVD file holding one is damaged (one InputError)."""
    model = FunkSVD(n_factors=3, n_epochs=1, random_state=0).fit(ratings_of(rng))
    model.save(tmp_path / "f.npz")
    _rewrite(tmp_path / "f.npz", tmp_path / "bad.npz", lambda m: m.update(Y=m["Q"]))
    with pytest.raises(InputError, match="'Y.npy', which the format does not define"):
        FunkSVD.load(tmp_path / "bad.npz")
