"""Every numeric parameter is bounded before any work (issue 19 item 1): a named limit (``theory``) or an
estimate of the run's time and memory (``sim``), refused in one line with exit status 2, quickly.

In-process (``main(argv)``): the issue's examples, then hypothesis over every integer parameter of a theory
request at and past its limit, and over every size of a giant-step run at its largest (refused by the time
estimate, the memory plan or the config), and the memory plan against the peak of a run that keeps a large record.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main as sim_main
from sim.drivers import plan_jobs
from sim.estimates import MAX_SECONDS, NOTE_SECONDS, note_estimate
from sim.exits import EXIT_BAD_INPUT
from sim.giant_step.config import SimConfig
from sim.giant_step.plan import execution_plan, record_bytes
from sim.memory import PeakMemory
from sim.store import Store
from tests.faults.clis import REFUSE_SECONDS, call, failure_line
from theory import Target, activation
from theory.activations import MAX_ORDER
from theory.cli import main as theory_main
from theory.orientation import MAX_ALPHA, MAX_ETA, step2_orientation
from theory.target import MAX_KAPPA, MAX_LEAP, MAX_STEPS

SIM_REFUSE_SECONDS = 10.0  # a refusal in-process, a plan included (label-scale pilot), on a loaded machine
G = Target.parse("x1 + x1*x2")
R1 = Target.parse("x1")
# (name, call with the value, the limit, the constant named)
THEORY = [
    ("kappa", lambda v: G.predicted_error([[1, 0]], v), MAX_KAPPA, "MAX_KAPPA"),
    ("max_steps", lambda v: G.stairway(max_steps=v), MAX_STEPS, "MAX_STEPS"),
    ("stairway kappa", lambda v: G.stairway(1, kappas=(1, v)), MAX_KAPPA, "MAX_KAPPA"),
    ("batch_exponent", lambda v: G.stairway(1, batch_exponent=v), MAX_LEAP, "MAX_LEAP"),
    ("leap", lambda v: G.staircase(v), MAX_LEAP, "MAX_LEAP"),
    ("ell", lambda v: G.one_step_subspace(v), MAX_LEAP, "MAX_LEAP"),
    ("steps", lambda v: G.transition_exponents(v), MAX_STEPS, "MAX_STEPS"),
    ("hermite_tensor", lambda v: R1.hermite_tensor(v), MAX_ORDER, "MAX_ORDER"),
    ("hermite", lambda v: activation("relu").hermite(v), MAX_ORDER, "MAX_ORDER"),
    ("hermite_series", lambda v: activation("relu").hermite_series(v), MAX_ORDER, "MAX_ORDER"),
    ("eta", lambda v: step2_orientation(1, eta=v), MAX_ETA, "MAX_ETA"),
    ("alpha", lambda v: step2_orientation(1, alpha=v), MAX_ALPHA, "MAX_ALPHA"),
]


@pytest.mark.parametrize("argv, limit", [
    (["hermite", "relu", "--kmax", "1000000"], "MAX_ORDER"),
    (["stairway", "x1", "--steps", "1000000000"], "MAX_STEPS"),
    (["error", "x1", "--kappa", "1000000000"], "MAX_KAPPA"),
    (["error", "x1", "--kappa", "1e300"], "MAX_KAPPA"),
    (["staircase", "x1", "--leap", "1000000000"], "MAX_LEAP"),
    (["leap", "x1", "--steps", "1000000000"], "MAX_STEPS"),
])
def test_the_theory_examples_are_refused_at_once(argv: list[str], limit: str, capsys) -> None:
    res = call(theory_main, argv, capsys)
    failure_line(res, EXIT_BAD_INPUT, limit)
    assert res.seconds < REFUSE_SECONDS and res.out == ""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(THEORY), excess=st.one_of(st.integers(1, 100), st.integers(1, 10**30)))
def test_every_theory_parameter_past_its_limit_is_refused_at_once(case: tuple, excess: int) -> None:
    name, request, limit, constant = case
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        request(limit + excess)
    assert time.perf_counter() - start < REFUSE_SECONDS, name
    assert constant in str(info.value) and f"{int(limit)}" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("case", THEORY, ids=[c[0] for c in THEORY])
def test_every_theory_parameter_at_its_limit_is_answered(case: tuple) -> None:
    name, request, limit, _ = case
    request(limit)  # no exception: the limit itself is allowed (and cheap for these targets)


def _sim_refused(argv: list[str], tmp_path: Path, capsys, *fragments: str) -> str:
    store = tmp_path / "s.sqlite"
    res = call(sim_main, [*argv, "--device", "cpu", "--no-progress", "--store", str(store)], capsys)
    line = failure_line(res, EXIT_BAD_INPUT, *fragments)
    assert res.seconds < SIM_REFUSE_SECONDS, (argv, res.seconds)
    assert not store.exists() or len(Store(store)) == 0
    return line


@pytest.mark.parametrize("argv, fragments", [
    (["run", "--steps", "1000000000"], ("--max-memory", "its record")),  # 10^9 steps of per-step records
    (["run", "--steps", "100000", "--p", "2", "--max-seconds", "10"], ("estimated to take", "--max-seconds 10")),
    (["run", "--n-test", "1000000000000"], ("estimated to take", "days", "--max-seconds")),
    (["run", "--d", "1000000000000"], ("estimated to take", "--max-seconds")),
    (["run", "--max-seconds", "0.5"], ("estimated to take", "more than --max-seconds 0.5")),
    (["zg", "--max-steps-per-phase", "1000000000"], ("run zhou_ge", "estimated to take", "--max-seconds")),
])
def test_the_sim_examples_are_refused_before_any_compute(argv: list[str], fragments: tuple, tmp_path: Path,
                                                         capsys) -> None:
    _sim_refused(argv, tmp_path, capsys, *fragments)


# every size of a giant-step run, from its smallest to a value past any budget
SIZES = {"steps": (1, 10**9), "d": (16, 10**12), "p": (2, 10**9), "n_test": (1, 10**12), "n_ridge": (2, 10**12),
         "n_exp": (1.0, 6.0)}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SIZES)))
def test_every_size_at_its_largest_is_refused_in_one_line(name: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        cfg = SimConfig.from_dict({"target": "x1", "device": "cpu", "readout": "every_step", name: SIZES[name][1]})
        plan_jobs([(cfg, 0)], MAX_SECONDS)
    assert time.perf_counter() - start < SIM_REFUSE_SECONDS
    text = str(info.value)
    assert any(f in text for f in ("--max-seconds", "--max-memory", "beyond any budget")) and "\n" not in text, text


def test_the_estimated_time_is_said_above_the_threshold(capsys) -> None:
    class FakePlan:
        seconds = NOTE_SECONDS

    note_estimate([FakePlan()], [True])  # at the threshold: quiet
    assert capsys.readouterr().err == ""
    note_estimate([FakePlan()] * 3, [True, True, False])
    assert "estimated time of the 2 runs to compute: at most about 2 min" in capsys.readouterr().err


def test_the_memory_plan_counts_the_per_step_record() -> None:
    """A run with a wide record (``p × r`` overlaps per step) stays within its plan; the record is counted."""
    cfg = SimConfig(target="x1 + x2", d=16, p=8192, n_exp=1.0, n_test=64, block_size=64, steps=8, readout="none",
                    device="cpu")
    plan = execution_plan(cfg)
    need = plan.fixed_bytes + plan.block_bytes + plan.resident_block_bytes
    assert record_bytes(cfg) > cfg.steps * cfg.p * cfg.r * 8
    from sim.giant_step.run import simulate
    from sim.store import pack_record, record_json

    with PeakMemory("cpu") as peak:
        rec = simulate(cfg, 0, plan=plan)
        pack_record(rec), record_json(rec)  # what storing and printing it add
    assert 0 < peak.bytes <= need, (peak.bytes, need)
    too_small = SimConfig.from_dict({**cfg.to_dict(), "max_memory": need - record_bytes(cfg)})
    with pytest.raises(ValueError, match="its record"):
        execution_plan(too_small)
