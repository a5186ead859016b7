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
from ..maths.objectives import per_block
from ..model.factors import Factors

__all__ = [
    "NUMPY",
    "SUPPORTED",
    "LossData",
    "LossError",
    "Namespace",
    "evaluate_loss",
    "is_callable_loss",
    "loss_data",
    "loss_name",
    "scan_gradients",
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


def scan_gradients(fun: Callable[[dict], float], params: Mapping[str, np.ndarray], blocks=None,
                   h0: float = 0.1, levels: int = 6) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    r"""Central differences of a general loss, with the step chosen per coordinate and an error estimate.

    Parameters
    ----------
    fun : callable
        ``fun(params) -> float`` for a dict of float64 arrays.
    params : mapping
        The point.
    blocks : sequence of str, optional
        Which blocks (default all).
    h0, levels : float, int
        The steps scanned are :math:`h_k = h_0\,\max(1, |\theta_j|)/2^k`, :math:`k < ` ``levels``.

    Returns
    -------
    gradients : dict
    error : dict
        Per entry, the oracle's own error estimate: the tolerance a comparison must allow.

    Notes
    -----
    With :math:`D(h) = (L(\theta + h\epsilon_j) - L(\theta - h\epsilon_j))/2h = L' + c_2 h^2 + c_4 h^4 + \dots`
    for a smooth loss, Richardson's :math:`R_k = (4 D(h_{k+1}) - D(h_k))/3` removes the
    :math:`h^2` term. Of the successive :math:`R_k`, the one with the smallest estimate

    .. math:: \delta_k = |R_k - R_{k-1}| + 24\,\varepsilon \max|L| / h_{k+1}

    (truncation, seen as the change from the previous, coarser extrapolation, plus rounding) is
    kept, and :math:`\delta_k` is reported. For a loss that is quadratic along each axis every
    :math:`D(h)` is exact and only rounding remains; at a kink (of :math:`|e|`, say) inside the
    stencils the :math:`R_k` disagree and the estimate says so.
    """
    base = {block: np.array(value, dtype=np.float64) for block, value in params.items()}
    grads, errors = {}, {}
    for block in blocks or list(base):
        theta = base[block]
        grad, error = np.empty_like(theta), np.empty_like(theta)
        for j in range(theta.size):
            x = float(theta.reshape(-1)[j])
            steps = h0 * max(1.0, abs(x)) / 2.0 ** np.arange(levels)
            diffs, largest = [], 0.0
            for h in steps:
                values = []
                for sign in (1.0, -1.0):
                    point = dict(base)
                    moved = theta.copy()
                    moved.reshape(-1)[j] = x + sign * h
                    point[block] = moved
                    values.append(fun(point))
                largest = max(largest, abs(values[0]), abs(values[1]))
                diffs.append((values[0] - values[1]) / (2.0 * h))
            richardson = [(4.0 * diffs[k + 1] - diffs[k]) / 3.0 for k in range(levels - 1)]
            best, best_error = richardson[-1], math.inf
            for k in range(1, levels - 1):
                estimate = abs(richardson[k] - richardson[k - 1]) + 24.0 * EPS * max(largest, 1.0) / steps[k + 1]
                if estimate < best_error:
                    best, best_error = richardson[k], estimate
            grad.reshape(-1)[j], error.reshape(-1)[j] = best, best_error
        grads[block], errors[block] = grad, error
    return grads, errors


def factor_params(factors: Factors, learn_mu: bool = False) -> dict[str, np.ndarray]:
    """The blocks of ``factors`` as float64 arrays (and a 0-d ``"mu"`` when it is trained)."""
    params = {block: np.asarray(value, dtype=np.float64) for block, value in factors.params().items()}
    if learn_mu:
        params["mu"] = np.array(float(factors.mu))
    return params


def finite_difference_gradients(loss, factors: Factors, ratings, reg, learn_mu: bool = False):
    """Finite differences of a callable loss at ``factors``: ``(gradients, error estimates)``.

    The loss is evaluated twice first (:func:`check_pure`): a loss whose value depends on anything
    but its arguments cannot be differentiated by anyone.
    """
    params = factor_params(factors, learn_mu)
    data = loss_data(ratings, factors.mu, reg)
    check_pure(loss, params, data)
    return scan_gradients(lambda point: evaluate_loss(loss, point, data), params)
