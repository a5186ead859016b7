"""scikit-learn interop: FunkSVD's parameter conventions, the FunkSVDRegressor adapter, pandas frames.

Oracles: scikit-learn's own ``clone`` and ``GridSearchCV``, against an explicit loop over the same
``KFold`` splits written here with :class:`funksvd.FunkSVD`; the rows of the frames against the
objects they come from.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from funksvd import FunkSVD, Ratings
from funksvd.data import synthetic_netflix

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from funksvd.sklearn import FunkSVDRegressor  # noqa: E402


def pairs_problem(n_ratings=600):
    """Raw-id pairs as scikit-learn sees them: X (n, 2) of string ids, y ratings."""
    R = synthetic_netflix(40, 30, n_ratings, random_state=3)
    X = np.column_stack([[f"u{u}" for u in R.users], [f"i{i}" for i in R.items]]).astype(object)
    return X, R.values.copy()


def test_import_funksvd_does_not_import_sklearn():
    """Oracle: sys.modules of a fresh interpreter after ``import funksvd`` and a fit."""
    code = ("import sys, funksvd; funksvd.FunkSVD(n_factors=2, n_epochs=1, engine='python')"
            ".fit(funksvd.Ratings([0, 1], [0, 1], [1.0, 2.0])); "
            "import json; print(json.dumps(sorted(m for m in ('sklearn', 'pandas') if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_funksvd_follows_sklearn_parameter_conventions():
    """Oracle: sklearn.base.clone (which checks that __init__ stores every parameter unchanged)."""
    model = FunkSVD(n_factors=3, reg_all=0.05, random_state=7)
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert copy.set_params(n_factors=4) is copy and copy.n_factors == 4 and model.n_factors == 3
    assert clone(FunkSVDRegressor(lr_all=0.01)).get_params() == FunkSVDRegressor(lr_all=0.01).get_params()
    assert FunkSVDRegressor().get_params() == FunkSVD().get_params()  # same names, same defaults


def test_grid_search_equals_an_explicit_loop_over_the_folds():
    """Oracle: for each n_factors, -RMSE of FunkSVD fitted fold by fold on the same KFold splits, by hand."""
    X, y = pairs_problem()
    folds = KFold(3, shuffle=True, random_state=0)
    params = dict(n_epochs=5, random_state=0, engine="python")
    search = GridSearchCV(FunkSVDRegressor(**params), {"n_factors": [1, 4]}, cv=folds,
                          scoring="neg_root_mean_squared_error").fit(X, y)
    for n_factors, got in zip(search.cv_results_["param_n_factors"], search.cv_results_["mean_test_score"]):
        scores = []
        for train, test in folds.split(X):
            from funksvd.data import Dataset

            model = FunkSVD(n_factors=int(n_factors), **params).fit(
                Dataset.from_arrays(X[train, 0], X[train, 1], y[train]))
            e = y[test] - model.predict(X[test, 0], X[test, 1], unknown="baseline")
            scores.append(-np.sqrt(np.mean(e * e)))
        assert got == pytest.approx(np.mean(scores), rel=1e-12)  # same fits, same sums: rounding only
    assert search.best_params_["n_factors"] in (1, 4)


def test_pipeline_and_dataframe_input():
    """Oracle: the pipeline's predictions equal those of the bare regressor fitted alike (same seed)."""
    pd = pytest.importorskip("pandas")
    X, y = pairs_problem(300)
    frame = pd.DataFrame({"user": X[:, 0], "item": X[:, 1]})
    pipe = Pipeline([("funksvd", FunkSVDRegressor(n_factors=2, n_epochs=3, random_state=1))]).fit(frame, y)
    bare = FunkSVDRegressor(n_factors=2, n_epochs=3, random_state=1).fit(X, y)
    np.testing.assert_array_equal(pipe.predict(frame), bare.predict(X))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        bare.predict(X[:, :1])


def test_ranking_and_history_as_frames():
    """Oracle: the Ranking's own arrays, and history_ row by row."""
    pytest.importorskip("pandas")
    R = Ratings([0, 0, 1, 1, 2], [0, 1, 1, 2, 2], [5.0, 3.0, 4.0, 2.0, 1.0])
    model = FunkSVD(n_factors=2, n_epochs=3, random_state=0).fit(R)
    ranking = model.recommend(0, n=2, exclude_rated=False)
    frame = ranking.to_frame()
    assert frame.index.tolist() == [1, 2] and frame["id"].tolist() == ranking.ids.tolist()
    assert frame["score"].tolist() == ranking.scores.tolist() and "title" not in frame
    history = model.history_frame()
    assert history.index.tolist() == [h["epoch"] for h in model.history_]
    assert history["loss"].tolist() == [h["loss"] for h in model.history_]


@pytest.mark.parametrize("make", [FunkSVD, FunkSVDRegressor])
@pytest.mark.parametrize("check", ["check_no_attributes_set_in_init", "check_parameters_default_constructible",
                                   "check_get_params_invariance", "check_set_params", "check_estimator_repr"])
def test_sklearn_parameter_checks(make, check):
    """Oracle: scikit-learn's own estimator checks for parameters (``sklearn.utils.estimator_checks``)."""
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check)(make.__name__, make())
