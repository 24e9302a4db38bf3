"""Sweep tables: the per-case summary (mean ± s.e. over seeds, the varied fields as columns),
``--csv`` with one row per run, and the optional DataFrame."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from sim.cli import main
from sim.giant_step.record import RunRecord
from sim.giant_step.tables import case_rows, case_table, run_rows, to_dataframe
from tests.records import run_record

SWEEP = {"base": {"target": "x1 + x1*x2", "p": 8, "steps": 1, "n_test": 256, "readout": "final", "block_size": 16},
         "grid": {"d": [16, 24]}, "cases": [{"lr0": 1.0}, {"lr0": 2.0}], "seeds": 3}


def test_sweep_prints_a_per_case_summary_and_writes_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "sweep.json"
    sweep.write_text(json.dumps(SWEEP))
    out_csv = tmp_path / "runs.csv"
    argv = ["sweep", str(sweep), "--store", str(tmp_path / "s.sqlite"), "--no-progress", "--csv", str(out_csv)]
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    records = [RunRecord.from_json(json.loads(line)) for line in captured.out.splitlines()]
    assert len(records) == 12
    text = captured.err
    table = text[text.index("per case"):].splitlines()
    assert table[0].startswith("per case (4 cases, 12 runs; every run: target=x1 + x1*x2")
    assert table[1].split()[:3] == ["d", "lr0", "seeds"]
    fields, rows = case_rows(records)
    assert fields == ["d", "lr0"] and [r["seeds"] for r in rows] == [3, 3, 3, 3]
    errors = [r.test_error for r in records if r.config["d"] == 16 and r.config["lr0"] == 1.0]
    mean = sum(errors) / 3
    se = math.sqrt(sum((e - mean) ** 2 for e in errors) / 2 / 3)
    assert rows[0]["test_error"] == pytest.approx((mean, se))
    assert table[3].split()[:3] == ["16", "1.0", "3"] and f"{mean:.4g} ± {se:.2g}" in table[3]
    with out_csv.open() as fh:
        got = list(csv.DictReader(fh))
    assert len(got) == 12 and {"key", "seed", "d", "lr0", "test_error", "test_error_t1", "s1", "peak_mib"} <= set(got[0])
    assert [float(r["test_error"]) for r in got] == pytest.approx([r.test_error for r in records])
    assert f"12 runs written to {out_csv}" in text


def test_dataframe_export_only_with_pandas() -> None:
    rec = run_record([{"test_error": 1.0, "singular_values": [0.5]}], config={"d": 16}, n=16,
                     timings={"steps": 0.1, "total": 0.2}, peak_memory_bytes=2**20)
    assert run_rows([rec])[0] == {"key": "k", "seed": 0, "d": 16, "n": 16, "test_error": 1.0, "test_error_t0": 1.0,
                                  "s1": 0.5, "s2": None, "s3": None, "steps_s": 0.1, "total_s": 0.2, "peak_mib": 1.0}
    assert "1 cases, 1 runs" in case_table([rec])
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            to_dataframe([rec])
    else:
        assert list(to_dataframe([rec])["test_error"]) == [1.0]
