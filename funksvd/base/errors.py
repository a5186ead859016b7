"""Exceptions of funksvd."""

__all__ = ["DivergenceError", "InputError", "NotFittedError", "UnknownIdError"]


class DivergenceError(FloatingPointError):
    """Training produced a non-finite or exploding value.

    Raised instead of ever returning NaN factors; the message names where it happened
    (epoch, rating) and suggests a smaller learning rate.
    """


class NotFittedError(ValueError, AttributeError):
    """An estimator is used before ``fit`` (the same bases as scikit-learn's)."""


class UnknownIdError(KeyError, ValueError):
    """A raw user or item id that the data or the model does not know.

    A :class:`KeyError` (a lookup that failed) and, for code written against earlier versions,
    a :class:`ValueError`. Its message names the id and where it was looked up.
    """

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class InputError(ValueError):
    """Input that the caller got wrong (a parameter, an argument, a file), found by a validator.

    A :class:`ValueError`, so code catching ``ValueError`` still works; its own type lets the
    command line tell a user's mistake (one line, exit 1) from a bug in funksvd (a traceback).
    The message says what is wrong and where.
    """
