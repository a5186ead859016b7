"""The command line (oracle: exit status and printed text, as a user sees them).

In-process through ``funksvd.cli.main`` where possible; as a subprocess where the process
itself matters (``python -m funksvd``, a pipe closed by ``head``).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from funksvd import Objective, __version__
from funksvd.cli import main


def run(capsys, *argv):
    """``funksvd argv``: (exit status, stdout, stderr); argparse's SystemExit becomes a status."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, err, *fragments):
    """Exit 1, one line on stderr naming the problem, no traceback."""
    assert status == 1, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


# ---- the gradient commands ---------------------------------------------------------------------------


def test_demo_runs_as_module():
    """``python -m funksvd demo`` completes the matrix and passes every check (exit status 0)."""
    result = subprocess.run([sys.executable, "-m", "funksvd", "demo", "--oracle", "finite_differences"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Completed matrix (funksvd)" in result.stdout
    assert "ALL GRADIENT CHECKS PASSED" in result.stdout


def test_check_passes(capsys):
    """``funksvd check`` exits 0 when every hand gradient agrees with finite differences."""
    assert main(["check", "--oracle", "finite_differences"]) == 0
    assert "FAIL" not in capsys.readouterr().out


def test_check_fails_on_a_wrong_gradient(monkeypatch, capsys):
    """A gradient with a missing factor 2 makes ``funksvd check`` exit 1 and say FAIL."""
    right = Objective.gradients

    def wrong(self, *args, **kwargs):
        return {k: 0.5 * v for k, v in right(self, *args, **kwargs).items()}

    monkeypatch.setattr(Objective, "gradients", wrong)
    assert main(["check", "--oracle", "finite_differences"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "missing factor 2" in out


def test_demo_seed_changes_the_run(capsys):
    """Oracle: two seeds print different training errors (before: --seed was ignored)."""
    outputs = []
    for seed in (0, 1):
        status, out, _ = run(capsys, "demo", "--oracle", "finite_differences", "--seed", seed)
        assert status == 0
        outputs.append([line for line in out.splitlines() if line.startswith("Error sqrt(SSE)")])
    assert outputs[0] != outputs[1]


def test_negative_seed_is_a_usage_error(capsys):
    """Oracle: argparse's usage error, status 2 (before: a ValueError traceback from numpy)."""
    status, _, err = run(capsys, "check", "--seed", "-5")
    assert status == 2 and "argument --seed: must be a whole number >= 0, got -5" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["check", "--oracle", "finite_differences"],
                                     ["demo", "--oracle", "finite_differences"]])
def test_a_closed_pipe_ends_quietly(command):
    """Oracle: what ``funksvd check | head -3`` shows on stderr: nothing (before: a BrokenPipeError traceback)."""
    process = subprocess.Popen([sys.executable, "-m", "funksvd", *command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for _ in range(2):
        process.stdout.readline()
    process.stdout.close()  # as head does after its lines
    err = process.stderr.read()
    process.wait(timeout=300)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert process.returncode in (0, 141)


def test_version_and_help(capsys):
    """Oracle: argparse's --version and --help of every command (status 0, the command's usage)."""
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"funksvd {__version__}"
    for command in ("demo", "check", "fit", "evaluate", "cv", "recommend", "similar"):
        status, out, _ = run(capsys, command, "--help")
        assert status == 0 and out.startswith(f"usage: funksvd {command}"), command


# ---- models on data -----------------------------------------------------------------------------------


@pytest.fixture
def ratings_file(tmp_path):
    """A small comma-separated file with a header: 6 users x 5 items, every user rates 4 items."""
    lines = ["user,item,rating"]
    for u in range(6):
        for i in range(5):
            if (u + i) % 5 != 4:
                lines.append(f"{10 + u},{100 + i},{1 + (u * 3 + i * 2) % 5}")
    path = tmp_path / "ratings.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fit_recommend_similar_evaluate_cv_on_a_file(capsys, tmp_path, ratings_file):
    """Oracle: the printed raw ids of the file (users 10..15, items 100..104), never indices;
    the rated items left out of the recommendations."""
    model = tmp_path / "model.npz"
    status, out, err = run(capsys, "fit", ratings_file, "--out", model, "--factors", 2, "--epochs", 3, "--quiet")
    assert status == 0, err
    assert "on 24 ratings (6 users, 5 items)" in out and f"saved to {model}" in out and model.is_file()
    status, out, _ = run(capsys, "recommend", model, "--user", 10, "-n", 3)
    assert status == 0 and out.startswith("top 1 for user 10")  # user 10 rated 4 of the 5 items
    assert out.splitlines()[1].split()[1] == "104"  # (10 - 10 + 4) % 5 == 4: the one item 10 did not rate
    status, out, _ = run(capsys, "similar", model, "--item", 100, "-n", 2, "--metric", "dot")
    ids = [line.split()[1] for line in out.splitlines()[1:]]
    assert status == 0 and len(ids) == 2 and set(ids) <= {"101", "102", "103", "104"}
    status, out, _ = run(capsys, "evaluate", model, ratings_file)
    assert status == 0 and out.startswith("RMSE ") and "on 24 ratings" in out
    # every rating of the file was a training rating: said, and no ranking measure of 0.0000 (before: all 0.0000)
    assert "all 24 pairs of known users and items are training pairs" in out
    assert "no ranking measures" in out and "precision@10" not in out
    other = tmp_path / "other.csv"
    other.write_text("user,item,rating\n10,100,3\n99,100,4\n")
    status, out, _ = run(capsys, "evaluate", model, other)
    assert status == 0 and "1 of them involve a user or item the model does not know" in out
    status, out, err = run(capsys, "cv", ratings_file, "--folds", 2, "--factors", 2, "--epochs", 2, "--quiet", "-k", 3)
    assert status == 0 and out.splitlines()[0].split() == ["Fold", "1", "Fold", "2", "Mean", "Std"], err
    assert [line.split()[0] for line in out.splitlines()[1:6]] == [
        "test_rmse", "test_mae", "test_precision@3", "test_recall@3", "test_ndcg@3"]


def test_user_mistakes_are_one_line(capsys, tmp_path, ratings_file):
    """Oracle: exit 1 and one stderr line naming the problem (file and line for a malformed file)."""
    model = tmp_path / "model.npz"
    assert run(capsys, "fit", ratings_file, "--out", model, "--factors", 2, "--epochs", 1, "-q")[0] == 0
    assert_one_line_error(*run(capsys, "recommend", model, "--user", 99)[::2], "unknown user id '99'")
    assert_one_line_error(*run(capsys, "similar", model, "--item", "abc")[::2], "unknown item id 'abc'")
    assert_one_line_error(*run(capsys, "recommend", tmp_path / "nope.npz", "--user", 10)[::2],
                          "no model file at", "nope.npz")
    assert_one_line_error(*run(capsys, "recommend", ratings_file, "--user", 10)[::2], "is not a funksvd model")
    assert_one_line_error(*run(capsys, "recommend", model, "--user", 10, "-n", 0)[::2], "n must be a positive integer")
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating\n1,2,3\n1,2,x\n")
    assert_one_line_error(*run(capsys, "fit", bad, "--out", model)[::2], "bad.csv", "line 3")
    assert_one_line_error(*run(capsys, "fit", tmp_path / "missing", "--out", model)[::2], "no such file or folder")
    assert_one_line_error(*run(capsys, "fit", ratings_file, "--out", model, "--lr", 50, "-q")[::2], "learning rate")
    assert_one_line_error(*run(capsys, "fit", ratings_file, "--out", tmp_path / "no" / "m.npz", "-q")[::2],
                          "cannot save the model", "does not exist")
    assert_one_line_error(*run(capsys, "fit", ratings_file, "--out", tmp_path, "-q")[::2], "it is a folder")


def test_movielens_as_a_new_user_would(capsys, monkeypatch, tmp_path, ml100k_path):
    """Oracle: the films themselves: The Empire Strikes Back (172) is nearest to the other Star Wars
    films; user 196's recommendations are titled and leave out the films 196 rated."""
    model = tmp_path / "model.npz"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: the progress bar is shown
    status, out, err = run(capsys, "fit", ml100k_path, "--out", model, "--factors", 40)
    assert status == 0 and "100000 ratings (943 users, 1682 items)" in out
    assert "epoch" in err  # the progress bar, on stderr
    status, out, _ = run(capsys, "similar", model, "--item", 172, "-n", 10)
    assert status == 0 and "Empire Strikes Back" in out.splitlines()[0]
    assert "Star Wars" in out and "Return of the Jedi" in out
    status, out, _ = run(capsys, "recommend", model, "--user", 196, "-n", 5)
    assert status == 0 and len(out.splitlines()) == 6
    rated_by_196 = set()
    for line in (ml100k_path / "u.data").read_text().splitlines():
        user, item, *_ = line.split("\t")
        if user == "196":
            rated_by_196.add(item)
    shown = {line.split()[1] for line in out.splitlines()[1:]}
    assert not shown & rated_by_196


def test_data_argument_routes(monkeypatch, tmp_path, ratings_file):
    """Oracle: which loader gets what (a release name goes to load_movielens as a name, a csv to
    load_triples with its sniffed separator and header); no download is made."""
    import funksvd.data as data
    from funksvd.cli.data import load_data, sniff

    calls = []
    monkeypatch.setattr(data, "load_movielens", lambda what, verbose=True: calls.append(("movielens", what)))
    load_data("ml-1m")
    load_data(str(tmp_path))
    assert calls == [("movielens", "ml-1m"), ("movielens", tmp_path)]
    assert sniff(ratings_file) == (",", True)
    plain = tmp_path / "plain.txt"
    plain.write_text("\n1 2 3.5\n")
    assert sniff(plain) == (None, False)
    ml1m = tmp_path / "ratings.dat"
    ml1m.write_text("1::2::5::978300760\n")
    assert sniff(ml1m) == ("::", False)
    with pytest.raises(FileNotFoundError, match="ml-2m: no such file or folder"):
        load_data("ml-2m")


# ---- review findings: the TensorFlow fit, bugs vs mistakes, wording, evaluate on training pairs ----------


def test_fit_with_the_tensorflow_engine_reports_its_loss(capsys, tmp_path, ratings_file):
    """Oracle: exit 0 and the kept epoch's loss as recorded in the saved history (before: the model
    was saved, then "unsupported format string passed to NoneType.__format__" and exit 1)."""
    pytest.importorskip("tensorflow")
    from funksvd import FunkSVD

    model = tmp_path / "tf.npz"
    status, out, err = run(capsys, "fit", ratings_file, "--out", model, "-q", "--engine", "tensorflow",
                           "--factors", 2, "--epochs", 1)
    assert status == 0, err
    loss = FunkSVD.load(model).history_[0]["loss"]
    assert f"training loss {loss:.6g} (epoch 1)" in out


def test_a_bug_shows_its_traceback_and_a_mistake_does_not(capsys, monkeypatch, tmp_path, ratings_file):
    """Oracle: the two documented paths. A TypeError from inside funksvd (a bug) prints the traceback
    and "this is a bug in funksvd", exit 70; an InputError prints one line, exit 1. Before: every
    TypeError/ValueError was a one-line "user error" (which hid the TensorFlow bug above)."""
    from funksvd.cli import training
    from funksvd.base.errors import InputError

    def broken(args):
        raise TypeError("unsupported format string passed to NoneType.__format__")

    monkeypatch.setattr(training, "_fit", broken)
    status, _, err = run(capsys, "fit", ratings_file, "--out", tmp_path / "m.npz")
    assert status == 70 and "Traceback" in err and "this is a bug in funksvd" in err, err

    def mistaken(args):
        raise InputError("n_factors must be a positive integer, got 0")

    monkeypatch.setattr(training, "_fit", mistaken)
    assert_one_line_error(*run(capsys, "fit", ratings_file, "--out", tmp_path / "m.npz")[::2], "n_factors must be")


def test_messages_speak_the_options_the_user_typed(capsys, tmp_path, ratings_file):
    """Oracle: the review's wording. Before: "n_splits must be an integer in [2, 24]", "try lr_all <=
    100000", "the file is empty, expected a header line"."""
    status, _, err = run(capsys, "cv", ratings_file, "--folds", 25, "-q")
    assert_one_line_error(status, err, "--folds must be between 2 and the number of ratings (24), got 25")
    status, _, err = run(capsys, "fit", ratings_file, "--out", tmp_path / "m.npz", "-q", "--lr", "1e6")
    assert_one_line_error(status, err, "with --lr=1e+06", "try --lr <= 100000")
    assert "lr_all" not in err
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    assert_one_line_error(*run(capsys, "fit", empty, "--out", tmp_path / "m.npz")[::2], f"{empty} is empty: no ratings")
    status, _, err = run(capsys, "fit", ratings_file, "--out", tmp_path / "m.npz", "-q", "--factors", 0)
    assert_one_line_error(status, err, "--factors must be a positive integer, got 0")


def test_evaluate_counts_training_pairs_and_ranks_only_held_out_ones(capsys, tmp_path, ratings_file):
    """Oracle: the file's own pairs: of 3 pairs, 2 are training pairs (10,100), (11,100) and one,
    (10,104), is held out; the ranking line covers that one user. Before: every ranking measure of the
    training data was 0.0000, unexplained."""
    model = tmp_path / "model.npz"
    assert run(capsys, "fit", ratings_file, "--out", model, "--factors", 2, "--epochs", 2, "-q")[0] == 0
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("user,item,rating\n10,100,3\n11,100,4\n10,104,5\n")
    status, out, err = run(capsys, "evaluate", model, mixed, "-q", "-k", 1)
    assert status == 0, err
    assert "2 of the 3 pairs of known users and items are training pairs" in out
    assert "count only the 1 held-out pairs" in out
    assert "precision@1 1.0000" in out and "over 1 users" in out  # 104 is the only item user 10 did not rate
