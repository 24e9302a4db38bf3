"""The shape of ``sim`` (issue 10): no import cycle, a store and key module that know no simulation kind,
one registry that knows them all, modules a reader can hold in mind."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted((ROOT / "sim").rglob("*.py")):
        parts = f.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement of the file, also inside functions."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


MODULES = _modules()
# edges between modules; a module's own package (its __init__, which re-exports) is not a dependency
GRAPH = {m: {t for t in _imports(f) if t in MODULES and t != m and not m.startswith(t + ".")}
         for m, f in MODULES.items()}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for t in GRAPH[todo.pop()] - seen:
            seen.add(t)
            todo.append(t)
    return seen


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_cycle(module: str) -> None:
    """No module reaches itself through the imports of ``sim``."""
    assert module not in _reachable(module)


@pytest.mark.parametrize("module", ["sim.keys", "sim.store", "sim.data", "sim.device", "sim.fields"])
def test_low_modules_know_no_kind(module: str) -> None:
    kinds = {m for m in _reachable(module) if m.startswith(("sim.giant_step", "sim.zhou_ge", "sim.kinds"))}
    assert not kinds, f"{module} reaches {sorted(kinds)}"


def test_kinds_are_dispatched_by_the_registry_only() -> None:
    """Outside the kinds' own packages and the command line that registers their subcommands, only
    ``sim.kinds`` imports a kind."""
    allowed = {"sim", "sim.kinds", "sim.cli"}
    for m, targets in GRAPH.items():
        if m in allowed or m.startswith(("sim.giant_step", "sim.zhou_ge")):
            continue
        kinds = {t for t in targets if t.startswith(("sim.giant_step", "sim.zhou_ge"))}
        assert not kinds, f"{m} imports {sorted(kinds)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"
