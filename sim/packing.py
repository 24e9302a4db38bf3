"""Records as the results store keeps them (``sim.store``), for every kind (THEORY.md §3 reproducibility).

A record is kept as its JSON object: :func:`to_json` gives it (a typed record's ``to_json()``, such as the
giant step's ``sim.giant_step.record.RunRecord`` or [ZG]'s ``sim.zhou_ge.record.ZGRecord``, or a mapping
that is already a JSON object). Nothing non-finite is kept: :func:`check_record` refuses a record holding NaN or ±inf with
:class:`NonFiniteRecord`, naming where it is (:func:`nonfinite_path`); :func:`record_json` prints a record
as one line of strict JSON. :func:`pack_record` makes the compact bytes the store writes: every matrix of
floats that float32 holds exactly (a list of equal-length lists of floats, e.g. the ``p × r`` overlap
matrices, which the giant-step record keeps at float32 precision) becomes a base64 float32 blob inside a
zlib-compressed JSON document — lossless by that condition; :func:`unpack_record` gives the JSON object
back, with plain lists again.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np

_F32 = "__f32__"


class TypedRecord(Protocol):
    """A record that is not its own JSON object: it gives it (``sim.giant_step.record.RunRecord``,
    ``sim.zhou_ge.record.ZGRecord``)."""

    def to_json(self) -> dict[str, Any]: ...


Storable = TypedRecord | Mapping[str, Any]


@dataclass(frozen=True)
class Provenance:
    """What every kind's record starts with: its ``kind``, store ``key`` (``sim.keys.run_key``), ``config``
    (every field, as given), ``seed``, ``code_version`` and where it ran (``device``, ``device_type``,
    ``device_name``). A kind's record class extends it."""

    kind: str
    key: str
    config: dict[str, Any]
    seed: int
    code_version: str
    device: str
    device_type: str
    device_name: str


def field_json(rec: Any) -> dict[str, Any]:
    """The JSON object of a dataclass record whose fields are plain JSON values: one key per field, in order."""
    return {f.name: getattr(rec, f.name) for f in fields(rec)}


def field_values(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The field values of the dataclass ``cls`` from its JSON object (every field must be there)."""
    return {f.name: data[f.name] for f in fields(cls)}


class NonFiniteRecord(RuntimeError):
    """A record holds a NaN or an infinity (at ``where``, e.g. ``per_step[1].test_error``): a run that
    diverged without saying so. It is never stored nor printed as JSON."""

    def __init__(self, key: str, where: str) -> None:
        self.key, self.where = key, where
        super().__init__(f"run {key} produced a non-finite number at {where}; nothing was stored (the run "
                         "diverged: lower the learning rate, the target's scale or the noise)")


def nonfinite_path(value: Any, path: str = "") -> str | None:
    """Where ``value`` (nested dicts and lists) holds a non-finite float, e.g. ``"per_step[1].test_error"``;
    ``None`` when every number is finite."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "the value")
    if isinstance(value, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, v in items:
        found = nonfinite_path(v, where)
        if found is not None:
            return found
    return None


def to_json(rec: Storable) -> dict[str, Any]:
    """The JSON object of a record of any kind: a typed record's ``to_json()``, or the record itself."""
    return dict(rec) if isinstance(rec, Mapping) else rec.to_json()


def check_record(rec: Storable) -> Storable:
    """``rec`` (a record of any kind) if every number in its JSON object is finite; :class:`NonFiniteRecord`
    otherwise."""
    _checked_json(rec)
    return rec


def _checked_json(rec: Storable) -> dict[str, Any]:
    """The JSON object of ``rec`` (:func:`to_json`), every number in it finite (:class:`NonFiniteRecord`)."""
    data = to_json(rec)
    where = nonfinite_path(data)
    if where is not None:
        raise NonFiniteRecord(str(data.get("key", "?")), where)
    return data


def record_json(rec: Storable) -> str:
    """One record as one line of strict JSON (never ``NaN``/``Infinity``: :class:`NonFiniteRecord`)."""
    return json.dumps(_checked_json(rec), allow_nan=False)


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
            a = np.frombuffer(base64.b64decode(value[_F32], validate=True), dtype=np.float32).reshape(value["shape"])
            return a.astype(np.float64).tolist()
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def pack_record(rec: Storable) -> bytes:
    """Compact bytes of a record of any kind: its JSON object with float32-exact matrices as float32 blobs,
    zlib-compressed strict JSON (a non-finite number raises :class:`NonFiniteRecord` first)."""
    return zlib.compress(json.dumps(_pack(_checked_json(rec)), allow_nan=False).encode(), 6)


def unpack_record(blob: bytes) -> dict[str, Any]:
    """Inverse of ``pack_record``: the record's JSON object (it names its ``kind``)."""
    data = _unpack(json.loads(zlib.decompress(blob)))
    if not isinstance(data, dict):
        raise ValueError(f"a record is a JSON object, not {type(data).__name__}")
    if not isinstance(data.get("kind"), str):
        raise ValueError("a record names its kind")
    return data


__all__ = ["Provenance", "field_json", "field_values", "NonFiniteRecord", "Storable", "TypedRecord", "check_record", "nonfinite_path", "pack_record", "record_json",
           "to_json", "unpack_record"]
