"""Saving, loading, pickling and copying models: exact round trips and clear errors on bad files.

Oracles: literal hand-written parameters and predictions; bit-for-bit equality with the model
that was saved; the documented error messages.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import pickle
import stat
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from funksvd import Factors, FunkSVD, Ratings
from funksvd.data import Dataset
from funksvd.estimator import persistence
from funksvd.model.ids import IdMap


def problem(rng, n_users=30, n_items=20, n_ratings=300):
    return Ratings(rng.integers(0, n_users, n_ratings), rng.integers(0, n_items, n_ratings),
                   rng.integers(1, 6, n_ratings).astype(float), n_users, n_items)


def dataset(R, kind):
    """A dataset of ``R`` with integer or string raw ids and titles."""
    if kind == "int":
        users, items = 1000 + 7 * np.arange(R.n_users), 5 + np.arange(R.n_items) * 3
    else:
        users, items = [f"user-{j}" for j in range(R.n_users)], [f"é{j}" for j in range(R.n_items)]
    titles = np.array([f"Title {j} (1999)" for j in range(R.n_items)], dtype=object)
    return Dataset(R, IdMap(users, "user"), IdMap(items, "item"), item_titles=titles)


def assert_same_model(a: FunkSVD, b: FunkSVD):
    assert b.factors_.equals(a.factors_)  # bit for bit
    assert b.factors_.dtype == a.factors_.dtype
    assert b.get_params() == a.get_params()
    assert b.history_ == a.history_
    for name in ("mu_", "global_mean_", "n_epochs_", "best_epoch_", "stopped_early_", "rating_range_",
                 "user_ids_", "item_ids_"):
        assert getattr(b, name) == getattr(a, name), name
    if a.item_titles_ is None:
        assert b.item_titles_ is None
    else:
        assert b.item_titles_.tolist() == a.item_titles_.tolist()


# ---- save / load -------------------------------------------------------------------------------------------


def test_round_trip_of_literal_parameters(tmp_path):
    """Oracle: hand-written parameters and the prediction computed by hand from them.

    lr_all = 0 keeps the init, so the saved model is known to the last bit:
    r_hat(user 1, item 0) = mu + b_u + b_i + p.q = 3.25 + 0.5 - 0.25 + (1 * 0.5 + 2 * -1) = 2.0.
    """
    init = Factors([[0.0, 1.0], [1.0, 2.0]], [[0.5, -1.0]], [0.0, 0.5], [-0.25], mu=3.25)
    model = FunkSVD(n_factors=2, n_epochs=1, lr_all=0.0, engine="python").fit(
        Ratings([0, 1], [0, 0], [3.0, 3.5]), init=init)
    model.save(tmp_path / "m.npz")
    loaded = FunkSVD.load(tmp_path / "m.npz")
    assert loaded.factors_.P.tolist() == [[0.0, 1.0], [1.0, 2.0]]
    assert loaded.factors_.Q.tolist() == [[0.5, -1.0]]
    assert loaded.factors_.bu.tolist() == [0.0, 0.5] and loaded.factors_.bi.tolist() == [-0.25]
    assert loaded.mu_ == 3.25 and loaded.factors_.mu == 3.25
    assert loaded.predict([1], [0]).tolist() == [2.0]
    assert loaded.rating_range_ == (3.0, 3.5) and loaded.global_mean_ == 3.25
    assert loaded.user_ids_ is None and loaded.item_titles_ is None
    assert loaded.lr_all == 0.0 and loaded.n_factors == 2 and loaded.engine == "python"
    assert not loaded.factors_.P.flags.writeable


@pytest.mark.parametrize("ids", ["int", "str"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_is_exact(rng, tmp_path, dtype, ids):
    """Oracle: the model that was saved (bit-for-bit parameters, params, history, id maps, titles,
    recommendations); then the file is overwritten in place by a second save."""
    data = dataset(problem(rng), ids)
    model = FunkSVD(n_factors=3, n_epochs=3, random_state=1, dtype=dtype, reg_pu=0.05, engine="python").fit(data)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = FunkSVD.load(path)
    assert_same_model(model, loaded)
    user = data.user_ids[4]
    assert loaded.recommend(user, n=5).ids.tolist() == model.recommend(user, n=5).ids.tolist()
    assert loaded.recommend(user, n=5).titles.tolist() == model.recommend(user, n=5).titles.tolist()
    assert loaded.dtype is dtype and loaded.reg_pu == 0.05
    model.set_params(n_epochs=1).fit(data)
    model.save(path)
    assert FunkSVD.load(path).n_epochs_ == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


@pytest.mark.parametrize("params", [
    dict(schedule="feature", feature_epochs=3, feature_min_epochs=1),
    dict(patience=1, n_epochs=6, lr_all=0.05),
    dict(biased=False, shuffle=False),
])
def test_round_trip_of_other_fits(rng, tmp_path, params):
    """Oracle: the model that was saved (feature schedule with its per-stage history, early
    stopping with a kept epoch, an unbiased model)."""
    R = problem(rng)
    model = FunkSVD(n_factors=2, random_state=0, engine="python", **params).fit(R, validation=R)
    model.save(tmp_path / "m.npz")
    assert_same_model(model, FunkSVD.load(tmp_path / "m.npz"))


def test_save_is_atomic(rng, tmp_path, monkeypatch):
    """Oracle: a write that fails half way leaves the previous file intact and no temporary file."""
    model = FunkSVD(n_factors=2, n_epochs=1, engine="python").fit(problem(rng))
    path = tmp_path / "model.npz"
    model.save(path)
    before = path.read_bytes()

    def failing(out, **arrays):
        out.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(persistence.np, "savez", failing)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_load_rejects_bad_files(rng, tmp_path):
    """Oracle: the documented one-line errors naming the file and the problem."""
    model = FunkSVD(n_factors=2, n_epochs=1, engine="python").fit(problem(rng))
    good = tmp_path / "good.npz"
    model.save(good)
    data = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(0).bytes(4096))
    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3), bias=np.ones(2))
    cases = {
        "truncated.npz": "truncated.npz is not a funksvd model: not a complete .npz archive",
        "random.npz": "random.npz is not a funksvd model: not a complete .npz archive",
        "foreign.npz": r"foreign.npz is an .npz archive but not a funksvd model: .*\['bias', 'weights'\]",
    }
    for name, match in cases.items():
        with pytest.raises(ValueError, match=match):
            FunkSVD.load(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no model file at .*missing.npz"):
        FunkSVD.load(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="it is a folder"):
        FunkSVD.load(tmp_path)


def _rewrite_meta(path, change):
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(arrays["funksvd_metadata"].tobytes())
    change(meta)
    arrays["funksvd_metadata"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)


def test_load_rejects_newer_and_damaged_models(rng, tmp_path):
    """Oracle: the documented errors for a newer format version and a model missing an array."""
    model = FunkSVD(n_factors=2, n_epochs=1, engine="python").fit(problem(rng))
    path = tmp_path / "m.npz"
    model.save(path)
    _rewrite_meta(path, lambda meta: meta.update(format_version=99))
    with pytest.raises(ValueError, match="written in model format 99 .*upgrade funksvd"):
        FunkSVD.load(path)
    model.save(path)
    _rewrite_meta(path, lambda meta: meta.update(format="something-else"))
    with pytest.raises(ValueError, match="not a funksvd model"):
        FunkSVD.load(path)
    model.save(path)
    _rewrite_meta(path, lambda meta: meta["params"].update(warp_drive=True))
    with pytest.raises(ValueError, match=r"written by funksvd .* with parameter\(s\) \['warp_drive'\]"):
        FunkSVD.load(path)
    model.save(path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "Q"}
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="damaged funksvd model: the member 'Q' is missing"):
        FunkSVD.load(path)


def test_save_to_a_missing_folder_or_a_folder(rng, tmp_path):
    """Oracle: the documented errors naming the target (not a temporary file's name)."""
    model = FunkSVD(n_factors=2, n_epochs=1, engine="python").fit(problem(rng))
    with pytest.raises(FileNotFoundError, match=r"cannot save the model to .*m.npz: the folder .*no does not exist"):
        model.save(tmp_path / "no" / "m.npz")
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        model.save(tmp_path)


def test_save_before_fit(tmp_path):
    """Oracle: scikit-learn's NotFittedError convention."""
    from funksvd import NotFittedError

    with pytest.raises(NotFittedError):
        FunkSVD().save(tmp_path / "m.npz")


# ---- pickle and deepcopy ------------------------------------------------------------------------------


def test_factors_pickle_and_deepcopy():
    """Oracle: bit-for-bit equality with the original; the copy is read-only like the original
    (before: pickle.loads failed with "Factors is immutable")."""
    f = Factors(np.arange(6.0).reshape(3, 2), np.ones((2, 2), np.float32).astype(np.float64), [1.0, 2.0, 3.0],
                [0.5, -0.5], mu=3.5)
    for twin in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f), copy.copy(f)):
        assert twin.equals(f) and twin is not f
        assert not twin.P.flags.writeable
    unbiased = Factors(np.ones((2, 1), np.float32), np.ones((3, 1), np.float32))
    twin = pickle.loads(pickle.dumps(unbiased))
    assert twin.equals(unbiased) and twin.dtype == np.float32 and twin.bu is None


