"""``funksvd derive NAME``: the derivation of a rule or objective, from sympy, verified against the code."""

from __future__ import annotations

import sys

__all__ = ["register"]


def register(sub) -> None:
    from ..check.derivation import DERIVABLE

    text = "print the derivation of a rule or objective (prediction, loss, chain rule, gradient, update), from sympy"
    cmd = sub.add_parser("derive", help=text, description=text + "; exit 1 if sympy cannot prove it equal to the code")
    cmd.add_argument("name", metavar="RULE_OR_OBJECTIVE", choices=DERIVABLE,
                     help=f"one of {', '.join(DERIVABLE)}")
    cmd.add_argument("--latex", action="store_true", help="LaTeX instead of plain text")
    cmd.set_defaults(run=_derive)


def _derive(args) -> int:
    from ..base.errors import InputError
    from ..check.derivation import derive
    from ..check.symbolic import SYMPY_INSTALL, SympyMissing

    try:
        text = derive(args.name, latex=args.latex)
    except SympyMissing:
        raise InputError(f"funksvd derive needs sympy, which is not installed: {SYMPY_INSTALL}") from None
    sys.stdout.write(text)
    return 1 if "NOT VERIFIED" in text else 0
