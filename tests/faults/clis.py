"""What the fault suite asks of every command line: a failure is one line on stderr, no traceback, its
documented exit status, quickly. ``call`` runs a command line in this process (``main(argv)`` returns the
status); ``spawn``/``finish`` run several in subprocesses at once (the 2-core CI machine pays the imports
of torch and sympy once per process, so they overlap)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFUSE_SECONDS = 1.0  # a refusal in-process (issue 9 item 4: "within a second")
SUBPROCESS_SECONDS = 120.0  # a whole subprocess, imports included, on a loaded 2-core machine


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str
    seconds: float


def call(main: Callable[[Sequence[str]], int], argv: Sequence[str], capsys) -> Result:  # noqa: ANN001 - pytest fixture
    """``main(argv)`` in this process, with its status, stdout, stderr and wall time."""
    capsys.readouterr()
    start = time.perf_counter()
    status = main(list(argv))
    seconds = time.perf_counter() - start
    out, err = capsys.readouterr()
    return Result(status, out, err, seconds)


def failure_line(res: Result, status: int, *fragments: str) -> str:
    """The one line of a failure with ``status``, which names every fragment; no traceback."""
    assert res.status == status, (res.status, res.err)
    assert "Traceback" not in res.err, res.err
    lines = res.err.splitlines()
    assert len(lines) == 1 and res.err.endswith("\n"), res.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def spawn(module: str, argv: Sequence[str], cwd: Path) -> tuple[subprocess.Popen, float]:
    """``python -m module argv…`` started in ``cwd`` (this checkout first on the path), and its start time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", module, *argv], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, time.perf_counter()


def finish(started: tuple[subprocess.Popen, float]) -> Result:
    """Wait for a spawned command line (at most ``SUBPROCESS_SECONDS``)."""
    proc, start = started
    out, err = proc.communicate(timeout=SUBPROCESS_SECONDS)
    return Result(proc.returncode, out, err, time.perf_counter() - start)
