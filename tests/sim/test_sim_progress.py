"""Progress over runs (issue 21 item 7): the ETA weighs runs by their estimated cost, runs from the store cost
nothing, and a log (not a terminal) gets plain lines without escape codes."""

from __future__ import annotations

import io

import pytest

import sim.progress as progress
from sim.estimates import RUN_FIXED_S, RUN_OVERHEAD_S, eta_weight
from sim.drivers import run_many
from sim.giant_step.config import SimConfig
from sim.giant_step.plan import time_estimate
from sim.progress import RunProgress
from sim.store import Store

TINY = dict(target="x1 + x1*x2", d=16, p=8, steps=1, n_test=256, readout="final")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_eta_is_the_remaining_cost_at_the_measured_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(progress.time, "perf_counter", clock)
    stream = io.StringIO()
    # one cheap stored run, three cheap runs and one run as costly as all of them together
    bar = RunProgress([1, 1, 1, 1, 3], [True, False, False, False, False], list("abcde"), stream=stream)
    clock.now = 10.0
    bar.update(0, cached=True)  # served from the store: no work done, no ETA yet
    assert bar.eta() is None
    bar.update(1, cached=False, seconds=10.0)  # 1 of 6 units in 10 s
    assert bar.eta() == pytest.approx(50.0)  # a count of runs would say 3 × 10 s = 30 s
    clock.now = 30.0
    bar.update(2, cached=False)
    bar.update(3, cached=False)
    assert bar.eta() == pytest.approx(30.0)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "runs: 1 of 5 from the store, 4 to run"
    assert lines[1] == "runs: [1/4] b done in 10.0 s; 17 % of the estimated work, about 50 s left"
    assert "about 30 s left" in lines[3] and lines[-1].startswith("runs: 3 of 4 runs simulated in")


def test_costs_grow_with_the_run_size() -> None:
    """The weights of the ETA are the plans' estimated seconds: a run's fixed overhead plus its work."""
    small, big = SimConfig(**TINY), SimConfig(**{**TINY, "d": 64, "p": 32})
    cost = lambda cfg: time_estimate(cfg, "cpu")  # noqa: E731
    assert RUN_OVERHEAD_S < cost(small) < cost(big)
    assert cost(SimConfig(**{**TINY, "steps": 3})) > cost(small)
    # the ETA keeps the work and replaces the 1 s upper bound per run by the measured fixed cost
    assert eta_weight(cost(small)) == pytest.approx(cost(small) - RUN_OVERHEAD_S + RUN_FIXED_S)
    assert RUN_FIXED_S <= eta_weight(cost(small)) < eta_weight(cost(big)) < cost(big)


def test_a_log_gets_plain_lines_without_escape_codes(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(tmp_path / "s.sqlite")
    jobs = [(SimConfig(**TINY), s) for s in range(3)]
    run_many(jobs[:1], store, progress=True)
    capsys.readouterr()
    run_many(jobs, store, progress=True)  # stderr is captured, not a terminal
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err
    lines = err.splitlines()
    assert lines[0] == "runs: 1 of 3 from the store, 2 to run"
    assert lines[1].startswith("runs: [1/2] giant_step d=16 seed 1 done in ") and lines[2].startswith("runs: [2/2]")
    assert lines[-1].startswith("runs: 2 of 2 runs simulated in")


def test_a_single_run_labels_its_bar_with_the_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.giant_step.run as run

    seen: list[str] = []
    monkeypatch.setattr(run, "phase", lambda engine, text: seen.append(text))
    run.simulate(SimConfig(**{**TINY, "steps": 2, "readout": "every_step"}), 0)
    assert seen == ["readout after step 0/2", "step 1/2", "readout after step 1/2", "step 2/2",
                    "readout after step 2/2"]

    class Bar:
        text = ""

        def set_postfix_str(self, text: str) -> None:
            self.text = text

    class Engine:
        bar = Bar()

    progress.phase(Engine(), "step 1/3")
    assert Engine.bar.text == "step 1/3"
    progress.phase(object(), "readout")  # an engine without a bar: nothing to label


def test_a_terminal_gets_a_bar_over_the_cost_with_the_run_count() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = RunProgress([1, 1, 6], [False, False, False], list("abc"), stream=stream)
    assert bar.bar is not None and bar.bar.total == 8
    bar.bar.delay = 0
    for i in range(2):
        bar.update(i, cached=False)
    assert bar.bar.n == 2  # two cheap runs of three: a quarter of the work, not two thirds
    bar.close()
    assert "runs 2/3:  25% of the work" in stream.getvalue()
