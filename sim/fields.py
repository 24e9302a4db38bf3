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
``choices``, a boolean is ``--x/--no-x``. Config and sweep files are read by ``read_mapping``, within
limits (``MAX_CONFIG_BYTES``, ``MAX_CONFIG_DEPTH``, no YAML anchors or aliases, no duplicate keys).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, Self

from theory.validate import AsciiNumbers, Boolean, Constraint, Interval, Options, check_params

Parser = Callable[[Any, object], object]
MAX_CONFIG_BYTES = 2**20  # a config or sweep file: a few lines of YAML or JSON
MAX_CONFIG_DEPTH = 16  # lists and mappings nested in a config or sweep file


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
        """All fields as plain JSON values (tuples as lists, options — ``StrEnum`` members — as their text)."""
        values = {name: getattr(self, name) for name in field_names(type(self))}
        return {k: list(v) if isinstance(v, tuple) else str(v) if isinstance(v, StrEnum) else v
                for k, v in values.items()}

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
    odd = [k for k in data if not isinstance(k, str)]
    if odd:
        raise ValueError(f"config field names are words; got {odd[0]!r}; known fields are {', '.join(names)}")
    unknown = [k for k in data if k.replace("-", "_") not in names]
    if unknown:
        raise ValueError(f"unknown config field {unknown[0]!r}; known fields are {', '.join(names)}")
    return cls(**{k.replace("-", "_"): v for k, v in data.items()})


class _DuplicateKey(ValueError):
    """A JSON object names a key twice."""


def _no_duplicates(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """A JSON object as a dict; a key given twice is refused (JSON would keep the last silently)."""
    out: dict[Any, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"duplicate key {key!r}")
        out[key] = value
    return out


def _depth(value: object, limit: int) -> int:
    """The nesting depth of lists and mappings in ``value``, counted up to ``limit + 1``."""
    if limit < 0 or not isinstance(value, (dict, list)):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(v, limit - 1) for v in children), default=0)


def _odd_key(value: object) -> object | None:
    """The first mapping key in ``value`` (nested lists and mappings) that is not a string, else ``None``."""
    if isinstance(value, dict):
        odd = next((k for k in value if not isinstance(k, str)), None)
        if odd is not None:
            return odd
        children: Iterable[object] = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return None
    return next((k for k in map(_odd_key, children) if k is not None), None)


def _yaml_loader() -> type:
    """PyYAML's safe loader without anchors, aliases (an alias bomb expands a small file beyond any
    memory) or duplicate keys (YAML would keep the last silently)."""
    import yaml
    from yaml.composer import ComposerError
    from yaml.constructor import ConstructorError

    class ConfigLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise ComposerError(None, None, "anchors and aliases (& and *) are not allowed in a config file",
                                    event.start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            self.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, Hashable):
                    raise ConstructorError(None, None, "a mapping key must be a plain value", key_node.start_mark)
                if key in out:
                    raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                out[key] = self.construct_object(value_node, deep=deep)
            return out

    return ConfigLoader


