r"""Reading delimited text: decoding, fields and numbers, with errors naming the file and line.

The one place a byte becomes text and a token becomes a number. Every error is a
:class:`ValueError` ``"<file>, line <n>: <what is wrong>"`` (1-based physical lines), so a
problem in a 25-million-line file can be found with an editor.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import math
import warnings
import zlib
from pathlib import Path

import numpy as np

__all__ = []  # internal: used by the loaders of funksvd.data

#: A compressed file (a zip member, a gzip file) may inflate to this many times its size at most ...
MAX_RATIO = 100
#: ... and never past this many bytes (MovieLens 25M's ratings.csv, the largest, is 678 MB).
MAX_INFLATED = 4 << 30
#: Below this size a compressed file is never refused for its ratio (tiny files of repeated lines).
_RATIO_FLOOR = 16 << 20
GZIP_MAGIC = b"\x1f\x8b"


def inflation_limit(compressed: int) -> int:
    """The most bytes a compressed file of ``compressed`` bytes may inflate to (see :data:`MAX_RATIO`)."""
    return min(MAX_INFLATED, max(MAX_RATIO * compressed, _RATIO_FLOOR))


def read_bounded(stream, name: str, limit: int, compressed: int) -> bytes:
    """All bytes of ``stream``, refused once past ``limit``: a ValueError naming ``name`` (a decompression bomb)."""
    chunks, total = [], 0
    while chunk := stream.read(min(1 << 20, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise ValueError(f"{name}: {compressed:,} compressed bytes inflate to more than {limit:,} bytes "
                             f"(at most {MAX_RATIO} times the compressed size, and {MAX_INFLATED:,} bytes in all); "
                             "refused as a decompression bomb or not a ratings file")
    return b"".join(chunks)


def read_file(path: Path) -> bytes:
    """The bytes of ``path``; of a gzip file, its decompressed bytes within :func:`inflation_limit`."""
    with open(path, "rb") as file:
        if file.read(2) != GZIP_MAGIC:
            file.seek(0)
            return file.read()
    size = path.stat().st_size
    try:
        with gzip.open(path, "rb") as stream:
            return read_bounded(stream, str(path), inflation_limit(size), size)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: a damaged gzip file ({type(exc).__name__}: {exc})") from None


def decode(name: str, data: bytes, encoding: str) -> str:
    """``data`` as text; a byte the encoding cannot read gives a ValueError naming file, line and byte.

    A UTF-8 byte-order mark (``EF BB BF``, written by Excel and Notepad) is dropped, whatever
    byte-compatible ``encoding`` is named: left in, it would glue itself to the first field.
    """
    try:
        wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} for {name}") from None
    skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) and not wide else 0
    try:
        text = data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        line = data.count(b"\n", 0, offset) + 1
        hint = (' (the MovieLens 100K and 1M files are Latin-1: pass encoding="latin-1", on the command line '
                "--encoding latin-1)")
        hint = "" if encoding == "latin-1" else hint
        raise ValueError(f"{name}, line {line}: byte 0x{data[offset]:02x} (file offset {offset}) is not "
                         f"valid {encoding}{hint}") from None
    return text.removeprefix("\ufeff")


class Text:
    """The text of one file (on disk or inside a zip) and the name used in error messages."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.text = text
        self.header = False  # set once parsed with a header line, so line numbers can be recovered

    @classmethod
    def read(cls, path: Path, encoding: str) -> Text:
        """The text of the file at ``path``; a gzip file (by its magic bytes) is decompressed, within bounds."""
        return cls(str(path), decode(str(path), read_file(Path(path)), encoding))

    def lines(self, skip_header: bool = False):
        """``(line_number, line)`` pairs (1-based), blank lines skipped, header optionally skipped."""
        self.header = skip_header
        empty = True
        for number, line in enumerate(self.physical_lines(), start=1):
            empty = False
            if (skip_header and number == 1) or not line.strip():
                continue
            yield number, line
        if skip_header and empty:
            raise ValueError(f"{self.name}: the file is empty, expected a header line")

    def physical_lines(self):
        r"""The lines between ``\n`` (a ``\r`` before it dropped), as an editor numbers them, one at a time.

        Not :meth:`str.splitlines`, which also breaks at ``\x85``, ``\x1c`` ... : a Latin-1
        title holding byte 0x85 (an ellipsis in cp1252) would become two lines. A generator, not
        a list: a list of 25 million line objects would take several times the text's memory.
        """
        text, start, end = self.text, 0, len(self.text)
        while start < end:
            stop = text.find("\n", start)
            stop = end if stop < 0 else stop
            line = text[start:stop]
            yield line.removesuffix("\r")
            start = stop + 1

    def first_line(self) -> str | None:
        """The first physical line, or None for an empty text."""
        return next(self.physical_lines(), None)

    def line_of(self, j: int) -> int:
        """1-based line number of the ``j``-th (0-based) data line."""
        for count, (number, _) in enumerate(self.lines(self.header)):
            if count == j:
                return number
        raise IndexError(j)  # pragma: no cover - j comes from the parsed lines

    def error(self, number: int, what: str) -> ValueError:
        return ValueError(f"{self.name}, line {number}: {what}")


