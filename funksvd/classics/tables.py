"""The "published, ours, and why they differ" table that ends every classic tutorial.

Printed as plain text (``repr``), shown as an HTML table where HTML is rendered (a Jupyter
notebook, the documentation's gallery, which both call ``_repr_html_``), so a long cell wraps
inside its column instead of running past the output box.
"""

from __future__ import annotations

import html

__all__ = ["NOT_PRINTED", "Comparison"]

#: What the "published" column shows for a quantity the original post does not print.
NOT_PRINTED = "(not printed)"


class Comparison:
    """Rows ``(quantity, published, ours, why they differ)``; ``published`` None when the post prints no such figure.

    Examples
    --------
    >>> Comparison([("steps", "5000", "300", "build time"), ("RMSE", None, "0.93", "")])
    quantity  published      ours  why they differ
    --------  -------------  ----  ---------------
    steps     5000           300   build time
    RMSE      (not printed)  0.93
    """

    HEAD = ("quantity", "published", "ours", "why they differ")

    def __init__(self, rows, head=HEAD):
        self.head = tuple(str(h) for h in head)
        self.rows = []
        for row in rows:
            if len(row) != len(self.head):
                raise ValueError(f"row {row!r} has {len(row)} cells; the table has {len(self.head)} columns")
            cells = [NOT_PRINTED if j == 1 and value is None else str(value) for j, value in enumerate(row)]
            self.rows.append(tuple(cells))

    def __repr__(self) -> str:
        table = (self.head, *self.rows)
        widths = [max(len(row[j]) for row in table) for j in range(len(self.head))]
        lines = [self.head, tuple("-" * w for w in widths), *self.rows]
        return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in lines)

    def _repr_html_(self) -> str:
        def cells(row, tag):
            return "".join(f"<{tag}>{html.escape(value)}</{tag}>" for value in row)

        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows)
        return (f'<table class="funksvd-comparison"><thead><tr>{cells(self.head, "th")}</tr></thead>'
                f"<tbody>{body}</tbody></table>")
