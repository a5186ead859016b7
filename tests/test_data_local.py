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


def test_example_dataset_says_what_it_is(tmp_path, monkeypatch, ml100k_path):
    """Oracle: the published shape of MovieLens 100K (943 users, 1,682 items, 100,000 ratings)
    and the ``source`` each branch must name; the synthetic stand-in has the same shape."""
    from funksvd.data import example_dataset

    monkeypatch.setenv("FUNKSVD_ML100K", str(ml100k_path))
    real = example_dataset()
    assert real.source == "MovieLens 100K" and real.item_titles[real.item_index(50)] == "Star Wars"
    monkeypatch.setenv("FUNKSVD_ML100K", str(tmp_path / "absent"))
    stand_in = example_dataset()
    assert stand_in.source.startswith("synthetic") and "not found" in stand_in.source
    for data in (real, stand_in):
        assert (data.n_users, data.n_items, len(data)) == (943, 1682, 100_000)
    assert stand_in.item_titles[0] == "item 1"
