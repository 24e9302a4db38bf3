"""Validation as data: parameter constraints and the one helper that checks them (THEORY.md §1 conventions).

In the spirit of scikit-learn's ``check_scalar`` and parameter-constraint tables: a constraint is a small
frozen object that can check a value *and* describe itself, so the bound stated in an error message is the
bound that was checked, never a copy typed into the text.

>>> check_scalar(3, "d", Interval(int, 1, None))
3
>>> check_scalar(0.0, "lr", Interval(float, 0, None, closed="neither"))
Traceback (most recent call last):
...
ValueError: lr must be a finite number > 0; got 0.0
>>> check_scalar("cpu", "device", Options(("cpu", "cuda")))
'cpu'

Every package (``theory``, ``sim``, ``verify``) validates through :func:`check_scalar` /
:func:`check_params`; this module imports nothing but the standard library.
"""

from __future__ import annotations

import argparse
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Closed(StrEnum):
    """Which ends of an :class:`Interval` belong to it."""

    BOTH = "both"
    LEFT = "left"
    RIGHT = "right"
    NEITHER = "neither"

    @property
    def low_in(self) -> bool:
        return self in (Closed.BOTH, Closed.LEFT)

    @property
    def high_in(self) -> bool:
        return self in (Closed.BOTH, Closed.RIGHT)


