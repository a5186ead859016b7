"""Every exercise by name, in the reading order of the derivations chapter."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import closed_forms, losses, steps, symmetries
from .exercise import Exercise

__all__ = ["EXERCISES", "PAGES"]

#: The derivation pages, in reading order (``Exercise.page`` is ``"derivations/" + one of these``).
PAGES = ("rules", "masked_matrix", "sum_vs_mean", "l1", "sigmoid", "biases", "map", "funk_schedule",
         "fold_in_als", "als", "symmetries", "not_svd", "gradient_checking", "optimizers", "svdpp")

_ALL = sorted(losses.EXERCISES + closed_forms.EXERCISES + symmetries.EXERCISES + steps.EXERCISES,
              key=lambda e: PAGES.index(e.page.removeprefix("derivations/")))

EXERCISES: Mapping[str, Exercise] = MappingProxyType({exercise.name: exercise for exercise in _ALL})
