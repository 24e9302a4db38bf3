"""Decide the claims of THEORY.md §5 from simulations (``sim``) and predictions (``theory``).

``python -m verify --profile quick`` plans the runs of every selected claim,
takes finished ones from the results store, runs the rest, fits scaling laws
(``verify.fits``), applies the decision rules (``verify.rules``) and writes
``reports/<profile>/`` (``verify.report``).
"""

from theory.exits import guard_startup

guard_startup()  # python -m …: Ctrl-C while the package imports ends in one line (theory.exits)

from verify.claims.base import (Alternative, Arm, Claim, Control, Evaluation, FigureKind, Ladder, Plot, RunSet, Status,
                                Variant)
from verify.rules import CONFIRMED, INCONCLUSIVE, REFUTED, Decision

__all__ = ["Alternative", "Arm", "CONFIRMED", "Claim", "Control", "Decision", "Evaluation", "FigureKind", "INCONCLUSIVE",
           "Ladder", "Plot", "REFUTED", "RunSet", "Status", "Variant"]
