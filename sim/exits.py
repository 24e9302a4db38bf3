"""The exit policy of the command lines that run simulations (``python -m sim``, ``python -m verify``; THEORY.md
§3, §4): :mod:`theory.exits`' statuses and one-line policy, plus the failures of runs.

A run that *diverges* — ``sim.divergence.Diverged``, a record holding a NaN or an infinity
(``sim.store.NonFiniteRecord``), a linear-algebra routine that failed on its numbers (``DIVERGENCES``) — is
not stored. Any other exception from inside a run is a bug, not bad input: the drivers raise it as
:class:`RunFailed`. :func:`failure` turns an exception into a command line's one line and exit status, and
:func:`run_command` wraps every command line of ``sim`` and ``verify`` in it:

* ``EXIT_BAD_INPUT`` = 2: a ``ValueError`` (a config, a file, a limit, the results store — refused before
  any compute);
* ``EXIT_INTERNAL`` = 3: anything unexpected (a bug; never mistaken for bad input or a verdict);
* ``EXIT_DIVERGED`` = 4: a run diverged (the other runs of the command were still run and stored);
* ``EXIT_IO`` = 74: an I/O error (a full disk under the store, stdout to a full device);
* ``EXIT_INTERRUPTED`` = 130: Ctrl-C or ``SIGTERM`` (finished runs are in the store).

``verify`` gives a divergence ``EXIT_INTERNAL`` instead (``run_command(..., diverged_status=EXIT_INTERNAL)``):
its claims isolate their own runs' divergences, so one that reaches its command line is a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sim.divergence import LINALG_ERRORS, Diverged
from sim.store import NonFiniteRecord, StoreError
from theory import exits
from theory.exits import EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_IO, EXIT_OK, exit_help

DIVERGENCES = (Diverged, NonFiniteRecord, *LINALG_ERRORS)  # a run that diverged: not stored, EXIT_DIVERGED
EXIT_HELP = exit_help(f"{EXIT_DIVERGED} a run diverged (the others are stored)")
INTERNAL = "internal error (a bug, not bad input; please report it): "


class RunFailed(RuntimeError):
    """A run raised an unexpected exception (a bug, not bad input); the message names the run."""

    def __init__(self, job: str, exc: BaseException) -> None:
        super().__init__(f"run {job} failed: {one_line(exc)}")


class RunsDiverged(RuntimeError):
    """Some runs of a command diverged (``(job, message)`` each); the others ran and are stored."""

    def __init__(self, failures: Sequence[tuple[str, str]], total: int) -> None:
        self.failures = tuple(failures)
        job, message = self.failures[0]
        if total == 1:
            text = f"run {job}: {message}"
        else:
            text = (f"{len(self.failures)} of {total} runs diverged (first: {job}: {message}); the other "
                    f"{total - len(self.failures)} runs are in the store")
        super().__init__(text)


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line, prefixed by its type (``theory.exits.one_line``) unless it is one of the
    named failures of runs or of the store."""
    if isinstance(exc, (Diverged, NonFiniteRecord, RunFailed, RunsDiverged, StoreError)):
        return " ".join(str(exc).split())
    named = exits.one_line(exc)
    if isinstance(exc, DIVERGENCES):  # a decomposition that met non-finite or degenerate numbers
        return f"the run diverged: a linear-algebra routine failed on its numbers ({named})"
    return named


def classify(exc: BaseException, diverged_status: int = EXIT_DIVERGED) -> tuple[int, str] | None:
    """The status and line of the failures of runs (``theory.exits.failure`` does the rest): an interrupt,
    a divergence (``diverged_status``), a run that failed (a bug, named with its run)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted; finished runs are in the store"
    if isinstance(exc, (RunsDiverged, *DIVERGENCES)):
        return diverged_status, one_line(exc)
    if isinstance(exc, RunFailed):
        return EXIT_INTERNAL, INTERNAL + one_line(exc)
    return None


def failure(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one line (after the program's name) of a command line stopped by ``exc``."""
    return exits.failure(exc, classify)


def run_command(prog: str, command: Callable[[], int], diverged_status: int = EXIT_DIVERGED) -> int:
    """``command()``'s exit status; a failure is written as one line ``"{prog}: …"`` on stderr and gets its
    status from ``failure`` (``diverged_status`` for a divergence). A closed stdout (``… | head``) is quiet;
    an interrupt in any phase is one line and ``EXIT_INTERRUPTED`` (``theory.exits.run_command``)."""
    return exits.run_command(prog, command, lambda exc: classify(exc, diverged_status))


__all__ = ["DIVERGENCES", "EXIT_BAD_INPUT", "EXIT_DIVERGED", "EXIT_HELP", "EXIT_INTERNAL", "EXIT_INTERRUPTED",
           "EXIT_IO", "EXIT_OK", "INTERNAL", "RunFailed", "RunsDiverged", "classify", "failure", "one_line",
           "run_command"]
