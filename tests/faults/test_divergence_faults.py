"""A run that diverges (issue 9 item 3, the command-line side): the command lines print one line and exit
with their own status (``EXIT_DIVERGED`` = 4, not 2: the input was valid), the other runs of the command
still run and are stored, nothing non-finite is stored, and ``--json`` never prints ``NaN``/``Infinity``.
Which failures count as a divergence, and which status every failure gets, is one table
(``sim.exits.failure``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sim import SimConfig, run_many, run_or_load
from sim.cli import main as sim_main
from sim.divergence import Diverged
from sim.exits import (
    EXIT_BAD_INPUT,
    EXIT_DIVERGED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    DIVERGENCES,
    RunFailed,
    RunsDiverged,
    failure,
)
from sim.store import NonFiniteRecord, Store, StoreError
from tests.faults.clis import call, failure_line

TINY = dict(target="x1", d=16, p=8, n_test=64, block_size=16)
DIVERGING = dict(TINY, lr0=1e6, normalize=False, steps=3)  # the weights overflow within three steps
FLAGS = ["--target", "x1", "--d", "16", "--p", "8", "--n-test", "64", "--block-size", "16", "--no-progress"]


def _strict_json(line: str) -> dict:
    def refuse(name: str) -> float:
        raise AssertionError(f"{name} printed as JSON")

    return json.loads(line, parse_constant=refuse)


def test_diverging_run_exits_4_with_one_line_and_stores_nothing(tmp_path: Path, capsys) -> None:
    store = tmp_path / "s.sqlite"
    res = call(sim_main, ["run", *FLAGS, "--lr0", "1e6", "--no-normalize", "--steps", "3", "--json",
                          "--store", str(store)], capsys)
    failure_line(res, EXIT_DIVERGED, "run giant_step d=16 seed 0", "diverged")
    assert res.out == "" and len(Store(store)) == 0


def test_diverging_zhou_ge_run_exits_4(tmp_path: Path, capsys) -> None:
    store = tmp_path / "s.sqlite"
    res = call(sim_main, ["zg", "--d", "8", "--m", "8", "--m-star", "2", "--phases", "1", "--max-steps-per-phase",
                          "50", "--lr", "1e6", "--no-baseline", "--device", "cpu", "--no-progress", "--json",
                          "--store", str(store)], capsys)
    failure_line(res, EXIT_DIVERGED, "run zhou_ge d=8 seed 0", "diverged", "lower lr")
    assert res.out == "" and len(Store(store)) == 0


def test_sweep_keeps_the_runs_that_did_not_diverge(tmp_path: Path, capsys) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: {target: x1, d: 16, p: 8, n_test: 64, block_size: 16, steps: 3}\n"
                     "cases: [{lr0: 1.0}, {lr0: 1.0e6, normalize: false}, {lr0: 0.5}]\n")
    store = tmp_path / "s.sqlite"
    res = call(sim_main, ["sweep", str(sweep), "--no-progress", "--store", str(store)], capsys)
    failure_line(res, EXIT_DIVERGED, "1 of 3 runs diverged", "the other 2 runs are in the store")
    assert res.out.count(" run") == 2  # the table of the finished runs, on stdout
    assert len(Store(store)) == 2
    res = call(sim_main, ["sweep", str(sweep), "--json", "--no-progress", "--store", str(store)], capsys)
    assert res.status == EXIT_DIVERGED and res.err.splitlines()[-1].startswith("python -m sim: 1 of 3 runs")
    printed = [_strict_json(line) for line in res.out.splitlines()]  # the table went to stderr
    assert [r["config"]["lr0"] for r in printed] == [1.0, 0.5]
    assert sorted(Store(store).keys()) == sorted(r["key"] for r in printed)


def test_drivers_isolate_a_divergence_or_raise_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    jobs = [(SimConfig(**TINY), 0), (SimConfig(**DIVERGING), 0), (SimConfig(**TINY), 1)]
    seen: list[tuple[int, str]] = []
    recs = run_many(jobs, store, progress=False, on_diverged=lambda i, msg: seen.append((i, msg)))
    assert [r is None for r in recs] == [False, True, False] and [i for i, _ in seen] == [1]
    assert "the run diverged" in seen[0][1] and "\n" not in seen[0][1]
    assert len(store) == 2
    with pytest.raises(DIVERGENCES):
        run_or_load(SimConfig(**DIVERGING), 0, store)
    assert len(store) == 2


@pytest.mark.parametrize("exc, status, fragment", [
    (Diverged("the loss", 3, "lower lr0"), EXIT_DIVERGED, "the loss is not finite at step 3; lower lr0"),
    (NonFiniteRecord("k1", "per_step[1].test_error"), EXIT_DIVERGED, "non-finite number at per_step[1].test_error"),
    (torch.linalg.LinAlgError("linalg.eigh: failed to converge"), EXIT_DIVERGED, "linear-algebra routine failed"),
    (np.linalg.LinAlgError("SVD did not converge"), EXIT_DIVERGED, "SVD did not converge"),  # a ValueError
    (RunsDiverged([("giant_step d=16 seed 0", "the run diverged: x")], 4), EXIT_DIVERGED, "1 of 4 runs diverged"),
    (ValueError("p must be even"), EXIT_BAD_INPUT, "error: p must be even"),
    (StoreError("results store 'x' is a directory"), EXIT_BAD_INPUT, "is a directory"),
    (RunFailed("giant_step d=16 seed 0", ValueError("shapes do not match")), EXIT_INTERNAL,
     "run giant_step d=16 seed 0 failed: ValueError: shapes do not match"),
    (MemoryError(), EXIT_INTERNAL, "internal error"),
    (KeyError("overlaps"), EXIT_INTERNAL, "KeyError: 'overlaps'"),
    (KeyboardInterrupt(), EXIT_INTERRUPTED, "interrupted"),
])
def test_one_table_gives_every_failure_its_status_and_line(exc: BaseException, status: int, fragment: str) -> None:
    got, line = failure(exc)
    assert got == status and fragment in line and "\n" not in line


def test_an_unexpected_error_inside_a_run_is_internal_not_bad_input(tmp_path: Path, capsys,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``ValueError`` raised while a run computes is a bug: exit 3 naming the run, never 2."""
    from dataclasses import replace

    from sim.kinds import KINDS

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setitem(KINDS, "giant_step", replace(KINDS["giant_step"], run=broken))
    res = call(sim_main, ["run", *FLAGS, "--store", str(tmp_path / "s.sqlite")], capsys)
    failure_line(res, EXIT_INTERNAL, "internal error", "run giant_step d=16 seed 0 failed",
                 "operands could not be broadcast")
