"""The command lines as a user runs them (issue 9 item 7): one representative fault of each class in its own
process — exit status, exactly one line on stderr, no traceback, nothing stored. The processes run at once
(their imports of torch and sympy overlap on a 2-core machine)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sim.exits import EXIT_BAD_INPUT, EXIT_DIVERGED
from sim.store import Store
from tests.faults.clis import Result, failure_line, finish, spawn

TINY = ["--target", "x1", "--d", "16", "--p", "8", "--n-test", "64", "--block-size", "16", "--no-progress"]


def _cases(tmp: Path) -> dict[str, tuple[str, list[str], int, tuple[str, ...]]]:
    """name → (module, argv, exit status, fragments of the line): a bad store for sim and for verify, a
    divergence (every class is also run in-process by the other files of this folder)."""
    (tmp / "random.sqlite").write_bytes(random.Random(1).randbytes(4096))
    (tmp / "folder").mkdir()
    store = str(tmp / "s.sqlite")
    return {
        "store is random bytes": ("sim", ["run", *TINY, "--store", str(tmp / "random.sqlite")], EXIT_BAD_INPUT,
                                  ("random.sqlite", "is not an SQLite database")),
        "verify store is a folder": ("verify", ["--profile", "smoke", "--store", str(tmp / "folder"), "--out",
                                                str(tmp / "reports")], EXIT_BAD_INPUT, ("is a directory",)),
        "diverging run": ("sim", ["run", *TINY, "--lr0", "1e6", "--no-normalize", "--steps", "3", "--json",
                                  "--store", store], EXIT_DIVERGED, ("diverged",)),
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Result, int, tuple[str, ...], Path]]:
    tmp = tmp_path_factory.mktemp("processes")
    cases = _cases(tmp)
    started = {name: spawn(module, argv, tmp) for name, (module, argv, _, _) in cases.items()}
    return {name: (finish(started[name]), cases[name][2], cases[name][3], tmp) for name in cases}


@pytest.mark.parametrize("name", ["store is random bytes", "verify store is a folder", "diverging run"])
def test_fault_in_its_own_process(name: str, results: dict) -> None:
    res, status, fragments, tmp = results[name]
    failure_line(res, status, *fragments)
    assert res.out == ""  # no record printed, not even a NaN one
    store = tmp / "s.sqlite"
    assert not store.exists() or len(Store(store)) == 0
