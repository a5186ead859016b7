r"""Downloading MovieLens releases: verified against published checksums, cached, written atomically.

The checksums
-------------
GroupLens publishes an MD5 beside some archives (``<name>.zip.md5``) but no SHA-256. The sizes
and SHA-256 digests below are those recorded by TensorFlow Datasets
(``tensorflow_datasets/url_checksums/movielens.txt``) for the same URLs; they were not
recomputed here (this code was written without access to files.grouplens.org). Independent
confirmations: ml-100k (SHA-256, size 4,924,029 and GroupLens' MD5
``0e33842e24a9c977be4e0107933c0723`` quoted together by another project), ml-latest-small
(the same SHA-256 in a third-party dataset card), ml-20m (198,702,078 bytes, as on Academic
Torrents). ``ml-latest-small`` is a "latest" release that GroupLens may regenerate; the
digest is that of the version current since 2018, and a newer one is reported as a mismatch
rather than silently accepted.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["DEFAULT_URL", "RELEASES", "cache_directory", "fetch_movielens"]

#: Where GroupLens serves the archives (override with ``base_url=`` or ``$FUNKSVD_MOVIELENS_URL``).
DEFAULT_URL = "https://files.grouplens.org/datasets/movielens"

#: Release name -> (size in bytes, SHA-256 hex digest) of ``<name>.zip`` (see the module notes).
RELEASES = {
    "ml-100k": (4_924_029, "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"),
    "ml-1m": (5_917_549, "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20"),
    "ml-latest-small": (978_202, "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436"),
    "ml-20m": (198_702_078, "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3"),
    "ml-25m": (261_978_986, "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa"),
}

_CHUNK = 1 << 20


def cache_directory(cache_dir=None) -> Path:
    """``cache_dir``, else ``$FUNKSVD_DATA``, else ``~/.cache/funksvd``."""
    if cache_dir is None:
        cache_dir = os.environ.get("FUNKSVD_DATA") or Path.home() / ".cache" / "funksvd"
    return Path(cache_dir).expanduser()


def _digest(path: Path) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def _progress(total: int | None, desc: str, verbose: bool):
    """A byte counter: tqdm when installed, else a line per 10%; silent unless ``verbose``."""
    if not verbose:
        return lambda n: None, lambda: None
    try:
        from tqdm import tqdm
    except ImportError:
        done = [0, 0]

        def update(n):
            done[0] += n
            if total and done[0] * 10 // total > done[1]:
                done[1] = done[0] * 10 // total
                print(f"{desc}: {done[0]:,} of {total:,} bytes", file=sys.stderr)

        return update, lambda: None
    bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, leave=True)
    return bar.update, bar.close


def fetch_movielens(name, cache_dir=None, *, base_url=None, verbose=False) -> Path:
    r"""The verified archive ``<name>.zip`` of a MovieLens release, downloaded once into a cache.

    Parameters
    ----------
    name : str
        A key of :data:`RELEASES`: ``ml-100k``, ``ml-1m``, ``ml-latest-small``, ``ml-20m``,
        ``ml-25m``.
    cache_dir : str or os.PathLike, optional
        Default ``$FUNKSVD_DATA``, else ``~/.cache/funksvd``; created if needed.
    base_url : str, optional
        Default ``$FUNKSVD_MOVIELENS_URL``, else :data:`DEFAULT_URL`; the archive is fetched
        from ``<base_url>/<name>.zip``.
    verbose : bool, default False
        Show the download's progress (tqdm when installed).

    Returns
    -------
    pathlib.Path
        ``<cache_dir>/<name>.zip``, whose size and SHA-256 equal the published ones.

    Raises
    ------
    ValueError
        For an unknown name, or a download whose size or SHA-256 differs (naming the URL and
        both digests); nothing is written to the cache then.
    OSError
        If the server cannot be reached or answers with an error (naming the URL).

    Notes
    -----
    The archive is written to a temporary file in the cache folder and renamed into place
    only once verified (:func:`os.replace` is atomic), so an interrupted or corrupt download
    never leaves a file that looks complete. A cached archive is verified again before use
    and downloaded afresh if it does not match.
    """
    if name not in RELEASES:
        raise ValueError(f"unknown MovieLens release {name!r}; known: {', '.join(RELEASES)}")
    size, sha256 = RELEASES[name]
    folder = cache_directory(cache_dir)
    target = folder / f"{name}.zip"
    if target.is_file():
        if _digest(target) == (size, sha256):
            return target
        if verbose:
            print(f"{target} does not match the published SHA-256; downloading it again", file=sys.stderr)
    base = (base_url or os.environ.get("FUNKSVD_MOVIELENS_URL") or DEFAULT_URL).rstrip("/")
    url = f"{base}/{name}.zip"
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            got, digest = _download(url, name, out, size, verbose)
        if (got, digest) != (size, sha256):
            raise ValueError(f"{url}: downloaded {got:,} bytes with SHA-256 {digest}, but the published "
                             f"{name}.zip has {size:,} bytes and SHA-256 {sha256}; the download is truncated or "
                             "corrupt, or the server sent another file (nothing was cached)")
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a cached dataset is not
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _download(url: str, name: str, out, size: int, verbose: bool) -> tuple[int, str]:
    """Copy ``url`` into the open file ``out``; its length and SHA-256."""
    try:
        response = urllib.request.urlopen(url, timeout=60)
    except urllib.error.URLError as exc:
        raise OSError(f"{url}: cannot download {name}.zip ({exc}); check the network, or pass base_url= "
                      "(or set FUNKSVD_MOVIELENS_URL) to a mirror") from exc
    sha, got = hashlib.sha256(), 0
    with response:
        length = response.headers.get("Content-Length")
        update, close = _progress(int(length) if length else size, f"{name}.zip", verbose)
        try:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                sha.update(chunk)
                got += len(chunk)
                update(len(chunk))
        except (http.client.HTTPException, ConnectionError, TimeoutError) as exc:
            raise OSError(f"{url}: the download broke off after {got:,} bytes ({type(exc).__name__}: {exc})") from exc
        finally:
            close()
    return got, sha.hexdigest()
