"""SQLite results store (issue item 6): one row per (kind, config, seed, code version, device type).

Every simulation kind of ``sim`` (``sim.kinds``) writes to the same ``runs`` table, so one file and one
``keys()`` trace every verdict of ``verify`` to its runs. The store knows no kind: a record says its own
(``rec["kind"]``, in its own column), its key is ``sim.keys.run_key`` of its config, and the config
fields a filter may name are those of the stored configs of that kind. Rows and records written before
kinds shared the table are giant-step runs (``LEGACY_KIND``): such a file gets the column on first
open, and such a record gets its kind from the column when read.

Default file ``runs/results.sqlite``. Each run is written in its own ``BEGIN IMMEDIATE`` transaction
(``INSERT OR REPLACE``), the database is in WAL mode with ``synchronous=FULL`` and a long busy timeout,
and every call opens its own connection — so several processes can write at once without corrupting
anything, and a killed sweep keeps every run that finished. Records are kept compact: every matrix of
floats that float32 holds exactly (a list of equal-length lists of floats, e.g. the ``p × r`` overlap
matrices, which the giant-step record keeps at float32 precision) is stored as a base64 float32 blob
inside a zlib-compressed JSON document — lossless by that condition; ``get`` and ``records`` return
plain lists again, equal to what the run returned.
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

from sim.device import resolve_device
from sim.keys import Keyed, run_key
from sim.version import code_version

DEFAULT_PATH = "runs/results.sqlite"
BUSY_TIMEOUT_S = 120.0
LEGACY_KIND = "giant_step"  # the kind of rows and records written before kinds shared the table

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT '{LEGACY_KIND}',
    seed INTEGER NOT NULL,
    code_version TEXT NOT NULL,
    device_type TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL,
    record BLOB NOT NULL
)
"""
_F32 = "__f32__"


def _float32_exact(value: object) -> bool:
    """``value`` is a non-empty list of equal-length, non-empty lists of floats that float32 holds exactly."""
    if not isinstance(value, list) or not value or not all(isinstance(row, list) and row for row in value):
        return False
    width = len(value[0])
    if any(len(row) != width or not all(type(x) is float for x in row) for row in value):
        return False
    a = np.asarray(value, dtype=np.float64)
    return bool(np.array_equal(a.astype(np.float32).astype(np.float64), a))


def _pack(value: Any) -> Any:
    """``value`` with every float32-exact matrix replaced by ``{"__f32__": base64, "shape": [rows, cols]}``."""
    if _float32_exact(value):
        a = np.asarray(value, dtype=np.float32)
        return {_F32: base64.b64encode(a.tobytes()).decode("ascii"), "shape": list(a.shape)}
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pack(v) for v in value]
    return value


def _unpack(value: Any) -> Any:
    """Inverse of ``_pack``."""
    if isinstance(value, dict):
        if _F32 in value:
            a = np.frombuffer(base64.b64decode(value[_F32]), dtype=np.float32).reshape(value["shape"])
            return a.astype(np.float64).tolist()
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def record_kind(rec: dict[str, Any]) -> str:
    """``rec["kind"]`` (``LEGACY_KIND`` for a record written before records carried their kind)."""
    return str(rec.get("kind", LEGACY_KIND))


def pack_record(rec: dict[str, Any]) -> bytes:
    """Compact bytes of a record: float32-exact matrices as float32 blobs, zlib-compressed JSON."""
    return zlib.compress(json.dumps(_pack(rec)).encode(), 6)


def unpack_record(blob: bytes, kind: str | None = None) -> dict[str, Any]:
    """Inverse of ``pack_record``; ``kind`` (the row's) is filled in when the record has none."""
    rec = _unpack(json.loads(zlib.decompress(blob)))
    if kind is not None:
        rec.setdefault("kind", kind)
    return rec


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
                con.execute(f"ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT '{LEGACY_KIND}'")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            con.execute("PRAGMA synchronous=FULL")
            yield con
        finally:
            con.close()

    def get(self, cfg: Keyed, seed: int, device_type: str | None = None,
            code_version: str | None = None) -> dict[str, Any] | None:
        """The record of ``(cfg, seed)`` (a config of any kind) for this code version and device type
        (default: where ``cfg`` would run), or ``None``."""
        dtype = device_type or resolve_device(cfg.device)[1]  # type: ignore[attr-defined]
        return self.get_key(run_key(cfg, seed, dtype, code_version))

    def get_key(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``, or ``None``."""
        with self._connect() as con:
            row = con.execute("SELECT record, kind FROM runs WHERE key = ?", (key,)).fetchone()
        return unpack_record(row[0], row[1]) if row else None

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
                kind: str = LEGACY_KIND, **config_filters: Any) -> list[dict[str, Any]]:
        """Stored records of one ``kind``, oldest first, filtered by config fields (``target="x1*x2", d=512``),
        ``seed`` and ``device_type``; ``current_only`` keeps the runs of this code version only. A filter
        on a field that no stored config of this kind has is refused (a typo would match nothing)."""
        names = self.config_fields(kind)
        clauses, args = ["kind = ?"], [kind]
        for name, value in config_filters.items():
            if names and name not in names:
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
            rows = con.execute(f"SELECT record, kind FROM runs{where} ORDER BY created, key", args).fetchall()
        return [unpack_record(r[0], r[1]) for r in rows]

    def config_fields(self, kind: str = LEGACY_KIND) -> tuple[str, ...]:
        """The config field names of the stored runs of ``kind``, sorted (empty when there are none)."""
        with self._connect() as con:
            rows = con.execute("SELECT DISTINCT j.key FROM runs, json_each(runs.config) AS j WHERE runs.kind = ? "
                               "ORDER BY j.key", (kind,)).fetchall()
        return tuple(r[0] for r in rows)

    def __len__(self) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def keys(self) -> list[str]:
        """Every stored key, oldest run first."""
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT key FROM runs ORDER BY created, key")]
