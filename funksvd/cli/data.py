"""The ``DATA`` argument of the commands: MovieLens (a folder, a zip, a ratings file or a release
name such as ``ml-1m``, downloaded once), or any delimited file of ``user item rating`` lines."""

from __future__ import annotations

import zipfile
from pathlib import Path

__all__ = ["load_data", "sniff"]

_SEPARATORS = ("::", "\t", ",", ";", "|")


def sniff(path: Path) -> tuple[str | None, bool]:
    """Separator and header of a delimited ratings file, from its first non-blank line.

    The separator is the first of ``::``, tab, ``,``, ``;``, ``|`` found in the line (else any
    whitespace); the line is a header when its first field is not a number.
    """
    with open(path, encoding="utf-8", errors="replace") as lines:
        first = next((line.strip() for line in lines if line.strip()), "")
    sep = next((s for s in _SEPARATORS if s in first), None)
    field = (first.split(sep) if sep else first.split() or [""])[0].strip().strip('"')
    try:
        float(field)
        header = False
    except ValueError:
        header = True
    return sep, header


#: Ratings files of the MovieLens layouts (read with their titles by :func:`funksvd.data.load_movielens`).
_MOVIELENS_FILES = ("u.data", "ratings.dat")


def _movielens_file(path: Path) -> bool:
    if path.name in _MOVIELENS_FILES or path.suffix == ".inter" or zipfile.is_zipfile(path):
        return True
    if path.name == "ratings.csv":
        with open(path, encoding="utf-8", errors="replace") as lines:
            return lines.readline().startswith("userId,movieId,rating")
    return False


def load_data(text: str, verbose: bool = True):
    """A :class:`~funksvd.data.Dataset` from the command line's ``DATA``.

    A folder, a zip, a MovieLens ratings file or a release name go to
    :func:`~funksvd.data.load_movielens` (a release downloads once, with progress when
    ``verbose``); any other file is read as ``user item rating [timestamp]`` lines with the
    separator and header found by :func:`sniff`.
    """
    from ..data import RELEASES, load_movielens, load_triples

    path = Path(text)
    if path.is_dir() or (path.is_file() and _movielens_file(path)) or (not path.exists() and text in RELEASES):
        return load_movielens(path if path.exists() else text, verbose=verbose)
    if path.is_file():
        sep, header = sniff(path)
        return load_triples(path, sep=sep, skip_header=header)
    raise FileNotFoundError(f"{text}: no such file or folder (expected a MovieLens folder, zip or release name "
                            f"{sorted(RELEASES)}, or a file of 'user item rating' lines)")
