r"""A loss written once, ``loss(xp, theta, data)``, and differentiated by every oracle.

A student's own loss (a Huber data term, a weight per rating, a new penalty) is a plain function

.. code-block:: python

    def huber(xp, theta, data, delta=1.0):
        p_u = xp.take(theta["P"], data.users, axis=0)
        q_i = xp.take(theta["Q"], data.items, axis=0)
        e = data.values - (data.mu + xp.sum(p_u * q_i, axis=1))
        a = xp.abs(e)
        return xp.sum(xp.where(a <= delta, 0.5 * xp.square(e), delta * (a - 0.5 * delta)))

* ``xp`` is an array namespace: :data:`NUMPY` for finite differences, the TensorFlow namespace
  of :mod:`funksvd.autodiff.callables` under the ``GradientTape``, and the sympy namespace of
  :mod:`funksvd.check.symbolic` for a symbolic derivation. It offers :data:`SUPPORTED` (and the
  operators ``+ - * / **`` and comparisons of the arrays it returns), nothing else: a loss that
  calls numpy directly is invisible to the tape, and is refused with a message naming ``xp``.
* ``theta`` is a dict of the blocks ``"P", "Q"`` (and ``"bu", "bi"`` for a biased model, ``"mu"``
  when ``learn_mu=True``), as arrays of that namespace.
* ``data`` (:class:`LossData`) has ``.users``, ``.items`` (int64 indices), ``.values``,
  ``.n_users``, ``.n_items``, the constant ``.mu`` and ``.reg``, the :math:`\lambda` of each block.

The loss must return a scalar and be a function of ``theta`` and ``data`` alone: it is called at
many points and its value must not depend on anything else (that is checked).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..base.errors import InputError
from ..model.factors import Factors
from .objectives import per_block

__all__ = [
    "SUPPORTED",
    "LossError",
    "Namespace",
    "NUMPY",
    "LossData",
    "loss_data",
    "is_callable_loss",
    "loss_name",
    "call_loss",
    "scalar_value",
    "evaluate_loss",
    "check_pure",
    "factor_params",
]

#: The functions every namespace offers (with numpy's signatures for these arguments).
SUPPORTED = ("take", "sum", "mean", "where", "abs", "exp", "log", "square", "sqrt", "tanh", "maximum", "minimum")

EPS = np.finfo(np.float64).eps


class LossError(InputError):
    """A callable loss that cannot be checked: it raised, returned no finite scalar, or left the tape."""


@dataclass(frozen=True)
class Namespace:
    """An array namespace: ``name`` and the functions of :data:`SUPPORTED` as attributes."""

    name: str
    functions: Mapping[str, Callable] = field(repr=False)

    def __getattr__(self, attribute: str):
        functions = object.__getattribute__(self, "functions")
        if attribute in functions:
            return functions[attribute]
        raise AttributeError(f"xp.{attribute} is not in the namespace given to a loss; it offers "
                             f"{', '.join(SUPPORTED)} (and + - * / ** on its arrays)")


def _numpy_functions() -> dict[str, Callable]:
    return {
        "take": lambda a, indices, axis=None: np.take(a, indices, axis=axis),
        "sum": lambda a, axis=None: np.sum(a, axis=axis),
        "mean": lambda a, axis=None: np.mean(a, axis=axis),
        "where": np.where,
        "abs": np.abs,
        "exp": np.exp,
        "log": np.log,
        "square": np.square,
        "sqrt": np.sqrt,
        "tanh": np.tanh,
        "maximum": np.maximum,
        "minimum": np.minimum,
    }


#: The numpy namespace (finite differences run the loss in it).
NUMPY = Namespace("numpy", _numpy_functions())


@dataclass(frozen=True)
class LossData:
    """What a callable loss gets besides ``theta``: the entries, the sizes, ``mu`` and ``reg``."""

    users: Any
    items: Any
    values: Any
    n_users: int
    n_items: int
    mu: Any = 0.0
    reg: Mapping[str, float] = field(default_factory=dict)


def loss_data(ratings, mu: float, reg) -> LossData:
    """The :class:`LossData` of ``ratings`` as numpy arrays (int64 indices, float64 values)."""
    return LossData(np.asarray(ratings.users, dtype=np.int64), np.asarray(ratings.items, dtype=np.int64),
                    np.asarray(ratings.values, dtype=np.float64), int(ratings.n_users), int(ratings.n_items),
                    float(mu), per_block(reg))


def is_callable_loss(loss) -> bool:
    """True for a user's ``loss(xp, theta, data)`` (a callable that is not an Objective or a name)."""
    return callable(loss) and not isinstance(loss, str) and not hasattr(loss, "gradients")


