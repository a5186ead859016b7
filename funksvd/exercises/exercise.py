r"""An exercise: a prompt, a stub, a reference solution, random cases and the grader that checks an answer.

Every exercise is graded on fresh random cases (new values and several shapes each time, so an
answer cannot be fitted by hard-coding numbers) against an oracle that does not share the
reference solution's code:

* a **gradient** exercise (``objective=``) goes through :func:`funksvd.check.check_gradients`:
  finite differences, and TensorFlow's tape when it is installed;
* any other exercise (``oracle=``) is compared with an independent computation written in the
  grader: a least-squares solve by another method, finite differences of a loss, the update
  written out again.

A wrong answer is diagnosed by the oracles' own hints (a missing factor 2, a sign, a sum for a
mean, ...) and by the exercise's **slips**: typical wrong formulas, each with the hint it earns,
run on the same case -- when the answer equals one, that is the hint.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..check.gradients import ORACLES, check_gradients
from . import runner

__all__ = ["AnswerError", "Case", "Exercise", "ExerciseReport", "Slip"]


#: funksvd's own code: a function graded in this process may not run any of it (:func:`runner.call`).
FUNKSVD_DIR = str(Path(__file__).resolve().parents[1])

#: How the report names the oracles of :func:`~funksvd.check.check_gradients`.
ORACLE_NAMES = {"finite_differences": "finite differences", "tensorflow": "TensorFlow's tape", "symbolic": "sympy"}


class AnswerError(Exception):
    """The answer has the wrong form (a list, a wrong shape, NaN, ...): one line saying what."""


@dataclass(frozen=True)
class Case:
    """One random case: the arguments given to the student's function, and what only the grader sees."""

    args: tuple
    label: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Slip:
    """A typical wrong answer: the hint it earns and the wrong formula (same signature as the solution)."""

    hint: str
    answer: Callable


@dataclass(frozen=True)
class ExerciseReport:
    """The verdict on an answer: ``.ok``, ``.hints`` (what is wrong and, where known, why).

    ``problem`` is set, and is the only hint, when there was no answer to check: the code did not
    run, raised, returned something of the wrong form, or ran out of time.
    """

    exercise: str
    ok: bool
    hints: tuple[str, ...] = ()
    cases: int = 0
    oracles: str = ""
    problem: str = ""
    case: str = ""
    details: str = ""
    output: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        """One line: correct (on how many cases, against what), or not yet and where."""
        if self.ok:
            return f"correct: {self.exercise} ({self.cases} random cases; checked by {self.oracles})"
        if self.problem:
            return f"not graded: {self.problem}"
        return f"not correct yet: {self.exercise}, case {self.case}"

    def __str__(self) -> str:
        lines = [self.summary()]
        if not self.ok and not self.problem:
            lines += [f"  - {hint}" for hint in self.hints]
        return "\n".join(lines)


def _source(fn: Callable) -> str:
    return textwrap.dedent(inspect.getsource(fn))


def starter_source(fn: Callable) -> str:
    """A stub of ``fn``: its signature and docstring, and a body that raises ``NotImplementedError``."""
    source = _source(fn)
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    lines = source.splitlines()
    body_start = node.body[1].lineno - 1 if len(node.body) > 1 else node.body[0].end_lineno
    head = "\n".join(lines[:body_start])
    return f"import numpy as np\n\n\n{head}\n    raise NotImplementedError(\"your derivation goes here\")\n"


def _number(value, name: str, scalar: bool = False) -> np.ndarray:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.ndarray)):
        kind = "None (a missing return?)" if value is None else (
            f"a {value.type_name}" if isinstance(value, runner.Opaque) else f"a {type(value).__name__}")
        raise AnswerError(f"{name} is {kind}, expected " + ("a number" if scalar else "a numpy array") + (
            " (np.array(...) of it)" if isinstance(value, (list, tuple)) and not scalar else ""))
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise AnswerError(f"{name} is an array of dtype {array.dtype}, expected numbers")
    return array.astype(np.float64)


def _check_form(array: np.ndarray, name: str, shape: tuple) -> np.ndarray:
    if array.shape != shape:
        hint = " (transposed?)" if array.shape == shape[::-1] and len(shape) == 2 else ""
        raise AnswerError(f"{name} has shape {array.shape}, expected {shape}{hint}")
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        where = f"[{', '.join(str(int(j)) for j in bad[0])}]" if array.ndim else ""
        raise AnswerError(f"{name}{where} is {array[tuple(bad[0])]}: the answer must be finite")
    return array


