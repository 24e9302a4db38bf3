"""How theory's objects show themselves: short plain text for the REPL, LaTeX and HTML for Jupyter.

One low module that the objects (``Staircase``, ``Stairway``, ``Transitions``, the subspaces, ``OneStepOverlap``)
share, so that a subspace is written the same way everywhere: ``{0}``, ``R^r`` or ``span{(…); (…)}`` with the
orthonormal basis in exact sympy form (rounded to 6 digits for floating-point subspaces). A REPL ``repr`` is at
most ``MAX_REPR_LINES`` lines of at most ``MAX_LINE`` characters (:func:`compact`); ``str`` stays complete.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import sympy

MAX_REPR_LINES = 12  # a repr a reader takes in at a glance
MAX_LINE = 120  # characters per repr line; longer lines end in "…"
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}", "#": r"\#",
                  "$": r"\$", "%": r"\%", "&": r"\&", "~": r"\~{}"}


def compact(lines: Sequence[str], limit: int = MAX_REPR_LINES, width: int = MAX_LINE) -> str:
    """``lines`` joined, each cut to ``width`` characters, at most ``limit`` lines (the middle elided).

    Parameters
    ----------
    lines : sequence of str
        The full text, one entry per line (the first is the heading and is always kept).
    limit, width : int
        Most lines and most characters per line.

    Returns
    -------
    str
        The text, with ``"  … (k more lines; str() shows all)"`` in place of what was left out.
    """
    cut = [ln if len(ln) <= width else ln[: width - 1] + "…" for ln in lines]
    if len(cut) <= limit:
        return "\n".join(cut)
    keep_tail = (limit - 2) // 2
    keep_head = limit - 2 - keep_tail
    hidden = len(cut) - keep_head - keep_tail - 1
    return "\n".join([*cut[: keep_head + 1], f"  … ({hidden} more lines; str() shows all)", *cut[-keep_tail:]])


def columns(m: object) -> list[list[object]]:
    """The columns of a basis matrix (sympy Matrix or numpy array ``r × k``) as lists of entries."""
    return [[m[i, j] for i in range(m.shape[0])] for j in range(m.shape[1])]


def latex_text(text: str) -> str:
    r"""Plain text inside ``\text{…}`` with LaTeX's special characters escaped."""
    return r"\text{" + "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text)) + "}"


def is_exact(x: object) -> bool:
    """``x`` is an exact sympy number (a sympy expression without floating-point parts)."""
    return isinstance(x, sympy.Basic) and not x.has(sympy.Float)


def number_text(x: object, digits: int = 10, width: int | None = None) -> str:
    """An exact number as sympy writes it (``"≈ "`` and its float when longer than ``width`` characters), anything
    else as a float to ``digits`` significant digits."""
    if not is_exact(x):
        return f"{float(x):.{digits}g}"
    text = str(x)
    return text if width is None or len(text) <= width else f"≈ {float(x):.10g}"


def number_json(x: object) -> object:
    """JSON-able: an exact number as ``{"exact": str, "value": float}``, an int as it is, anything else as a float;
    a list or tuple entry by entry."""
    if isinstance(x, (tuple, list)):
        return [number_json(v) for v in x]
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if is_exact(x):
        return {"exact": str(x), "value": float(x)}
    return float(x)


def latex_number(x: object) -> str:
    """An exact number in sympy's LaTeX, a float to 6 significant digits."""
    return sympy.latex(x) if is_exact(x) else f"{float(x):.6g}"


def latex_span(m: object, r: int) -> str:
    r"""``\{0\}``, ``\mathbb{R}^{r}`` or ``\mathrm{span}\{(…), (…)\}`` for an orthonormal basis ``m`` (``r × k``)."""
    cols = columns(m)
    if not cols:
        return r"\{0\}"
    if len(cols) == r:
        return rf"\mathbb{{R}}^{{{r}}}"
    vecs = [r"\left(" + ", ".join(latex_number(x) for x in c) + r"\right)" for c in cols]
    return r"\mathrm{span}\left\{" + ", ".join(vecs) + r"\right\}"


def latex_rows(rows: Sequence[tuple[str, str]]) -> str:
    """``$\\begin{aligned} left &= right \\\\ … \\end{aligned}$`` from ``(left, right)`` pairs (right with its
    relation sign, e.g. ``"= \\{0\\}"``)."""
    return r"$\begin{aligned}" + r" \\ ".join(f"{a} &{b}" for a, b in rows) + r"\end{aligned}$"


def html_table(caption: str, head: Sequence[str], rows: Sequence[Sequence[object]],
               notes: Sequence[str] = ()) -> str:
    """A small, well-formed HTML table (every cell escaped) with a caption and notes in a list below it."""
    esc = html.escape
    parts = [f"<div><table><caption>{esc(caption)}</caption>",
             "<tr>" + "".join(f"<th>{esc(str(h))}</th>" for h in head) + "</tr>"]
    parts += ["<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in rows]
    parts.append("</table>")
    if notes:
        parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    parts.append("</div>")
    return "".join(parts)


__all__ = ["MAX_LINE", "MAX_REPR_LINES", "columns", "compact", "html_table", "is_exact", "latex_number", "latex_rows",
           "latex_span", "latex_text", "number_json", "number_text"]
