"""Model files of each kind (FunkSVD, SVDpp, ALS), of the older format without the ``model`` field, and edited ones.

Oracles: the predictions of the model that wrote the file (bit for bit); for an edited file, one
``InputError`` naming the file and the member or field that was changed (the edit is written in the test).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from funksvd import ALS, FunkSVD, SVDpp
from funksvd.base.errors import InputError
from tests.test_estimator_bounds import small

RATINGS = small(0)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kinds")
    funk = FunkSVD(n_factors=3, n_epochs=3, engine="python", random_state=0).fit(RATINGS)
    svdpp = SVDpp(n_factors=3, n_epochs=3, engine="python", random_state=0).fit(RATINGS)
    als = ALS(n_factors=3, n_epochs=2, engine="python", random_state=0).fit(RATINGS)
    funk.save(folder / "funk.npz")
    svdpp.save(folder / "svdpp.npz")
    als.save(folder / "als.npz")
    return folder, funk, svdpp, als


def rewrite(source, target, meta=lambda m: None, arrays=lambda a: None):
    """``source`` with its metadata and arrays edited in place by ``meta`` and ``arrays``, saved to ``target``."""
    with np.load(source, allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    metadata = json.loads(members["funksvd_metadata"].tobytes())
    meta(metadata)
    arrays(members)
    members["funksvd_metadata"] = np.frombuffer(json.dumps(metadata).encode(), np.uint8)
    np.savez(target, **members)
    return target


def test_each_kind_loads_by_either_class_as_written(files):
    """Oracle: the writing model's predictions, bit for bit; SVDpp.load refuses a FunkSVD file by its kind."""
    folder, funk, svdpp, als = files
    users, items = RATINGS.users, RATINGS.items
    for path, model in ((folder / "funk.npz", funk), (folder / "svdpp.npz", svdpp), (folder / "als.npz", als)):
        back = FunkSVD.load(path)
        assert type(back) is type(model)
        np.testing.assert_array_equal(back.predict(users, items), model.predict(users, items))
    np.testing.assert_array_equal(SVDpp.load(folder / "svdpp.npz").y_, svdpp.y_)
    with pytest.raises(InputError, match="holds a FunkSVD model, not a SVDpp"):
        SVDpp.load(folder / "funk.npz")


def test_a_file_without_the_model_field_is_a_funksvd(files):
    """Oracle: the format's rule for older files (no ``model`` field: a FunkSVD) and the writer's predictions."""
    folder, funk = files[:2]
    old = rewrite(folder / "funk.npz", folder / "old.npz", meta=lambda m: m.pop("model"))
    back = FunkSVD.load(old)
    assert type(back) is FunkSVD
    users, items = RATINGS.users, RATINGS.items
    np.testing.assert_array_equal(back.predict(users, items), funk.predict(users, items))


@pytest.mark.parametrize("kind, meta, arrays, fragment", [
    ("svdpp", lambda m: m.pop("model"), lambda a: None, "the member 'Y.npy', which the format does not define"),
    ("svdpp", lambda m: m.update(model="Persistence"), lambda a: None, "'Persistence' names none of the model"),
    ("svdpp", lambda m: m.update(model=["SVDpp"]), lambda a: None, "['SVDpp'] names none of the model"),
    ("svdpp", lambda m: None, lambda a: a.update(Y=a["Y"][:2]), "Y has shape (2, 3)"),
    ("svdpp", lambda m: None, lambda a: a.update(Y=a["Y"].astype(np.float32)), "of float32, but Q has"),
    ("svdpp", lambda m: None, lambda a: a.pop("Y"), "the member 'Y'"),
    ("svdpp", lambda m: None, lambda a: a.pop("implicit_items"), "'implicit_items' of an SVDpp model is missing"),
    ("svdpp", lambda m: None, lambda a: a.update(implicit_items=a["implicit_items"] + 99),
     "implicit_items must be item indices 0..5"),
    ("svdpp", lambda m: None, lambda a: a.update(implicit_indptr=a["implicit_indptr"][::-1].copy()),
     "implicit_indptr must rise from 0"),
    ("svdpp", lambda m: None, lambda a: a.update(Y=np.full_like(a["Y"], np.nan)), "Y holds a value that is not"),
    ("svdpp", lambda m: m["params"].update(variant="nope"), lambda a: None, "unknown variant 'nope'"),
    ("funk", lambda m: None, lambda a: a.update(Y=np.zeros((6, 3))), "the member 'Y.npy', which the format does not"),
])
def test_an_edited_file_is_one_clear_error(files, kind, meta, arrays, fragment):
    """Oracle: the edit written in the parameters, and the one InputError that names it."""
    folder = files[0]
    path = rewrite(folder / f"{kind}.npz", folder / "edited.npz", meta, arrays)
    with pytest.raises(InputError, match="edited.npz") as error:
        FunkSVD.load(path)
    assert fragment in str(error.value)
