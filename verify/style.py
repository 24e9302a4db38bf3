"""The one look of every figure of ``verify``: a matplotlib rc, a colour-blind-safe palette,
and the save that writes each figure as PNG, PDF and SVG.

``rc()`` is applied around every figure (:func:`figure`, ``verify.figures.draw``), so the report's figures
and the paper-style stairway figures (``verify.paper``) share fonts, sizes, STIX serif text and mathtext
(``$d^{-1/2}$``, as in a paper) and the colour cycle ``PALETTE`` (Okabe & Ito's colour-blind-safe colours
without the yellow; ``"C0"``…``"C6"`` inside a figure are these colours). A plot never holds more series
than ``PALETTE`` has colours: renderers split the rest into panels (``verify.figures.loglog``). :func:`save`
writes ``<stem>.png`` (raster, for the HTML report) with ``<stem>.pdf`` and ``<stem>.svg`` (vector, for talks
and papers), each atomically.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from verify.files import atomic_path

# Okabe & Ito (2008): blue, vermillion, bluish green, orange, reddish purple, sky blue, black
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
REFERENCE = "#7f7f7f"  # predicted values, thresholds and limits: grey, so the palette stays for the data
FORMATS = ("png", "pdf", "svg")
PNG_DPI = 150
_SCRIPT = re.compile(r"([\^_])(\{[^{}$]*\}|[-+−]?\d+/\d+|[-+−]?(?:[^\W_]|[.*])+)")


def _rc() -> dict[str, Any]:
    from cycler import cycler

    return {
        "axes.prop_cycle": cycler(color=list(PALETTE)),
        "font.family": ["STIXGeneral", "DejaVu Serif", "DejaVu Sans"],  # later fonts: glyphs STIX lacks (n₂)
        "mathtext.fontset": "stix", "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9,
        "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 7, "legend.frameon": False,
        "legend.handlelength": 1.6, "figure.titlesize": 10,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
        "grid.linewidth": 0.5, "lines.linewidth": 1.2, "lines.markersize": 4, "errorbar.capsize": 2,
        "figure.constrained_layout.use": True, "figure.dpi": 110, "savefig.dpi": PNG_DPI,
        "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "path", "axes.formatter.use_mathtext": True,
    }


def rc() -> Mapping[str, Any]:
    """The rc parameters of every figure (module docstring); ``matplotlib.rc_context(rc())`` applies them."""
    return _rc()


def math_text(text: str) -> str:
    """``text`` with its plain-text super- and subscripts as mathtext: ``"U^1⊖U^0"`` → ``"U$^{1}$⊖U$^{0}$"``,
    ``"w_i"`` → ``"w$_{i}$"``, ``"d^-1/2"`` → ``"d$^{-1/2}$"``; text already holding ``$`` is returned as it is.
    The labels claims write in plain text read as formulas in the figures."""
    if "$" in text:
        return text

    def one(m: re.Match[str]) -> str:
        body = m.group(2)
        body = body[1:-1] if body.startswith("{") else body
        return f"${m.group(1)}{{{body.replace('−', '-').replace('*', '{*}')}}}$"

    return _SCRIPT.sub(one, text)


def colour(i: int) -> str:
    """The ``i``-th colour of ``PALETTE`` (wrapping; renderers keep ``i`` below ``len(PALETTE)``)."""
    return PALETTE[i % len(PALETTE)]


def marker(i: int) -> str:
    """The ``i``-th marker of ``MARKERS``, so series differ in shape as well as colour (print in grey)."""
    return MARKERS[i % len(MARKERS)]


@contextmanager
def figure(size: tuple[float, float]) -> Iterator[Any]:
    """A new matplotlib figure of ``size`` inches drawn under :func:`rc`, closed when the block ends.

    Parameters
    ----------
    size : (float, float)
        Width and height in inches (``verify.figures.figure_size``).

    Yields
    ------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(rc()):
        fig = plt.figure(figsize=size)
        try:
            yield fig
        finally:
            plt.close(fig)


def save(fig: Any, folder: str | Path, stem: str) -> list[str]:
    """Write ``fig`` as ``<stem>.png``, ``<stem>.pdf`` and ``<stem>.svg`` in ``folder``, each atomically
    (``verify.files.atomic_path``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The drawn figure.
    folder : str or Path
        Where the files go.
    stem : str
        The file name without suffix (ASCII: ``verify.names.ascii_id``).

    Returns
    -------
    list of str
        The file names written, PNG first.
    """
    import logging

    import matplotlib

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # font subsetting notes, not problems
    names = []
    with matplotlib.rc_context(rc()):
        for fmt in FORMATS:
            name = f"{stem}.{fmt}"
            with atomic_path(Path(folder) / name) as tmp:
                fig.savefig(tmp, format=fmt, metadata={"Date": None} if fmt in ("pdf", "svg") else None)
            names.append(name)
    return names


__all__ = ["FORMATS", "MARKERS", "PALETTE", "PNG_DPI", "REFERENCE", "colour", "figure", "marker", "math_text", "rc",
           "save"]
