"""Peak memory of a run (issue items 2 and 9).

On CUDA: ``torch.cuda.max_memory_allocated`` after resetting the peak, minus what was allocated at the
start. On the CPU (Linux): the process's peak resident set (``VmHWM``) after resetting it through
``/proc/self/clear_refs``, minus the resident set at the start — the extra memory the run needed. Where
the reset is not possible the kind is ``"cpu_maxrss"`` and the number is the process's lifetime peak.
"""

from __future__ import annotations

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
