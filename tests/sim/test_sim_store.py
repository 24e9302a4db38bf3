"""Results store: round trip, reruns served from the store, concurrent writers, resume."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from sim import RunRecord, SimConfig, Store, run_many, run_or_load, simulate
from sim.cli import sweep_jobs

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(target="x1 + x1*x2", d=16, p=8, n_exp=1.0, steps=1, n_test=64, block_size=16)


def test_round_trip_is_exact_and_compact(tmp_path) -> None:
    store = Store(tmp_path / "r.sqlite")
    cfg = SimConfig(**{**TINY, "p": 64, "steps": 2})
    rec = simulate(cfg, 3)
    text = json.dumps(rec.to_json(), allow_nan=False)  # plain JSON values only
    assert RunRecord.from_json(json.loads(text)) == rec
    fresh = [(f, getattr(rec, f)) for f in ("dtype", "engine", "init", "output_scale", "ridge_mode")]
    assert all(type(v) is str for _, v in fresh), fresh  # the text the store gives back, not an enum member
    store.put(rec)
    back = store.get(cfg, 3)
    assert back == rec.to_json() and RunRecord.from_json(back) == rec
    assert run_or_load(cfg, 3, store) == rec  # the drivers read it back as its kind's record
    assert store.get(cfg, 4) is None and store.get(cfg, 3, code_version="older") is None
    assert store.records("giant_step", target="x1 + x1*x2", d=16) == [back]
    assert store.records("giant_step", d=17) == [] and store.records("giant_step", normalize=True, seed=3) == [back]
    with sqlite3.connect(store.path) as con:
        blob = con.execute("SELECT record FROM runs").fetchone()[0]
    assert len(blob) < 0.5 * len(text)


def test_rerun_is_served_from_the_store_unless_forced(tmp_path) -> None:
    store = Store(tmp_path / "r.sqlite")
    cfg = SimConfig(**TINY)
    first = run_or_load(cfg, 0, store)
    again = run_or_load(cfg, 0, store)
    assert again == first  # same 'created' stamp: not recomputed
    forced = run_or_load(cfg, 0, store, force=True)
    assert forced.created > first.created and forced.overlaps == first.overlaps
    assert len(store) == 1


def _writer(path: str, rec: RunRecord, start: int, count: int) -> None:
    store = Store(path)
    for i in range(start, start + count):
        store.put(replace(rec, key=f"k{i:04d}", seed=i))


def test_concurrent_writers_corrupt_nothing(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite")
    rec = simulate(SimConfig(**TINY), 0)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, rec, 100 * w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    store = Store(path)
    assert len(store) == 160
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.get_key("k0317")["seed"] == 317 and store.get_key("k0317")["overlaps"] == rec.overlaps


def test_interrupted_sweep_resumes_without_losing_finished_runs(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite")
    jobs = [(SimConfig(**TINY), s) for s in range(4)]
    seen: list[bool] = []

    def stop_after_two(rec: RunRecord, cached: bool) -> None:
        seen.append(cached)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_many(jobs, store, progress=False, on_record=stop_after_two)
    assert len(store) == 2
    seen.clear()
    recs = run_many(jobs, store, progress=False, on_record=lambda r, c: seen.append(c))
    assert seen == [True, True, False, False] and [r.seed for r in recs] == [0, 1, 2, 3]


def test_killed_sweep_process_resumes(tmp_path) -> None:
    """SIGKILL a `python -m sim sweep` mid-way: the store stays intact and a rerun only does what is left."""
    spec = {"base": {"target": "x1 + x1*x2", "p": 128, "n_exp": 1.5, "n_test": 2000, "block_size": 1024},
            "grid": {"d": [192, 256]}, "seeds": 5}
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(json.dumps(spec))
    path = tmp_path / "k.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(sweep), "--store", str(path),
                             "--no-progress"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    store = None
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if path.exists():
            store = store or Store(path)
            if len(store) >= 1:
                break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = Store(path)
    done = len(store)
    assert 1 <= done < 10, f"kill landed at {done} of 10 runs"
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    flags: list[bool] = []
    run_many(sweep_jobs(spec), store, progress=False, on_record=lambda r, c: flags.append(c))
    assert sum(flags) == done and len(store) == 10
