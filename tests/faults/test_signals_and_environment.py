"""Signals, locales and full devices, as a user meets them (issue 19 items 3 and 4): every command line ends
with one line on stderr and its documented status — 130 for Ctrl-C (once or repeatedly, in any phase after
the interpreter started) or ``SIGTERM``, 74 (``EXIT_IO``) for output to a full device or a file-size limit
hit while writing a report, which leaves no truncated file — and works in an ASCII-only locale.

The processes run at once (their imports overlap on a 2-core machine); in-process: a store whose COMMIT
succeeded before an interrupt, or failed on a full disk, reports that, not "cannot rollback".
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sim.store import Store
from tests.faults.clis import ROOT, SUBPROCESS_SECONDS, Result, failure_line
from theory.exits import EXIT_INTERRUPTED, EXIT_IO, failure

SIGNAL_AFTER = 2.5  # seconds after the start: the package is importing or computing, never done yet
TINY = ["--target", "x1", "--d", "16", "--p", "8", "--n-test", "64", "--block-size", "16", "--no-progress",
        "--device", "cpu"]
BIG = ["--target", "x1", "--d", "512", "--p", "512", "--n-exp", "1.5", "--seeds", "3", "--force", "--no-progress",
       "--device", "cpu"]
ASCII_LOCALE = {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}
HANGING_CLAIMS = textwrap.dedent('''
    import time

    from verify import Claim, Ladder, Variant


    def forever():
        while True:
            time.sleep(0.01)


    CLAIMS = [Claim(id="HANGS", source="fault suite", statement="never predicts", status="theorem", predict=forever,
                    ladders={"smoke": Ladder((Variant("", dict(target="x1", p=8, n_test=64, block_size=16), (16,)),),
                                             1)}, evaluate=lambda prediction, runs: None)]
''')


def _cases(tmp: Path) -> dict[str, tuple[list[str], dict[str, str], bool, list[float], int, tuple[str, ...]]]:
    """name → (argv after python, extra environment, stdout to /dev/full, signal times, status, fragments)."""
    (tmp / "hanging_claims.py").write_text(HANGING_CLAIMS)
    store = str(tmp / "s.sqlite")
    verify_hang = ["-m", "verify", "--profile", "smoke", "--claims-file", str(tmp / "hanging_claims.py"), "--store",
                   str(tmp / "v.sqlite"), "--out", str(tmp / "reports"), "--no-progress"]
    tanh = ["-m", "theory", "hermite", "tanh", "--kmax", "24"]
    a = SIGNAL_AFTER
    return {
        "theory Ctrl-C": (tanh, {}, False, [a], EXIT_INTERRUPTED, ("python -m theory: interrupted",)),
        "theory Ctrl-C thrice": (tanh, {}, False, [a, a + 0.05, a + 0.1], EXIT_INTERRUPTED, ("interrupted",)),
        "theory SIGTERM": (tanh, {}, False, [-a], EXIT_INTERRUPTED, ("interrupted",)),
        "sim Ctrl-C": (["-m", "sim", "run", *BIG, "--store", store], {}, False, [a + 1], EXIT_INTERRUPTED,
                       ("python -m sim: interrupted",)),  # importing or running: either is one line
        "verify Ctrl-C twice": (verify_hang, {}, False, [a + 1, a + 1.1], EXIT_INTERRUPTED, ("interrupted",)),
        "theory ASCII locale": (["-m", "theory", "hermite", "relu", "--kmax", "2"], ASCII_LOCALE, False, [], 0, ()),
        "sim ASCII locale": (["-m", "sim", "run", *TINY, "--store", str(tmp / "c.sqlite")], ASCII_LOCALE, False, [],
                             0, ()),
        "verify ASCII locale": (["-m", "verify", "--list"], ASCII_LOCALE, False, [], 0, ()),
        "theory full device": (["-m", "theory", "hermite", "relu"], {}, True, [], EXIT_IO,
                               ("python -m theory: I/O error", "No space left on device")),
        "sim full device": (["-m", "sim", "run", *TINY, "--store", str(tmp / "f.sqlite")], {}, True, [], EXIT_IO,
                            ("python -m sim: I/O error",)),
        "verify full device": (["-m", "verify", "--list"], {}, True, [], EXIT_IO, ("python -m verify: I/O error",)),
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Result, int, tuple[str, ...]]]:
    tmp = tmp_path_factory.mktemp("signals")
    cases = _cases(tmp)
    started = {}
    for name, (argv, env, full, _, _, _) in cases.items():
        stdout = open("/dev/full", "w") if full else subprocess.PIPE  # noqa: SIM115 - closed below
        proc = subprocess.Popen([sys.executable, *argv], cwd=tmp, text=True, stdout=stdout, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **env})
        started[name] = (proc, time.perf_counter(), stdout)
    signals = sorted((abs(t), name, signal.SIGTERM if t < 0 else signal.SIGINT)
                     for name, case in cases.items() for t in case[3])
    for at, name, sig in signals:
        proc, start, _ = started[name]
        time.sleep(max(0.0, start + at - time.perf_counter()))
        proc.send_signal(sig)
    out = {}
    for name, (proc, start, stdout) in started.items():
        text, err = proc.communicate(timeout=SUBPROCESS_SECONDS)
        if stdout is not subprocess.PIPE:
            stdout.close()
        out[name] = (Result(proc.returncode, text or "", err, time.perf_counter() - start), cases[name][4],
                     cases[name][5])
    return out


@pytest.mark.parametrize("name", [
    "theory Ctrl-C", "theory Ctrl-C thrice", "theory SIGTERM", "sim Ctrl-C", "verify Ctrl-C twice",
    "theory full device", "sim full device", "verify full device"])
def test_one_line_and_the_documented_status(name: str, results: dict) -> None:
    res, status, fragments = results[name]
    failure_line(res, status, *fragments)


@pytest.mark.parametrize("name", ["theory ASCII locale", "sim ASCII locale", "verify ASCII locale"])
def test_an_ascii_only_locale_works(name: str, results: dict) -> None:
    res, status, _ = results[name]
    assert res.status == 0 and "Traceback" not in res.err and "Error" not in res.err, res.err
    assert res.out.isascii() and res.out.strip()
    if name.startswith("theory"):
        assert "E[\\u03c3 He_k]" in res.out  # σ written as an escape, the table intact


def test_a_file_size_limit_while_writing_the_report_leaves_no_file(tmp_path: Path) -> None:
    """The figure (tens of KiB) passes ``ulimit -f``: exit 74 in one line, and the report folder holds no
    truncated file (each is written to a temporary file and renamed)."""
    store, out = str(tmp_path / "s.sqlite"), tmp_path / "reports"
    argv = [sys.executable, "-m", "verify", "--profile", "smoke", "--claims", "T1-single", "--store", store,
            "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    first = subprocess.run([*argv, "--out", str(tmp_path / "first")], env=env, capture_output=True, text=True,
                           timeout=SUBPROCESS_SECONDS)
    assert first.returncode == 0, first.stderr  # the runs are in the store now; the next command only reads it
    limit = 40 * 1024  # above the store's files, below the figure

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    start = time.perf_counter()
    proc = subprocess.run([*argv, "--out", str(out)], env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_SECONDS, preexec_fn=small_files)
    res = Result(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)
    failure_line(res, EXIT_IO, "python -m verify: I/O error", "File too large")
    assert [p.name for p in (out / "smoke").iterdir()] == [], list((out / "smoke").iterdir())


class _Connection:
    """A connection whose COMMIT does what ``after_commit`` says (wraps a real one)."""

    def __init__(self, con: sqlite3.Connection, after_commit: BaseException, before: bool) -> None:
        self.con, self.after_commit, self.before = con, after_commit, before

    def execute(self, sql: str, *args: object) -> object:
        if sql == "COMMIT" and self.before:
            raise self.after_commit
        out = self.con.execute(sql, *args)
        if sql == "COMMIT":
            raise self.after_commit
        return out

    @property
    def in_transaction(self) -> bool:
        return self.con.in_transaction


def _store(path: Path, after_commit: BaseException, before: bool = False) -> Store:
    class Faulty(Store):
        def _connect(self):  # noqa: ANN202 - the base's context manager, with the connection wrapped
            base = Store._connect(self)

            class Wrapped:
                def __enter__(self_inner):  # noqa: ANN001, ANN202, N805
                    return _Connection(base.__enter__(), after_commit, before)

                def __exit__(self_inner, *exc):  # noqa: ANN001, ANN202, N805
                    return base.__exit__(*exc)

            return Wrapped()

    Store(path)  # created and checked by the real class
    return Faulty(path)


def test_an_interrupt_after_a_commit_stays_an_interrupt(tmp_path: Path) -> None:
    rec = {"key": "k1", "kind": "giant_step", "seed": 0, "code_version": "v", "config": {"d": 1}, "x": 1.0}
    with pytest.raises(KeyboardInterrupt):  # was: StoreError "cannot rollback - no transaction is active"
        _store(tmp_path / "s.sqlite", KeyboardInterrupt()).put(rec)
    assert Store(tmp_path / "s.sqlite").get_key("k1") is not None  # the COMMIT happened


def test_a_full_disk_at_commit_is_an_io_error(tmp_path: Path) -> None:
    rec = {"key": "k1", "kind": "giant_step", "seed": 0, "code_version": "v", "config": {"d": 1}, "x": 1.0}
    with pytest.raises(OSError) as info:
        _store(tmp_path / "s.sqlite", sqlite3.OperationalError("database or disk is full"), before=True).put(rec)
    status, line = failure(info.value)
    assert status == EXIT_IO and "database or disk is full" in line and "s.sqlite" in line
    assert Store(tmp_path / "s.sqlite").get_key("k1") is None  # rolled back, nothing half-written
