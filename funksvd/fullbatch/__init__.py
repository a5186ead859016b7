"""Full-batch (and mini-batch) training on the hand gradients, with Keras' optimisers in numpy."""

from .optimizers import OPTIMIZERS, SGD, Adam, Optimizer, RMSprop, make_optimizer
from .trainer import train

__all__ = ["OPTIMIZERS", "SGD", "Adam", "Optimizer", "RMSprop", "make_optimizer", "train"]
