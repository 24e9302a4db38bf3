"""Results-store faults (issue 9 item 2): every bad ``--store`` is refused when the store is opened — before
any compute — with exit 2 and one line naming the file and what is wrong, by ``sim run``, ``sim sweep``,
``sim zg`` and ``verify`` alike; the file is left as it was. A damaged record is named by its key; a record
holding a non-finite number is never stored."""

from __future__ import annotations

import json
import math
import os
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from sim import SimConfig, run_or_load
from sim.cli import main as sim_main
from sim.exits import EXIT_BAD_INPUT
from sim.store import SCHEMA_VERSION, NonFiniteRecord, Store, StoreError, pack_record, record_json
from tests.faults.clis import REFUSE_SECONDS, call, failure_line
from verify.claims import registry
from verify.cli import main as verify_main

registry()  # the claims are imported once here, not inside a timed call

TINY = ["--target", "x1", "--d", "16", "--p", "8", "--n-test", "64", "--block-size", "16", "--no-progress"]
ZG_TINY = ["--d", "8", "--m", "8", "--m-star", "2", "--phases", "1", "--max-steps-per-phase", "5", "--no-progress"]


def _fake(i: int) -> dict:
    """A record as the store sees it (the store knows no kind): key, seed, code version, config, a payload."""
    return {"key": f"k{i:05d}", "kind": "giant_step", "seed": i, "code_version": "v0", "config": {"d": i},
            "created": float(i), "overlaps": [[0.5, 0.25]] * 8, "note": "x" * 200}