def test_model_deepcopy_is_independent(rng):
    """Oracle: the original model (equal after copying; refitting the copy leaves it alone)."""
    data = dataset(problem(rng), "str")
    model = FunkSVD(n_factors=2, n_epochs=2, random_state=0, engine="python").fit(data)
    twin = copy.deepcopy(model)
    assert_same_model(model, twin)
    assert twin.recommend("user-3").ids.tolist() == model.recommend("user-3").ids.tolist()
    twin.set_params(n_epochs=1).fit(problem(rng))
    assert model.n_epochs_ == 2 and model.user_ids_ is not None


def _predict_in_worker(model, users, items, factors):
    return model.predict(users, items), factors.predict([0], [0]), model.recommend(users[0], n=3).ids


def test_models_cross_a_process_pool(rng):
    """Oracle: the same predictions computed in this process (a spawned worker unpickles model and factors)."""
    data = dataset(problem(rng), "int")
    model = FunkSVD(n_factors=3, n_epochs=2, random_state=0, engine="python").fit(data)
    users, items = data.user_ids[:5], data.item_ids[:5]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        job = pool.submit(_predict_in_worker, model, users, items, model.factors_)
        remote, remote_factors, remote_top = job.result(timeout=120)
    np.testing.assert_array_equal(remote, model.predict(users, items))
    np.testing.assert_array_equal(remote_factors, model.factors_.predict([0], [0]))
    assert remote_top.tolist() == model.recommend(users[0], n=3).ids.tolist()


