"""Where a local copy of a MovieLens release is, for examples and tutorials that must run offline."""

from __future__ import annotations

import os
from pathlib import Path

from .download import cache_directory

__all__ = ["find_movielens"]


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