def loss_name(loss) -> str:
    """A label for reports: the function's name."""
    return f"{getattr(loss, '__name__', type(loss).__name__)} (your loss)"


def _where(loss) -> str:
    code = getattr(loss, "__code__", None)
    return f" ({code.co_filename}, line {code.co_firstlineno})" if code is not None else ""


def call_loss(loss, xp: Namespace, theta: dict, data: LossData):
    """``loss(xp, theta, data)``, with any exception it raises turned into one clear :class:`LossError`."""
    try:
        return loss(xp, theta, data)
    except LossError:
        raise
    except AttributeError as exc:
        if "xp." in str(exc):
            raise LossError(f"the loss uses {exc}") from None
        raise LossError(f"the loss raised AttributeError under the {xp.name} namespace: {exc}{_where(loss)}") from None
    except Exception as exc:  # noqa: BLE001 (a user's code: any failure is reported, never a traceback)
        raise LossError(f"the loss raised {type(exc).__name__} under the {xp.name} namespace: {exc}"
                        f"{_where(loss)}") from None


def scalar_value(value, where: str = "") -> float:
    """A finite float from a numpy loss value, or a :class:`LossError` saying what it was instead."""
    if isinstance(value, (list, tuple)):
        raise LossError(f"the loss returned a {type(value).__name__}, not a scalar{where}: sum it (xp.sum)")
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind not in "fiub":
        raise LossError(f"the loss returned {type(value).__name__}, not a number{where}")
    if array.shape != ():
        raise LossError(f"the loss returned an array of shape {array.shape}, not a scalar{where}: sum it (xp.sum)")
    result = float(array)
    if not math.isfinite(result):
        raise LossError(f"the loss is {result} at the point{where}: it must be finite there")
    return result


def evaluate_loss(loss, params: Mapping[str, np.ndarray], data: LossData) -> float:
    """The loss at ``params`` in the numpy namespace, checked: a finite scalar, ``params`` left untouched."""
    theta = {block: np.array(value, dtype=np.float64) for block, value in params.items()}
    with np.errstate(all="ignore"):  # a NaN or infinity is reported below, in one line, not as a warning
        value = scalar_value(call_loss(loss, NUMPY, theta, data))
    for block, array in theta.items():
        if not np.array_equal(array, np.asarray(params[block], dtype=np.float64)):
            raise LossError(f"the loss changed theta[{block!r}] in place: a loss only reads its arguments")
    return value


def check_pure(loss, params: Mapping[str, np.ndarray], data: LossData) -> float:
    """The loss at ``params``, evaluated twice: a loss that gives two values at one point reads global state."""
    first = evaluate_loss(loss, params, data)
    second = evaluate_loss(loss, params, data)
    if first != second:
        raise LossError(f"the loss is not a function of theta and data: two calls at the same point gave "
                        f"{first!r} and {second!r} (does it read or change global state?)")
    return first


def factor_params(factors: Factors, learn_mu: bool = False) -> dict[str, np.ndarray]:
    """The blocks of ``factors`` as float64 arrays (and a 0-d ``"mu"`` when it is trained)."""
    params = {block: np.asarray(value, dtype=np.float64) for block, value in factors.params().items()}
    if learn_mu:
        params["mu"] = np.array(float(factors.mu))
    return params
