"""Safe parsing of target and activation strings (THEORY.md §1).

A user string is tokenised and parsed by a small recursive-descent parser that
builds a sympy expression from constructors (``Integer``, ``Rational``,
``Symbol``, ``Add``, ``Mul``, ``Pow``, the Hermite polynomials ``He_k`` and the
registered activation functions). Nothing is ever passed to ``eval``, ``exec``
or ``sympy.sympify``.

Grammar::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("**" | "^") unary)?
    atom   := NUMBER | VARIABLE | NAME "(" expr ")" | NAME | "(" expr ")"

``VARIABLE`` is ``x1, x2, …`` for targets (or ``u`` for activations); ``NAME``
is ``He<k>`` (expanded to its polynomial) or a registered activation (``relu``,
``tanh``, …); a bare ``NAME`` is allowed where the caller resolves it (an
activation spec reads ``relu`` as ``relu(u)``). Exponents must be non-negative
integer constants; divisors must be non-zero constants. Decimal numbers are read
exactly (``0.1`` is ``1/10``).

Limits, checked while parsing and before anything is expanded or built (so a
refusal takes microseconds, never the time or memory the request would need);
each is named in its error message:

* ``MAX_LENGTH`` characters of input, ``MAX_DEPTH`` levels of nesting;
* ``MAX_EXPONENT``: the largest exponent of one ``**`` and the largest ``k`` of ``He_k``;
* ``MAX_VARIABLES``: the largest variable index ``r`` (``x1 … x_r``);
* ``MAX_DEGREE``: the total degree of the expanded expression (activation applications count as
  degree-1 atoms), so nested powers such as ``((x1**64)**64)**64`` are refused;
* ``MAX_TERMS``: an upper bound on the number of monomials after expansion
  (``min(C(n + D, D), products of term counts)`` for ``n`` atoms and degree ``D``);
* ``MAX_NUMBER_DIGITS``: the decimal digits of any number, a literal (``1e999999999``) or one
  built from literals (``(10**64)**64``); numbers stay inside the float64 range (``< 1e308``).

``He_k(arg)`` is expanded by the three-term recurrence in a sparse polynomial ring
(:func:`theory.polyalgebra.hermite_of`), never by ``sympy.expand`` of an expression tree; any accepted text
parses in about a second. Only ASCII is read: a digit of another script (``৪``, ``４``) or a look-alike letter
(Cyrillic ``х``) is an unexpected character, never a number or a name. These limits bound the size of a
target, not the work of analysing it: that is the budget of :mod:`theory.budget` (``MAX_TERM_OPERATIONS``,
``MAX_POINT_OPERATIONS``, about ``BUDGET_SECONDS`` seconds per request).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import sympy

from theory.hermite import hermite_e_coefficients
from theory.polyalgebra import hermite_of

MAX_LENGTH = 10_000
MAX_DEPTH = 200
MAX_EXPONENT = 64
MAX_VARIABLES = 100
MAX_DEGREE = 64
MAX_TERMS = 5_000
MAX_NUMBER_DIGITS = 308

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>\*\*|[-+*/^()])
  | (?P<bad>.)
    """,
    re.VERBOSE | re.ASCII | re.DOTALL,
)
_NUMBER = re.compile(r"(?P<int>\d*)\.?(?P<frac>\d*)(?:[eE](?P<exp>[+-]?\d+))?", re.ASCII)
_HE = re.compile(r"He(?P<k>[0-9]+)")
X_NAME = re.compile(r"x([1-9][0-9]*)")


class TokenKind(StrEnum):
    """What a token is: the named groups of ``_TOKEN`` (whitespace is dropped) and the end of input."""

    NUMBER = "number"
    NAME = "name"
    OP = "op"
    BAD = "bad"
    END = "end"


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    pos: int


