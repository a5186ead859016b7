"""Verification: every hand gradient, a user's own loss and update rule, against independent oracles.

* :mod:`~funksvd.check.gradients`: :func:`check_gradients` and its report;
* :mod:`~funksvd.check.finite_differences`: the numerical oracle (exact along a coordinate here);
* :mod:`~funksvd.check.losses`: finite differences of a loss written once, ``loss(xp, theta, data)``
  (:mod:`funksvd.maths.user_losses`);
* :mod:`~funksvd.check.rules`: :func:`check_rule`, is an update rule a gradient step, of which loss;
* :mod:`~funksvd.check.svdpp`: :func:`check_svdpp_gradients`, the SVD++ objective's hand gradient (5 blocks);
* :mod:`~funksvd.check.symbolic`: the sympy oracle and the symbolic proofs (sympy imported on use);
* :mod:`~funksvd.check.derivation`: :func:`derive`, the derivation of a rule or objective as text or LaTeX.
"""

from .gradients import ORACLES, GradientCheck, GradientReport, check_gradients
from ..maths.user_losses import SUPPORTED, LossError
from .rules import RuleReport, check_rule
from .svdpp import check_svdpp_gradients

__all__ = [
    "ORACLES",
    "SUPPORTED",
    "GradientCheck",
    "GradientReport",
    "LossError",
    "RuleReport",
    "check_gradients",
    "check_rule",
    "check_svdpp_gradients",
    "derive",
]


def derive(name_or_loss, latex: bool = False) -> str:
    """The derivation of a rule, an objective or a loss: :func:`funksvd.check.derivation.derive`.

    sympy is imported on first use.
    """
    from .derivation import derive as _derive

    return _derive(name_or_loss, latex)
