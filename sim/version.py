"""Code version: a hash of the source of ``sim/`` and ``theory/`` (results change when code does)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path


def source_files() -> list[tuple[str, Path]]:
    """``(package-relative path, file)`` for every ``.py`` file of ``sim`` and ``theory``, sorted."""
    import theory

    out: list[tuple[str, Path]] = []
    for root in (Path(__file__).resolve().parent, Path(theory.__file__).resolve().parent):
        out += [(f.relative_to(root.parent).as_posix(), f) for f in root.rglob("*.py")]
    return sorted(out)


@lru_cache(maxsize=1)
def code_version() -> str:
    """First 16 hex digits of sha256 over (relative path, contents) of every source file; cached per process."""
    h = hashlib.sha256()
    for rel, f in source_files():
        h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]
