"""The time a command's runs are expected to take, checked before any compute.

Each kind's plan carries its run's estimated time (``plan.seconds``: ``sim.giant_step.plan.time_estimate``,
``sim.zhou_ge.plan.time_estimate``, an upper estimate from the floating-point work, :func:`seconds_for`). :func:`check_seconds`
refuses, in one line, a run estimated to take longer than ``--max-seconds`` (default ``MAX_SECONDS``, a day);
:func:`note_estimate` says how long the runs still to compute should take when that is more than
``NOTE_SECONDS``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from theory.validate import Interval, check_scalar

MAX_SECONDS = 86_400.0  # the default --max-seconds of the command lines
NOTE_SECONDS = 60.0  # the estimated time of the runs to compute is said above this
SECONDS = Interval(float, 0, None, closed="neither", what="a time budget per run in seconds")
FLOPS = {"cpu": 2e10, "cuda": 2e12}  # floating-point operations per second a run is assumed to reach
RUN_OVERHEAD_S = 1.0  # imports, plan, allocation of one run: an upper bound, for --max-seconds
RUN_FIXED_S = 0.05  # what a run costs beyond its work, measured (a quick T1-curve run takes 0.03 s in all)


def seconds_for(work: float, device_type: str) -> float:
    """The estimated seconds of a run doing ``work`` floating-point operations on ``device_type`` (``FLOPS``,
    the CPU's for an unknown type), plus ``RUN_OVERHEAD_S``."""
    return RUN_OVERHEAD_S + work / FLOPS.get(device_type, FLOPS["cpu"])


def eta_weight(seconds: float) -> float:
    """A run's weight in a progress ETA, from its estimated ``seconds``: the work's share with the measured
    fixed cost ``RUN_FIXED_S`` in place of the upper bound ``RUN_OVERHEAD_S`` (with that bound, a ladder of
    small runs followed by large ones was estimated at 25 s for 11 minutes of work)."""
    return max(seconds - RUN_OVERHEAD_S, 0.0) + RUN_FIXED_S


def duration(seconds: float) -> str:
    """``seconds`` in words: ``"45 s"``, ``"12 min"``, ``"3.2 h"``, ``"1.7e+03 days"``."""
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= (size if unit == "days" else 2 * size):
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.0f} s"


def check_seconds(job: str, plan: Any, max_seconds: float | None) -> None:
    """Refuse (``ValueError``, one line) the run ``job`` when its plan's estimated time passes ``max_seconds``
    (``None``: no limit)."""
    if max_seconds is None:
        return
    check_scalar(max_seconds, "--max-seconds", SECONDS)
    seconds = getattr(plan, "seconds", 0.0)
    if seconds > max_seconds:
        raise ValueError(f"run {job} is estimated to take {duration(seconds)} on {plan.device_type}, more than "
                         f"--max-seconds {max_seconds:g}; make it smaller (fewer steps, samples, neurons or "
                         "dimensions) or raise --max-seconds")


def note_estimate(plans: Sequence[Any], todo: Sequence[bool]) -> None:
    """Say on stderr how long the runs still to compute (``todo``) are estimated to take, when more than
    ``NOTE_SECONDS``."""
    total = sum(getattr(plan, "seconds", 0.0) for plan, run in zip(plans, todo) if run)
    if total > NOTE_SECONDS:
        count = sum(1 for run in todo if run)
        sys.stderr.write(f"estimated time of the {count} run{'s' if count != 1 else ''} to compute: at most about "
                         f"{duration(total)} (finished runs are stored as they end)\n")


__all__ = ["FLOPS", "MAX_SECONDS", "NOTE_SECONDS", "RUN_FIXED_S", "RUN_OVERHEAD_S", "check_seconds", "duration", "eta_weight", "note_estimate",
           "seconds_for"]
