"""A time limit on a claim's own code: ``predict()`` or ``evaluate()`` that never returns
must not hang the whole verification.

:func:`time_limit` arms a real-time timer (``signal.setitimer``) around a call; when it fires,
:class:`ClaimTimeout` is raised inside the claim's code, which ``verify.runner`` reports as that claim being
INCONCLUSIVE while the other claims go on. ``ClaimTimeout`` is a ``BaseException``, so a claim's own
``except Exception`` cannot swallow it. The limit needs the main thread and a platform with
``setitimer``; elsewhere the call runs without one. ``CLAIM_TIMEOUT`` is the default of
``python -m verify --claim-timeout``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from theory.validate import Interval, check_scalar

CLAIM_TIMEOUT = 600.0  # seconds for one claim's predict() and, separately, its evaluate()
TIMEOUT = Interval(float, 0, None, closed="neither", what="seconds")


class ClaimTimeout(BaseException):
    """A claim's ``predict()`` or ``evaluate()`` ran past its time limit."""


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Run the block with a limit of ``seconds`` (``None``: none); past it :class:`ClaimTimeout` is raised
    in the block, naming ``what`` (e.g. ``"predict() of claim X"``)."""
    if seconds is None:
        yield
        return
    seconds = check_scalar(seconds, "--claim-timeout", TIMEOUT)
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    armed = [True]

    def expire(signum: int, frame: object) -> None:
        if armed[0]:
            armed[0] = False
            raise ClaimTimeout(f"{what} did not return within --claim-timeout {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


__all__ = ["CLAIM_TIMEOUT", "ClaimTimeout", "time_limit"]
