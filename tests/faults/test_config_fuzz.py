"""A property-based fuzz of the config loader (issue 9 item 7): any file given as a sweep, a ``run --config``
or a [ZG] config ends in exit 2 with one line, or in jobs that are ready to run — never a traceback, never
more than ``CASE_SECONDS`` or ``CASE_BYTES`` (``tracemalloc``'s peak, which sees Python objects and numpy
buffers) per case. The files are YAML or JSON documents built from the config fields, free text, bytes,
and the known troublemakers (anchors and aliases, duplicate keys, deep nesting, huge numbers)."""

from __future__ import annotations

import io
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import SimConfig, ZGConfig
from sim.cli import PROG, jobs
from sim.drivers import plan_jobs, seed_jobs
from sim.exits import EXIT_BAD_INPUT, run_command
from sim.fields import field_names, read_mapping

CASE_SECONDS = 2.0
CASE_BYTES = 500 * 2**20

NAMES = sorted({*field_names(SimConfig), *field_names(ZGConfig), "base", "grid", "cases", "seeds", "kind", "bogus"})
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.integers(10**15, 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["x1", "x1 + x1*x2", "x1*x2*x3", "relu", "tanh", "relu[2:]", "cpu", "cuda", "auto", "1TB",
                     "2GB", "1e999", "float64", "none", "exact", "population", "fresh", "x1000000"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(NAMES), inner, max_size=4)), max_leaves=10)
DOCS = st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=6)), VALUES, max_size=6)
TROUBLE = st.sampled_from([
    "a: &x [1, 2]\nb: *x\n", "d: 16\nd: 32\n", "base: {p: 8}\nbase: {p: 16}\n", "grid: " + "[" * 50 + "]" * 50,
    "seeds: 1000000000\n", "seeds: " + "9" * 400 + "\n", "<<: {d: 16}\n", "? [1, 2]\n: 3\n", "\x00\x01\x02",
    "grid: {d: [16, 32], p: [8, 16], steps: [1, 2]}\ncases: [{}, {noise: 0.1}]\nseeds: [0, 1]\n",
    "base: {target: x1, d: 16, p: 8}\nseeds: 3\n", "!!python/object/apply:os.system ['true']\n",
])
FILES = st.one_of(
    DOCS.map(lambda d: ("f.yaml", yaml.safe_dump(d).encode())),
    DOCS.map(lambda d: ("f.json", json.dumps(d).encode())),
    st.lists(TROUBLE, min_size=1, max_size=3).map(lambda parts: ("f.yaml", "".join(parts).encode())),
    st.text(max_size=200).map(lambda t: ("f.yaml", t.encode())),
    st.binary(max_size=100).map(lambda b: ("f.yaml", b)),
)


def _zhou_ge(path: str) -> list:
    return seed_jobs(ZGConfig.from_dict(read_mapping(path)), 0, 1)


def _status(read: Callable[[], list]) -> tuple[int, str]:
    """The exit status and stderr of a command line that reads the jobs with ``read`` and plans them."""

    def command() -> int:
        plan_jobs(read())
        return 0

    err = io.StringIO()
    with redirect_stderr(err):
        status = run_command(PROG, command)
    return status, err.getvalue()


@given(FILES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_config_files_exit_2_or_give_jobs(file: tuple[str, bytes]) -> None:
    name, content = file
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / name)
        Path(path).write_bytes(content)
        for read in (lambda: jobs(["sweep", path]), lambda: jobs(["run", "--config", path]), lambda: _zhou_ge(path)):
            tracemalloc.start()
            start = time.perf_counter()
            try:
                status, err = _status(read)
            finally:
                elapsed = time.perf_counter() - start
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
            assert status in (0, EXIT_BAD_INPUT), (content[:200], err)
            assert "Traceback" not in err and err.count("\n") == (status == EXIT_BAD_INPUT), err
            assert elapsed < CASE_SECONDS, (content[:200], elapsed)
            assert peak < CASE_BYTES, (content[:200], peak)
