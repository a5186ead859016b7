r"""Generic delimited files of ``user item rating [timestamp]`` lines."""

from __future__ import annotations

from pathlib import Path

from .dataset import Dataset, assemble
from .text import Text, parse_ratings

__all__ = ["load_triples"]


def load_triples(path, sep=None, skip_header=False, encoding="utf-8") -> Dataset:
    r"""Load a text file of ``user item rating`` lines (optionally ``... timestamp``).

    Parameters
    ----------
    path : str or os.PathLike
        The file. Raw user and item ids must be integers (up to int64).
    sep : str, optional
        Field separator: ``None`` (default) splits on any run of whitespace; e.g. ``","``,
        ``"\t"`` or ``"::"`` (MovieLens 1M).
    skip_header : bool, default False
        Ignore the first line (column names).
    encoding : str, default "utf-8"
        Text encoding of the file (``"latin-1"`` reads any byte).

    Returns
    -------
    Dataset
        Ratings in file order with 0-based indices in raw-id order; ``timestamps`` when the
        lines have a fourth field.

    Raises
    ------
    ValueError
        Naming the file and 1-based line: a field count other than 3 or 4 or different from
        the first line's, an id that is not an integer, a rating that is not a finite number,
        a byte that is not valid in ``encoding`` (with the byte and a hint), or a file without
        ratings. Blank lines are skipped; nothing else is.
    """
    path = Path(path)
    text = Text.read(path, encoding)
    users, items, values, stamps = parse_ratings(
        text, sep, skip_header, {3: "user item rating", 4: "user item rating timestamp"})
    return assemble(users, items, values, stamps, source=str(path))
