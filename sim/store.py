"""SQLite results store: one row per (kind, config, seed, code version, device type) (THEORY.md §3
reproducibility).

Every simulation kind of ``sim`` (``sim.kinds``) writes to the same ``runs`` table, so one file and one
``keys()`` trace every verdict of ``verify`` to its runs. The store tests no kind's name: a record says its
own (its JSON object's ``kind``, kept in its own column), its key is ``sim.keys.run_key`` of its config,
and the config fields a filter may name are those of the stored configs of that kind. The store is the
records' JSON layer: ``put`` takes a record of any kind and writes its JSON object (``sim.packing.to_json``:
a typed record's ``to_json()``, such as the giant step's ``RunRecord``, or a record that is its own JSON
object); ``get``, ``get_key`` and ``records`` return the JSON objects, which ``sim.kinds.from_json`` turns
back into their kind's records (the drivers do).

Default file ``runs/results.sqlite``. Each run is written in its own ``BEGIN IMMEDIATE`` transaction
(``INSERT OR REPLACE``), the database is in WAL mode with ``synchronous=FULL`` and a long busy timeout,
and every call opens its own connection — so several processes can write at once without corrupting
anything, and a killed sweep keeps every run that finished. Records are kept compact and lossless
(``sim.packing``: float32-exact matrices as float32 blobs in zlib-compressed JSON); ``get`` and ``records``
return plain lists again, equal to what the run returned.

Faults. ``Store(path)`` opens and checks the file before anything else happens, and
refuses it with a one-line :class:`StoreError` (a ``ValueError``: the command lines exit 2) naming the
file and what is wrong: a directory, a folder that cannot be created, a file that is not SQLite, a damaged
database (``PRAGMA quick_check``), a ``runs`` table without the expected columns, a schema newer than
``SCHEMA_VERSION`` (``PRAGMA user_version``, or a ``NOT NULL`` column without default that this code would
not fill), a file or folder it cannot write to. A damaged record blob is named by its key when read.
Nothing non-finite is stored: ``put`` (and ``record_json``, which prints records) refuse a record holding
NaN or ±inf with ``NonFiniteRecord``, naming where it is (``sim.packing``). A full disk or a failing device
while reading or writing is an ``OSError`` naming the file (an I/O error: ``theory.exits.EXIT_IO``); a
transaction interrupted or failed is rolled back without its own error hiding the cause (Ctrl-C, the disk).
"""

from __future__ import annotations

import binascii
import errno
import json
import sqlite3
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.device import resolve_device
from sim.keys import Keyed, run_key
from sim.packing import (NonFiniteRecord, Storable, TypedRecord, check_record, nonfinite_path, pack_record,
                         record_json, to_json, unpack_record)
from sim.version import code_version

DEFAULT_PATH = "runs/results.sqlite"
BUSY_TIMEOUT_S = 120.0
SCHEMA_VERSION = 1  # PRAGMA user_version of a store this code writes; a larger one is refused
MAX_SEED = 2**63 - 1  # the largest SQLite INTEGER: the largest seed a store can hold

