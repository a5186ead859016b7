"""Exceptions of funksvd."""

__all__ = ["DivergenceError", "NotFittedError"]


class DivergenceError(FloatingPointError):
    """Training produced a non-finite or exploding value.

    Raised instead of ever returning NaN factors; the message names where it happened
    (epoch, rating) and suggests a smaller learning rate.
    """


class NotFittedError(ValueError, AttributeError):
    """An estimator is used before ``fit`` (the same bases as scikit-learn's)."""
