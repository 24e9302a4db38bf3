"""ASCII spellings of claim ids, for the command line and for file names.

A claim id may hold Greek letters (``C1-σ``); :func:`ascii_id` spells them out (``C1-sigma``) so that a
terminal without them can name the claim (``--claims C1-sigma``) and every file of the report has a plain
name (``fig_C1-sigma_loglog.png``). :func:`resolve_ids` maps what a user typed to the claims' own ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
         "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
         "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "χ": "chi", "ψ": "psi",
         "ω": "omega", "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi",
         "Σ": "Sigma", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_id(text: str) -> str:
    """``text`` in ASCII letters, digits, ``.``, ``_`` and ``-``: Greek letters spelled out (``σ`` → ``sigma``),
    accents dropped, anything else (``/``, spaces) as ``_``.

    Parameters
    ----------
    text : str
        A claim id or a plot kind.

    Returns
    -------
    str
        The ASCII spelling (``"C1-σ"`` → ``"C1-sigma"``); ASCII ids come back unchanged.
    """
    spelled = "".join(GREEK.get(ch, ch) for ch in text)
    plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")
    return _UNSAFE.sub("_", plain)


def resolve_ids(requested: Sequence[str], ids: Sequence[str]) -> list[str]:
    """The claim ids ``requested`` names, each given as the id itself or its :func:`ascii_id` spelling (any case
    for the ASCII spelling), in the order of ``requested`` and without repeats.

    Parameters
    ----------
    requested : sequence of str
        What the user typed (``--claims C1-sigma T1-curve``).
    ids : sequence of str
        The known claim ids.

    Returns
    -------
    list of str
        The matching ids.

    Raises
    ------
    ValueError
        For a name that matches no claim (one line listing the known ids with their ASCII spellings), or one
        that matches two claims.
    """
    out: list[str] = []
    for name in requested:
        hits = [i for i in ids if name == i] or [i for i in ids if ascii_id(name).lower() == ascii_id(i).lower()]
        if not hits:
            known = ", ".join(i if ascii_id(i) == i else f"{i} ({ascii_id(i)})" for i in ids)
            raise ValueError(f"unknown claim id {name!r}; known ids are {known}")
        if len(hits) > 1:
            raise ValueError(f"claim id {name!r} matches {', '.join(hits)}; give the exact id")
        if hits[0] not in out:
            out.append(hits[0])
    return out


__all__ = ["GREEK", "ascii_id", "resolve_ids"]
