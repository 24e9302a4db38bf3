"""``python -m theory``: tables, JSON, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from theory.cli import main


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_hermite_table_and_json(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "hermite", "relu", "--kmax", "6")
    assert code == 0 and "k=2   sqrt(2)/(2*sqrt(pi))" in out and "exact" in out
    code, out, _ = run(capsys, "hermite", "tanh", "--kmax", "3", "--json")
    data = json.loads(out)
    assert data["coefficients"][1]["value"] == pytest.approx(0.6057055096021588)
    assert "quadrature" in data["coefficients"][1]["method"]


def test_staircase_leap_error_stairway(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "staircase", "x1 + x1*x2", "--json")
    assert code == 0 and json.loads(out)["dims"] == [0, 1, 2]
    code, out, _ = run(capsys, "leap", "x1*x2*x3", "--json")
    data = json.loads(out)
    assert data["leap_index"] == 3 and data["transitions"]["exponents"]["1"] == [3]
    code, out, _ = run(capsys, "error", "x1 + x1*x2", "--learned", "x1", "--kappa", "1", "--json")
    assert json.loads(out)["errors"][0]["error"]["value"] == 0.0
    code, out, _ = run(capsys, "error", "x1 + x1*x2", "--learned", "", "--kappa", "1")
    assert "ε_pred(U, κ=1) = 1" in out
    code, out, _ = run(capsys, "stairway", "x1 + x1*x2 + x1*x2*x3", "--steps", "3", "--kappa", "1", "2", "--json")
    rows = json.loads(out)["rows"]
    assert [r["errors"]["1"]["value"] for r in rows] == [2.0, 1.0, 0.0, 0.0]
    code, out, _ = run(capsys, "analyze", "x1*x2")
    assert code == 0 and "leap index  2" in out


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["staircase", "__import__('os').system('echo hi')"], "unknown name '__import__'"),
        (["error", "x1 + x1*x2", "--learned", "x1 + 1"], "linear form"),
        (["error", "x1 + x1*x2", "--learned", "x3"], "beyond x2"),
        (["hermite", "relu2"], "unknown activation"),
        (["stairway", "x1", "--kappa", "a"], "an exponent must be a finite number ≥ 0; got 'a'"),
        (["error", "x1", "--kappa", "-1"], "an exponent must be a finite number ≥ 0; got '-1'"),
        (["stairway", "x1", "--batch-exponent", "0.5"], "--batch-exponent must be ≥ 1"),
        (["stairway", "x1", "--json", "--latex"], "exclude each other"),
        (["frobnicate"], "invalid choice"),
        (["staircase", "x1", "--leap", "0"], "leap must be"),
    ],
)
def test_bad_input_one_line_exit_2(capsys: pytest.CaptureFixture, argv: list[str], fragment: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_module_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "theory", "leap", "x1 + x1*x2"], capture_output=True, text=True)
    assert proc.returncode == 0 and "leap index of g = x1 + x1*x2: 1" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "theory", "leap", "x1 +"], capture_output=True, text=True)
    assert proc.returncode == 2 and "error:" in proc.stderr and proc.stdout == ""


def test_theory_does_not_import_torch() -> None:
    code = "import sys, theory; theory.Target.parse('x1*x2').stairway(); print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "False"


def test_sigma_aware_staircase_side_by_side(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "staircase", "x1 + x1*x2 + x1*x2*x3", "--activation", "relu")
    assert code == 0 and "generic (§2.4) and σ = relu (§2.8)" in out
    assert "  3  3         2" in out and "step 3: μ_3(relu) = 0 blocks span{(0, 0, 1)}" in out
    code, out, _ = run(capsys, "staircase", "x1 + x1*x2 + x1*x2*x3", "--activation", "relu", "--json")
    data = json.loads(out)
    assert data["dims"] == [0, 1, 2, 3] and data["dims_sigma"] == [0, 1, 2]
    assert data["blocked"] == [{"step": 3, "direction": ["0", "0", "1"], "order": 3}]
    code, out, _ = run(capsys, "staircase", "x1 + x1*x2", "--json")
    assert "dims_sigma" not in json.loads(out) and json.loads(out)["blocked"] == []


def test_sigma_aware_leap_and_stairway(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "leap", "x1*x2*x3", "--activation", "relu", "--json")
    assert code == 0 and json.loads(out)["leap_index"] == "inf"
    code, out, _ = run(capsys, "stairway", "x1 + x1*x2 + x1*x2*x3", "--activation", "erf", "--kappa", "1", "--json")
    data = json.loads(out)
    assert data["activation"] == "erf" and [r["dim"] for r in data["rows"]] == [0, 1, 1, 1]


@pytest.mark.parametrize("noise", ["-1", "nan", "inf"])
def test_bad_noise_is_refused(capsys: pytest.CaptureFixture, noise: str) -> None:
    code, out, err = run(capsys, "error", "x1 + x1*x2", "--learned", "x1", "--noise", noise)
    assert code == 2 and out == "" and err.count("\n") == 1 and "noise must be a finite number ≥ 0" in err


def test_non_integer_kappa_is_read_as_its_floor_and_said_so(capsys: pytest.CaptureFixture) -> None:
    """§2.6: a readout with p, n₂ ≍ d^κ represents degree ≤ ⌊κ⌋ in the unlearned coordinates."""
    code, out, _ = run(capsys, "error", "x1 + x1*x2", "--learned", "", "--kappa", "0.5", "1.5", "2", "--json")
    errors = json.loads(out)["errors"]
    assert code == 0 and [(e["kappa"], e["kappa_used"], e["error"]["value"]) for e in errors] == [
        (0.5, 0, 2.0), (1.5, 1, 1.0), (2, 2, 0.0)]
    code, out, _ = run(capsys, "stairway", "x1 + x1*x2 + x1*x2*x3", "--steps", "1", "--kappa", "1.5")
    assert code == 0 and "κ = 1.5 → 1" in out and "⌊κ⌋" in out and out.splitlines()[2].split() == ["0", "0", "2"]
    code, out, _ = run(capsys, "stairway", "x1", "--kappa", "1", "--json")
    assert "note" not in out


def test_latex_tables(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "staircase", "x1 + x1*x2 + x1*x2*x3", "--activation", "relu", "--latex")
    assert code == 0 and out.count(r"\begin{tabular}") == 2 and r"$\mu_{3}(\text{relu}) = 0$ blocks" in out
    code, out, _ = run(capsys, "stairway", "x1 + x1*x2", "--steps", "1", "--kappa", "1", "--latex")
    assert code == 0 and r"1 & 1 & $0$ \\" in out and out.strip().endswith(r"\end{tabular}")


def test_help_shows_every_flag_with_its_default(capsys: pytest.CaptureFixture) -> None:
    from theory.cli import build_parser

    for cmd in ("hermite", "analyze", "staircase", "leap", "error", "stairway", "report"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([cmd, "--help"])
        text = capsys.readouterr().out
        flags = [ln.split()[0] for ln in text.splitlines() if ln.startswith("  --")]
        assert flags, cmd
        for flag in flags:  # every option line has help text (argparse puts it on the same or the next line)
            block = text.split(flag, 2)[-1].split("\n  -")[0]
            assert len(block.split()) > 2, (cmd, flag)
        assert "(default:" in text or cmd == "report", cmd
