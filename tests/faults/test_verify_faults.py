"""``python -m verify`` isolates claims and fails early (issue 9 items 2, 3 and 5): a claim whose prediction
or evaluation breaks, or one of whose runs diverges, is INCONCLUSIVE with the reason while the other claims
run and the report is written; bad input (store, ``--out``, a ladder's config) is refused before any
compute with exit 2; a REFUTED theorem exits 1 and a crash 3 — never the same status."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from sim.exits import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_IO
from sim.store import Store
from tests.faults.clis import REFUSE_SECONDS, call, failure_line
from theory.exits import EXIT_REFUTED
from verify.claims import registry
from verify.cli import main

registry()  # imported once here, not inside a timed call

CLAIMS_FILE = textwrap.dedent('''
    import math

    from verify import Claim, Ladder, Variant
    from verify.claims.base import Evaluation
    from verify import Alternative
    from verify.rules import CONFIRMED, REFUTED, Decision

    TINY = dict(target="x1", p=8, n_test=64, block_size=16, readout="final")
    DIVERGING = dict(TINY, lr0=1e6, normalize=False, steps=3)  # the weights overflow within three steps


    def ladder(cfg, name=""):
        return {"smoke": Ladder((Variant(name, cfg, (16,)),), 1)}


    def test_error_below_bound(prediction, runs):
        (records,) = runs.variant("").values()
        err = records[0].test_error
        ok = 0 <= err < prediction["bound"]
        return Evaluation(Decision(CONFIRMED if ok else REFUTED, f"test error {err:.3f}"), "< 2", f"{err:.3f}")


    def broken_prediction():
        raise ZeroDivisionError("no prediction here")


    def claim(id, predict=lambda: {"bound": 2.0}, evaluate=test_error_below_bound, cfg=TINY, name=""):
        return Claim(id=id, source="fault suite", statement="a tiny run has a finite test error", status="theorem",
                     predict=predict, ladders=ladder(cfg, name), evaluate=evaluate,
                     controls=(Alternative("a bound below any error", lambda p: {**p, "bound": -1.0}),))


    CLAIMS = [
        claim("OK"),
        claim("PREDICT-RAISES", predict=broken_prediction),
        claim("PREDICT-NAN", predict=lambda: {"bound": math.nan, "_sympy": "kept for the claim's own use"}),
        claim("PREDICT-LIST", predict=lambda: [2.0]),
        claim("EVALUATE-RAISES", evaluate=lambda prediction, runs: 1 / 0),
        claim("EVALUATE-TYPE", evaluate=lambda prediction, runs: {"verdict": "CONFIRMED"}),
        claim("DIVERGES", cfg=DIVERGING),
        claim("REFUTES", evaluate=lambda prediction, runs: Evaluation(Decision(REFUTED, "by design"), "", "")),
        claim("ODD-P", cfg=dict(TINY, p=7), name="odd-width"),
    ]
''')
ISOLATED = ["OK", "PREDICT-RAISES", "PREDICT-NAN", "PREDICT-LIST", "EVALUATE-RAISES", "EVALUATE-TYPE", "DIVERGES"]
REASONS = {
    "PREDICT-RAISES": "prediction failed: ZeroDivisionError: no prediction here",
    "PREDICT-NAN": "prediction failed: predict() returned a non-finite number at bound",
    "PREDICT-LIST": "prediction failed: predict() returned list, not a mapping",
    "EVALUATE-RAISES": "evaluation failed: ZeroDivisionError: division by zero",
    "EVALUATE-TYPE": "evaluation returned dict, not a verify.Evaluation",
    "DIVERGES": "1 of its runs diverged (first: giant_step d=16 seed 0: ",
}


@pytest.fixture
def claims_file(tmp_path: Path) -> Path:
    path = tmp_path / "fault_claims.py"
    path.write_text(CLAIMS_FILE)
    return path


def _argv(claims_file: Path, tmp_path: Path, ids: list[str], store: Path | None = None,
          out: Path | None = None) -> list[str]:
    return ["--profile", "smoke", "--claims-file", str(claims_file), "--claims", *ids, "--no-progress",
            "--store", str(store or tmp_path / "s.sqlite"), "--out", str(out or tmp_path / "reports")]


def test_broken_claims_are_inconclusive_and_the_others_still_run(claims_file: Path, tmp_path: Path, capsys) -> None:
    res = call(main, _argv(claims_file, tmp_path, ISOLATED), capsys)
    assert res.status == 0, res.err
    assert "Traceback" not in res.err
    claims = {c["id"]: c for c in json.loads((tmp_path / "reports" / "smoke" / "results.json").read_text())["claims"]}
    assert list(claims) == ISOLATED
    assert claims["OK"]["verdict"] == "CONFIRMED" and len(claims["OK"]["run_keys"]) == 1
    for cid, reason in REASONS.items():
        assert claims[cid]["verdict"] == "INCONCLUSIVE", cid
        assert reason in claims[cid]["reason"], (cid, claims[cid]["reason"])
    assert "the run diverged" in claims["DIVERGES"]["reason"]
    store = Store(tmp_path / "s.sqlite")
    assert store.keys() == claims["OK"]["run_keys"]  # the diverged run was not stored, the good one was


def test_refuted_theorem_exits_1_and_a_crash_exits_3(claims_file: Path, tmp_path: Path, capsys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert call(main, _argv(claims_file, tmp_path, ["OK", "REFUTES"]), capsys).status == EXIT_REFUTED

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("verify.report.write_report", disk_full)
    res = call(main, _argv(claims_file, tmp_path, ["OK", "REFUTES"]), capsys)
    failure_line(res, EXIT_IO, "I/O error", "No space left on device")  # issue 19: its own status, not a bug

    def value_error(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug deep inside")

    monkeypatch.setattr("verify.runner.verify", value_error)
    res = call(main, _argv(claims_file, tmp_path, ["OK"]), capsys)
    failure_line(res, EXIT_INTERNAL, "internal error", "a bug deep inside")  # after the checks: not bad input
    assert len({0, EXIT_REFUTED, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_IO}) == 5


def test_ladder_config_error_names_the_claim_and_the_arm(claims_file: Path, tmp_path: Path, capsys) -> None:
    res = call(main, _argv(claims_file, tmp_path, ["OK", "ODD-P"]), capsys)
    failure_line(res, EXIT_BAD_INPUT, "claim ODD-P, arm odd-width (d=16): p must be even")
    assert res.seconds < REFUSE_SECONDS and not (tmp_path / "s.sqlite").with_suffix(".sqlite-wal").exists()
    assert len(Store(tmp_path / "s.sqlite")) == 0


def test_unwritable_out_is_refused_before_any_compute(claims_file: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the report folder should go\n")
    res = call(main, _argv(claims_file, tmp_path, ["OK"]), capsys)
    failure_line(res, EXIT_BAD_INPUT, f"--out {str(blocker)!r}", "cannot write the report folder")
    assert res.seconds < REFUSE_SECONDS and not (tmp_path / "s.sqlite").exists()


def test_damaged_record_is_named_before_any_compute(claims_file: Path, tmp_path: Path, capsys) -> None:
    assert call(main, _argv(claims_file, tmp_path, ["OK"]), capsys).status == 0
    path = tmp_path / "s.sqlite"
    (key,) = Store(path).keys()
    con = sqlite3.connect(path)
    try:
        con.execute("UPDATE runs SET record = ?", (b"not zlib",))
        con.commit()
    finally:
        con.close()
    res = call(main, _argv(claims_file, tmp_path, ["OK"]), capsys)
    failure_line(res, EXIT_BAD_INPUT, str(path), f"damaged record {key}")
