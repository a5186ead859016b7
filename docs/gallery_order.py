"""The reading order of the tutorials gallery (sphinx-gallery's ``within_subsection_order``).

Named in ``docs/conf.py`` by its fully qualified name, ``gallery_order.TutorialOrder``, so that
the configuration stays picklable. Tutorials not listed come after the listed ones, by file name;
the classics sort by file name, which is by year.
"""

from __future__ import annotations

from pathlib import Path

#: First the toy that every later page builds on, then real data, then checking and pitfalls.
READING_ORDER = (
    "plot_quuxlabs_toy.py",
    "plot_movielens.py",
    "plot_funk_features.py",
    "plot_check_your_gradient.py",
    "plot_pitfalls.py",
    "plot_rotations.py",
)


class TutorialOrder:
    """Sort key: position in :data:`READING_ORDER`, then the file name."""

    def __init__(self, src_dir):
        self.src_dir = str(src_dir)

    def __call__(self, filename) -> tuple[int, str]:
        name = Path(filename).name
        position = READING_ORDER.index(name) if name in READING_ORDER else len(READING_ORDER)
        return position, name

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