_SQLITE_MAGIC = b"SQLite format 3\x00"
_COLUMNS = ("key", "kind", "seed", "code_version", "device_type", "config", "created", "record")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    seed INTEGER NOT NULL,
    code_version TEXT NOT NULL,
    device_type TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL,
    record BLOB NOT NULL
)
"""
_BLOB_ERRORS = (zlib.error, ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError)


class StoreError(ValueError):
    """The results store cannot be used; the one-line message names the file and what to change."""


@dataclass(frozen=True)
class Store:
    """Results store at ``path`` (created with its folder on first use); safe across processes.

    Opening checks the file (module docstring) and raises :class:`StoreError` in one line when it cannot
    be used — before anything is computed.
    """

    path: str = DEFAULT_PATH

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", str(self.path))
        self._check_file()
        with self._connect() as con:
            self._check_database(con)

    # -- opening ------------------------------------------------------------------------------------
    def _fail(self, what: str, fix: str = "use another --store") -> StoreError:
        return StoreError(f"results store {self.path!r} {what}; {fix}")

    def _check_file(self) -> None:
        """The path is a file (or nothing yet) in a folder that exists or can be made; it starts as SQLite."""
        p = Path(self.path)
        if p.is_dir():
            raise self._fail("is a directory", f"give a file path such as {str(p / 'results.sqlite')!r}")
        blocked = next((q for q in p.parents if q.exists() and not q.is_dir()), None)
        if blocked is not None:
            raise self._fail(f"cannot be created: {str(blocked)!r} is a file, not a folder")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._fail(f"cannot be created: its folder cannot be made ({exc.strerror})") from None
        if not p.exists():
            return
        try:
            with open(p, "rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise self._fail(f"cannot be read ({exc.strerror})") from None
        if head and head != _SQLITE_MAGIC:
            raise self._fail("is not an SQLite database (it does not start with the SQLite header)")

    def _check_database(self, con: sqlite3.Connection) -> None:
        """Integrity, schema version and columns, writability; creates or migrates the table."""
        problems = [r[0] for r in con.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise self._fail(f"is damaged (SQLite quick_check: {problems[0]})", "restore it or use another --store")
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise self._fail(f"was written by a newer giantstep (schema {version} > {SCHEMA_VERSION})",
                             "use that version or another --store")
        columns = {r[1]: r for r in con.execute("PRAGMA table_info(runs)")}
        if columns:
            self._check_columns(columns)  # before anything is written to the file
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute(_SCHEMA)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")  # a write: proves the file can be written
            con.execute("COMMIT" if version != SCHEMA_VERSION else "ROLLBACK")  # a new or unversioned file
        except BaseException:
            _rollback(con)
            raise

    def _check_columns(self, columns: dict[str, tuple]) -> None:
        """The ``runs`` table has the columns this code reads and writes, and none it would not fill."""
        missing = [c for c in _COLUMNS if c not in columns]
        if missing:
            raise self._fail(f"has a runs table without column(s) {', '.join(missing)} (not a giantstep store)")
        if not columns["key"][5]:
            raise self._fail("has a runs table whose key is not its primary key (not a giantstep store)")
        extra = [c for c, row in columns.items() if c not in _COLUMNS and row[3] and row[4] is None]
        if extra:
            raise self._fail(f"has a required column {extra[0]!r} this version does not write (written by a newer "
                             "giantstep)", "use that version or another --store")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection; any SQLite failure becomes a :class:`StoreError` naming the file."""
        con = None
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            con.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            con.execute("PRAGMA synchronous=FULL")
            yield con
        except sqlite3.Error as exc:
            if _is_io_error(exc):  # a full disk, a failing device: an I/O error, not bad input
                raise OSError(errno.EIO, f"SQLite: {' '.join(str(exc).split())}",
                              self.path) from None
            raise self._fail(*_sqlite_problem(exc)) from None
        finally:
            if con is not None:
                con.close()

    def _unpack_row(self, key: str, blob: bytes) -> dict[str, Any]:
        """The record of one row (:class:`StoreError` naming ``key`` if its blob is damaged)."""
        try:
            return unpack_record(blob)
        except _BLOB_ERRORS as exc:
            raise self._fail(f"holds a damaged record {key} ({type(exc).__name__}: {exc})",
                             "rerun that run with --force to replace it, or use another --store") from None

    # -- reading and writing ------------------------------------------------------------------------
    def get(self, cfg: Keyed, seed: int, device_type: str | None = None,
            code_version: str | None = None) -> dict[str, Any] | None:
        """The record of ``(cfg, seed)`` (a config of any kind) for this code version and device type
        (default: where ``cfg`` would run), or ``None``."""
        dtype = device_type or resolve_device(cfg.device)[1]  # type: ignore[attr-defined]
        return self.get_key(run_key(cfg, seed, dtype, code_version))

    def get_key(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``, or ``None`` (:class:`StoreError` if its blob is damaged)."""
        with self._connect() as con:
            row = con.execute("SELECT record FROM runs WHERE key = ?", (key,)).fetchone()
        return self._unpack_row(key, row[0]) if row else None

    def put(self, rec: Storable) -> None:
        """Write one record of any kind (replacing one with the same key) in a single transaction; a record
        holding a non-finite number is refused (:class:`NonFiniteRecord`) and nothing is written."""
        data = to_json(rec)
        blob = pack_record(data)
        row = (data["key"], data["kind"], int(data["seed"]), data["code_version"], data.get("device_type", "cpu"),
               json.dumps(data["config"], sort_keys=True, allow_nan=False), float(data.get("created", time.time())),
               blob)
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute("INSERT OR REPLACE INTO runs (key, kind, seed, code_version, device_type, config, "
                            "created, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
                con.execute("COMMIT")
            except BaseException:  # an interrupt after a COMMIT that succeeded, or a COMMIT that failed
                _rollback(con)
                raise

    def records(self, kind: str, current_only: bool = True, seed: int | None = None, device_type: str | None = None,
                **config_filters: Any) -> list[dict[str, Any]]:
        """The JSON objects of the stored records of one ``kind`` (``"giant_step"``, ``"zhou_ge"``), oldest first,
        filtered by config fields (``target="x1*x2", d=512``), ``seed`` and ``device_type``; ``current_only`` keeps
        the runs of this code version only. A filter on a field that no stored config of this kind has is refused
        (a typo would match nothing)."""
        names = self.config_fields(kind)
        clauses, args = ["kind = ?"], [kind]
        for name, value in config_filters.items():
            if not name.isidentifier() or (names and name not in names):
                known = f"known fields are {', '.join(names)}" if names else "no run of this kind is stored"
                raise ValueError(f"unknown config field {name!r} in filter; {known}")
            if isinstance(value, bool):
                value = int(value)
            if value is None:
                clauses.append("json_extract(config, ?) IS NULL")
                args.append(f"$.{name}")
            else:
                clauses.append("json_extract(config, ?) = ?")
                args += [f"$.{name}", value]
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
            rows = con.execute(f"SELECT key, record FROM runs{where} ORDER BY created, key", args).fetchall()
        return [self._unpack_row(*r) for r in rows]

    def config_fields(self, kind: str) -> tuple[str, ...]:
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


def _rollback(con: sqlite3.Connection) -> None:
    """Roll back the open transaction, if there is one (none after a COMMIT that succeeded, or one SQLite
    already rolled back); a failure to do so never replaces the exception being raised."""
    if con.in_transaction:
        with suppress(sqlite3.Error):
            con.execute("ROLLBACK")


def _is_io_error(exc: sqlite3.Error) -> bool:
    """A full disk or a failing device (``SQLITE_FULL``, ``SQLITE_IOERR``), as opposed to a bad file."""
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc).lower()
    return (code is not None and code & 0xFF in (10, 13)) or "disk is full" in text or "disk i/o error" in text


def _sqlite_problem(exc: sqlite3.Error) -> tuple[str, str]:
    """What an SQLite error says about the file, and what to do, in words."""
    text = " ".join(str(exc).split())
    if "malformed" in text or "not a database" in text:
        return f"is damaged (SQLite: {text})", "restore it or use another --store"
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return f"cannot be written (SQLite: {text})", "make the file and its folder writable or use another --store"
    return f"failed (SQLite: {text})", "check the file, its folder and free space, or use another --store"


__all__ = ["BUSY_TIMEOUT_S", "DEFAULT_PATH", "MAX_SEED", "NonFiniteRecord", "SCHEMA_VERSION", "Store", "StoreError",
           "Storable", "TypedRecord", "check_record", "nonfinite_path", "pack_record", "record_json", "to_json",
           "unpack_record"]
