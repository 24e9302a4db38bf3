"""The claim registry (THEORY.md §5).

Each family is one module of this package defining ``CLAIMS`` (a tuple of
:class:`verify.claims.base.Claim`); adding a family is adding its module name
to ``FAMILIES``. Users add claims without touching the package with
``python -m verify --claims-file my_claims.py`` (a file defining ``CLAIMS``).
"""

from __future__ import annotations

import importlib

from verify.claims.base import Claim, Evaluation, Ladder, Plot, RunSet, Variant

FAMILIES = ("verify.claims.one_step", "verify.claims.staircase", "verify.claims.errors", "verify.claims.zhou_ge",
            "verify.claims.notebooks", "verify.claims.reuse")


def registry() -> tuple[Claim, ...]:
    """All built-in claims, in family order.

    Returns
    -------
    tuple of Claim
        The ``CLAIMS`` of every module in ``FAMILIES``; ids are unique (a duplicate raises ``ValueError``).
    """
    claims: list[Claim] = []
    for name in FAMILIES:
        claims.extend(importlib.import_module(name).CLAIMS)
    ids = [c.id for c in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"duplicate claim ids in the registry: {', '.join(dup)}")
    return tuple(claims)


__all__ = ["Claim", "Evaluation", "FAMILIES", "Ladder", "Plot", "RunSet", "Variant", "registry"]
