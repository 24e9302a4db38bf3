"""Both engines implement the one protocol ``Target`` delegates to (issue 10 item 8; THEORY.md §2)."""

from __future__ import annotations

import inspect

import pytest

from theory import Target
from theory.engine import Engine
from theory.exact import ExactEngine
from theory.numeric import NumericEngine

PROTOCOL = sorted(name for name in vars(Engine) if not name.startswith("_") and name != "r")


@pytest.mark.parametrize("cls", [ExactEngine, NumericEngine])
def test_engines_have_every_protocol_member_with_the_same_signature(cls: type) -> None:
    for name in PROTOCOL:
        assert hasattr(cls, name), (cls.__name__, name)
        proto = getattr(Engine, name)
        if inspect.isfunction(proto):
            assert list(inspect.signature(getattr(cls, name)).parameters) == list(inspect.signature(proto).parameters)


@pytest.mark.parametrize("text, method, exact", [("x1 + x1*x2", "auto", True), ("x1 + x1*x2", "numeric", False),
                                                  ("tanh(x1) + x2", "auto", False)])
def test_target_picks_one_engine_and_caches_once(text: str, method: str, exact: bool) -> None:
    g = Target.parse(text, method=method)
    assert g.engine.exact is exact and g.engine is g.engine
    first = g.staircase()
    assert g.staircase() is first and g.norm2() == g.norm2()
    assert g.staircase(activation="relu") is g.staircase(activation="relu")
