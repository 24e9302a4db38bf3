"""Exit statuses and the one-line failure policy of every command line (``theory``, ``sim``, ``verify``).

One place for what a failure looks like to the user: whatever goes wrong, a command line writes
exactly one line ``"{prog}: …"`` on stderr — never a traceback — and exits with its documented status:

* ``EXIT_OK`` = 0;
* ``EXIT_REFUTED`` = 1: ``verify`` only, a theorem is REFUTED (``--strict``: a claim is not CONFIRMED);
* ``EXIT_BAD_INPUT`` = 2: a ``ValueError`` — bad input, refused before any compute, the line says what to change;
* ``EXIT_INTERNAL`` = 3: anything unexpected (a bug; never mistaken for bad input or a verdict);
* ``EXIT_DIVERGED`` = 4: ``sim`` only, a run diverged (the command's other runs are stored);
* ``EXIT_IO`` = 74 (``EX_IOERR`` of ``sysexits.h``): an I/O error — a full device (``> /dev/full``, a full
  disk under the results store or the report folder), a file-size limit (``ulimit -f``), a failing disk.
  A file a command writes is written to a temporary file beside it and renamed (``verify.files``), so it
  is complete or absent, never truncated;
* ``EXIT_INTERRUPTED`` = 130: Ctrl-C (or ``SIGTERM``) in any phase — while importing, computing, writing or
  exiting. After the first interrupt further ones are ignored, so the exit itself (torch's handlers,
  flushing) cannot print a traceback. (Before the interpreter reaches the package's first line — its own
  start and the search for the module, a tenth of a second or so — Python's own handling applies.)

A closed stdout (``… | head -1``) ends quietly with status 0. Output to a terminal or a pipe whose locale
cannot encode a character (``LC_ALL=C``) falls back to ASCII escapes (``\\u03c3`` for σ) instead of failing.

:func:`run_command` applies the policy to a command; a package adds its own kinds of failure with
``classify`` (``sim.exits.failure``: divergences, runs that failed). :func:`main_module` runs a package's
``__main__``, so that an interrupt while the package is still being imported also ends in one line.
This module imports nothing but the standard library.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Any

EXIT_OK = 0
EXIT_REFUTED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_DIVERGED = 4
EXIT_IO = 74
EXIT_INTERRUPTED = 130
IO_HINT = "free space, check the device or the file-size limit (ulimit -f), or write elsewhere"

Classify = Callable[[BaseException], "tuple[int, str] | None"]


def exit_help(*extra: str) -> str:
    """The ``--help`` epilog listing the exit statuses (``extra``: a program's own, e.g. ``"4 a run diverged"``)."""
    parts = [f"{EXIT_OK} ok", *[e for e in extra if e.startswith("1 ")],
             f"{EXIT_BAD_INPUT} bad input (one line, before any compute)", f"{EXIT_INTERNAL} an internal error",
             *[e for e in extra if not e.startswith("1 ")], f"{EXIT_IO} an I/O error (full device, file-size limit)",
             f"{EXIT_INTERRUPTED} interrupted"]
    return "exit status: " + ", ".join(parts)


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line, prefixed by its type."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def io_line(exc: OSError) -> str:
    """An I/O error in words: what failed (the file, when known), why, and what to do."""
    why = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    code = f" ({errno.errorcode.get(exc.errno, exc.errno)})" if isinstance(exc.errno, int) else ""
    where = f" on {exc.filename!s}" if getattr(exc, "filename", None) else ""
    return f"I/O error{where}: {why}{code}; {IO_HINT}"


def failure(exc: BaseException, classify: Classify | None = None) -> tuple[int, str]:
    """The exit status and the one line (after the program's name) of a command stopped by ``exc``:
    ``classify(exc)`` when it names the failure, else the policy of the module docstring."""
    named = classify(exc) if classify is not None else None
    if named is not None:
        return named
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, OSError):
        return EXIT_IO, io_line(exc)
    if isinstance(exc, ValueError) and not isinstance(exc, UnicodeError):
        return EXIT_BAD_INPUT, "error: " + " ".join(str(exc).split())
    return EXIT_INTERNAL, f"internal error (a bug, not bad input; please report it): {one_line(exc)}"


