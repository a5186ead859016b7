"""find_movielens: where a local copy of a release is. Oracle: folders the test lays out by hand."""

from __future__ import annotations

from funksvd.data import find_movielens


def test_shared_data_here_or_above_then_the_cache(tmp_path, monkeypatch):
    """Oracle: the layout below. ``shared/data/<name>`` is found from a folder three levels
    down; without it the download cache's zip is found; with neither, None."""
    monkeypatch.delenv("FUNKSVD_ML100K", raising=False)
    monkeypatch.setenv("FUNKSVD_DATA", str(tmp_path / "cache"))
    deep = tmp_path / "project" / "docs" / "build"
    deep.mkdir(parents=True)
    assert find_movielens("ml-1m", start=deep) is None
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "ml-1m.zip").write_bytes(b"")
    assert find_movielens("ml-1m", start=deep) == tmp_path / "cache" / "ml-1m.zip"
    shared = tmp_path / "shared" / "data" / "ml-1m"
    shared.mkdir(parents=True)
    assert find_movielens("ml-1m", start=deep) == shared  # the shared folder comes first


def test_the_environment_variable_names_ml100k(tmp_path, monkeypatch):
    """Oracle: ``$FUNKSVD_ML100K`` decides alone for ml-100k: its folder when it exists, else
    None (how a tutorial's no-data fallback is exercised), whatever else exists."""
    (tmp_path / "shared" / "data" / "ml-100k").mkdir(parents=True)
    monkeypatch.setenv("FUNKSVD_ML100K", str(tmp_path / "mine"))
    assert find_movielens("ml-100k", start=tmp_path) is None
    (tmp_path / "mine").mkdir()
    assert find_movielens("ml-100k", start=tmp_path) == tmp_path / "mine"
    monkeypatch.delenv("FUNKSVD_ML100K")
    assert find_movielens("ml-100k", start=tmp_path) == tmp_path / "shared" / "data" / "ml-100k"
