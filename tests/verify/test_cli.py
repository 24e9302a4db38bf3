"""``python -m verify``: smoke profile end to end, --claims-file, bad input (issue items 1, 3–6)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from verify.cli import main

ROOT = Path(__file__).resolve().parents[2]

USER_FILE = textwrap.dedent('''
    from verify import Claim, Ladder, Variant
    from verify.claims.one_step import evaluate_rank, one_step_prediction

    CONFIG = dict(target="x1 + x2*x3", activation="relu", n_exp=1.0, steps=1, lr0=2.0, p=16, readout="none")
    CLAIMS = [Claim(
        id="MY-single", source="my notes", status="theorem",
        statement="n ≍ d learns only C_1 = e1 of x1 + x2·x3",
        predict=lambda: one_step_prediction(CONFIG["target"], 1, False, CONFIG["activation"]),
        ladders={"smoke": Ladder((Variant("", CONFIG, (16, 32)),), 2)},
        evaluate=evaluate_rank)]
''')


@pytest.mark.slow
def test_smoke_profile_end_to_end(tmp_path):
    out, store = tmp_path / "reports", tmp_path / "store.sqlite"
    code = main(["--profile", "smoke", "--store", str(store), "--out", str(out), "--no-progress"])
    assert code == 0
    folder = out / "smoke"
    for name in ("report.md", "report.html", "results.json"):
        assert (folder / name).is_file()
    assert list(folder.glob("fig_*.png"))
    data = json.loads((folder / "results.json").read_text())
    ids = {c["id"] for c in data["claims"]}
    assert {"T1-single", "T1-curve", "C1-stair", "RF-sep"} <= ids
    for c in data["claims"]:
        assert c["verdict"] == "INCONCLUSIVE", (c["id"], c["reason"])  # smoke ladders are too short by design
        assert c["run_keys"]  # every verdict traces to its runs
    # the runs are in the store: a second run loads them instead of simulating
    from sim.store import Store

    keys = set(Store(str(store)).keys())
    assert all(k in keys for c in data["claims"] for k in c["run_keys"])
    assert main(["--profile", "smoke", "--store", str(store), "--out", str(out), "--no-progress",
                 "--claims", "T1-single"]) == 0


def test_claims_file(tmp_path):
    f = tmp_path / "my_claims.py"
    f.write_text(USER_FILE)
    out = tmp_path / "reports"
    code = main(["--profile", "smoke", "--claims-file", str(f), "--claims", "MY-single", "--store",
                 str(tmp_path / "s.sqlite"), "--out", str(out), "--no-progress"])
    assert code == 0
    data = json.loads((out / "smoke" / "results.json").read_text())
    assert [c["id"] for c in data["claims"]] == ["MY-single"]
    assert data["claims"][0]["verdict"] == "INCONCLUSIVE"  # two dimensions cannot resolve an exponent


@pytest.mark.parametrize("args,needle", [
    (["--profile", "huge"], "unknown profile"),
    (["--claims", "T9-nope"], "unknown claim id"),
    (["--claims-file", "/nonexistent/claims.py"], "no such file"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_input_one_line_exit_2(args, needle):
    proc = subprocess.run([sys.executable, "-m", "verify", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_claims_file_without_claims(tmp_path):
    f = tmp_path / "empty.py"
    f.write_text("X = 1\n")
    proc = subprocess.run([sys.executable, "-m", "verify", "--claims-file", str(f)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "must define CLAIMS" in proc.stderr


def test_on_request_claims_run_only_when_named(capsys):
    """NB-one-step's published-size ladder does not fit the quick budget: ``make verify`` leaves it out, naming
    it runs it; the full profile runs it by default."""
    from verify.claims import registry

    on_request = {c.id for c in registry() if not c.by_default("quick")}
    assert "NB-one-step" in on_request
    listed = {}
    for args in (["--list"], ["--list", "--claims", "NB-one-step"], ["--list", "--profile", "full"]):
        assert main(args) == 0
        listed[" ".join(args)] = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line}
    assert not listed["--list"] & on_request
    assert listed["--list --claims NB-one-step"] == {"NB-one-step"}
    assert on_request <= listed["--list --profile full"]


def test_figures_subcommand_is_dispatched(tmp_path, capsys):
    store = str(tmp_path / "figs.sqlite")
    assert main(["figures", "--list", "--profile", "smoke", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "stairway_two_index" in out and "stored" in out
    assert main(["figures", "--profile", "nope"]) == 2
