r"""Exercises graded by funksvd: derive a gradient, an update or a closed form, and be told whether it is right.

>>> import numpy as np
>>> from funksvd import exercises
>>> exercise = exercises.get("masked_gradient")
>>> print(exercise.starter)          # doctest: +SKIP
>>> def masked_gradient(R, M, P, Q):
...     E = M * (R - P @ Q.T)
...     return -E @ Q, -E.T @ P      # the 2 of d(e^2)/de forgotten
>>> report = exercise.grade(masked_gradient, oracles=("finite_differences",))
>>> report.ok, report.hints[0]
(False, 'dLdP: half the true gradient: a missing factor 2')

* :func:`names` lists the exercises, :func:`get` returns one (an :class:`Exercise`: ``.title``,
  ``.page``, ``.prompt``, ``.starter``, ``.solution``, ``.grade(fn)``);
* :func:`grade_file` grades a student's file in a subprocess with a time limit
  (``funksvd exercise NAME FILE`` on the command line).

Every answer is graded on fresh random cases of several shapes against an oracle independent of
the reference solution (:mod:`funksvd.exercises.exercise`). Without TensorFlow, gradients are
compared with finite differences (and sympy, when installed) and the report says TensorFlow was skipped.
"""

from __future__ import annotations

from .catalogue import EXERCISES
from .exercise import Case, Exercise, ExerciseReport, Slip
from .grading import grade_file

__all__ = ["EXERCISES", "Case", "Exercise", "ExerciseReport", "Slip", "get", "grade_file", "names"]


def names() -> tuple[str, ...]:
    """The exercises' names, in the order of the derivations chapter."""
    return tuple(EXERCISES)


def get(name: str) -> Exercise:
    """The exercise called ``name`` (``KeyError`` naming the known ones otherwise)."""
    try:
        return EXERCISES[name]
    except KeyError:
        raise KeyError(f"no exercise {name!r}; the exercises are {', '.join(EXERCISES)}") from None