def _sql(path: Path, *statements: str) -> Path:
    """Run ``statements`` on the file and close it with everything checkpointed into the file itself."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            con.execute(statement)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return path


def _good(path: Path, rows: int = 200) -> Path:
    """A store of ``rows`` records, written in one transaction (as many ``put`` would, without their syncs)."""
    Store(path).put(_fake(0))
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        con.executemany("INSERT INTO runs (key, kind, seed, code_version, device_type, config, created, record) "
                        "VALUES (?, 'giant_step', ?, 'v0', 'cpu', '{}', ?, ?)",
                        [(f"k{i:05d}", i, float(i), pack_record(_fake(i))) for i in range(1, rows)])
        con.execute("COMMIT")
    finally:
        con.close()
    return _sql(path)


def _directory(tmp: Path) -> Path:
    (tmp / "store").mkdir()
    return tmp / "store"


def _text(tmp: Path) -> Path:
    (tmp / "s.sqlite").write_text("key,record\nk1,hello\n")
    return tmp / "s.sqlite"


def _random(tmp: Path) -> Path:
    (tmp / "s.sqlite").write_bytes(random.Random(0).randbytes(8192))
    return tmp / "s.sqlite"


def _truncated(tmp: Path) -> Path:
    data = _good(tmp / "full.sqlite").read_bytes()
    (tmp / "s.sqlite").write_bytes(data[: len(data) // 2])
    return tmp / "s.sqlite"


def _columns(tmp: Path) -> Path:
    return _sql(tmp / "s.sqlite", "CREATE TABLE runs (key TEXT PRIMARY KEY, seed INTEGER)")


def _newer_column(tmp: Path) -> Path:
    """A store of a newer schema: one more NOT NULL column without a default, which this code would not fill."""
    return _sql(_good(tmp / "s.sqlite", rows=3), "ALTER TABLE runs RENAME TO old",
                "CREATE TABLE runs (key TEXT PRIMARY KEY, kind TEXT NOT NULL, seed INTEGER NOT NULL, code_version "
                "TEXT NOT NULL, device_type TEXT NOT NULL, config TEXT NOT NULL, created REAL NOT NULL, record "
                "BLOB NOT NULL, machine TEXT NOT NULL)", "INSERT INTO runs SELECT *, 'm' FROM old", "DROP TABLE old")


def _newer_version(tmp: Path) -> Path:
    return _sql(_good(tmp / "s.sqlite", rows=3), f"PRAGMA user_version = {SCHEMA_VERSION + 1}")


def _under_a_file(tmp: Path) -> Path:
    (tmp / "notes.txt").write_text("a file, not a folder\n")
    return tmp / "notes.txt" / "s.sqlite"


FAULTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "directory": (_directory, "is a directory"),
    "text file": (_text, "is not an SQLite database"),
    "random bytes": (_random, "is not an SQLite database"),
    "truncated": (_truncated, "database disk image is malformed"),
    "foreign table": (_columns, "without column(s) kind, code_version"),
    "newer schema (NOT NULL column)": (_newer_column, "written by a newer giantstep"),
    "newer schema (version)": (_newer_version, f"schema {SCHEMA_VERSION + 1} > {SCHEMA_VERSION}"),
    "folder is a file": (_under_a_file, "is a file, not a folder"),
}


def _argv(cli: str, store: Path, tmp: Path) -> tuple[Callable, list[str]]:
    if cli == "run":
        return sim_main, ["run", *TINY, "--store", str(store)]
    if cli == "sweep":
        sweep = tmp / "sweep.yaml"
        sweep.write_text("base: {target: x1, d: 16, p: 8, n_test: 64, block_size: 16}\nseeds: 2\n")
        return sim_main, ["sweep", str(sweep), "--no-progress", "--store", str(store)]
    if cli == "zg":
        return sim_main, ["zg", *ZG_TINY, "--store", str(store)]
    return verify_main, ["--profile", "smoke", "--claims", "T1-single", "--store", str(store), "--out",
                         str(tmp / "reports"), "--no-progress"]


def _snapshot(path: Path) -> object:
    if path.is_dir():
        return sorted(p.name for p in path.iterdir())
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("cli", ["run", "sweep", "zg", "verify"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_bad_store_is_refused_before_any_compute(fault: str, cli: str, tmp_path: Path, capsys) -> None:
    make, fragment = FAULTS[fault]
    store = make(tmp_path)
    before = _snapshot(store)
    main, argv = _argv(cli, store, tmp_path)
    res = call(main, argv, capsys)
    failure_line(res, EXIT_BAD_INPUT, f"results store {str(store)!r}", fragment)
    assert res.seconds < REFUSE_SECONDS, res.seconds
    assert res.out == "" and _snapshot(store) == before


@pytest.mark.parametrize("fault", list(FAULTS))
def test_store_api_names_the_fault(fault: str, tmp_path: Path) -> None:
    make, fragment = FAULTS[fault]
    store = make(tmp_path)
    with pytest.raises(StoreError) as info:
        Store(store)
    assert fragment in str(info.value) and str(store) in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)  # bad input: the command lines exit 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files")
def test_unwritable_store_is_refused(tmp_path: Path, capsys) -> None:
    path = _good(tmp_path / "s.sqlite", rows=3)
    os.chmod(path, 0o444)
    os.chmod(tmp_path, 0o555)
    try:
        res = call(sim_main, ["run", *TINY, "--store", str(path)], capsys)
    finally:
        os.chmod(tmp_path, 0o755)
    failure_line(res, EXIT_BAD_INPUT, str(path), "cannot be written")


def test_a_runs_table_without_a_kind_column_is_refused(tmp_path: Path) -> None:
    """Every row names its kind: a ``runs`` table without the ``kind`` column is not a store of this code."""
    path = _sql(tmp_path / "old.sqlite", "CREATE TABLE runs (key TEXT PRIMARY KEY, seed INTEGER NOT NULL, "
                "code_version TEXT NOT NULL, device_type TEXT NOT NULL, config TEXT NOT NULL, created REAL NOT NULL, "
                "record BLOB NOT NULL)")
    with pytest.raises(StoreError, match=r"without column\(s\) kind"):
        Store(path)


def test_damaged_record_is_named_before_compute_and_force_replaces_it(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.sqlite"
    cfg = SimConfig(target="x1", d=16, p=8, n_test=64, block_size=16)
    key = run_or_load(cfg, 0, Store(path)).key
    con = sqlite3.connect(path)
    try:
        con.execute("UPDATE runs SET record = ? WHERE key = ?", (b"\x78\x9c garbage", key))
        con.commit()
    finally:
        con.close()
    res = call(sim_main, ["run", *TINY, "--store", str(path)], capsys)
    failure_line(res, EXIT_BAD_INPUT, str(path), f"damaged record {key}", "--force")
    assert res.seconds < REFUSE_SECONDS
    with pytest.raises(StoreError, match=f"damaged record {key}"):
        Store(path).get_key(key)
    assert call(sim_main, ["run", *TINY, "--store", str(path), "--force"], capsys).status == 0
    assert Store(path).get_key(key)["seed"] == 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_records_are_never_stored_nor_printed(bad: float, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    rec = _fake(3)
    rec["per_step"] = [{"t": 0, "test_error": 0.5}, {"t": 1, "test_error": bad}]
    with pytest.raises(NonFiniteRecord, match=r"k00003 produced a non-finite number at per_step\[1\]\.test_error"):
        store.put(rec)
    assert len(store) == 0
    with pytest.raises(NonFiniteRecord):
        record_json(rec)
    rec["overlaps"] = [[bad, 0.5]] * 4  # a float32-exact matrix would be packed as a blob: checked before
    rec["per_step"][1]["test_error"] = 0.25
    with pytest.raises(NonFiniteRecord, match=r"overlaps\[0\]\[0\]"):
        store.put(rec)
    rec["overlaps"] = [[0.25, 0.5]] * 4
    store.put(rec)
    assert json.loads(record_json(rec)) == store.get_key("k00003")
