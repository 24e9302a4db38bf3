"""A user's claims file is the user's code (issue 19 item 5): ``sys.exit`` or ``KeyboardInterrupt`` at its
import is a failure like any other (exit 2, one line), and a claim whose ``predict()`` or ``evaluate()``
never returns (or exits) is INCONCLUSIVE after ``--claim-timeout`` while the other claims are reported."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from sim.exits import EXIT_BAD_INPUT
from tests.faults.clis import call, failure_line
from verify.claims import registry
from verify.cli import main
from verify.limits import ClaimTimeout, time_limit

registry()  # imported once here, not inside a timed call

TIMEOUT = 1.0
CLAIMS = textwrap.dedent('''
    import sys
    import time

    from verify import Claim, Ladder, Variant
    from verify.claims.base import Evaluation
    from verify.rules import CONFIRMED, Decision


    def forever(*args):
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # a claim that swallows exceptions is still stopped
                pass


    def ok(prediction, runs):
        return Evaluation(Decision(CONFIRMED, "fine"), "", "")


    def claim(id, predict=lambda: {"bound": 2.0}, evaluate=ok):
        ladder = Ladder((Variant("", dict(target="x1", p=8, n_test=64, block_size=16, readout="final"), (16,)),), 1)
        return Claim(id=id, source="fault suite", statement="s", status="theorem", predict=predict,
                     ladders={"smoke": ladder}, evaluate=evaluate)


    CLAIMS = [claim("OK"), claim("PREDICT-HANGS", predict=forever), claim("EVALUATE-HANGS", evaluate=forever),
              claim("PREDICT-EXITS", predict=lambda: sys.exit(5)),
              claim("EVALUATE-EXITS", evaluate=lambda p, r: exit())]
''')


@pytest.mark.parametrize("body, fragment", [
    ("import sys\nsys.exit(5)\n", "failed to import: SystemExit: 5"),
    ("raise SystemExit\n", "failed to import: SystemExit"),
    ("raise KeyboardInterrupt\n", "failed to import: KeyboardInterrupt"),
    ("import os\nos.kill(os.getpid(), 2)\n", "failed to import: KeyboardInterrupt"),  # a real SIGINT, from itself
])
def test_exiting_at_import_is_bad_input(body: str, fragment: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "claims.py"
    path.write_text(body)
    res = call(main, ["--profile", "smoke", "--claims-file", str(path), "--store", str(tmp_path / "s.sqlite"),
                      "--out", str(tmp_path / "reports"), "--no-progress"], capsys)
    failure_line(res, EXIT_BAD_INPUT, f"--claims-file {str(path)!r}", fragment)
    assert not (tmp_path / "s.sqlite").exists()


def test_a_claim_that_never_returns_is_inconclusive_and_the_others_are_reported(tmp_path: Path, capsys) -> None:
    path = tmp_path / "claims.py"
    path.write_text(CLAIMS)
    ids = ["OK", "PREDICT-HANGS", "EVALUATE-HANGS", "PREDICT-EXITS", "EVALUATE-EXITS"]
    res = call(main, ["--profile", "smoke", "--claims-file", str(path), "--claims", *ids, "--claim-timeout",
                      str(TIMEOUT), "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "reports"),
                      "--no-progress"], capsys)
    assert res.status == 0 and "Traceback" not in res.err, res.err
    assert res.seconds < 2 * TIMEOUT + 30  # two time-outs, one tiny run, the report
    claims = {c["id"]: c for c in json.loads((tmp_path / "reports" / "smoke" / "results.json").read_text())["claims"]}
    assert set(ids) <= set(claims)
    assert "did not return" not in claims["OK"]["reason"]
    for cid, what in [("PREDICT-HANGS", "predict()"), ("EVALUATE-HANGS", "evaluate()")]:
        assert claims[cid]["verdict"] == "INCONCLUSIVE"
        assert f"{what} of claim {cid} did not return within --claim-timeout {TIMEOUT:g} s" in claims[cid]["reason"]
    assert "prediction failed: SystemExit: 5" in claims["PREDICT-EXITS"]["reason"]
    assert "evaluation failed: SystemExit" in claims["EVALUATE-EXITS"]["reason"]


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "৪"])
def test_a_bad_claim_timeout_is_refused(value: str, tmp_path: Path, capsys) -> None:
    res = call(main, ["--profile", "smoke", "--claim-timeout", value, "--store", str(tmp_path / "s.sqlite"), "--out",
                      str(tmp_path / "reports")], capsys)
    failure_line(res, EXIT_BAD_INPUT, "--claim-timeout")


def test_the_time_limit_is_disarmed_after_the_block() -> None:
    with time_limit(0.05, "a quick block"):
        pass
    import time

    time.sleep(0.1)  # no ClaimTimeout after the block
    with pytest.raises(ClaimTimeout, match="a slow block did not return within --claim-timeout 0.05 s"):
        with time_limit(0.05, "a slow block"):
            time.sleep(1)
