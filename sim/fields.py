"""Config fields as data: validation, mappings and files, command-line flags (shared by every kind's config).

A config class (``SimConfig``, ``ZGConfig``) is a frozen dataclass that declares, next to its fields,

* ``CONSTRAINTS``: field → ``theory.validate`` constraint (``Interval``, ``Options``, ``Boolean``), checked
  by ``theory.validate.check_params``, which also writes the one-line message from the bound it checked;
* parsers: field → ``parse(cfg, value)`` for values no single constraint describes (a target string, a
  list of numbers, a memory size), returning the converted value or raising ``ValueError`` in one line;
* rules: ``Rule(holds, message)`` for what involves several fields (``d ≥ r``, ``m ≥ m*``), each
  condition and its message written once.

``validate`` runs the three on a config in its ``__post_init__`` (before any compute). The same tables
give the command-line flags (``add_config_flags``): an integer interval is an ``int`` flag, options are
``choices``, a boolean is ``--x/--no-x``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Self

from theory.validate import Boolean, Constraint, Interval, Options, check_params

Parser = Callable[[Any, object], object]


@dataclass(frozen=True)
class Rule:
    """A condition on a config (usually on several fields) and the one-line message when it fails."""

    holds: Callable[[Any], bool]
    message: Callable[[Any], str]


@dataclass(frozen=True)
class Range(Interval):
    """An ``Interval`` whose message names the values by ``noun`` instead of "a finite number"
    (``noun="a fraction"``: "holdout must be a fraction in (0, 1)"; ``noun=""``: "must be in (0, 1)")."""

    noun: str = ""

    def describe(self) -> str:
        plain = super().describe()
        kind = "an integer" if self.type is int else "a finite number"
        return f"{self.noun}{plain[len(kind):]}".strip()


class Config:
    """What every config class (a frozen dataclass deriving from this) offers besides its fields and
    ``key_dict``: plain-JSON ``to_dict``, ``from_dict`` and a validated ``replace``."""

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON values (tuples as lists)."""
        values = {name: getattr(self, name) for name in field_names(type(self))}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a mapping; unknown keys are refused with the list of known ones."""
        return from_mapping(cls, data)

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def validate(cfg: Any, constraints: Mapping[str, Constraint], optional: tuple[str, ...] = (),
             parsers: Mapping[str, Parser] | None = None, rules: Iterable[Rule] = ()) -> None:
    """Check and convert the fields of the frozen dataclass ``cfg`` in place: ``constraints`` (``optional``
    ones may be ``None``), then ``parsers`` in their order, then ``rules``; the first failure raises
    ``ValueError`` with its one-line message."""
    values = check_params({name: getattr(cfg, name) for name in constraints}, constraints, optional)
    for name, value in values.items():
        object.__setattr__(cfg, name, value)
    for name, parse in (parsers or {}).items():
        object.__setattr__(cfg, name, parse(cfg, getattr(cfg, name)))
    for rule in rules:
        if not rule.holds(cfg):
            raise ValueError(rule.message(cfg))


def field_names(cls: type) -> tuple[str, ...]:
    """The init fields of a config dataclass, in declaration order."""
    return tuple(f.name for f in fields(cls) if f.init)


def from_mapping(cls: type, data: Mapping[str, Any]) -> Any:
    """``cls(**data)`` for a config dataclass, with ``-`` read as ``_`` in keys; a non-mapping or an
    unknown key is refused in one line naming the known fields (validation proper is ``cls``'s own)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"a config must be a mapping of field names to values; got {type(data).__name__}")
    names = field_names(cls)
    unknown = [k for k in data if k.replace("-", "_") not in names]
    if unknown:
        raise ValueError(f"unknown config field {unknown[0]!r}; known fields are {', '.join(names)}")
    return cls(**{k.replace("-", "_"): v for k, v in data.items()})


def read_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON file as a dict (JSON is YAML, so one reader serves both)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read config file {str(p)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"config file {str(p)!r} is not valid YAML/JSON: {first}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(p)!r} must hold a mapping of field names to values")
    return data


def add_config_flags(parser: argparse.ArgumentParser, cls: type, constraints: Mapping[str, Constraint],
                     lists: Mapping[str, tuple[str, ...]] | None = None,
                     help: Mapping[str, str] | None = None) -> None:  # noqa: A002 - argparse's word
    """Every init field of ``cls`` as a flag of the same name (``n_ridge`` → ``--n-ridge``), typed by its
    constraint (no constraint: a string). ``lists`` names the fields that take several numbers, each with
    its metavar and any alias flags (``{"ridge_lambdas": ("λ", "--ridge-lambda")}``). Flags that are not
    given are absent from the namespace (``config_overrides``)."""
    lists, help = lists or {}, help or {}
    for name in field_names(cls):
        flag = "--" + name.replace("_", "-")
        kw: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS, "help": help.get(name)}
        c = constraints.get(name)
        if name in lists:
            metavar, *aliases = lists[name]
            parser.add_argument(flag, *aliases, nargs="+", type=float, metavar=metavar, **kw)
        elif isinstance(c, Boolean):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif isinstance(c, Options):
            parser.add_argument(flag, choices=c.values, **kw)
        else:
            conv = c.type if isinstance(c, Interval) else str
            parser.add_argument(flag, type=conv, metavar=name.upper(), **kw)


def config_overrides(ns: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The config fields of ``cls`` given as flags (``add_config_flags``), as a dict."""
    return {k: getattr(ns, k) for k in field_names(cls) if hasattr(ns, k)}


__all__ = ["Config", "Range", "Rule", "add_config_flags", "config_overrides", "field_names", "from_mapping", "read_mapping",
           "validate"]