def split(line: str, sep: str | None) -> list[str]:
    """Fields of ``line``; with a one-character separator, quoted fields as the :mod:`csv` module reads them."""
    if sep is not None and len(sep) == 1 and '"' in line:
        return next(csv.reader([line], delimiter=sep))
    return line.split() if sep is None else line.split(sep)


def describe_sep(sep: str | None) -> str:
    return {None: "whitespace", "\t": "tab", "|": "'|'", ",": "comma"}.get(sep, repr(sep))


def parse_int(text: Text, number: int, token: str, what: str, hint: str = "") -> int:
    token = token.strip()
    try:
        value = int(token)
    except ValueError:
        try:
            number_ = float(token)
        except ValueError:
            raise text.error(number, f"{what} {token!r} is not a number{hint}") from None
        if not (math.isfinite(number_) and number_ == round(number_)):
            raise text.error(number, f"{what} {token!r} is not an integer") from None
        value = int(number_)
    if not -(2**63) <= value < 2**63:
        raise text.error(number, f"{what} {token!r} does not fit in int64")
    return value


def parse_rating(text: Text, number: int, token: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise text.error(number, f"rating {token.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise text.error(number, f"rating {token.strip()!r} is not finite")
    return value


def _fast_ratings(text: Text, sep, skip_header: bool, columns: dict[int, str]):
    """numpy's C parser on well-formed files; None whenever anything needs a line-by-line look."""
    body = text.text
    if not body.strip():
        return None
    if sep is not None and len(sep) > 1:
        if "\x1f" in body:
            return None
        body = body.replace(sep, "\x1f")
        sep = "\x1f"
    try:
        with warnings.catch_warnings():  # "input contained no data": the line-by-line parser says it better
            warnings.simplefilter("ignore")
            table = np.loadtxt(io.StringIO(body), delimiter=sep, comments=None, skiprows=int(skip_header), ndmin=2,
                               dtype=np.float64, encoding=None)
    except ValueError:
        return None
    if table.shape[0] == 0 or table.shape[1] not in columns:
        return None
    if not np.all(np.isfinite(table)):
        return None
    ids = table[:, [0, 1, 3] if table.shape[1] == 4 else [0, 1]]
    if not (np.all(ids == np.round(ids)) and np.all(np.abs(ids) < 2.0**53)):
        return None  # not whole, or beyond exact float64 integers: the slow path decides
    stamps = table[:, 3].astype(np.int64) if table.shape[1] == 4 else None
    return table[:, 0].astype(np.int64), table[:, 1].astype(np.int64), table[:, 2].copy(), stamps


#: How ``ids="int"`` says where text ids are read.
_TEXT_IDS_HINT = ("; this reader needs integer ids: pass ids=\"auto\" or \"str\" to load_triples (the command line "
                  "reads text ids), or build the data with Dataset.from_frame / from_arrays, which take any ids")

IDS = ("int", "str", "auto")


def _ids(text: Text, numbers: list[int], tokens: list[str], what: str, ids: str) -> np.ndarray:
    """One column of raw ids: integers (``"int"``: already parsed; ``"auto"`` when every token is one) or text."""
    if ids == "auto":
        try:
            return np.array([parse_int(text, n, token, what) for n, token in zip(numbers, tokens)], dtype=np.int64)
        except ValueError:
            ids = "str"
    if ids == "str":
        out = np.empty(len(tokens), dtype=object)
        out[:] = [token.strip() for token in tokens]
        empty = next((n for n, token in zip(numbers, out) if not token), None)
        if empty is not None:
            raise text.error(empty, f"the {what} is empty")
        return out
    return np.array(tokens, dtype=np.int64)  # "int": parsed (and checked) line by line


def is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _check_header(text: Text, sep, ids: str) -> None:
    """Refuse to skip a first line that reads as a rating: skipping it would drop a rating silently."""
    first = text.first_line()
    fields = [field.strip() for field in split(first, sep)] if first is not None else []
    if len(fields) < 3 or not is_number(fields[2]):
        return
    if ids == "int" and not all(_whole(field) for field in fields[:2]):
        return
    raise text.error(1, f"the header line {first!r} reads as a rating; pass skip_header=False to read it as one")


def _whole(token: str) -> bool:
    """A whole number, as :func:`parse_int` reads ids (range aside)."""
    return is_number(token) and math.isfinite(float(token)) and float(token) == round(float(token))


def parse_ratings(text: Text, sep, skip_header: bool, columns: dict[int, str], ids: str = "int"):
    """Parse ``user item rating [timestamp]`` lines; ``columns`` maps a field count to its layout name.

    ``ids``: ``"int"`` (integer ids, else an error at the line), ``"str"`` (ids as text) or
    ``"auto"`` (per column: integers when every id is one, else text). Well-formed files go
    through numpy's parser; any doubt falls back to the line-by-line parser below, the single
    source of the error messages (and of the result on files it accepts).
    """
    if ids not in IDS:
        raise ValueError(f"ids must be one of {IDS}, got {ids!r}")
    if skip_header:
        _check_header(text, sep, ids)
    fast = None if ids == "str" else _fast_ratings(text, sep, skip_header, columns)
    if fast is not None:
        text.header = skip_header
        return fast
    numbers, users, items, values, stamps = [], [], [], [], []
    expected = None
    for number, line in text.lines(skip_header):
        fields = split(line, sep)
        if expected is None:
            if len(fields) not in columns:
                if len(columns) == 1:
                    (n, layout), = columns.items()
                    wanted = f"{n} {describe_sep(sep)}-separated fields ({layout})"
                else:
                    layouts = " or ".join(f"{n} ({columns[n]})" for n in sorted(columns))
                    wanted = f"{layouts} {describe_sep(sep)}-separated fields"
                raise text.error(number, f"expected {wanted}, got {len(fields)}")
            expected = len(fields)
        elif len(fields) != expected:
            raise text.error(number, f"expected {expected} {describe_sep(sep)}-separated fields "
                                     f"({columns[expected]}) like the first line, got {len(fields)}")
        numbers.append(number)
        if ids == "int":  # checked here, so the first bad line is the one named
            fields[:2] = (parse_int(text, number, fields[0], "user id", _TEXT_IDS_HINT),  # type: ignore[assignment]
                          parse_int(text, number, fields[1], "item id", _TEXT_IDS_HINT))
        users.append(fields[0])
        items.append(fields[1])
        values.append(parse_rating(text, number, fields[2]))
        if expected == 4:
            stamps.append(parse_int(text, number, fields[3], "timestamp"))
    if not values:
        raise ValueError(f"{text.name}: no ratings after the header line" if skip_header
                         else f"{text.name}: no ratings in the file")
    return (_ids(text, numbers, users, "user id", ids), _ids(text, numbers, items, "item id", ids),
            np.array(values, dtype=np.float64), np.array(stamps, dtype=np.int64) if expected == 4 else None)


def parse_table(text: Text, sep: str, n_fields: int | None, skip_header: bool, what: str, rows=None):
    """Rows of a metadata file as ``(line number, fields)``, each with the expected number of fields.

    ``rows`` may supply already split rows (e.g. from :mod:`csv`); they are checked the same way.
    """
    if rows is None:
        rows = ((number, line.split(sep)) for number, line in text.lines(skip_header))
    out = []
    for number, fields in rows:
        if n_fields is not None and len(fields) != n_fields:
            raise text.error(number, f"expected {n_fields} {describe_sep(sep)}-separated fields ({what}), "
                                     f"got {len(fields)}")
        out.append((number, fields))
    return out


def table_ids(text: Text, rows, column: int, kind: str) -> np.ndarray:
    """The integer ids in ``column`` of ``rows``; an id listed twice is an error naming both lines."""
    ids: list[int] = []
    seen: dict[int, int] = {}
    for number, fields in rows:
        raw = parse_int(text, number, fields[column], f"{kind} id")
        if raw in seen:
            raise text.error(number, f"{kind} id {raw} is listed twice (first on line {seen[raw]})")
        seen[raw] = number
        ids.append(raw)
    return np.array(ids, dtype=np.int64)
