"""Resource limits and config files (issue 9 items 4 and 6): a request the machine cannot serve, or a config
file that is not one, is refused within a second — before any list is built or anything allocated — with
exit 2 and one line naming the limit or the file; nothing is stored."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from sim.cli import main as sim_main
from sim.device import format_bytes, machine_memory
from sim.drivers import MAX_RUNS
from sim.exits import EXIT_BAD_INPUT
from sim.fields import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH
from sim.memory import PeakMemory
from sim.store import MAX_SEED, Store
from sim.zhou_ge import ZGConfig, run_zhou_ge
from sim.zhou_ge.plan import resource_plan
from tests.faults.clis import REFUSE_SECONDS, call, failure_line

TINY = ["--target", "x1", "--d", "16", "--p", "8", "--n-test", "64", "--block-size", "16", "--no-progress"]
BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")))


def _refused(argv: list[str], tmp_path: Path, capsys, *fragments: str) -> str:
    store = tmp_path / "s.sqlite"
    res = call(sim_main, [*argv, "--store", str(store)], capsys)
    line = failure_line(res, EXIT_BAD_INPUT, *fragments)
    assert res.seconds < REFUSE_SECONDS, (argv, res.seconds)
    assert not store.exists() or len(Store(store)) == 0
    return line


def _sweep(tmp_path: Path, text: str, name: str = "sweep.yaml") -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def test_a_billion_seeds_are_refused(tmp_path: Path, capsys) -> None:
    _refused(["run", *TINY, "--seeds", "1000000000"], tmp_path, capsys, f"MAX_RUNS = {MAX_RUNS:,}", "--seeds")
    _refused(["zg", "--seeds", "1000000000"], tmp_path, capsys, f"MAX_RUNS = {MAX_RUNS:,}")
    _refused(["run", *TINY, "--seed0", str(MAX_SEED), "--seeds", "2"], tmp_path, capsys, f"{MAX_SEED}]")


def test_sweeps_are_counted_before_they_are_built(tmp_path: Path, capsys) -> None:
    seeds = _sweep(tmp_path, "base: {target: x1, d: 16, p: 8}\nseeds: 1000000000\n")
    _refused(["sweep", seeds], tmp_path, capsys, f"MAX_RUNS = {MAX_RUNS:,}", seeds)
    grid = {"base": {"target": "x1", "p": 8}, "grid": {"d": list(range(16, 66)), "n_test": list(range(64, 114)),
                                                      "steps": list(range(50))}, "seeds": 2}
    path = _sweep(tmp_path, json.dumps(grid), "grid.json")
    _refused(["sweep", path], tmp_path, capsys, f"asks for {50 ** 3 * 2:,} runs")


def test_yaml_alias_bomb_is_refused_in_little_time_and_memory(tmp_path: Path, capsys) -> None:
    """A 1 kB file that expands to 9⁹ strings (today > 60 s and 4.4 GB) is refused at its first anchor."""
    path = _sweep(tmp_path, BOMB)
    tracemalloc.start()
    try:
        _refused(["sweep", path], tmp_path, capsys, path, "anchors and aliases")
        _refused(["run", "--config", path], tmp_path, capsys, path, "anchors and aliases")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_memory_budget_beyond_the_machine_is_refused(tmp_path: Path, capsys) -> None:
    have = machine_memory("cpu")
    line = _refused(["run", *TINY, "--device", "cpu", "--max-memory", str(2 * have)], tmp_path, capsys,
                    "more than this machine has", format_bytes(have))
    assert f"max_memory={format_bytes(2 * have)}" in line
    if have < 2**40:  # the case: 1 TB asked on a machine with less
        _refused(["run", *TINY, "--device", "cpu", "--max-memory", "1TB"], tmp_path, capsys, "max_memory=1.0 TiB")
        _refused(["zg", "--device", "cpu", "--max-memory", "1TB"], tmp_path, capsys, "max_memory=1.0 TiB")


def test_zhou_ge_runs_are_planned_like_giant_steps(tmp_path: Path, capsys) -> None:
    """``--d 1000000 --m 1000000`` tried to allocate 8 TB; now it is refused naming its need and budget."""
    line = _refused(["zg", "--device", "cpu", "--d", "1000000", "--m", "1000000"], tmp_path, capsys,
                    "this [ZG] run needs about", "TiB", "--max-memory")
    assert "d=1000000, m=1000000" in line
    _refused(["zg", "--device", "cpu", "--d", "256", "--m", "512", "--max-memory", "1MB"], tmp_path, capsys,
             "max_memory=1.0 MiB")


def test_zhou_ge_memory_estimate_bounds_the_measured_peak() -> None:
    """The estimate is an upper bound of the peak resident memory a run adds (``sim.memory.PeakMemory``)."""
    cfg = ZGConfig(d=256, m=512, m_star=4, phases=1, max_steps_per_phase=3, loss="fixed", n_samples=2048,
                   device="cpu")
    plan = resource_plan(cfg)
    with PeakMemory("cpu") as peak:
        run_zhou_ge(cfg, 0, plan=plan)
    assert 0 < peak.bytes <= plan.need, (peak.bytes, plan.need)


@pytest.mark.parametrize("name, content, fragment", [pytest.param(*case, id=case[0]) for case in [
    ("binary.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a text file (binary data at byte 0)"),
    ("latin1.yaml", "d: 16\ntarget: 'x1'  # caf\xe9\n".encode("latin-1"), "is not a text file (binary data at byte"),
    ("dup.yaml", b"target: x1\nd: 16\nd: 32\n", "duplicate key 'd' at line 3"),
    ("dup.json", b'{"target": "x1", "d": 16, "d": 32}', "duplicate key 'd'"),
    ("list.yaml", b"- d: 16\n", "must hold a mapping"),
    ("deep.yaml", b"d: " + b"[" * 40 + b"]" * 40 + b"\n", f"MAX_CONFIG_DEPTH = {MAX_CONFIG_DEPTH}"),
    ("deeper.json", b"[" * 100_000 + b"]" * 100_000, f"MAX_CONFIG_DEPTH = {MAX_CONFIG_DEPTH}"),
    ("huge.yaml", b"# padding\n" * (MAX_CONFIG_BYTES // 10 + 1), f"MAX_CONFIG_BYTES = {MAX_CONFIG_BYTES:,}"),
    ("digits.yaml", b"d: " + b"9" * 5000 + b"\n", "holds a value that cannot be converted (Exceeds the limit"),
    ("date.yaml", b"d: 2001-13-45\n", "holds a value that cannot be converted (month must be in 1..12)"),
    ("keys.yaml", b"1: 2\n", "has the key 1; the keys of a config file are field names"),
    ("nested-keys.yaml", b"base: {d: 16, 2.5: x}\n", "has the key 2.5"),
    ("broken.yaml", b"d: [16,\n", "is not valid YAML"),
]])
@pytest.mark.parametrize("command", ["run", "zg", "sweep"])
def test_bad_config_files_are_named(name: str, content: bytes, fragment: str, command: str, tmp_path: Path,
                                    capsys) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    argv = ["sweep", str(path)] if command == "sweep" else [command, "--config", str(path)]
    _refused(argv, tmp_path, capsys, fragment)


def test_empty_sweep_is_refused_and_empty_config_means_defaults(tmp_path: Path, capsys) -> None:
    for text in ("", "# nothing yet\n", "{}\n"):
        path = _sweep(tmp_path, text)
        _refused(["sweep", path], tmp_path, capsys, path, "the sweep is empty")
    empty = _sweep(tmp_path, "", "empty.yaml")
    from sim.cli import jobs

    assert jobs(["run", "--config", empty, "--d", "16"])[0][0].d == 16  # an empty config file gives no fields


def test_zg_subcommand_reports_flags_in_one_line(capsys) -> None:
    """``python -m sim zg``: an unknown flag is one line and exit 2 too."""
    res = call(sim_main, ["zg", "--bogus"], capsys)
    failure_line(res, EXIT_BAD_INPUT, "python -m sim: error: unrecognized arguments: --bogus")


def test_readme_states_the_limits_the_code_checks() -> None:
    from tests.faults.clis import ROOT

    text = " ".join((ROOT / "README.md").read_text().split())
    for stated in (f"`MAX_RUNS` = {MAX_RUNS:,}", f"`MAX_CONFIG_BYTES` = {MAX_CONFIG_BYTES // 2**20} MiB",
                   f"`MAX_CONFIG_DEPTH` = {MAX_CONFIG_DEPTH}"):
        assert stated in text, stated
