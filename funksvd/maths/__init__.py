"""The mathematics: per-rating rules, full-batch objectives with hand gradients, symmetries.

Numpy only; every formula is stated in its docstring and tested against the code.
"""

from .objectives import OBJECTIVES, Objective, gradients, loss
from .rules import RULES, Rule

__all__ = ["OBJECTIVES", "Objective", "RULES", "Rule", "gradients", "loss"]
