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
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..base.files import atomic_write

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

#: Seconds a read may wait for the server before the download fails.
READ_TIMEOUT = 60.0
#: Bytes per second of the slowest download the default deadline waits for.
SLOWEST_RATE = 20_000


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


def fetch_movielens(name, cache_dir=None, *, base_url=None, verbose=False, deadline=None) -> Path:
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
    deadline : float, optional
        Seconds the whole download may take; default :data:`READ_TIMEOUT` plus the time of the
        published size at :data:`SLOWEST_RATE` bytes per second. Each read also times out after
        :data:`READ_TIMEOUT` seconds of silence.

    Returns
    -------
    pathlib.Path
        ``<cache_dir>/<name>.zip``, whose size and SHA-256 equal the published ones.

    Raises
    ------
    ValueError
        For an unknown name; a server that announces another size (``Content-Length``), sends
        an HTML page, or more bytes than the published size (it stops reading there); a
        download whose size or SHA-256 differs (naming the URL and both digests). Nothing is
        written to the cache then.
    OSError
        If the server cannot be reached, answers with an error or a redirect loop, breaks off,
        or the download outlasts ``deadline`` (naming the URL); if the cache folder is a file.

    Notes
    -----
    The archive is written by :func:`funksvd.base.files.atomic_write`: to a temporary file in
    the cache folder, renamed into place only once verified, so an interrupted or corrupt
    download never leaves a file that looks complete. A cached archive is verified again
    (size and SHA-256) before use and downloaded afresh if it does not match.
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
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"the download cache {folder} is a file, not a folder: point cache_dir= (or "
                                 "FUNKSVD_DATA) at a folder")
    folder.mkdir(parents=True, exist_ok=True)
    seconds = READ_TIMEOUT + size / SLOWEST_RATE if deadline is None else float(deadline)

    def write(out) -> None:
        got, digest = _download(url, name, out, size, verbose, time.monotonic() + seconds)
        if (got, digest) != (size, sha256):
            raise ValueError(f"{url}: downloaded {got:,} bytes with SHA-256 {digest}, but the published "
                             f"{name}.zip has {size:,} bytes and SHA-256 {sha256}; the download is truncated or "
                             "corrupt, or the server sent another file (nothing was cached)")

    return atomic_write(target, write, mode=0o644, what=f"{name}.zip")  # a cached dataset is not private


def _download(url: str, name: str, out, size: int, verbose: bool, deadline: float) -> tuple[int, str]:
    """Copy ``url`` into the open file ``out``, at most ``size + 1`` bytes, by ``deadline``; its length and SHA-256."""
    try:
        response = urllib.request.urlopen(url, timeout=min(READ_TIMEOUT, max(deadline - time.monotonic(), 0.01)))
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        said = " ".join(str(exc).split())  # urllib's redirect-loop message spans lines
        raise OSError(f"{url}: cannot download {name}.zip ({said}); check the network, or pass base_url= "
                      "(or set FUNKSVD_MOVIELENS_URL) to a mirror") from exc
    sha, got = hashlib.sha256(), 0
    with response:
        length, kind = response.headers.get("Content-Length"), response.headers.get("Content-Type") or ""
        if kind.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
            raise ValueError(f"{url}: the server answered with a web page ({kind}), not {name}.zip: a login page, a "
                             "captive portal or a wrong base_url (nothing was cached)")
        if length is not None and length.strip().isdigit() and int(length) != size:
            raise ValueError(f"{url}: the server announces {int(length):,} bytes (Content-Length), but the published "
                             f"{name}.zip has {size:,} bytes: it would send another file (nothing was cached)")
        update, close = _progress(size, f"{name}.zip", verbose)
        try:
            while chunk := response.read1(min(_CHUNK, size + 1 - got)):
                out.write(chunk)
                sha.update(chunk)
                got += len(chunk)
                update(len(chunk))
                if got > size:
                    raise ValueError(f"{url}: the server sends more than the published {size:,} bytes of {name}.zip; "
                                     "stopped reading (nothing was cached)")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the download took longer than its deadline, after {got:,} of {size:,} bytes")
        except (http.client.HTTPException, OSError) as exc:
            raise OSError(f"{url}: the download broke off after {got:,} bytes ({type(exc).__name__}: {exc})") from exc
        finally:
            close()
    if got < size and length is not None:  # the connection closed before the announced end
        raise OSError(f"{url}: the download broke off after {got:,} bytes of {size:,} (the connection closed)")
    return got, sha.hexdigest()
