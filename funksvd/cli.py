"""The ``funksvd`` command line: ``funksvd demo``, ``funksvd check``."""

from __future__ import annotations

import argparse
import sys

from .check import ORACLES

__all__ = ["main"]


def _oracles(args) -> tuple[str, ...]:
    return tuple(args.oracle) if args.oracle else ORACLES


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="funksvd",
        description="Matrix factorisation for recommender systems: hand-derived gradients, proved.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("demo", "complete the quuxlabs toy matrix, then check every gradient (seconds, embedded data)"),
        ("check", "check the hand-derived gradient of every rule and objective; exit 1 if any fails"),
    ):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--oracle", action="append", choices=ORACLES,
                         help="oracle to compare with (repeatable; default: all)")
        cmd.add_argument("--seed", type=int, default=0, help="seed of the random test points (default 0)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import demo

        return 0 if demo(oracles=_oracles(args)) else 1
    from .demo import run_checks

    return 0 if run_checks(oracles=_oracles(args), random_state=args.seed) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