@dataclass(frozen=True)
class Interval:
    """Numbers of ``type`` (``int`` or ``float``) between ``low`` and ``high`` (``None``: unbounded).

    ``closed`` says which ends belong to the interval (``"both"``, ``"left"``, ``"right"``, ``"neither"``).
    ``what`` is an optional meaning appended to the message, e.g. ``"the label-noise variance Δ"``.
    Integers are accepted for float intervals; floats with an integer value for int intervals; numeric
    strings (as YAML gives ``1e-3``) for float intervals. Booleans are never numbers here.
    """

    type: type
    low: float | None = None
    high: float | None = None
    closed: Closed = Closed.BOTH
    what: str = ""

    def __post_init__(self) -> None:
        if self.type not in (int, float):
            raise ValueError(f"Interval type must be int or float; got {self.type!r}")
        object.__setattr__(self, "closed", check_scalar(self.closed, "Interval closed", Options(tuple(Closed))))

    def describe(self, plural: bool = False) -> str:
        """The interval in words: ``"a finite number > 0 (α = n/d)"`` (``plural``: ``"finite numbers > 0 …"``)."""
        kind = ("integers" if plural else "an integer") if self.type is int else \
            ("finite numbers" if plural else "a finite number")
        lo_in, hi_in = self.closed.low_in, self.closed.high_in
        if self.low is not None and self.high is not None:
            text = f"{kind} in {'[' if lo_in else '('}{_num(self.low)}, {_num(self.high)}{']' if hi_in else ')'}"
        elif self.low is not None:
            text = f"{kind} {'≥' if lo_in else '>'} {_num(self.low)}"
        elif self.high is not None:
            text = f"{kind} {'≤' if hi_in else '<'} {_num(self.high)}"
        else:
            text = kind
        return f"{text} ({self.what})" if self.what else text

    def convert(self, value: object) -> int | float:
        """The value as ``int``/``float``; raises ``TypeError``/``ValueError`` when it is not one."""
        if isinstance(value, bool):
            raise TypeError("a boolean is not a number")
        if self.type is int:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError("not an integer")
                return int(value)
            return operator.index(value)  # type: ignore[arg-type]
        if isinstance(value, str):
            value = value.strip()
            if not value.isascii():  # float("৪") is 4.0 in Python: digits of other scripts are not numbers here
                raise ValueError("not ASCII")
        out = float(value)  # type: ignore[arg-type]
        if not math.isfinite(out):
            raise ValueError("not finite")
        return out

    def contains(self, x: float) -> bool:
        lo_in, hi_in = self.closed.low_in, self.closed.high_in
        if self.low is not None and (x < self.low or (x == self.low and not lo_in)):
            return False
        if self.high is not None and (x > self.high or (x == self.high and not hi_in)):
            return False
        return True


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (the members of a ``StrEnum``, as a rule); :meth:`convert` returns the
    option itself, so a string naming an enum member comes back as the member."""

    values: tuple[Any, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(str(v) for v in self.values)

    def convert(self, value: object) -> Any:
        if isinstance(value, str):
            value = value.strip()
        if value not in self.values:
            raise ValueError("not an option")
        return self.values[self.values.index(value)]

    def contains(self, x: object) -> bool:
        return True


@dataclass(frozen=True)
class Boolean:
    """``True`` or ``False`` (no truthy numbers or strings)."""

    def describe(self) -> str:
        return "true or false"

    def convert(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise TypeError("not a boolean")
        return value

    def contains(self, x: object) -> bool:
        return True


Constraint = Interval | Options | Boolean


def check_scalar(value: object, name: str, constraint: Constraint, *, allow_none: bool = False) -> Any:
    """``value`` converted and checked against ``constraint``; ``ValueError`` with one line otherwise.

    Parameters
    ----------
    value
        What the user gave.
    name
        The parameter's name as the user knows it (a config field, a flag without dashes).
    constraint
        An :class:`Interval`, :class:`Options` or :class:`Boolean`.
    allow_none
        Accept ``None`` (returned as is), e.g. for "default" fields.

    Returns
    -------
    The converted value (``int``, ``float``, the option, ``bool``) or ``None``.
    """
    if value is None and allow_none:
        return None
    try:
        out = constraint.convert(value)
    except (TypeError, ValueError, OverflowError):
        out = None
        ok = False
    else:
        ok = constraint.contains(out)
    if not ok:
        extra = " or none" if allow_none else ""
        raise ValueError(f"{name} must be {constraint.describe()}{extra}; got {value!r}")
    return out


def check_array(value: Any, name: str, constraint: Interval) -> Any:
    """``value`` as a float numpy array whose every entry is finite and in ``constraint``; ``ValueError`` with one
    line otherwise.

    >>> check_array([0.5, 0.0], "alpha", Interval(float, 0, None, closed="neither"))
    Traceback (most recent call last):
    ...
    ValueError: alpha must be finite numbers > 0; got [0.5, 0.0]
    """
    import numpy as np  # here, so that importing this module needs only the standard library

    arr = np.asarray(value, dtype=float)
    ok = np.isfinite(arr)
    if constraint.low is not None:
        ok &= arr >= constraint.low if constraint.closed.low_in else arr > constraint.low
    if constraint.high is not None:
        ok &= arr <= constraint.high if constraint.closed.high_in else arr < constraint.high
    if not np.all(ok):
        raise ValueError(f"{name} must be {constraint.describe(plural=True)}; got {value!r}")
    return arr


def check_params(values: Mapping[str, Any], constraints: Mapping[str, Constraint],
                 optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """``{name: check_scalar(values[name], name, constraint)}`` for every constrained name present in
    ``values`` (``optional`` names may be ``None``); names without a constraint are passed through."""
    out = dict(values)
    for name, constraint in constraints.items():
        if name in out:
            out[name] = check_scalar(out[name], name, constraint, allow_none=name in optional)
    return out


class AsciiNumbers:
    """``argparse`` parser mixin: a flag with a ``type`` (``int``, ``float``, a converter, not ``str``) reads
    ASCII only — Python's ``int("৪")`` is 4 and ``float("４")`` is 4.0, a silent wrong answer; such a value is refused
    like any invalid one (the parser's ``error``: one line)."""

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        if action.type not in (None, str) and not arg_string.isascii():
            name = getattr(action.type, "__name__", "")
            raise argparse.ArgumentError(action, f"invalid {name} value: {arg_string!r} (numbers are written with "
                                                 "the ASCII digits 0-9)")
        return super()._get_value(action, arg_string)  # type: ignore[misc]


def _num(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


__all__ = ["AsciiNumbers", "Boolean", "Closed", "Constraint", "Interval", "Options", "check_array", "check_params",
           "check_scalar"]
