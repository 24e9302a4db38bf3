"""The command line (issue item 7): flags, JSON lines, store reuse, sweeps, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import build_parser, main
from sim import SimConfig
from sim.fields import field_names

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--target", "x1 + x1*x2", "--d", "16", "--p", "8", "--n-test", "64", "--block-size", "16",
        "--no-progress"]


def test_every_config_field_is_a_flag() -> None:
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    dests = {a.dest for a in run._actions}
    assert set(field_names(SimConfig)) <= dests


def test_run_json_lines_and_store_reuse(tmp_path, capsys) -> None:
    store = str(tmp_path / "c.sqlite")
    assert main(["run", *ARGS, "--steps", "2", "--seeds", "2", "--json", "--store", store,
                 "--ridge-lambda", "0.01", "0.1", "--no-normalize", "--lr0", "0.5"]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 2
    recs = [json.loads(line) for line in lines]
    assert [r["seed"] for r in recs] == [0, 1]
    r = recs[0]
    assert r["config"]["normalize"] is False and r["config"]["ridge_lambdas"] == [0.01, 0.1]
    assert r["config"]["lr0"] == 0.5 and len(r["overlaps"]) == 8 and len(r["overlaps"][0]) == 2
    assert len(r["per_step"]) == 3 and {"timings", "peak_memory_bytes", "device", "singular_values",
                                        "test_error"} <= set(r)
    assert "test error" in err and err.count(" run") >= 2  # summary table on stderr with --json
    assert main(["run", *ARGS, "--steps", "2", "--seeds", "2", "--store", store, "--ridge-lambda", "0.01",
                 "0.1", "--no-normalize", "--lr0", "0.5"]) == 0
    out, _ = capsys.readouterr()
    assert out.count("store") == 2  # both served from the store, table on stdout


def test_config_file_and_sweep(tmp_path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("target: x1\nd: 16\np: 8\nn_test: 64\nblock_size: 16\n")
    store = str(tmp_path / "s.sqlite")
    assert main(["run", "--config", str(cfg), "--d", "20", "--json", "--store", store, "--no-progress"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["config"]["d"] == 20 and rec["config"]["target"] == "x1"
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: {target: 'x1 + x1*x2', p: 8, n_test: 64, block_size: 16}\n"
                     "grid: {d: [16, 24], steps: [1, 2]}\ncases: [{noise: 0.0}, {noise: 0.5}]\nseeds: [3, 4]\n")
    assert main(["sweep", str(sweep), "--json", "--store", store, "--no-progress", "--lr0", "2"]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(recs) == 16 and {r["seed"] for r in recs} == {3, 4}
    assert {(r["config"]["d"], r["config"]["steps"], r["config"]["noise"]) for r in recs} == {
        (d, s, n) for d in (16, 24) for s in (1, 2) for n in (0.0, 0.5)}
    assert all(r["config"]["lr0"] == 2.0 for r in recs)


@pytest.mark.parametrize("argv,needle", [
    (["run", "--target", "x1", "--p", "7"], "p must be even"),
    (["run", "--target", "x1*x3", "--d", "2"], "use d ≥ 3"),
    (["run", "--activation", "nope"], "unknown activation"),
    (["run", "--lr0", "inf"], "lr0 must be a finite number"),
    (["run", "--d", "512", "--p", "1024", "--max-memory", "1MB"], "raise --max-memory"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", "--preprocess", "maybe"], "invalid choice: 'maybe'"),
    (["sweep", "/nonexistent/sweep.yaml"], "cannot read config file"),
])
def test_bad_input_exits_2_with_one_line(argv: list[str], needle: str, capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exc:
        code = main([*argv, "--store", str(tmp_path / "x.sqlite")])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_sweep_file_and_no_traceback_from_the_shell(tmp_path) -> None:
    sweep = tmp_path / "bad.yaml"
    sweep.write_text("base: {target: x1, p: 9}\nseeds: 2\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "sim", "sweep", str(sweep), "--store", str(tmp_path / "s.db")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == ["python -m sim: error: p must be even (symmetric initialisation "
                                                "pairs neuron i with i+p/2); got p=9"]