def _yaml_problem(exc: Exception) -> str:
    """A PyYAML error in one line: the problem and where (``line L, column C``)."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem is None:
        return " ".join(str(exc).split()) or type(exc).__name__
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(problem)


def read_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON file (``.json``) as a dict.

    Refused in one line naming the file (``ValueError``): a file that cannot be read, is larger than
    ``MAX_CONFIG_BYTES``, is not text, is not valid YAML/JSON, holds anchors or aliases, a duplicate key, a
    key that is not a name, or lists and mappings nested deeper than ``MAX_CONFIG_DEPTH``, or is not a
    mapping. An empty file is ``{}``.
    """
    import yaml

    p = Path(path)
    where = f"config file {str(p)!r}"
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {where}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ValueError(f"{where} is larger than MAX_CONFIG_BYTES = {MAX_CONFIG_BYTES:,} bytes; a config is a few "
                         "lines of YAML or JSON")
    binary = raw.find(b"\0")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        binary = exc.start if binary < 0 else min(binary, exc.start)
    if binary >= 0:
        raise ValueError(f"{where} is not a text file (binary data at byte {binary}); give a YAML or JSON file")
    language = "JSON" if p.suffix == ".json" else "YAML"
    try:
        if language == "JSON":
            data = json.loads(text, object_pairs_hook=_no_duplicates) if text.strip() else None
        else:
            data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a safe loader with limits
    except yaml.YAMLError as exc:
        raise ValueError(f"{where} is not valid YAML: {_yaml_problem(exc)}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except _DuplicateKey as exc:
        raise ValueError(f"{where} is not valid JSON for a config: {exc}") from None
    except ValueError as exc:  # a value the loader cannot convert: an integer of too many digits, a bad date
        raise ValueError(f"{where} holds a value that cannot be converted ({str(exc).split(';')[0]})") from None
    except RecursionError:
        raise ValueError(f"{where} nests lists and mappings deeper than MAX_CONFIG_DEPTH = "
                         f"{MAX_CONFIG_DEPTH}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{where} must hold a mapping of field names to values; got {type(data).__name__}")
    if _depth(data, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH:
        raise ValueError(f"{where} nests lists and mappings deeper than MAX_CONFIG_DEPTH = {MAX_CONFIG_DEPTH}")
    odd = _odd_key(data)
    if odd is not None:
        raise ValueError(f"{where} has the key {odd!r}; the keys of a config file are field names")
    return data


class FlagParser(AsciiNumbers, argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors (an unknown flag, a bad choice, a missing value, a number in
    digits other than ASCII: ``theory.validate.AsciiNumbers``) are raised as ``ValueError`` with argparse's
    one-line message, so the command line reports them like every other bad input (``sim.drivers.run_command``:
    one line, exit 2) instead of printing the usage."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def add_config_flags(parser: argparse.ArgumentParser, cls: type, constraints: Mapping[str, Constraint],
                     lists: Mapping[str, tuple[str, ...]] | None = None,
                     help: Mapping[str, str] | None = None) -> None:  # noqa: A002 - argparse's word
    """Every init field of ``cls`` as a flag of the same name (``n_ridge`` → ``--n-ridge``), typed by its
    constraint (no constraint: a string). ``lists`` names the fields that take several numbers, each with
    its metavar and any alias flags (``{"ridge_lambdas": ("λ", "--ridge-lambda")}``). Flags that are not
    given are absent from the namespace (``config_overrides``); their help ends with the field's default
    (``--help``), which a ``None`` default leaves to the help text to explain."""
    lists, help = lists or {}, help or {}
    defaults = {f.name: f.default for f in fields(cls) if f.init}
    for name in field_names(cls):
        flag = "--" + name.replace("_", "-")
        kw: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS,
                              "help": _with_default(help.get(name), defaults.get(name, dataclasses.MISSING))}
        c = constraints.get(name)
        if name in lists:
            metavar, *aliases = lists[name]
            parser.add_argument(flag, *aliases, nargs="+", type=float, metavar=metavar, **kw)
        elif isinstance(c, Boolean):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif isinstance(c, Options):
            parser.add_argument(flag, choices=[str(v) for v in c.values], **kw)  # StrEnum members as their text
        else:
            conv = c.type if isinstance(c, Interval) else str
            parser.add_argument(flag, type=conv, metavar=name.upper(), **kw)


def _with_default(text: str | None, default: object) -> str | None:
    """``text (default: X)``: a list of numbers as its ends and length, ``None`` and a missing default unsaid."""
    if default is dataclasses.MISSING or default is None:
        return text
    if isinstance(default, bool):
        shown = "on" if default else "off"
    elif isinstance(default, (tuple, list)):
        shown = f"{default[0]:g} … {default[-1]:g} ({len(default)} values)" if len(default) > 3 else \
            " ".join(f"{v:g}" for v in default)
    else:
        shown = f"{default:g}" if isinstance(default, float) else str(default)
    return f"{text or ''} (default: {shown})".strip().replace("%", "%%")


def config_overrides(ns: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The config fields of ``cls`` given as flags (``add_config_flags``), as a dict."""
    return {k: getattr(ns, k) for k in field_names(cls) if hasattr(ns, k)}


__all__ = ["Config", "FlagParser", "MAX_CONFIG_BYTES", "MAX_CONFIG_DEPTH", "Range", "Rule", "add_config_flags",
           "config_overrides", "field_names", "from_mapping", "read_mapping", "validate"]