@dataclass(frozen=True)
class Size:
    """Upper bounds for a parsed sub-expression once expanded: total degree, number of monomials,
    decimal digits of its numbers, and the atoms it uses (variables and activation applications)."""

    degree: int
    terms: int
    digits: float
    atoms: frozenset

    def monomial_cap(self) -> int:
        return math.comb(len(self.atoms) + self.degree, self.degree)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; other characters become ``bad`` tokens, refused when the parser reaches them."""
    if not isinstance(text, str):
        raise ValueError(f"expected a string expression, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"expression is {len(text)} characters long; the limit is MAX_LENGTH = {MAX_LENGTH}")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m is not None  # the "bad" group matches any character
        if m.lastgroup != "space":  # the one group that is not a TokenKind
            tokens.append(Token(TokenKind(m.lastgroup), m.group(), pos))
        pos = m.end()
    tokens.append(Token(TokenKind.END, "", len(text)))
    return tokens


def number_digits(text: str) -> int:
    """Decimal digits of the number a literal stands for (mantissa digits + |exponent|), without building it."""
    m = _NUMBER.fullmatch(text)
    assert m is not None
    mantissa = (m.group("int") + m.group("frac")).lstrip("0") or "0"
    exp = m.group("exp") or "0"
    if len(exp.lstrip("+-")) > 6:
        return 10**6
    return len(mantissa) + abs(int(exp))


class _Parser:
    """Recursive-descent parser over a token list (see the module grammar); every node carries its ``Size``."""

    def __init__(
        self,
        text: str,
        resolve_variable: Callable[[str], sympy.Expr | None],
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
        if tok.kind is TokenKind.BAD:
            self.take()  # raises
        return tok

    def take(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind is TokenKind.BAD:
            digit = tok.text.isdigit() or tok.text.isnumeric()
            look = " (numbers are written with the ASCII digits 0-9)" if digit else ""
            raise ValueError(
                f"unexpected character {tok.text!r} (U+{ord(tok.text):04X}) at position {tok.pos}{look}: "
                "use ASCII numbers, variables, + - * / ** ( ) and activation names only"
            )
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            found = "end of input" if tok.kind is TokenKind.END else repr(tok.text)
            raise ValueError(f"expected {text!r} at position {tok.pos}, found {found}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ValueError(f"expression is nested deeper than MAX_DEPTH = {MAX_DEPTH} levels")

    def checked(self, size: Size, pos: int) -> Size:
        """Refuse a node whose expansion would exceed a limit (module docstring), before building it."""
        where = f" (at position {pos})"
        if size.degree > MAX_DEGREE:
            raise ValueError(f"total degree {size.degree} exceeds the limit MAX_DEGREE = {MAX_DEGREE}{where}")
        terms = min(size.terms, size.monomial_cap())
        if terms > MAX_TERMS:
            raise ValueError(f"about {terms:,} terms once expanded exceed the limit MAX_TERMS = {MAX_TERMS:,}{where}")
        if size.digits > MAX_NUMBER_DIGITS:
            raise ValueError(f"a number with about {size.digits:.0f} digits exceeds the limit "
                             f"MAX_NUMBER_DIGITS = {MAX_NUMBER_DIGITS}{where}")
        return Size(size.degree, terms, size.digits, size.atoms)

    # -- grammar -------------------------------------------------------------
    def parse(self) -> sympy.Expr:
        if self.peek().kind is TokenKind.END:
            raise ValueError("empty expression")
        expr, _ = self.expr()
        tok = self.peek()
        if tok.kind is not TokenKind.END:
            raise ValueError(f"unexpected {tok.text!r} at position {tok.pos}")
        return expr

    def expr(self) -> tuple[sympy.Expr, Size]:
        self.enter()
        pos = self.peek().pos
        terms = [self.term()]
        while self.peek().text in ("+", "-"):
            sign = self.take().text
            t, size = self.term()
            terms.append((t if sign == "+" else -t, size))
        self.depth -= 1
        sizes = [s for _, s in terms]
        total = Size(max(s.degree for s in sizes), sum(s.terms for s in sizes),
                     max(s.digits for s in sizes) + math.log10(len(sizes)), frozenset().union(*(s.atoms for s in sizes)))
        return sympy.Add(*[t for t, _ in terms]), self.checked(total, pos)

    def term(self) -> tuple[sympy.Expr, Size]:
        pos = self.peek().pos
        factors = [self.unary()]
        while self.peek().text in ("*", "/"):
            op = self.take()
            f, size = self.unary()
            if op.text == "/":
                if f.free_symbols or not f.is_number:
                    raise ValueError(
                        f"division by a non-constant at position {op.pos}: "
                        "targets must be polynomials or registered activations of them"
                    )
                if f == 0:
                    raise ValueError(f"division by zero at position {op.pos}")
                f = sympy.Pow(f, -1)
            factors.append((f, size))
            sizes = [s for _, s in factors]
            self.checked(Size(sum(s.degree for s in sizes), math.prod(s.terms for s in sizes),
                              sum(s.digits for s in sizes), frozenset().union(*(s.atoms for s in sizes))), op.pos)
        sizes = [s for _, s in factors]
        total = Size(sum(s.degree for s in sizes), math.prod(s.terms for s in sizes), sum(s.digits for s in sizes),
                     frozenset().union(*(s.atoms for s in sizes)))
        return sympy.Mul(*[f for f, _ in factors]), self.checked(total, pos)

    def unary(self) -> tuple[sympy.Expr, Size]:
        self.enter()
        if self.peek().text in ("+", "-"):
            sign = self.take().text
            inner, size = self.unary()
            self.depth -= 1
            return (inner if sign == "+" else -inner), size
        out = self.power()
        self.depth -= 1
        return out

    def power(self) -> tuple[sympy.Expr, Size]:
        base, size = self.atom()
        if self.peek().text in ("**", "^"):
            op = self.take()
            exponent, _ = self.unary()
            if not (exponent.is_Integer and 0 <= int(exponent) <= MAX_EXPONENT):
                raise ValueError(
                    f"exponent {exponent} at position {op.pos} must be an integer "
                    f"constant between 0 and MAX_EXPONENT = {MAX_EXPONENT}"
                )
            return sympy.Pow(base, exponent), self.checked(_power_size(size, int(exponent)), op.pos)
        return base, size

    def atom(self) -> tuple[sympy.Expr, Size]:
        tok = self.take()
        if tok.kind is TokenKind.NUMBER:
            digits = number_digits(tok.text)
            if digits > MAX_NUMBER_DIGITS:
                raise ValueError(f"the number {tok.text[:20]}{'…' if len(tok.text) > 20 else ''} at position "
                                 f"{tok.pos} has about {digits:,} digits; the limit is MAX_NUMBER_DIGITS = "
                                 f"{MAX_NUMBER_DIGITS}")
            return sympy.Rational(tok.text), Size(0, 1, digits, frozenset())
        if tok.text == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if tok.kind is TokenKind.NAME:
            he = _HE.fullmatch(tok.text)
            if self.tokens[self.i].text == "(" and (he or tok.text in self.functions):
                self.take()
                arg, size = self.expr()
                self.expect(")")
                if he:
                    k = int(he.group("k"))
                    if k > MAX_EXPONENT:
                        raise ValueError(f"He{k} at position {tok.pos}: the Hermite order must be at most "
                                         f"MAX_EXPONENT = {MAX_EXPONENT}")
                    out = self.checked(_hermite_size(size, k), tok.pos)
                    return hermite_of(k, arg), out
                app = self.functions[tok.text](arg)
                return app, Size(1, 1, 0, frozenset({app}))
            var = self.resolve_variable(tok.text)
            if var is not None:
                return var, Size(0 if var.is_number else 1, 1, 0, frozenset({var}))
            if he or tok.text in self.functions:
                self.expect("(")  # raises: a function name without its argument
            raise ValueError(f"unknown name {tok.text!r} at position {tok.pos}: {self.allowed_hint}")
        if tok.kind is TokenKind.END:
            raise ValueError("expression ends too early: an operand is missing")
        raise ValueError(f"unexpected {tok.text!r} at position {tok.pos}")


def _power_size(size: Size, e: int) -> Size:
    """Size of ``base**e``: the multinomial expansion has at most ``C(t + e − 1, e)`` terms and coefficients
    at most ``t^e`` times the base's to the power ``e``."""
    if e == 0:
        return Size(0, 1, 0, frozenset())
    terms = math.comb(size.terms + e - 1, e) if size.terms > 1 else 1
    return Size(size.degree * e, terms, e * (size.digits + math.log10(max(size.terms, 1))), size.atoms)


