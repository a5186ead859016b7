r"""Gradient-descent optimisers in numpy, written after Keras 3's definitions.

:func:`funksvd.train` drives these with the hand-derived gradients; :func:`funksvd.autodiff.train`
drives Keras' own optimisers with a tape. Each update below is Keras 3's ``update_step``
(``keras/src/optimizers/sgd.py``, ``adam.py``, ``rmsprop.py``) written again in numpy, down to
where :math:`\hat\epsilon` sits and how the bias correction enters, so that from the same start
the two trainers take the same steps (the tests compare 100 steps to 1e-9).

One detail of Keras is kept on purpose: where Keras writes ``ops.cast(self.beta_1, dtype)``
(Adam's :math:`\beta_1^t, \beta_2^t`, SGD's momentum), TensorFlow converts the Python float to a
float32 tensor before casting it to float64, so those constants enter as their float32 roundings
(:math:`\beta_2 = 0.999` as :math:`0.99900001287\dots`). Ignoring this moves Adam's first step by
about :math:`7 \cdot 10^{-6}` relative; :func:`float32_constant` reproduces it.

Notation: :math:`g_t` is the gradient of the block at step :math:`t = 1, 2, \dots`, :math:`\gamma_t`
the learning rate of that step (:meth:`Optimizer.learning_rate_at`); every operation is
elementwise, and every block (``P, Q, bu, bi``, and ``mu`` when it is trained) has its own state.
"""

from __future__ import annotations

import math

import numpy as np

from ..base.validation import positive_int, positive_number, probability

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "OPTIMIZERS", "make_optimizer", "float32_constant"]


def float32_constant(value: float) -> float:
    """``value`` rounded to float32 and back: what Keras' ``ops.cast(python_float, "float64")`` yields on TensorFlow."""
    return float(np.float32(value))


