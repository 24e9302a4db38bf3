"""Where a run computes: device names, their resolution, the default memory budget (THEORY.md §3).

Shared by every simulation kind. ``device`` is ``"auto"`` (CUDA when available, else the CPU), ``"cpu"``,
``"cuda"`` or ``"cuda:N"``; ``dtype`` a :class:`DType`. ``check_device`` validates the spelling (in a
config, before anything runs); ``resolve_device`` asks the machine (``ValueError`` in one line when the
device is not there).

Memory: ``machine_memory`` is what the device has (the GPU's memory; on the CPU the
physical memory, or the container's limit when smaller), ``default_budget`` the budget a run gets when its
config names none, and ``check_budget`` refuses, before anything is allocated, a budget the machine does
not have.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum


class DType(StrEnum):
    """The floating-point type a run computes in (torch's name for it)."""

    FLOAT32 = "float32"
    FLOAT64 = "float64"

    @property
    def bytes(self) -> int:
        """Bytes per element."""
        return 4 if self is DType.FLOAT32 else 8


DTYPES = tuple(DType)
DEVICES = "auto, cpu, cuda or cuda:N"
_DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]+)?")
CPU_DEFAULT_CAP = 4 * 2**30
CPU_FALLBACK_MEMORY = 16 * 2**30  # the machine's memory where the system does not say


def check_device(device: object) -> str:
    """``device`` if it is spelled as one of ``DEVICES``; ``ValueError`` with one line otherwise."""
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise ValueError(f"device must be {DEVICES}; got {device!r}")
    return device


@dataclass(frozen=True)
class Device:
    """A resolved device: the torch device string (``"cpu"``, ``"cuda:0"``), its type and a readable name."""

    device: str
    device_type: str
    device_name: str


def resolve_device(device: str) -> tuple[str, str]:
    """``(torch device string, device type)``; ``"auto"`` is CUDA when available, else CPU."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for but CUDA is not available here; use --device cpu or auto")
        index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r} does not exist (this machine has {torch.cuda.device_count()} GPUs)")
        return f"cuda:{index}", "cuda"
    return "cpu", "cpu"


def resolve(device: str) -> Device:
    """``resolve_device`` with the device's name."""
    dev, dtype = resolve_device(device)
    return Device(dev, dtype, device_name(dev))


def cpu_name() -> str:
    """CPU model and the number of threads torch uses, e.g. ``"Intel(R) Xeon(R) … (2 threads)"``."""
    import torch

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        import platform

        model = platform.processor() or model
    return f"{model} ({torch.get_num_threads()} threads)"


def device_name(device: str) -> str:
    """The GPU's name for ``cuda:N``, else ``cpu_name()``."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return cpu_name()


def format_bytes(nbytes: int) -> str:
    """A size in words, e.g. ``"1.5 GiB"`` (powers of 1024)."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}"
    return f"{nbytes} B"


def _cgroup_limit() -> int | None:
    """The memory limit of this process's container (cgroup v2 or v1), if any."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit():
            return int(text)
    return None


def machine_memory(device: str) -> int:
    """Bytes the device has: the GPU's total memory for ``cuda:N``; on the CPU the physical memory, or the
    container's limit when that is smaller (``CPU_FALLBACK_MEMORY`` where neither can be read)."""
    import torch

    if device.startswith("cuda"):
        return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = CPU_FALLBACK_MEMORY
    limit = _cgroup_limit()
    return int(min(total, limit) if limit else total)


def default_budget(device: str) -> int:
    """Default ``max_memory``: 80 % of the GPU's memory, or a quarter of the machine's memory capped at
    ``CPU_DEFAULT_CAP`` (4 GiB) on the CPU."""
    total = machine_memory(device)
    if device.startswith("cuda"):
        return int(0.8 * total)
    return int(min(CPU_DEFAULT_CAP, total // 4))


def check_budget(budget: int, device: str) -> int:
    """``budget`` (bytes) if the device has that much memory (``machine_memory``); ``ValueError`` in one
    line naming both otherwise — before anything is allocated."""
    have = machine_memory(device)
    if budget > have:
        raise ValueError(f"max_memory={format_bytes(budget)} is more than this machine has ({format_bytes(have)} on "
                         f"{device}); lower --max-memory")
    return budget


__all__ = ["CPU_DEFAULT_CAP", "CPU_FALLBACK_MEMORY", "DEVICES", "DTYPES", "DType", "Device", "check_budget", "check_device",
           "cpu_name", "default_budget", "device_name", "format_bytes", "machine_memory", "resolve", "resolve_device"]
