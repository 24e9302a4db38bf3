"""The report folder and atomic writes: every file of a report is written to a temporary file in its own folder
and renamed over the old one, so an interrupted or failed write never leaves half a file.

:func:`atomic_path` is the one helper for it; :func:`write_text` is that helper for text, and the figures
(``verify.style.save``) write through it too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path``; when the block ends without an exception the file written there
    replaces ``path`` (``os.replace``), otherwise it is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or Path
        The file to write.

    Yields
    ------
    Path
        Where to write (same folder, so the rename is atomic; the suffix of ``path`` is kept so writers that
        pick a format by suffix still do).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_path`) and return ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def report_folder(out_root: str | Path, profile: str) -> Path:
    """``<out_root>/<profile>``, created and proved writable (a probe file is written and removed) — checked
    before any compute; ``ValueError`` in one line naming the folder otherwise.

    Parameters
    ----------
    out_root : str or Path
        The report root (``--out``).
    profile : str
        Profile name (the report folder).

    Returns
    -------
    Path
        The report folder.
    """
    out = Path(out_root) / profile
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise ValueError(f"--out {str(out_root)!r}: cannot write the report folder {str(out)!r} "
                         f"({exc.strerror or type(exc).__name__}); choose another --out") from None
    return out


__all__ = ["atomic_path", "report_folder", "write_text"]
