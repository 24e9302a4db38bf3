"""Vectorised evaluation of a parsed expression with numpy or torch.

A small tree walk over the sympy expression built by ``theory.parse`` (``Add``,
``Mul``, ``Pow`` with integer exponent, numbers, the variables ``x1..xr`` and
registered activations). Nothing is printed to source code and evaluated, so
no user text ever reaches ``eval``/``lambdify``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy

from theory.activations import activation
from theory.registry import Backend
from theory.validate import Options, check_scalar


def compile_expression(expr: sympy.Expr, variables: list[sympy.Symbol], backend: Backend) -> Callable:
    """``X (n, r) ↦ expr(X) (n,)`` with the array library ``backend`` (``"numpy"`` or ``"torch"``)."""
    backend = check_scalar(backend, "backend", Options(tuple(Backend)))
    index = {v: i for i, v in enumerate(variables)}
    funcs: dict[str, Callable] = {}
    for f in expr.atoms(sympy.Function):
        name = f.func.__name__
        act = activation(name)
        funcs[name] = act.numpy() if backend is Backend.NUMPY else act.torch_pair()[0]

    def walk(e: sympy.Expr, X: object) -> object:
        if e.is_Symbol:
            return X[:, index[e]]
        if e.is_Number:
            return float(e)
        if e.is_Add:
            out = walk(e.args[0], X)
            for a in e.args[1:]:
                out = out + walk(a, X)
            return out
        if e.is_Mul:
            out = walk(e.args[0], X)
            for a in e.args[1:]:
                out = out * walk(a, X)
            return out
        if e.is_Pow and e.exp.is_Integer:
            return walk(e.base, X) ** int(e.exp)
        if isinstance(e, sympy.Function) and e.func.__name__ in funcs:
            return funcs[e.func.__name__](walk(e.args[0], X))
        if e.is_number:
            return float(e)
        raise ValueError(f"cannot evaluate sub-expression {e}")

    def fn(X: object) -> object:
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow gives inf/nan, which callers check
            out = walk(expr, X)
        if isinstance(out, float):  # constant target
            return X[:, 0] * 0 + out
        return out

    return fn
