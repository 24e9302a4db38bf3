"""The shape of the whole suite (issue 10): data flow theory → sim → verify, no import cycle anywhere
(every import statement counts, also those inside functions), modules a reader can hold in mind, and a
``theory`` that imports no torch when it is imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "sim", "verify")
MAX_LINES = 450  # the limit of ../shared/tools/import_graph_check.py; the team aims at 400


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = f.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


MODULES = _modules()


def _package_of(module: str, cur: str, level: int) -> str:
    """The absolute name of a relative import's base."""
    parts = cur.split(".")
    if not MODULES[cur].name == "__init__.py":
        parts = parts[:-1]
    return ".".join(parts[: len(parts) - (level - 1)] + ([module] if module else []))


def _imports(name: str, path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _package_of(node.module or "", name, node.level) if node.level else (node.module or "")
            out |= {base} | {f"{base}.{a.name}" for a in node.names}
    return {t for t in out if t in MODULES}


# a module's own package (its __init__, which re-exports it) is not a dependency of the module
GRAPH = {m: {t for t in _imports(m, f) if t != m and not m.startswith(t + ".")} for m, f in MODULES.items()}


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for t in GRAPH[todo.pop()] - seen:
            seen.add(t)
            todo.append(t)
    return seen


def test_the_walk_sees_every_package() -> None:
    assert {m.split(".")[0] for m in MODULES} == set(PACKAGES) and len(MODULES) > 30


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_cycle(module: str) -> None:
    assert module not in _reachable(module), f"{module} imports itself through {sorted(_reachable(module))}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_data_flows_theory_to_sim_to_verify(module: str) -> None:
    rank = {pkg: i for i, pkg in enumerate(PACKAGES)}
    own = rank[module.split(".")[0]]
    upstream = sorted(t for t in GRAPH[module] if rank[t.split(".")[0]] > own)
    assert not upstream, f"{module} imports {upstream}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def test_theory_imports_no_torch_at_import_time() -> None:
    code = "import sys, theory, theory.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
