"""SQLite results store (issue item 6): one row per (kind, config, seed, code version, device type).

Every simulation kind of ``sim`` — the giant-step protocol (``kind = "giant_step"``, THEORY §3) and the
[ZG] local-convergence runs (``kind = "zhou_ge"``, §4) — writes to the same ``runs`` table, so one file
and one ``keys()`` trace every verdict of ``verify`` to its runs.

Default file ``runs/results.sqlite``. Each run is written in its own ``BEGIN IMMEDIATE`` transaction
(``INSERT OR REPLACE``), the database is in WAL mode with ``synchronous=FULL`` and a long busy timeout,
and every call opens its own connection — so several processes can write at once without corrupting
anything, and a killed sweep keeps every run that finished. Records are kept compact: the overlap
matrices (``p × r``, already at float32 precision in the record) as base64 float32 blobs inside a
zlib-compressed JSON document; ``get`` and ``records`` return plain lists again, equal to what
``simulate`` returned.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.config import SimConfig, field_names

DEFAULT_PATH = "runs/results.sqlite"
BUSY_TIMEOUT_S = 120.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'giant_step',
    seed INTEGER NOT NULL,
    code_version TEXT NOT NULL,
    device_type TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL,
    record BLOB NOT NULL
)
"""


def _pack_matrix(M: list[list[float]]) -> dict[str, Any]:
    a = np.asarray(M, dtype=np.float32)
    return {"__f32__": base64.b64encode(a.tobytes()).decode("ascii"), "shape": list(a.shape)}


def _unpack_matrix(obj: dict[str, Any]) -> list[list[float]]:
    a = np.frombuffer(base64.b64decode(obj["__f32__"]), dtype=np.float32).reshape(obj["shape"])
    return a.astype(np.float64).tolist()


GIANT_STEP = "giant_step"


def record_kind(rec: dict[str, Any]) -> str:
    """``rec["kind"]``; giant-step records carry no kind field."""
    return str(rec.get("kind", GIANT_STEP))


def pack_record(rec: dict[str, Any]) -> bytes:
    """Compact bytes of a record: giant-step overlap matrices as float32 blobs, zlib-compressed JSON."""
    out = dict(rec)
    if record_kind(rec) == GIANT_STEP:
        out["overlaps"] = _pack_matrix(rec["overlaps"])
        out["per_step"] = [{**e, "overlaps": _pack_matrix(e["overlaps"])} for e in rec["per_step"]]
    return zlib.compress(json.dumps(out).encode(), 6)


def unpack_record(blob: bytes) -> dict[str, Any]:
    """Inverse of ``pack_record``."""
    rec = json.loads(zlib.decompress(blob))
    if record_kind(rec) == GIANT_STEP:
        rec["overlaps"] = _unpack_matrix(rec["overlaps"])
        rec["per_step"] = [{**e, "overlaps": _unpack_matrix(e["overlaps"])} for e in rec["per_step"]]
    return rec


def _field_names(kind: str) -> tuple[str, ...]:
    if kind == GIANT_STEP:
        return field_names()
    if kind == "zhou_ge":
        from sim.zhou_ge import zg_field_names

        return zg_field_names()
    raise ValueError(f"unknown record kind {kind!r}; use 'giant_step' or 'zhou_ge'")


@dataclass(frozen=True)
class Store:
    """Results store at ``path`` (created with its folder on first use); safe across processes."""

    path: str = DEFAULT_PATH

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", str(self.path))
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)
            columns = {row[1] for row in con.execute("PRAGMA table_info(runs)")}
            if "kind" not in columns:  # a file written before kinds shared the table
                con.execute("ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'giant_step'")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            con.execute("PRAGMA synchronous=FULL")
            yield con
        finally:
            con.close()

    def get(self, cfg: SimConfig, seed: int, device_type: str | None = None,
            code_version: str | None = None) -> dict[str, Any] | None:
        """The record of ``(cfg, seed)`` for this code version and device type (default: where ``cfg`` would
        run), or ``None``."""
        from sim.plan import resolve_device
        from sim.runner import run_key

        dtype = device_type or resolve_device(cfg.device)[1]
        return self.get_key(run_key(cfg, seed, dtype, code_version))

    def get_key(self, key: str) -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute("SELECT record FROM runs WHERE key = ?", (key,)).fetchone()
        return unpack_record(row[0]) if row else None

    def put(self, rec: dict[str, Any]) -> None:
        """Write one record (replacing one with the same key) in a single transaction."""
        blob = pack_record(rec)
        row = (rec["key"], record_kind(rec), int(rec["seed"]), rec["code_version"], rec.get("device_type", "cpu"),
               json.dumps(rec["config"], sort_keys=True), float(rec.get("created", time.time())), blob)
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute("INSERT OR REPLACE INTO runs (key, kind, seed, code_version, device_type, config, "
                            "created, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def records(self, current_only: bool = True, seed: int | None = None, device_type: str | None = None,
                kind: str = GIANT_STEP, **config_filters: Any) -> list[dict[str, Any]]:
        """Stored records of one ``kind``, oldest first, filtered by config fields (``target="x1*x2", d=512``),
        ``seed`` and ``device_type``; ``current_only`` keeps the runs of this code version only."""
        from sim.version import code_version

        names = _field_names(kind)
        clauses, args = ["kind = ?"], [kind]
        for name, value in config_filters.items():
            if name not in names:
                raise ValueError(f"unknown config field {name!r} in filter; known fields are {', '.join(names)}")
            if isinstance(value, bool):
                value = int(value)
            if value is None:
                clauses.append(f"json_extract(config, '$.{name}') IS NULL")
            else:
                clauses.append(f"json_extract(config, '$.{name}') = ?")
                args.append(value)
        if seed is not None:
            clauses.append("seed = ?")
            args.append(int(seed))
        if device_type is not None:
            clauses.append("device_type = ?")
            args.append(device_type)
        if current_only:
            clauses.append("code_version = ?")
            args.append(code_version())
        where = " WHERE " + " AND ".join(clauses)
        with self._connect() as con:
            rows = con.execute(f"SELECT record FROM runs{where} ORDER BY created, key", args).fetchall()
        return [unpack_record(r[0]) for r in rows]

    def __len__(self) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def keys(self) -> list[str]:
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT key FROM runs ORDER BY created, key")]
