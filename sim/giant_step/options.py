"""Option values and field conversions of ``SimConfig`` that came after records were stored (THEORY.md §3, §3.5).

* ``BatchUse``: how the steps use their samples — a fresh batch per step (§3) or one batch for all
  (``reuse``, §3.5). Records written before it spelled this ``reuse_batch`` (a boolean), which
  ``legacy_batch`` reads; the store key keeps that spelling, so their keys do not change.
* ``NEW_FIELDS``: fields that enter the key only when they differ from their default (``label_transform``,
  ``overlap_scale``).
* ``block_size_for``: the default block size by device — ``DEFAULT_BLOCK`` on the CPU (what every stored
  CPU record used), ``CUDA_BLOCK`` on CUDA, where 4096-sample blocks left the reduced engine launch-bound
  (0.04 of its limit). The resolved size is a field, so the key records it.
* ``parse_label_transform``: a label transformation ``T(y)`` checked by the safe parser (``sim.data``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sim.device import resolve_device

DEFAULT_BLOCK = 4096
CUDA_BLOCK = 2**16
NEW_FIELDS: dict[str, Any] = {"label_transform": None, "overlap_scale": "normalized"}


class BatchUse(StrEnum):
    """How the giant steps use their samples: a fresh batch per step, or one batch reused (§3.5)."""

    FRESH = "fresh"
    REUSE = "reuse"


def block_size_for(device: str, value: object) -> int:
    """``value``, or the default block size of the device ``device`` resolves to (module docstring)."""
    if value is not None:
        return int(value)  # type: ignore[call-overload] - checked by the config's Interval first
    return CUDA_BLOCK if resolve_device(device)[1] == "cuda" else DEFAULT_BLOCK


def parse_label_transform(value: object) -> str | None:
    """``value`` (an expression in ``y``) stripped, after the safe parser has read it; ``None`` stays."""
    from sim.data import label_transform

    if value is None:
        return None
    label_transform(value)  # type: ignore[arg-type] - refuses, in one line, what the parser cannot read
    return str(value).strip()


def legacy_batch(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the old boolean ``reuse_batch`` (``-`` or ``_``) read as ``batch``; both given must agree."""
    out = dict(data)
    old = [k for k in out if k in ("reuse_batch", "reuse-batch")]
    if not old:
        return out
    value = out.pop(old[0])
    if not isinstance(value, bool):
        raise ValueError(f"reuse_batch must be true or false (it is now batch: fresh or reuse); got {value!r}")
    batch = (BatchUse.REUSE if value else BatchUse.FRESH).value
    given = out.get("batch", batch)
    if given != batch:
        raise ValueError(f"reuse_batch={value} contradicts batch={given!r}; give batch only")
    out["batch"] = batch
    return out


__all__ = ["CUDA_BLOCK", "DEFAULT_BLOCK", "NEW_FIELDS", "BatchUse", "block_size_for", "legacy_batch",
           "parse_label_transform"]