def _hermite_size(size: Size, k: int) -> Size:
    """Size of ``He_k(arg)`` expanded: the powers ``arg**i`` (``i ≤ k``, ``i ≡ k`` mod 2) of its monomial form
    ``Σ_i h_i u^i`` together (each power's monomials counted, so an upper bound), numbers up to
    ``max |h_i|·(k + 1)`` times those of ``arg**k``."""
    powers = [_power_size(size, i) for i in range(k % 2, k + 1, 2)]
    coef = max(abs(c) for c in hermite_e_coefficients(k))
    top = powers[-1]
    return Size(top.degree, sum(p.terms for p in powers), top.digits + math.log10(coef * (k + 1)), top.atoms)


def target_variable(name: str) -> sympy.Symbol | None:
    """``x1 … x_MAX_VARIABLES`` → real sympy Symbol; anything else → None. ``x0`` is refused."""
    m = X_NAME.fullmatch(name)
    if m is None:
        if re.fullmatch(r"x0+|x0[0-9]+", name):
            raise ValueError(f"variables are numbered from 1 (x1, x2, …), got {name!r}")
        return None
    if len(m.group(1)) > 6 or int(m.group(1)) > MAX_VARIABLES:
        raise ValueError(f"variable {name[:12]}{'…' if len(name) > 12 else ''} is beyond the limit "
                         f"MAX_VARIABLES = {MAX_VARIABLES} (number of variables r)")
    return sympy.Symbol(name, real=True)


def parse_expression(
    text: str,
    resolve_variable: Callable[[str], sympy.Expr | None],
    functions: dict[str, Callable[[sympy.Expr], sympy.Expr]],
    allowed_hint: str,
) -> sympy.Expr:
    """Parse ``text`` with the given variable resolver (which may also resolve bare names, e.g. ``relu`` to
    ``relu(u)``) and table of opaque functions (``He<k>`` is built in)."""
    return _Parser(text, resolve_variable, functions, allowed_hint).parse()