@dataclass(frozen=True)
class Exercise:
    r"""One exercise (see the module docstring for how it is graded).

    Attributes
    ----------
    name, title : str
    page : str
        The derivation page it belongs to, e.g. ``"derivations/masked_matrix"``.
    prompt : str
        The task with its math (reST, LaTeX in ``:math:``).
    function : callable
        The reference solution; the student writes a function of the same name and signature.
    draw : callable
        ``draw(rng, index) -> Case``: the ``index``-th random case (shapes cycle with ``index``).
    outputs : tuple of str
        Names of what the function returns, in order (one name: the value itself, not a tuple);
        then the names of the arguments it updates in place (``inplace``).
    inplace : tuple of str
        Arguments the function updates in place, part of the answer.
    objective : callable, optional
        ``objective(case) -> (Objective, Factors, Ratings, reg)``: grade the returned ``dLd*``
        blocks with :func:`~funksvd.check.check_gradients`.
    oracle : callable, optional
        Otherwise: an independent computation with the solution's signature, or
    expected : callable, optional
        ``expected(case) -> {output name: array}``, for an oracle that needs what only the grader sees.
    rule : str
        For a per-rating rule (``step(P, Q, bu, bi, mu, u, i, r, lr, reg) -> err``): the named
        rule whose loss, scales and stages :func:`~funksvd.check.check_rule` must find too (its
        hints join the diagnosis).
    oracle_name : str
        What the oracle is, for the report.
    slips : tuple of Slip
    rtol, atol : float
        Tolerance of the comparison with ``oracle`` (entry ``j`` passes when
        :math:`|a_j - o_j| \le \mathrm{atol} + \mathrm{rtol}\,|o_j|`).
    n_cases : int
    """

    name: str
    title: str
    page: str
    prompt: str
    function: Callable
    draw: Callable
    outputs: tuple[str, ...]
    inplace: tuple[str, ...] = ()
    objective: Callable | None = None
    oracle: Callable | None = None
    expected: Callable | None = None
    rule: str = ""
    oracle_name: str = ""
    slips: tuple[Slip, ...] = ()
    rtol: float = 1e-7
    atol: float = 1e-9
    n_cases: int = 5

    # ---- what a student reads -------------------------------------------------------------

    @property
    def function_name(self) -> str:
        return self.function.__name__

    @property
    def solution(self) -> str:
        """The reference solution's source."""
        return "import numpy as np\n\n\n" + _source(self.function)

    @property
    def starter(self) -> str:
        """The source of a stub to fill in: the solution's signature and docstring."""
        return starter_source(self.function)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(inspect.signature(self.function).parameters)

    # ---- grading --------------------------------------------------------------------------

    def _positions(self) -> tuple[int, ...]:
        return tuple(self.parameters.index(name) for name in self.inplace)

    def answer(self, called: dict, template: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The named outputs of one call (``runner.call``'s dict), checked for form against ``template``."""
        if "error" in called:
            raise AnswerError(called["error"])
        result, updated = called["result"], called["inplace"]
        returned = tuple(name for name in self.outputs if name not in self.inplace)
        if len(returned) == 0:
            values = []
        elif len(returned) == 1:
            values = [result]
        else:
            if not isinstance(result, (tuple, list)) or len(result) != len(returned):
                got = f"{len(result)} values" if isinstance(result, (tuple, list)) else (
                    "None (a missing return?)" if result is None else f"a {type(result).__name__}")
                raise AnswerError(f"the function must return {len(returned)} values ({', '.join(returned)}), "
                                  f"got {got}")
            values = list(result)
        out = {}
        for name, value in zip(returned + self.inplace, values + list(updated)):
            array = _number(value, name, template is not None and template[name].shape == ())
            out[name] = _check_form(array, name, template[name].shape) if template is not None else array
        return out

    def run(self, fn: Callable, case: Case) -> dict[str, np.ndarray]:
        """Call a trusted ``fn`` (the solution, a slip, the oracle) on ``case`` and return its named outputs."""
        return self.answer(runner.call(fn, case.args, self._positions()))

    def grade(self, fn: Callable | None, random_state=None, oracles=ORACLES, caller=None) -> ExerciseReport:
        """Grade ``fn`` on :attr:`n_cases` fresh random cases.

        ``fn`` is called in this process (:func:`funksvd.exercises.grade_file` runs a file in a
        subprocess with a time limit instead, and refuses imports of funksvd there). It gets
        copies of the inputs; changing an input it should not change fails the grading, and so
        does running any of funksvd's own code (its hand gradients, the reference solution).
        ``random_state`` fixes the cases (default: new ones each time); ``oracles`` those of
        :func:`~funksvd.check.check_gradients` for a gradient exercise. ``caller(args,
        inplace_positions) -> dict`` replaces the call (the sandbox's).
        """
        rng = np.random.default_rng(random_state)
        if caller is None and fn is None:
            raise TypeError("grade needs the function to grade (or a caller)")
        call = caller or (lambda args, positions: runner.call(fn, args, positions, forbidden=FUNKSVD_DIR))
        used = ""
        for index in range(self.n_cases):
            case = self.draw(rng, index)
            template = self.run(self.function, case)
            try:
                got = self.answer(call(case.args, self._positions()), template)
            except AnswerError as error:
                return ExerciseReport(self.name, False, (str(error),), index, problem=str(error), case=case.label)
            ok, hints, details, used = self._check(case, got, oracles)
            if not ok:
                hints += self._rule_hints(fn if caller is None else self._rule_proxy(call), rng)[1]
                return ExerciseReport(self.name, False, tuple(dict.fromkeys(hints)), index + 1, used,
                                      case=case.label, details=details)
        ok, hints = self._rule_hints(fn if caller is None else self._rule_proxy(call), rng)
        if not ok:
            return ExerciseReport(self.name, False, tuple(hints), self.n_cases, used, case="check_rule's cases")
        return ExerciseReport(self.name, True, (), self.n_cases, used)

    def _rule_proxy(self, call):
        """The student's rule as ``check_rule`` calls it: arrays in, updated in place from the call's answer."""
        positions = self._positions()

        def step(P, Q, bu, bi, mu, u, i, r, lr, reg):
            called = call((P, Q, bu, bi, mu, u, i, r, lr, reg), positions)
            if "error" in called:
                raise RuntimeError(called["error"])
            for target, new in zip((P, Q, bu, bi), called["inplace"]):
                if isinstance(new, np.ndarray) and new.shape == target.shape:
                    target[...] = new
            return called["result"]

        step.__name__ = self.function_name
        return step

    def _rule_hints(self, step, rng) -> tuple[bool, list[str]]:
        """``check_rule``'s verdict and hints on a rule exercise (``(True, [])`` for any other)."""
        if not self.rule:
            return True, []
        from ..check.rules import check_rule

        report = check_rule(step, self.rule, random_state=int(rng.integers(2**31)), allow_allocation=True)
        return report.ok, [f"check_rule: {hint}" for hint in report.hints]

    def _slip_hints(self, case: Case, got: Mapping[str, np.ndarray]) -> list[str]:
        hints = []
        for slip in self.slips:
            try:
                with np.errstate(all="ignore"):
                    wrong = self.run(slip.answer, case)
            except AnswerError:  # the slip itself fails on this case (a singular system, say): no match
                continue
            if all(name in wrong and wrong[name].shape == got[name].shape
                   and np.allclose(got[name], wrong[name], rtol=1e-6, atol=1e-9) for name in got):
                hints.append(slip.hint)
        return hints

    def _unchanged(self, case: Case, got: Mapping[str, np.ndarray]) -> list[str]:
        """The hint for an in-place exercise whose arrays came back as they went in."""
        given = dict(zip(self.parameters, case.args))
        if self.inplace and all(np.array_equal(got[name], given[name]) for name in self.inplace):
            return [(f"nothing was updated in place: change {', '.join(self.inplace)} with +=, -= or [...] = "
                     "(a new array bound to the same name is not seen by the caller)")]
        return []

    def _check(self, case: Case, got: Mapping[str, np.ndarray], oracles) -> tuple[bool, list[str], str, str]:
        if self.objective is not None:
            return self._check_gradient(case, got, oracles)
        if self.expected is not None:
            expected = self.expected(case)
        else:
            assert self.oracle is not None, f"exercise {self.name} has neither an objective nor an oracle"
            expected = self.run(self.oracle, case)
        hints, details = [], []
        for name, o in expected.items():
            a = got[name]
            error = np.abs(a - o)
            ratio = error / (self.atol + self.rtol * np.abs(o))
            if ratio.size and ratio.max() > 1.0:
                worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
                where = f"[{', '.join(map(str, worst))}]" if a.ndim else ""
                details.append(f"{name}{where} is {a[worst]:.6g} but should be {o[worst]:.6g}")
        if not details:
            return True, [], "", self.oracle_name
        hints = self._slip_hints(case, got) + self._unchanged(case, got) + details
        return False, hints, "\n".join(details), self.oracle_name

    def _check_gradient(self, case, got, oracles):
        objective, factors, ratings, reg = self.objective(case)
        blocks = {name[3:]: value for name, value in got.items()}  # "dLdP" -> "P"
        report = check_gradients(objective, factors, ratings, manual=lambda *_: blocks, oracles=oracles, reg=reg)
        names = [ORACLE_NAMES.get(o, o) for o in report.compared] or ["nothing"]
        used = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
        if report.skipped:
            used += "; " + "; ".join(f"{o} skipped: {why}" for o, why in report.skipped.items())
        if report.ok:
            return True, [], "", used
        hints = self._slip_hints(case, got)
        hints += [f"dLd{row.block}: {row.hint}" for row in report.failures if row.hint]
        if not hints:
            row = report.failures[0]
            where = ", ".join(map(str, row.worst_index))
            oracle = ORACLE_NAMES.get(row.oracle, row.oracle)
            hints.append(f"dLd{row.block}[{where}] is {row.manual_value:.6g} but {oracle} "
                         f"gives {row.oracle_value:.6g}")
        return False, hints, report.format(reasons=False), used
