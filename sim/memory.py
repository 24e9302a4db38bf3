"""Peak memory of a run.

On CUDA: ``torch.cuda.max_memory_allocated`` after resetting the peak, minus what was allocated at the
start. On the CPU (Linux): the process's peak resident set (``VmHWM``) after resetting it through
``/proc/self/clear_refs``, minus the resident set at the start — the extra memory the run needed. Where
the reset is not possible the kind is ``"cpu_maxrss"`` and the number is the process's lifetime peak.

Before the CPU measurement starts, the C allocator hands the memory earlier runs freed back to the system
(glibc's ``malloc_trim``): otherwise a run reuses pages a previous run left resident, its resident set barely
grows, and every run after the first in one process measured almost nothing (0.24 MiB for the third seed of a
run whose first seed needed 22 MiB; 9–11 MiB for each seed after the trim, the first seed's extra being
one-time library set-up).
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass, field

import torch


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@functools.cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """glibc's ``malloc_trim``, or ``None`` where the C library has none (macOS, musl)."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Hand the memory the C allocator holds free back to the system (no-op without glibc)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _reset_cpu_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


@dataclass
class PeakMemory:
    """Context manager measuring the extra peak memory of the enclosed code on ``device``.

    After exit, ``bytes`` is the peak and ``kind`` says how it was measured
    (``"cuda_allocated"``, ``"cpu_rss"`` or ``"cpu_maxrss"``).
    """

    device: str
    bytes: int = 0
    kind: str = ""
    _base: int = field(default=0, repr=False)

    def __enter__(self) -> PeakMemory:
        if self.device.startswith("cuda"):
            dev = torch.device(self.device)
            torch.cuda.synchronize(dev)
            torch.cuda.reset_peak_memory_stats(dev)
            self._base = torch.cuda.memory_allocated(dev)
            self.kind = "cuda_allocated"
        else:
            release_free_memory()  # pages earlier runs freed must not count as already resident
            ok = _reset_cpu_peak()
            rss = _status_kib("VmRSS")
            self._base = (rss or 0) * 1024 if ok else 0
            self.kind = "cpu_rss" if ok and rss is not None else "cpu_maxrss"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.kind == "cuda_allocated":
            dev = torch.device(self.device)
            torch.cuda.synchronize(dev)
            self.bytes = int(torch.cuda.max_memory_allocated(dev) - self._base)
        elif self.kind == "cpu_rss":
            self.bytes = int((_status_kib("VmHWM") or 0) * 1024 - self._base)
        else:
            import resource

            self.bytes = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
