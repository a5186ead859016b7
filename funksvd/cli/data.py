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
    whitespace). The line is a header only when none of its fields is a number
    (``user,item,rating``): a rating line is never skipped, and a malformed one
    (``1,2,five``) is read, so the reader names it, rather than taken for a header. Fields are
    split (and unquoted) as the reader splits them; a UTF-8 byte-order mark is dropped; a
    gzip file is read decompressed.
    """
    import gzip

    from ..data.text import GZIP_MAGIC, is_number, split

    with open(path, "rb") as raw:
        zipped = raw.read(2) == GZIP_MAGIC
    opener = gzip.open if zipped else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as lines:
        first = next((line.strip() for line in lines if line.strip()), "")
    sep = next((s for s in _SEPARATORS if s in first), None)
    fields = [field.strip() for field in split(first, sep)]
    return sep, bool(fields) and not any(is_number(field) for field in fields)


#: Ratings files of the MovieLens layouts (read with their titles by :func:`funksvd.data.load_movielens`).
_MOVIELENS_FILES = ("u.data", "ratings.dat")


def _movielens_file(path: Path) -> bool:
    from ..data.movielens import METADATA_FILES

    if path.name in _MOVIELENS_FILES or path.name in METADATA_FILES or path.suffix in (".inter", ".item", ".user"):
        return True  # (a metadata file: load_movielens says what it is and what to pass instead)
    if zipfile.is_zipfile(path):
        return True
    if path.name == "ratings.csv":
        with open(path, encoding="utf-8-sig", errors="replace") as lines:
            return lines.readline().startswith("userId,movieId,rating")
    return False


def load_data(text: str, verbose: bool = True, encoding: str = "utf-8"):
    """A :class:`~funksvd.data.Dataset` from the command line's ``DATA``.

    A folder, a zip, a MovieLens ratings file or a release name go to
    :func:`~funksvd.data.load_movielens` (a release downloads once, with progress when
    ``verbose``); any other file is read as ``user item rating [timestamp]`` lines with the
    separator and header found by :func:`sniff`, integer or text ids (``ids="auto"``), in
    ``encoding``.
    """
    from ..data import RELEASES, load_movielens, load_triples

    path = Path(text)
    if path.is_dir() or (path.is_file() and _movielens_file(path)) or (not path.exists() and text in RELEASES):
        return load_movielens(path if path.exists() else text, verbose=verbose)
    if path.is_file():
        sep, header = sniff(path)
        return load_triples(path, sep=sep, skip_header=header, encoding=encoding, ids="auto")
    raise FileNotFoundError(f"{text}: no such file or folder (expected a MovieLens folder, zip or release name "
                            f"{sorted(RELEASES)}, or a file of 'user item rating' lines)")
