"""The command line: ``funksvd demo`` and ``funksvd check`` (oracle: exit status and printed text)."""

from __future__ import annotations

import subprocess
import sys


from funksvd import Objective
from funksvd.cli import main


def test_demo_runs_as_module():
    """``python -m funksvd demo`` completes the matrix and passes every check (exit status 0)."""
    result = subprocess.run([sys.executable, "-m", "funksvd", "demo", "--oracle", "finite_differences"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Completed matrix (funksvd)" in result.stdout
    assert "ALL GRADIENT CHECKS PASSED" in result.stdout


def test_check_passes(capsys):
    """``funksvd check`` exits 0 when every hand gradient agrees with finite differences."""
    assert main(["check", "--oracle", "finite_differences"]) == 0
    assert "FAIL" not in capsys.readouterr().out


def test_check_fails_on_a_wrong_gradient(monkeypatch, capsys):
    """A gradient with a missing factor 2 makes ``funksvd check`` exit 1 and say FAIL."""
    right = Objective.gradients

    def wrong(self, *args, **kwargs):
        return {k: 0.5 * v for k, v in right(self, *args, **kwargs).items()}

    monkeypatch.setattr(Objective, "gradients", wrong)
    assert main(["check", "--oracle", "finite_differences"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "missing factor 2" in out
