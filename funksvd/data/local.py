"""Where a local copy of a MovieLens release is, for examples and tutorials that must run offline."""

from __future__ import annotations

import os
from pathlib import Path

from ..base.log import log
from .download import cache_directory

__all__ = ["find_movielens", "example_dataset"]


def find_movielens(name: str = "ml-100k", start=None) -> Path | None:
    """The first local copy of release ``name`` found, or None.

    Looked for, in order: the folder named by ``$FUNKSVD_ML100K`` (``ml-100k`` only; set it to a
    missing folder to force the fallback a tutorial has for no data); ``shared/data/<name>`` in
    ``start`` (default: the working directory) or any folder above it; the download cache
    (:func:`~funksvd.data.download.cache_directory`: ``<name>.zip`` or ``<name>/``). Returns
    something :func:`~funksvd.data.load_movielens` reads; downloads nothing.

    Examples
    --------
    >>> from funksvd.data import find_movielens, load_movielens
    >>> folder = find_movielens("ml-100k")
    >>> data = load_movielens(folder) if folder is not None else None
    """
    if name == "ml-100k" and os.environ.get("FUNKSVD_ML100K"):
        folder = Path(os.environ["FUNKSVD_ML100K"])
        return folder if folder.exists() else None
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    places = [p / "shared" / "data" / name for p in (here, *here.parents)]
    cache = cache_directory()
    places += [cache / name, cache / f"{name}.zip"]
    return next((p for p in places if p.exists()), None)


def example_dataset(random_state=0, download: bool = False):
    """MovieLens 100K when a local copy is found (:func:`find_movielens`), else synthetic ratings of its shape.

    For examples and tutorials that must run anywhere: the returned
    :class:`~funksvd.data.Dataset` says in its ``source`` which one it is, so the text printed
    beside a result can say what it was computed on. The synthetic stand-in
    (:func:`~funksvd.data.synthetic_netflix` with 943 users, 1,682 items and 100,000 ratings,
    seeded by ``random_state``) has ids ``1..n`` and titles ``"item <id>"``.

    Parameters
    ----------
    random_state : int, default 0
        Seed of the synthetic stand-in.
    download : bool, default False
        Where no local copy is found, download MovieLens 100K once with the verified loader
        (:func:`~funksvd.data.fetch_movielens`: size and SHA-256 checked, cached), printing a
        line that says so, instead of falling back -- what a tutorial's notebook run outside
        the repository does. Only if the download fails (no network) does it fall back, with a
        ``UserWarning`` naming the error. ``$FUNKSVD_ML100K`` set to a missing folder still
        forces the fallback, without a download.

    Examples
    --------
    >>> from funksvd.data import example_dataset
    >>> data = example_dataset()
    >>> (data.n_users, data.n_items, len(data))
    (943, 1682, 100000)
    """
    import warnings

    import numpy as np

    from .dataset import Dataset
    from .download import fetch_movielens
    from .movielens import load_movielens
    from .synthetic import synthetic_netflix

    folder = find_movielens("ml-100k")
    reason = "MovieLens 100K not found"
    if folder is None and download and not os.environ.get("FUNKSVD_ML100K"):
        log("MovieLens 100K not found locally: downloading it once (about 5 MB, checked against its published "
            f"SHA-256) into {cache_directory()}", verbose=True)  # asked for with download=True: say so
        try:
            folder = fetch_movielens("ml-100k")
        except (OSError, ValueError) as error:
            reason = f"MovieLens 100K could not be downloaded: {error}"
            warnings.warn(f"{reason}; running on synthetic ratings of its shape instead, so statements about "
                          "films do not apply", UserWarning, stacklevel=2)
    if folder is not None:
        data = load_movielens(folder)
        return Dataset(data.ratings, data.user_map, data.item_map, data.timestamps, data.item_titles,
                       data.item_attributes, data.user_attributes, source="MovieLens 100K")
    ratings = synthetic_netflix(943, 1682, 100_000, random_state=random_state)
    items = np.arange(1, ratings.n_items + 1)
    return Dataset(ratings, np.arange(1, ratings.n_users + 1), items,
                   item_titles=np.array([f"item {i}" for i in items], dtype=object),
                   source=f"synthetic ratings shaped like MovieLens 100K ({reason})")
