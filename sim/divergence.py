"""Divergence: a run whose numbers stop being finite stops there, and says which and where (THEORY.md §3).

A giant step with too large a learning rate, a target with a huge constant or a huge label noise makes the
loss, the weights, the features or the errors overflow. Such a run must neither store non-finite numbers
nor surface as a traceback from deep inside ``torch.linalg``; it raises :class:`Diverged`, whose one-line
message names the quantity, the step and what to change. ``Diverged`` is not a ``ValueError``: the input
was valid, the run diverged, and the command lines give it its own exit status.

The checks deep inside a run (``check_finite``, ``guarded``) know the quantity and the step; what to change
depends on the whole config, so the run's entry point adds it where it catches the error
(``Diverged.with_hint``, e.g. ``sim.giant_step.run.simulate``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

# what a decomposition (eigh, svd, pinv, solve) raises on non-finite input or when it does not converge;
# numpy's is a ValueError, which a command line would otherwise report as bad input
LINALG_ERRORS = (torch.linalg.LinAlgError, np.linalg.LinAlgError)


@dataclass
class Diverged(RuntimeError):
    """A run produced a non-finite ``quantity`` at ``step`` (``0`` = initialisation or readout before any
    step); ``hint`` says what to change (e.g. ``"lower lr0"``; empty until the run's entry point adds it)."""

    quantity: str
    step: int
    hint: str = ""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"the run diverged: {self.quantity} is not finite at step {self.step}"
        return f"{where}; {self.hint}" if self.hint else where

    def with_hint(self, hint: str) -> Diverged:
        """This divergence saying what to change: ``hint``, unless it already says something."""
        return self if self.hint else Diverged(self.quantity, self.step, hint)

    def __reduce__(self) -> tuple[type, tuple[str, int, str]]:
        """Pickled as its three fields (the ranks of a data-parallel run send it to each other)."""
        return (Diverged, (self.quantity, self.step, self.hint))


def check_finite(value: torch.Tensor | float, quantity: str, step: int, hint: str = "") -> None:
    """Raise :class:`Diverged` unless every entry of ``value`` (a tensor or a number) is finite."""
    if isinstance(value, torch.Tensor):
        ok = bool(torch.isfinite(value).all())
    else:
        ok = math.isfinite(float(value))
    if not ok:
        raise Diverged(quantity, step, hint)


@contextmanager
def guarded(quantity: str, step: int, hint: str = "") -> Iterator[None]:
    """Run a decomposition of ``quantity`` at ``step``: a ``LINALG_ERRORS`` error inside (non-finite input,
    "SVD did not converge") becomes :class:`Diverged` naming it, never a traceback or a bad-input error."""
    try:
        yield
    except LINALG_ERRORS:
        raise Diverged(quantity, step, hint) from None


__all__ = ["Diverged", "LINALG_ERRORS", "check_finite", "guarded"]
