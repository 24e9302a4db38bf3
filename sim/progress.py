"""Progress over a list of runs: an ETA weighted by each run's estimated cost, and a plain line-per-event mode
when the output is not a terminal.

A run's cost is its plan's estimated time (``plan.seconds``: the floating-point work of its steps and
readouts, THEORY §3.3's reduced coordinates where that engine runs — the one model of a run's size, also
checked against ``--max-seconds``) with a run's measured fixed cost (``sim.estimates.eta_weight``). Runs served from the
store cost nothing and are left out of the total, so the ETA is the remaining cost at the rate measured on
the runs simulated so far — not the count of runs left at the mean time per run, which a quick profile of
many cheap stored runs and a few expensive new ones got wrong by a factor of 25.

On a terminal (``stream.isatty()``) the bar is tqdm's, over the cost, with ``done/total runs`` beside it;
elsewhere (a log file, a pipe, CI) :class:`RunProgress` writes one plain line per finished run and no escape
codes, and ``interactive`` tells ``sim.drivers.run_many`` to leave the per-run bars off.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

def interactive(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default ``sys.stderr``) is a terminal, where bars redraw in place."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def phase(engine: Any, text: str) -> None:
    """Label the progress bar of a long single run with its phase (``"step 2/3"``, ``"readout after step 2"``):
    the engine's bar (``engine.bar``, tqdm, or ``None`` without progress) shows it beside the block count."""
    bar = getattr(engine, "bar", None)
    if bar is not None:
        bar.set_postfix_str(text)


def _duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 10 s"``, ``"1 h 05 min"``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class RunProgress:
    """Progress over the runs of one command: a cost-weighted tqdm bar on a terminal, one plain line per
    finished run elsewhere, nothing when disabled.

    Parameters
    ----------
    costs : sequence of float
        Each job's :func:`estimated_cost`.
    stored : sequence of bool
        Which jobs the store serves (they cost nothing).
    names : sequence of str
        Each job in words (``sim.drivers.job_name``), for the plain lines.
    enabled : bool
        ``False``: no output at all.
    stream : file, optional
        Where to write (default ``sys.stderr``).
    desc : str
        The bar's and the lines' prefix.
    """

    def __init__(self, costs: Sequence[float], stored: Sequence[bool], names: Sequence[str], enabled: bool = True,
                 stream: TextIO | None = None, desc: str = "runs") -> None:
        self.costs, self.names, self.desc = list(costs), list(names), desc
        self.todo = [i for i, have in enumerate(stored) if not have]
        self.total_cost = sum(self.costs[i] for i in self.todo) or 1.0
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.plain = enabled and not interactive(self.stream)
        self.finished = 0
        self.done_cost = 0.0
        self.start = time.perf_counter()
        self.bar = None
        if enabled and not self.plain:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total_cost, delay=2.0, dynamic_ncols=True, desc=self._count(), file=self.stream,
                            bar_format="{desc}: {percentage:3.0f}% of the work|{bar}| [{elapsed}<{remaining}]")
        elif self.plain:
            served = len(self.costs) - len(self.todo)
            self._line(f"{served} of {len(self.costs)} from the store, {len(self.todo)} to run")

    def _count(self) -> str:
        return f"{self.desc} {self.finished}/{len(self.todo)}"

    def _line(self, text: str) -> None:
        self.stream.write(f"{self.desc}: {text}\n")
        self.stream.flush()

    def eta(self) -> float | None:
        """Seconds left: the remaining estimated cost at the rate of the runs simulated so far (``None`` before
        the first)."""
        if self.done_cost <= 0:
            return None
        elapsed = time.perf_counter() - self.start
        return elapsed / self.done_cost * max(0.0, self.total_cost - self.done_cost)

    def update(self, i: int, cached: bool, seconds: float | None = None) -> None:
        """Job ``i`` finished (``cached``: served from the store; ``seconds``: how long it ran)."""
        if not self.enabled or cached:
            return
        self.finished += 1
        self.done_cost += self.costs[i]
        if self.bar is not None:
            self.bar.set_description_str(self._count(), refresh=False)
            self.bar.update(self.costs[i])
            return
        took = "" if seconds is None else f" in {seconds:.1f} s"
        left = self.eta()
        tail = "" if left is None or self.finished == len(self.todo) else f", about {_duration(left)} left"
        self._line(f"[{self.finished}/{len(self.todo)}] {self.names[i]} done{took}; "
                   f"{100 * self.done_cost / self.total_cost:.0f} % of the estimated work{tail}")

    def close(self) -> None:
        """Close the bar (or write the last plain line)."""
        if self.bar is not None:
            self.bar.close()
        elif self.plain and self.todo:
            self._line(f"{self.finished} of {len(self.todo)} runs simulated in "
                       f"{_duration(time.perf_counter() - self.start)}")


__all__ = ["RunProgress", "interactive", "phase"]
