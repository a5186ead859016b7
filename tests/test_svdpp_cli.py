"""``funksvd fit --model svdpp`` and the commands that read its model back.

Oracles: the saved file's class and parameters; the estimator fitted directly with the same
settings (bit-identical predictions); the raw ids of the file in the printed lists.
"""

from __future__ import annotations

import numpy as np

from funksvd import FunkSVD, SVDpp
from funksvd.cli.data import load_data
from tests.test_cli import ratings_file, run  # noqa: F401 - the fixture, shared


def test_fit_svdpp_then_recommend_and_evaluate(capsys, tmp_path, ratings_file):  # noqa: F811
    """Oracle: SVDpp fitted directly on the same file with the same options (same predictions, bit for bit)."""
    model = tmp_path / "svdpp.npz"
    status, out, err = run(capsys, "fit", ratings_file, "--model", "svdpp", "--out", model, "--factors", 3,
                           "--epochs", 4, "--lr", 0.01, "--quiet")
    assert status == 0, err
    assert out.startswith("fitted SVDpp(") and "on 24 ratings (6 users, 5 items)" in out
    saved = FunkSVD.load(model)
    assert type(saved) is SVDpp
    data = load_data(str(ratings_file), verbose=False)
    direct = SVDpp(n_factors=3, n_epochs=4, lr_all=0.01, reg_all=0.02, random_state=0).fit(data)
    users, items = data.raw_user(data.ratings.users), data.raw_item(data.ratings.items)
    np.testing.assert_array_equal(saved.predict(users, items), direct.predict(users, items))
    status, out, _ = run(capsys, "recommend", model, "--user", 10, "-n", 3)
    assert status == 0 and out.splitlines()[1].split()[1] == "104"  # the one item user 10 did not rate
    status, out, _ = run(capsys, "evaluate", model, ratings_file)
    assert status == 0 and out.startswith("RMSE ") and "on 24 ratings" in out


def test_svdpp_refuses_the_tensorflow_engine(capsys, tmp_path, ratings_file):  # noqa: F811
    """Oracle: one line on stderr naming the engine, exit 1."""
    status, _, err = run(capsys, "fit", ratings_file, "--model", "svdpp", "--engine", "tensorflow",
                         "--out", tmp_path / "m.npz", "--quiet")
    assert status == 1 and "engine" in err and "Traceback" not in err


def test_fit_svdpp_takes_surprises_defaults(capsys, tmp_path, ratings_file):  # noqa: F811
    """Oracle: Surprise's documented ``SVDpp`` defaults written as literals (n_factors=20, n_epochs=20,
    lr_all=0.007, reg_all=0.02), not FunkSVD's (100, 20, 0.005, 0.02), when no option is given."""
    model = tmp_path / "svdpp.npz"
    status, _, err = run(capsys, "fit", ratings_file, "--model", "svdpp", "--out", model, "--quiet")
    assert status == 0, err
    params = FunkSVD.load(model).get_params()
    assert (params["n_factors"], params["n_epochs"], params["lr_all"], params["reg_all"]) == (20, 20, 0.007, 0.02)
    assert params["variant"] == "lazy"
    status, _, err = run(capsys, "fit", ratings_file, "--out", tmp_path / "funk.npz", "--quiet")
    params = FunkSVD.load(tmp_path / "funk.npz").get_params()
    assert status == 0 and (params["n_factors"], params["lr_all"]) == (100, 0.005)


def test_fit_svdpp_variant_option(capsys, tmp_path, ratings_file):  # noqa: F811
    """Oracle: the saved model's ``variant`` is the one typed."""
    model = tmp_path / "svdpp.npz"
    status, _, err = run(capsys, "fit", ratings_file, "--model", "svdpp", "--variant", "cached", "--out", model,
                         "--epochs", 2, "--quiet")
    assert status == 0, err
    assert SVDpp.load(model).variant == "cached"


def test_options_of_the_other_model_are_refused(capsys, tmp_path, ratings_file):  # noqa: F811
    """Oracle: one line on stderr naming the option, exit 1, no file written (never silently ignored)."""
    for args in (("--model", "svdpp", "--rule", "quuxlabs"), ("--variant", "cached"),
                 ("--model", "als", "--rule", "funk"), ("--model", "als", "--variant", "lazy")):
        status, _, err = run(capsys, "fit", ratings_file, *args, "--out", tmp_path / "m.npz", "--quiet")
        assert status == 1 and ("--rule" in err or "--variant" in err) and "Traceback" not in err, err
        assert not (tmp_path / "m.npz").exists()