def ascii_safe(stream: Any) -> None:
    """Let ``stream`` (stdout, stderr) write any text: where its encoding cannot (an ASCII-only locale), the
    characters it lacks are written as backslash escapes instead of raising ``UnicodeEncodeError``."""
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if encoding not in ("utf8", "utf16", "utf32") and hasattr(stream, "reconfigure"):
        with suppress(Exception):
            stream.reconfigure(errors="backslashreplace")


def _quiet_stdout() -> None:
    """Point stdout at the null device (after a closed pipe or a failed write), so the interpreter's final
    flush cannot fail again."""
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _say(prog: str, line: str) -> None:
    with suppress(OSError, ValueError):
        sys.stderr.write(f"{prog}: {line}\n")
        sys.stderr.flush()


def stop_interrupts() -> None:
    """Ignore further Ctrl-C and ``SIGTERM`` (called once a command is stopping)."""
    with suppress(ValueError, OSError):  # not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def catch_terminate() -> None:
    """``SIGTERM`` interrupts like Ctrl-C (one line, ``EXIT_INTERRUPTED``; finished work is kept)."""
    with suppress(ValueError, OSError):  # not the main thread
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _terminate)


def run_command(prog: str, command: Callable[[], int], classify: Classify | None = None) -> int:
    """``command()``'s exit status under the policy of the module docstring.

    Parameters
    ----------
    prog : str
        The program's name, the start of its one line (``"python -m sim"``).
    command : callable
        The command; returns its exit status or raises.
    classify : callable, optional
        ``classify(exc)``: ``(status, line)`` for the failures the program names itself, ``None`` otherwise.

    Returns
    -------
    int
        The exit status; stdout is flushed before it returns, so that a full device is reported here.
    """
    ascii_safe(sys.stdout)
    ascii_safe(sys.stderr)
    catch_terminate()
    try:
        status = int(command())
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # the reader closed the pipe (``| head -1``): stop quietly
        _quiet_stdout()
        return EXIT_OK
    except SystemExit:  # --help, or a status the command chose
        with suppress(OSError, ValueError):
            sys.stdout.flush()
        raise
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - every failure becomes one line and a status
        if isinstance(exc, KeyboardInterrupt):
            stop_interrupts()
        status, line = failure(exc, classify)
        if status == EXIT_IO:
            _quiet_stdout()  # what could not be written is dropped, so the exit's flush cannot fail again
        _say(prog, line)
        return status


def _startup_interrupt(signum: int, frame: object) -> None:
    """Ctrl-C while a command line is still importing: nothing has been done, so stop at once, in one line."""
    _say(_prog(), "interrupted")
    os._exit(EXIT_INTERRUPTED)


def _prog() -> str:
    argv = list(getattr(sys, "orig_argv", []))
    return f"python -m {argv[argv.index('-m') + 1]}" if "-m" in argv[:-1] else "python"


def guard_startup(packages: tuple[str, ...] = ("theory", "sim", "verify")) -> None:
    """While ``python -m <package>`` of one of ``packages`` is importing (Python sets ``sys.argv[0]`` to
    ``"-m"`` until the module runs), Ctrl-C ends the process in one line with ``EXIT_INTERRUPTED``; the
    first statement of each package's ``__init__``. Library imports are left alone."""
    if sys.argv[:1] != ["-m"] or _prog().split()[-1].split(".")[0] not in packages:
        return
    with suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _startup_interrupt)
            signal.signal(signal.SIGTERM, _startup_interrupt)


def main_module(prog: str, module: str) -> int:
    """Import ``module`` and return its ``main()`` (the ``__main__`` of each package calls this): an interrupt
    while importing ends in one line and ``EXIT_INTERRUPTED`` (:func:`guard_startup`); then Ctrl-C raises
    ``KeyboardInterrupt`` again, which the command's :func:`run_command` turns into its one line."""
    try:
        main = importlib.import_module(module).main
        with suppress(ValueError, OSError):
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        return int(main())
    except KeyboardInterrupt:  # outside the command's own handling (before or after it)
        stop_interrupts()
        _say(prog, "interrupted")
        return EXIT_INTERRUPTED


__all__ = ["EXIT_BAD_INPUT", "EXIT_DIVERGED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_IO", "EXIT_OK",
           "EXIT_REFUTED", "IO_HINT", "ascii_safe", "catch_terminate", "exit_help", "failure", "io_line",
           "guard_startup", "main_module", "one_line", "run_command", "stop_interrupts"]
