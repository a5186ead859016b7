r"""Generic delimited files of ``user item rating [timestamp]`` lines."""

from __future__ import annotations

from pathlib import Path

from .dataset import Dataset, assemble
from .text import Text, parse_ratings

__all__ = ["load_triples"]


def load_triples(path, sep=None, skip_header=False, encoding="utf-8", ids="int") -> Dataset:
    r"""Load a text file of ``user item rating`` lines (optionally ``... timestamp``).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    sep : str, optional
        Field separator: ``None`` (default) splits on any run of whitespace; e.g. ``","``,
        ``"\t"`` or ``"::"`` (MovieLens 1M). With a one-character separator, fields may be
        quoted as in a csv file (``"1","10","5"``, ``"Smith, J.",10,5``).
    skip_header : bool, default False
        Ignore the first line (column names); a first line that reads as a rating is an error,
        not a rating lost.
    encoding : str, default "utf-8"
        Text encoding of the file (``"latin-1"`` reads any byte). A UTF-8 byte-order mark is
        dropped.
    ids : {"int", "str", "auto"}, default "int"
        The raw user and item ids: integers up to int64 (anything else is an error naming the
        line), text (``"007"`` and ``"7"`` are two ids), or ``"auto"``: per column, integers
        when every id is one, else text (what the command line does).

    Returns
    -------
    Dataset
        Ratings in file order with 0-based indices in raw-id order; ``timestamps`` when the
        lines have a fourth field.

    Raises
    ------
    ValueError
        Naming the file and 1-based line: a field count other than 3 or 4 or different from
        the first line's, an id that is not an integer (``ids="int"``), a rating that is not a finite number,
        a byte that is not valid in ``encoding`` (with the byte and a hint), or a file without
        ratings. Blank lines are skipped; nothing else is (a ``(user, item)`` pair rated twice
        is kept, with a warning naming it; see :meth:`Dataset.from_arrays`).
    """
    path = Path(path)
    text = Text.read(path, encoding)
    users, items, values, stamps = parse_ratings(
        text, sep, skip_header, {3: "user item rating", 4: "user item rating timestamp"}, ids=ids)
    return assemble(users, items, values, stamps, source=str(path))
