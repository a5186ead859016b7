"""The command line on ordinary failures: a download that fails, a typo that asks for terabytes, ``cv -k 0``, a
file in another encoding, an unwritable output folder, output that is not a terminal.

Oracle: what a user sees -- exit status 1 and one line on stderr naming the problem, never a traceback or "a
bug in funksvd" (exit 70); the progress bar only on a terminal.
"""

from __future__ import annotations

import os
import sys

import pytest

from funksvd.data import RELEASES
from tests.test_cli import assert_one_line_error, run
from tests.test_data_download_hostile import send, serve  # noqa: F401 - serve is a fixture


@pytest.fixture
def ratings_file(tmp_path):
    """597 ratings of 40 users and 30 items, one per line (the size of the issue's probe)."""
    lines = [f"{u},{i},{1 + (u * 7 + i) % 5}" for u in range(40) for i in range(30) if (u + i) % 2 == 0][:597]
    path = tmp_path / "ratings.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("failure", ["404", "500", "redirect loop", "refused", "cache is a file"])
def test_download_failures_are_user_errors(capsys, monkeypatch, serve, tmp_path, failure):  # noqa: F811
    """Each ordinary download failure is one line and exit 1 (main: a traceback and "a bug in funksvd")."""
    if failure == "refused":
        url = "http://127.0.0.1:9"  # the discard port: nothing listens there
    else:
        status = {"404": 404, "500": 500, "redirect loop": 302}.get(failure, 200)
        url, _ = serve(lambda h, log: send(h, b"", status, {"Location": h.path, "Content-Length": "0"}))
    cache = tmp_path / "cache"
    if failure == "cache is a file":
        cache.write_text("")
    monkeypatch.setenv("FUNKSVD_MOVIELENS_URL", url)
    monkeypatch.setenv("FUNKSVD_DATA", str(cache))
    status, _, err = run(capsys, "fit", "ml-1m", "--out", tmp_path / "m.npz", "-q")
    assert "bug in funksvd" not in err
    expected = {"404": "HTTP Error 404", "500": "HTTP Error 500", "redirect loop": "redirect",
                "refused": "Connection refused", "cache is a file": "is a file, not a folder"}[failure]
    assert_one_line_error(status, err, "funksvd fit: error:", expected)
    assert "ml-1m" in RELEASES


def test_a_huge_factor_count_is_refused_before_allocating(capsys, ratings_file, tmp_path):
    """``--factors 100000000`` on 597 ratings: main was killed by the OOM killer without a word; now one line
    naming the option, the memory needed and the memory available (oracle: the message; the process survives)."""
    status, _, err = run(capsys, "fit", ratings_file, "--out", tmp_path / "m.npz", "--factors", 100_000_000, "-q")
    assert_one_line_error(status, err, "--factors=100000000 for 40 users and 30 items needs about", "GiB of memory",
                          "are available: use fewer factors")
    assert not (tmp_path / "m.npz").exists()


def test_cv_with_k_0_is_a_user_error(capsys, ratings_file):
    """``cv -k 0`` was a traceback on main (``evaluate -k 0`` was right)."""
    assert_one_line_error(*run(capsys, "cv", ratings_file, "-k", 0, "-q")[::2], "-k must be a positive integer, got 0")


def test_encoding_option(capsys, tmp_path):
    """A Latin-1 file with text ids: the error suggests ``--encoding latin-1``, which now exists and reads it
    (oracle: the fitted summary counts its 3 users)."""
    path = tmp_path / "r.csv"
    path.write_bytes("Zoë,a,4\nJosé,b,3\nAnn,a,5\nZoë,b,2\n".encode("latin-1"))
    assert_one_line_error(*run(capsys, "fit", path, "--out", tmp_path / "m.npz", "-q")[::2],
                          "byte 0xeb", "--encoding latin-1")
    status, out, err = run(capsys, "fit", path, "--out", tmp_path / "m.npz", "-q", "--encoding", "latin-1",
                           "--factors", 2, "--epochs", 2)
    assert status == 0, err
    assert "4 ratings (3 users, 2 items)" in out


def test_an_unwritable_output_folder_is_found_before_the_fit(capsys, monkeypatch, ratings_file, tmp_path):
    """Checked before the data is even read (main fitted first, then failed on the temporary file, or as root
    wrote it): the DATA here does not exist, so only the output's error can come first."""
    folder = tmp_path / "ro"
    folder.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(folder) else real(p, mode, **kw))
    status, _, err = run(capsys, "fit", tmp_path / "missing.csv", "--out", folder / "m.npz", "-q")
    assert_one_line_error(status, err, f"the folder {folder} is not writable")


def test_progress_bars_only_on_a_terminal(capsys, monkeypatch, ratings_file, tmp_path):
    """Without a terminal (a log file, a pipe, CI) no bar is drawn (main drew it into logs); on one, it is."""
    status, _, err = run(capsys, "fit", ratings_file, "--out", tmp_path / "m.npz", "--factors", 2, "--epochs", 3)
    assert status == 0 and err == "", err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    status, _, err = run(capsys, "fit", ratings_file, "--out", tmp_path / "m.npz", "--factors", 2, "--epochs", 3)
    assert status == 0 and "epoch" in err, err
