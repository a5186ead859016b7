"""Grade a student's file: the exercise's grader with the student's function running in a :class:`Sandbox`."""

from __future__ import annotations

from pathlib import Path

from ..check.gradients import ORACLES
from .exercise import Exercise, ExerciseReport
from .sandbox import DEFAULT_TIMEOUT, Sandbox, StudentError

__all__ = ["grade_file"]


def grade_file(exercise: Exercise | str, path, timeout: float = DEFAULT_TIMEOUT, random_state=None,
               oracles=ORACLES) -> ExerciseReport:
    """Grade the function of ``exercise`` defined in the file ``path``.

    The file runs in a subprocess (``python -I``) that cannot import funksvd or an autodiff
    library; the whole grading may take ``timeout`` seconds of the student's code. Whatever goes
    wrong on the student's side gives a report with ``.problem`` set (one line), never an
    exception: a file that does not parse or run, a missing or twice-defined function, an
    exception, an endless loop, a call to ``exit``, pages of prints, an answer of the wrong form.
    """
    if isinstance(exercise, str):
        from . import get

        exercise = get(exercise)
    try:
        with Sandbox(Path(path), exercise.function_name, timeout) as sandbox:
            report = exercise.grade(None, random_state=random_state, oracles=oracles,
                                    caller=lambda args, positions: sandbox(*args, inplace=positions))
            sandbox.check_output()
            output = sandbox.shown_output
    except StudentError as error:
        return ExerciseReport(exercise.name, False, (str(error),), problem=str(error))
    return ExerciseReport(**{**report.__dict__, "output": output})
