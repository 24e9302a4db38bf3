"""Safe parsing of target and activation strings (THEORY.md §1).

A user string is tokenised and parsed by a small recursive-descent parser that
builds a sympy expression from constructors (``Integer``, ``Rational``,
``Symbol``, ``Add``, ``Mul``, ``Pow`` and the registered activation functions).
Nothing is ever passed to ``eval``, ``exec`` or ``sympy.sympify``.

Grammar::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("**" | "^") unary)?
    atom   := NUMBER | VARIABLE | NAME "(" expr ")" | "(" expr ")"

``VARIABLE`` is ``x1, x2, …`` for targets (or the single name ``u`` for
activations); ``NAME`` is a registered activation (``relu``, ``tanh``, ``He3``,
…). Exponents must be non-negative integer constants; divisors must be
non-zero constants. Decimal numbers are read exactly (``0.1`` is ``1/10``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sympy

MAX_LENGTH = 10_000
MAX_DEPTH = 200
MAX_EXPONENT = 64

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>\*\*|[-+*/^()])
  | (?P<bad>.)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; other characters become ``bad`` tokens, refused when the parser reaches them."""
    if not isinstance(text, str):
        raise ValueError(f"expected a string expression, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m is not None  # the "bad" group matches any character
        kind = m.lastgroup
        assert kind is not None
        if kind != "space":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive-descent parser over a token list (see the module grammar)."""

    def __init__(
        self,
        text: str,
        resolve_variable: Callable[[str], sympy.Symbol | None],
        functions: dict[str, Callable[[sympy.Expr], sympy.Expr]],
        allowed_hint: str,
    ) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.resolve_variable = resolve_variable
        self.functions = functions
        self.allowed_hint = allowed_hint

    # -- helpers -----------------------------------------------------------
    def peek(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind == "bad":
            self.take()  # raises
        return tok

    def take(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind == "bad":
            raise ValueError(
                f"unexpected character {tok.text!r} at position {tok.pos}: "
                "use numbers, variables, + - * / ** ( ) and activation names only"
            )
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            found = "end of input" if tok.kind == "end" else repr(tok.text)
            raise ValueError(f"expected {text!r} at position {tok.pos}, found {found}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ValueError(f"expression is nested deeper than {MAX_DEPTH} levels")

    # -- grammar -------------------------------------------------------------
    def parse(self) -> sympy.Expr:
        if self.peek().kind == "end":
            raise ValueError("empty expression")
        expr = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise ValueError(f"unexpected {tok.text!r} at position {tok.pos}")
        return expr

    def expr(self) -> sympy.Expr:
        self.enter()
        terms = [self.term()]
        while self.peek().text in ("+", "-"):
            sign = self.take().text
            t = self.term()
            terms.append(t if sign == "+" else -t)
        self.depth -= 1
        return sympy.Add(*terms)

    def term(self) -> sympy.Expr:
        factors = [self.unary()]
        while self.peek().text in ("*", "/"):
            op = self.take()
            f = self.unary()
            if op.text == "/":
                if f.free_symbols or not f.is_number:
                    raise ValueError(
                        f"division by a non-constant at position {op.pos}: "
                        "targets must be polynomials or registered activations of them"
                    )
                if f == 0:
                    raise ValueError(f"division by zero at position {op.pos}")
                f = sympy.Pow(f, -1)
            factors.append(f)
        return sympy.Mul(*factors)

    def unary(self) -> sympy.Expr:
        self.enter()
        if self.peek().text in ("+", "-"):
            sign = self.take().text
            inner = self.unary()
            self.depth -= 1
            return inner if sign == "+" else -inner
        out = self.power()
        self.depth -= 1
        return out

    def power(self) -> sympy.Expr:
        base = self.atom()
        if self.peek().text in ("**", "^"):
            op = self.take()
            exponent = self.unary()
            if not (exponent.is_Integer and 0 <= int(exponent) <= MAX_EXPONENT):
                raise ValueError(
                    f"exponent {exponent} at position {op.pos} must be an integer "
                    f"constant between 0 and {MAX_EXPONENT}"
                )
            return sympy.Pow(base, exponent)
        return base

    def atom(self) -> sympy.Expr:
        tok = self.take()
        if tok.kind == "number":
            return sympy.Rational(tok.text)
        if tok.text == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if tok.kind == "name":
            var = self.resolve_variable(tok.text)
            if var is not None:
                return var
            if tok.text in self.functions:
                self.expect("(")
                arg = self.expr()
                self.expect(")")
                return self.functions[tok.text](arg)
            raise ValueError(f"unknown name {tok.text!r} at position {tok.pos}: {self.allowed_hint}")
        if tok.kind == "end":
            raise ValueError("expression ends too early: an operand is missing")
        raise ValueError(f"unexpected {tok.text!r} at position {tok.pos}")


X_NAME = re.compile(r"x([1-9][0-9]*)")


def target_variable(name: str) -> sympy.Symbol | None:
    """``x1, x2, …`` → real sympy Symbol; anything else → None. ``x0`` is refused."""
    m = X_NAME.fullmatch(name)
    if m is None:
        if re.fullmatch(r"x0+|x0[0-9]+", name):
            raise ValueError(f"variables are numbered from 1 (x1, x2, …), got {name!r}")
        return None
    return sympy.Symbol(name, real=True)


def parse_expression(
    text: str,
    resolve_variable: Callable[[str], sympy.Symbol | None],
    functions: dict[str, Callable[[sympy.Expr], sympy.Expr]],
    allowed_hint: str,
) -> sympy.Expr:
    """Parse ``text`` with the given variable resolver and function table."""
    return _Parser(text, resolve_variable, functions, allowed_hint).parse()