class Optimizer:
    r"""Base class: the learning-rate schedule, the step counter and the per-block state.

    Parameters
    ----------
    learning_rate : float
        :math:`\gamma_0 > 0`.
    decay_rate : float, optional
        With it the learning rate decays in a staircase (Keras'
        ``ExponentialDecay(learning_rate, decay_steps, decay_rate, staircase=True)``).
    decay_steps : int, default 1000
        :math:`T`.

    Notes
    -----
    .. math:: \gamma_t = \gamma_0\, d^{\lfloor (t - 1) / T \rfloor}

    with :math:`d` = ``decay_rate`` (:math:`\gamma_t = \gamma_0` without it): Keras evaluates the
    schedule at its ``iterations`` counter, the number of steps already taken.
    """

    #: The Keras class of the same name and hyper-parameters (``keras.optimizers.<keras_name>``).
    keras_name = ""

    def __init__(self, learning_rate=0.01, *, decay_rate=None, decay_steps=1000):
        positive_number(learning_rate, "learning_rate")
        if decay_rate is not None:
            positive_number(decay_rate, "decay_rate")
        positive_int(decay_steps, "decay_steps", whole=True)
        self.learning_rate = float(learning_rate)
        self.decay_rate = None if decay_rate is None else float(decay_rate)
        self.decay_steps = int(decay_steps)
        self.iterations = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def hyper(self) -> dict:
        """The optimiser's own hyper-parameters, by their Keras names."""
        return {}

    def get_config(self) -> dict:
        """Every setting: ``learning_rate``, ``decay_rate``, ``decay_steps`` and :meth:`hyper`."""
        return {"learning_rate": self.learning_rate, "decay_rate": self.decay_rate,
                "decay_steps": self.decay_steps, **self.hyper()}

    def copy(self) -> "Optimizer":
        """A fresh optimiser with the same settings (no state, step 0)."""
        return type(self)(**self.get_config())

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({shown})"

    def learning_rate_at(self, iterations: int) -> float:
        r""":math:`\gamma` after ``iterations`` steps (see the class Notes)."""
        if self.decay_rate is None:
            return self.learning_rate
        return self.learning_rate * self.decay_rate ** math.floor(iterations / self.decay_steps)

    def apply(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """One step on every block of ``params``, in place, then count it."""
        lr = self.learning_rate_at(self.iterations)
        for block, theta in params.items():
            state = self.state.setdefault(block, self.slots(theta))
            self.update(theta, np.asarray(grads[block], dtype=np.float64), lr, state)
        self.iterations += 1

    def slots(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """The state of one block, zero at the start."""
        return {}

    def update(self, theta, g, lr, state) -> None:  # pragma: no cover - every optimiser overrides it
        raise NotImplementedError


class SGD(Optimizer):
    r"""Gradient descent, with optional (Nesterov) momentum (Keras' ``SGD``).

    Parameters
    ----------
    learning_rate, decay_rate, decay_steps
        See :class:`Optimizer`.
    momentum : float, default 0.0
        :math:`\beta`.
    nesterov : bool, default False

    Notes
    -----
    Without momentum, :math:`\theta \leftarrow \theta - \gamma_t\, g_t`. With it, the velocity
    :math:`m` (zero at the start; :math:`\beta` rounded to float32 as Keras does, module notes):

    .. math::

        m \leftarrow \beta\, m - \gamma_t\, g_t, \qquad
        \theta \leftarrow \theta + m \quad \text{or (Nesterov)} \quad
        \theta \leftarrow \theta + \beta\, m - \gamma_t\, g_t .
    """

    keras_name = "SGD"

    def __init__(self, learning_rate=0.01, *, momentum=0.0, nesterov=False, decay_rate=None, decay_steps=1000):
        super().__init__(learning_rate, decay_rate=decay_rate, decay_steps=decay_steps)
        self.momentum = probability(momentum, "momentum")
        self.nesterov = bool(nesterov)

    def hyper(self) -> dict:
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def slots(self, theta):
        return {"m": np.zeros_like(theta)} if self.momentum != 0.0 else {}

    def update(self, theta, g, lr, state):
        if self.momentum == 0.0:
            theta -= g * lr  # theta <- theta - gamma g
            return
        beta = float32_constant(self.momentum)  # Keras: ops.cast(self.momentum, dtype)
        m = state["m"]
        m *= beta
        m -= g * lr  # m <- beta m - gamma g
        if self.nesterov:
            theta += m * beta - g * lr  # theta <- theta + beta m - gamma g
        else:
            theta += m  # theta <- theta + m


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015) as Keras' ``Adam`` computes it.

    Parameters
    ----------
    learning_rate, decay_rate, decay_steps
        See :class:`Optimizer`.
    beta_1, beta_2 : float, default 0.9 and 0.999
    epsilon : float, default 1e-7
        :math:`\hat\epsilon`, added to :math:`\sqrt{v}` (outside the root).

    Notes
    -----
    Moments :math:`m, v` start at 0. At step :math:`t`:

    .. math::

        m \leftarrow m + (1 - \beta_1)\,(g_t - m), \qquad
        v \leftarrow v + (1 - \beta_2)\,(g_t^2 - v)

        \alpha_t = \gamma_t\, \frac{\sqrt{1 - \beta_2^{\,t}}}{1 - \beta_1^{\,t}}, \qquad
        \theta \leftarrow \theta - \frac{\alpha_t\, m}{\sqrt{v} + \hat\epsilon}

    (with :math:`\beta_1^{\,t}, \beta_2^{\,t}` taken from the float32 roundings of the betas, as
    Keras does; see the module notes). The bias correction sits in the step size :math:`\alpha_t`
    (the paper's "efficient version", Section 2), so :math:`\hat\epsilon` is added to the
    *uncorrected* :math:`\sqrt{v}`: this is
    :math:`\gamma_t\,\hat m_t / (\sqrt{\hat v_t} + \epsilon)` with the bias-corrected
    :math:`\hat m_t = m / (1 - \beta_1^{\,t})`, :math:`\hat v_t = v / (1 - \beta_2^{\,t})` and
    :math:`\epsilon = \hat\epsilon / \sqrt{1 - \beta_2^{\,t}}`, not with :math:`\hat\epsilon`.
    """

    keras_name = "Adam"

    def __init__(self, learning_rate=0.001, *, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay_rate=None,
                 decay_steps=1000):
        super().__init__(learning_rate, decay_rate=decay_rate, decay_steps=decay_steps)
        for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            probability(value, name, high_open=True)
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def hyper(self) -> dict:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def slots(self, theta):
        return {"m": np.zeros_like(theta), "v": np.zeros_like(theta)}

    def update(self, theta, g, lr, state):
        t = self.iterations + 1
        # Keras: ops.power(ops.cast(self.beta_i, dtype), t), the betas rounded to float32 (module notes)
        beta_1_power = float32_constant(self.beta_1) ** t
        beta_2_power = float32_constant(self.beta_2) ** t
        alpha = lr * math.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m, v = state["m"], state["v"]
        m += (g - m) * (1 - self.beta_1)  # m <- m + (1 - beta_1) (g - m)
        v += (g * g - v) * (1 - self.beta_2)  # v <- v + (1 - beta_2) (g^2 - v)
        theta -= (m * alpha) / (np.sqrt(v) + self.epsilon)  # theta <- theta - alpha m / (sqrt(v) + eps)


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e) as Keras' ``RMSprop`` computes it, optionally centred, with momentum.

    Parameters
    ----------
    learning_rate, decay_rate, decay_steps
        See :class:`Optimizer`.
    rho : float, default 0.9
    momentum : float, default 0.0
        :math:`\beta` (the 2019 Keras tutorial uses 0.9).
    epsilon : float, default 1e-7
        :math:`\hat\epsilon`, added **under** the square root (unlike :class:`Adam`).
    centered : bool, default False
        Divide by an estimate of the gradient's variance instead of its second moment.

    Notes
    -----
    State :math:`v` (and :math:`a`, :math:`m`) starts at 0. At step :math:`t`:

    .. math::

        v \leftarrow \rho\, v + (1 - \rho)\, g_t^2, \qquad
        a \leftarrow \rho\, a + (1 - \rho)\, g_t \quad (\text{centred only})

        \Delta = \frac{\gamma_t\, g_t}{\sqrt{v + \hat\epsilon}} \quad\text{or (centred)}\quad
        \Delta = \frac{\gamma_t\, g_t}{\sqrt{v - a^2 + \hat\epsilon}}

        \theta \leftarrow \theta - \Delta \quad\text{or, with momentum,}\quad
        m \leftarrow \beta\, m + \Delta,\ \ \theta \leftarrow \theta - m .

    No bias correction: the first steps, with :math:`v = (1-\rho)\,g_1^2`, are
    :math:`1/\sqrt{1-\rho} \approx 3.2` times longer than :math:`\gamma_t`.
    """

    keras_name = "RMSprop"

    def __init__(self, learning_rate=0.001, *, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 decay_rate=None, decay_steps=1000):
        super().__init__(learning_rate, decay_rate=decay_rate, decay_steps=decay_steps)
        probability(rho, "rho", high_open=True)
        probability(momentum, "momentum")
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)

    def hyper(self) -> dict:
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}

    def slots(self, theta):
        state = {"v": np.zeros_like(theta)}
        if self.centered:
            state["a"] = np.zeros_like(theta)
        if self.momentum > 0:
            state["m"] = np.zeros_like(theta)
        return state

    def update(self, theta, g, lr, state):
        v = state["v"]
        v *= self.rho
        v += (1 - self.rho) * (g * g)  # v <- rho v + (1 - rho) g^2
        if self.centered:
            a = state["a"]
            a *= self.rho
            a += (1 - self.rho) * g  # a <- rho a + (1 - rho) g
            denominator = v - a * a + self.epsilon
        else:
            denominator = v + self.epsilon
        increment = (lr * g) / np.sqrt(denominator)  # Delta = gamma g / sqrt(v + eps)
        if self.momentum > 0:
            m = state["m"]
            m *= self.momentum
            m += increment  # m <- beta m + Delta
            theta -= m
        else:
            theta -= increment


#: The optimisers by name, as :func:`funksvd.train` takes them.
OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def make_optimizer(optimizer="adam", learning_rate=0.01, decay_rate=None, decay_steps=1000) -> Optimizer:
    """A fresh optimiser: by name (``"sgd"``, ``"adam"``, ``"rmsprop"``) with these settings, or a copy of an instance.

    An instance is a template: it keeps its own learning rate and schedule, and is never modified.
    """
    if isinstance(optimizer, Optimizer):
        return optimizer.copy()
    name = optimizer.lower() if isinstance(optimizer, str) else optimizer
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r}; expected one of {sorted(OPTIMIZERS)} or a "
                         "funksvd.fullbatch.optimizers.Optimizer")
    return OPTIMIZERS[name](learning_rate, decay_rate=decay_rate, decay_steps=decay_steps)