# ---- file mode (review finding 3) ---------------------------------------------------------------------


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_model_file_gets_the_mode_of_any_new_file(rng, tmp_path, umask, expected):
    """Oracle: 0o666 & ~umask, as open() would create it (before: always 0o600, mkstemp's mode)."""
    model = FunkSVD(n_factors=2, n_epochs=1, random_state=0).fit(problem(rng))
    old = os.umask(umask)
    try:
        model.save(tmp_path / "m.npz")
        with open(tmp_path / "plain", "w"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == expected
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == expected  # the oracle agrees with open()


def test_overwriting_keeps_the_files_mode(rng, tmp_path):
    """Oracle: the mode set by chmod before the overwrite (before: reset to 0o600)."""
    model = FunkSVD(n_factors=2, n_epochs=1, random_state=0).fit(problem(rng))
    path = tmp_path / "m.npz"
    model.save(path)
    os.chmod(path, 0o640)
    model.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_missing_titles_come_back_missing(tmp_path):
    """Oracle: the titles written by hand, None where the data has no title. Saved as text, a
    missing title used to come back as the string "None"."""
    data = Dataset.from_arrays(["a", "a", "b"], ["x", "y", "z"], [4.0, 2.0, 5.0],
                               titles={"x": "Alien", "y": None, "z": "Heat"})
    model = FunkSVD(n_factors=2, n_epochs=2, random_state=0).fit(data)
    path = tmp_path / "m.npz"
    model.save(path)
    assert list(FunkSVD.load(path).item_titles_) == ["Alien", None, "Heat"]
