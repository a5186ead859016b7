"""``funksvd fit --model als`` and the commands that read its model back.

Oracles: the saved file's class; ALS fitted directly with the same settings (bit-identical
predictions); one line on stderr for an option ALS does not have.
"""

from __future__ import annotations

import numpy as np

from funksvd import ALS, FunkSVD
from funksvd.cli.data import load_data
from tests.test_cli import ratings_file, run  # noqa: F401 - the fixture, shared


def test_fit_als_then_recommend_and_evaluate(capsys, tmp_path, ratings_file):  # noqa: F811
    """Oracle: ALS fitted directly on the same file with the same options (same predictions, bit for bit);
    options not typed take ALS's own defaults (reg_all 0.12, n_epochs 10)."""
    model = tmp_path / "als.npz"
    status, out, err = run(capsys, "fit", ratings_file, "--model", "als", "--out", model, "--factors", 3, "--quiet")
    assert status == 0, err
    assert out.startswith("fitted ALS(n_factors=3, random_state=0)") and "on 24 ratings (6 users, 5 items)" in out
    saved = FunkSVD.load(model)
    assert type(saved) is ALS and saved.n_epochs_ == 10 and saved.reg_all == 0.12
    data = load_data(str(ratings_file), verbose=False)
    direct = ALS(n_factors=3, random_state=0).fit(data)
    users, items = data.raw_user(data.ratings.users), data.raw_item(data.ratings.items)
    np.testing.assert_array_equal(saved.predict(users, items), direct.predict(users, items))
    status, out, _ = run(capsys, "recommend", model, "--user", 10, "-n", 3)
    assert status == 0 and out.splitlines()[1].split()[1] == "104"  # the one item user 10 did not rate
    status, out, _ = run(capsys, "evaluate", model, ratings_file)
    assert status == 0 and out.startswith("RMSE ") and "on 24 ratings" in out


def test_als_refuses_lr_and_tensorflow(capsys, tmp_path, ratings_file):  # noqa: F811
    """Oracle: one line on stderr naming the option, exit 1, no traceback."""
    for extra, word in ((("--lr", 0.01), "--lr does not apply to --model als"), (("--engine", "tensorflow"), "engine")):
        status, _, err = run(capsys, "fit", ratings_file, "--model", "als", *extra, "--out", tmp_path / "m.npz",
                             "--quiet")
        assert status == 1 and word in err and "Traceback" not in err
