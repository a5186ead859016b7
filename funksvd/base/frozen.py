"""The one immutability mechanism of funksvd's containers (Ratings, Factors, IdMap, Dataset, ...).

A container derives from :class:`Frozen`, names its fields in ``__slots__`` (and annotates them in
the class body, for readers and type checkers), writes each field once in ``__init__`` with
:meth:`Frozen._set`, and says in :meth:`Frozen.__reduce__` how pickle and :func:`copy.deepcopy`
rebuild it (through a constructor, so a restored object is checked and read-only again).
"""

from __future__ import annotations

__all__ = ["Frozen"]


class Frozen:
    """Base of an immutable container: attribute assignment and deletion raise ``AttributeError``."""

    __slots__ = ()

    #: Appended to the message of a refused assignment (``{name}`` is the attribute's name).
    _IMMUTABLE_HINT = ""

    def _set(self, name: str, value) -> None:
        """Write field ``name``: the one way in, used by ``__init__`` only."""
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value) -> None:
        hint = self._IMMUTABLE_HINT.format(name=name)
        raise AttributeError(f"{type(self).__name__} is immutable; cannot set {name!r}{hint}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; cannot delete {name!r}")

    def __reduce__(self):
        raise NotImplementedError(f"{type(self).__name__} must say how it is rebuilt (__reduce__)")
