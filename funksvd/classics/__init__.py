"""The classic tutorials' toy problems, settings and published outputs."""

from .problems import (
    QUUXLABS_R,
    QUUXLABS_PUBLISHED,
    TF2018_R,
    quuxlabs_ratings,
    tf2018_ratings,
    run_quuxlabs_article,
    completed_matrix,
    harmonic_problem,
    plateau,
    harmonic_experiment,
)
from .tables import Comparison

__all__ = [
    "QUUXLABS_R",
    "QUUXLABS_PUBLISHED",
    "TF2018_R",
    "quuxlabs_ratings",
    "tf2018_ratings",
    "run_quuxlabs_article",
    "completed_matrix",
    "harmonic_problem",
    "plateau",
    "harmonic_experiment",
    "Comparison",
]
