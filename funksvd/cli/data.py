"""The ``DATA`` argument of the commands: a MovieLens folder or zip, or a delimited file of ratings."""

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


def load_data(text: str):
    """A dataset from the command line's ``DATA``: a MovieLens folder or zip, ``u.data``, or ``user item rating`` lines."""
    from ..datasets import load_movielens, load_triples

    path = Path(text)
    if path.is_dir() or (path.is_file() and (zipfile.is_zipfile(path) or path.name == "u.data"
                                             or path.suffix == ".inter")):
        return load_movielens(path)
    if path.is_file():
        sep, header = sniff(path)
        return load_triples(path, sep=sep, skip_header=header)
    raise FileNotFoundError(f"{text}: no such file or folder (expected a MovieLens folder or zip, "
                            "or a file of 'user item rating' lines)")
