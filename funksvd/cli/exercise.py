"""``funksvd exercise``: list the exercises, write a stub, grade a file.

* ``funksvd exercise`` lists them (name, derivation page, title);
* ``funksvd exercise NAME`` prints the task;
* ``funksvd exercise NAME --starter > mine.py`` writes the stub to fill in;
* ``funksvd exercise NAME mine.py`` grades the file: exit 0 and a short "correct", or exit 1 and
  the hints; a file that cannot be graded (it does not parse or run, lacks the function, raises,
  loops past the time limit, ...) gets one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import sys

from ..base.errors import InputError
from ..check.gradients import ORACLES
from .gradients import seed

__all__ = ["register"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def register(sub) -> None:
    text = "the exercises graded by funksvd: list them, write a stub (--starter), grade your file"
    cmd = sub.add_parser("exercise", help=text, description=text)
    cmd.add_argument("name", nargs="?", help="the exercise (omit to list them)")
    cmd.add_argument("file", nargs="?", help="your Python file defining the exercise's function, to grade")
    cmd.add_argument("--starter", action="store_true", help="print the stub to fill in (e.g. > mine.py)")
    cmd.add_argument("--timeout", type=_seconds, default=None,
                     help="seconds the grading of your code may take (default 20)")
    cmd.add_argument("--seed", type=seed, default=None,
                     help="seed of the random cases (default: new cases each time)")
    cmd.add_argument("--oracle", action="append", choices=ORACLES,
                     help="for a gradient: oracle to compare with (repeatable; default: all available)")
    cmd.set_defaults(run=_run)


def _run(args) -> int:
    from .. import exercises
    from ..exercises.sandbox import DEFAULT_TIMEOUT

    if args.name is None:
        width = max(map(len, exercises.names()))
        for name in exercises.names():
            exercise = exercises.get(name)
            print(f"{name:<{width}}  {exercise.page:<30}  {exercise.title}")
        return 0
    try:
        exercise = exercises.get(args.name)
    except KeyError as error:
        raise InputError(error.args[0]) from None
    if args.starter:
        if args.file is not None:
            raise InputError("--starter prints the stub; give no file with it")
        sys.stdout.write(exercise.starter)
        return 0
    if args.file is None:
        print(f"{exercise.title}  ({exercise.page})\n\n{exercise.prompt}\n\n"
              f"Start with: funksvd exercise {exercise.name} --starter > mine.py\n"
              f"Grade with: funksvd exercise {exercise.name} mine.py")
        return 0
    report = exercises.grade_file(exercise, args.file, timeout=args.timeout or DEFAULT_TIMEOUT,
                                  random_state=args.seed, oracles=tuple(args.oracle or ORACLES))
    if report.problem:
        print(f"funksvd exercise: {report.problem}", file=sys.stderr)
        return 1
    print(report)
    if report.output:
        print("your code printed:\n" + "\n".join("| " + line for line in report.output.splitlines()))
    return 0 if report.ok else 1
