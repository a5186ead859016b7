"""``funksvd demo`` and ``funksvd check``: the toy problems and every hand gradient, verified."""

from __future__ import annotations

import argparse

from ..check.gradients import ORACLES

__all__ = ["register", "seed"]


def seed(text: str) -> int:
    """An argparse type: a seed for ``numpy.random.default_rng`` (a whole number >= 0)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {value}")
    return value


def register(sub) -> None:
    for name, text, run in (
        ("demo", "complete the quuxlabs toy matrix, then check every gradient (seconds, embedded data)", _demo),
        ("check", "check the hand-derived gradient of every rule and objective, and of SVD++; exit 1 if any fails",
         _check),
    ):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--oracle", action="append", choices=ORACLES,
                         help="oracle to compare with (repeatable; default: all)")
        cmd.add_argument("--seed", type=seed, default=0,
                         help="seed of the random initialisation and test points (default 0)")
        cmd.set_defaults(run=run)


def _oracles(args) -> tuple[str, ...]:
    return tuple(args.oracle) if args.oracle else ORACLES


def _demo(args) -> int:
    from .demo import demo

    return 0 if demo(oracles=_oracles(args), random_state=args.seed) else 1


def _check(args) -> int:
    from .demo import run_checks

    return 0 if run_checks(oracles=_oracles(args), random_state=args.seed) else 1
