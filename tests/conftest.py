"""Shared fixtures and the hypothesis profiles.

Profiles: ``default`` (quick, for local runs) and ``thorough`` (CI: at least 200 examples per
property, derandomised so a CI run is reproducible, no deadline). Select with the environment
variable ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=30, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: MovieLens 100K, shared beside the repository (never copied into it).
ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


@pytest.fixture
def ml100k_path() -> Path:
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML100K} (the shared data folder is absent)")
    return ML100K


@pytest.fixture
def rng():
    return np.random.default_rng(20261121)
