"""``python -m theory``: symbolic questions from the shell (THEORY.md §2).

Subcommands: ``hermite``, ``analyze``, ``staircase``, ``leap``, ``error``,
``stairway``, ``report``, ``generative``, ``reuse``, ``orientation`` (§3.2, §3.5).
Readable tables by default, ``--json`` for machines,
``--latex`` (staircase, stairway) a ``tabular`` for a paper.
``--activation`` (staircase, leap, stairway) adds the σ-aware answers of §2.8
next to the generic ones. A readout exponent ``--kappa`` (and ``--batch-exponent``)
may be any number ``≥ 0`` (``≥ 1``): §2.6 uses ``⌊κ⌋`` (the readout represents
degree ``≤ ⌊κ⌋`` in the unlearned coordinates) and the output says so.
Every failure is one line on stderr and an exit status (:mod:`theory.exits`): 2 bad input (before any compute:
a limit such as ``theory.activations.MAX_ORDER`` or ``theory.target.MAX_KAPPA``, a request over the analysis
budget of :mod:`theory.budget`), 3 an internal error, 74 an I/O error (``> /dev/full``), 130 Ctrl-C; a closed
output pipe (``… | head -1``) ends quietly. ``--json`` is strict JSON: a non-finite number is written as the
string ``"inf"``, ``"-inf"`` or ``"nan"``. The mathematics: ``docs/theory.md`` (same section numbers as
THEORY.md).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence

import sympy

from theory.activations import activation
from theory.display import number_json
from theory.exits import EXIT_BAD_INPUT, EXIT_OK, exit_help, run_command
from theory.parse import parse_expression, target_variable
from theory.staircase import Staircase
from theory.series import Normalization
from theory.target import Method, Target
from theory.validate import AsciiNumbers


PROG = "python -m theory"


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class _Parser(AsciiNumbers, argparse.ArgumentParser):
    """One-line errors; ``--help`` shows every default (``ArgumentDefaultsHelpFormatter``); numbers in ASCII
    digits only (:class:`theory.validate.AsciiNumbers`)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(message)


def readout_exponent(text: str) -> float:
    """An exponent ``κ = log_d p`` (or ``log_d n``) from the command line: any finite number ``≥ 0``; §2.6 uses
    ``⌊κ⌋`` (:func:`floor_note`)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"an exponent must be a finite number ≥ 0; got {text!r}")
    return value


def floor_note(values: Sequence[float], name: str = "κ") -> str | None:
    """The line that says which non-integer exponents were read as ``⌊·⌋`` (``None`` when all are integers)."""
    odd = [v for v in values if v != int(v)]
    if not odd:
        return None
    pairs = ", ".join(f"{name} = {v:g} → {int(v)}" for v in odd)
    return (f"note: {pairs}: with p, n₂ ≍ d^{name} the readout represents degree ≤ ⌊{name}⌋ in the unlearned "
            f"coordinates, so ε_pred uses ⌊{name}⌋ (docs/theory.md §2.6)")


def _target(args: argparse.Namespace) -> Target:
    return Target.parse(args.target, r=args.r, method=args.method)


def _basis_json(m: object) -> list[list[str]] | list[list[float]]:
    if isinstance(m, sympy.MatrixBase):
        return [[str(m[i, j]) for i in range(m.shape[0])] for j in range(m.shape[1])]
    return [[float(x) for x in m[:, j]] for j in range(m.shape[1])]


def learned_subspace(text: str, r: int) -> list[list[sympy.Expr]]:
    """Directions from ``--learned``: comma-separated linear forms, e.g. ``"x1, x2 - x3"``; ``""`` is ``{0}``.

    Each form ``Σ_i a_i x_i`` stands for the direction ``(a_1, …, a_r)``.
    """
    if text.strip() in ("", "0", "none"):
        return []
    vectors = []
    for part in text.split(","):
        expr = parse_expression(part, target_variable, {}, "a direction is a linear form such as x1 - x2")
        xs = [sympy.Symbol(f"x{i}", real=True) for i in range(1, r + 1)]
        extra = {s for s in expr.free_symbols if s not in xs}
        if extra:
            raise ValueError(f"direction {part.strip()!r} uses {sorted(map(str, extra))}, beyond x{r}")
        poly = sympy.Poly(expr, *xs)
        if poly.total_degree() > 1 or poly.coeff_monomial(1) != 0:
            raise ValueError(f"direction {part.strip()!r} must be a linear form like 'x1 - x2' (no constant, degree 1)")
        vectors.append([poly.coeff_monomial(x) for x in xs])
    return vectors


# -- subcommands ----------------------------------------------------------------
def cmd_hermite(args: argparse.Namespace) -> tuple[str, dict]:
    series = activation(args.activation).hermite_series(args.kmax, args.normalization)
    return str(series), series.to_dict()


def cmd_analyze(args: argparse.Namespace) -> tuple[str, dict]:
    g = _target(args)
    l1 = g.first_nonzero_order()
    rel = g.relevant_subspace()
    leap = g.leap_index()
    sc = g.staircase(1)
    hard = g.hard_directions()
    lines = [
        f"target      g = {g}   (r = {g.r}; {g.describe_method()})",
        f"‖g‖²        {g.norm2()}",
        f"ℓ1          {l1}   (first non-zero Hermite order)",
        f"U*_rel      dim {rel.shape[1]}",
        f"staircase   dims {sc.dims} (leap 1, n ≍ d)",
        f"leap index  {leap}",
        f"hard dirs   dim {hard.shape[1]}",
    ]
    data = {"target": g.label, "r": g.r, "method": g.describe_method(), "norm2": number_json(g.norm2()),
            "first_nonzero_order": number_json(l1), "relevant_subspace": _basis_json(rel),
            "staircase": sc.to_dict(), "leap_index": number_json(leap), "hard_directions": _basis_json(hard)}
    return "\n".join(lines), data


def side_by_side(generic: Staircase, aware: Staircase) -> str:
    """``dim U^t`` (§2.4) next to ``dim U^t_σ`` (§2.8), with what σ blocked and the symmetric-initialisation notes."""
    steps = max(len(generic), len(aware)) - 1
    head = f"leap-{generic.leap} staircase of g = {generic.target}: generic (§2.4) and σ = {aware.activation} (§2.8)"
    rows = [f"  {'t':<3s}{'dim U^t':<10s}dim U^t_σ"]
    rows += [f"  {t:<3d}{generic.space(t).dim:<10d}{aware.space(t).dim}" for t in range(steps + 1)]
    notes = str(aware).split("\n")[1 + len(aware):]
    return "\n".join([head, *rows, *notes])


def cmd_staircase(args: argparse.Namespace) -> tuple[str, dict]:
    g = _target(args)
    sc = g.staircase(args.leap)
    if args.activation is None:
        return (sc.to_latex() if args.latex else str(sc)), {**sc.to_dict(), "blocked": []}
    aware = g.staircase(args.leap, args.activation)
    if args.latex:  # the generic table, then the σ-aware one with what σ blocked
        return "\n".join([sc.to_latex(), aware.to_latex()]), {}
    data = {**sc.to_dict(), "activation": aware.activation, "dims_sigma": list(aware.dims),
            "levels_sigma": aware.to_dict()["levels"], "blocked": aware.to_dict()["blocked"],
            "symmetric_bound_sigma": list(aware.symmetric_bound)}
    return side_by_side(sc, aware), data


def cmd_leap(args: argparse.Namespace) -> tuple[str, dict]:
    g = _target(args)
    leap = g.leap_index(args.activation)
    hard = g.hard_directions(args.activation)
    tr = g.transition_exponents(args.steps, args.activation)
    sigma = f" (σ = {args.activation})" if args.activation else ""
    text = "\n".join([
        f"leap index of g = {g}{sigma}: {leap}",
        f"first non-zero Hermite order ℓ1 = {g.first_nonzero_order()}",
        f"hard directions (U*_rel ⊖ leap-1 limit): dim {hard.shape[1]}",
        str(tr),
    ])
    data = {"target": g.label, "leap_index": number_json(leap), "first_nonzero_order": number_json(g.first_nonzero_order()),
            "hard_directions": _basis_json(hard), "transitions": tr.to_dict()}
    return text, data


def cmd_error(args: argparse.Namespace) -> tuple[str, dict]:
    g = _target(args)
    U = learned_subspace(args.learned, g.r)
    rows, data = [], []
    for k in args.kappa:
        e = g.predicted_error(U, int(k), noise=args.noise)
        shown = f"{k:g}" if k == int(k) else f"{k:g} → ⌊κ⌋={int(k)}"
        rows.append(f"ε_pred(U, κ={shown}) = {e}" + ("" if isinstance(e, float) else f" ≈ {float(e):.10g}"))
        data.append({"kappa": int(k) if k == int(k) else k, "kappa_used": int(k), "error": number_json(e)})
    head = f"g = {g}, learned U = span{{{args.learned}}} (dim {len(U)}), ‖g‖² = {g.norm2()}"
    note = floor_note(args.kappa)
    return "\n".join([head, *rows, *([note] if note else [])]), {"target": g.label, "learned": args.learned,
                                                                  "errors": data}


def cmd_stairway(args: argparse.Namespace) -> tuple[str, dict]:
    if args.batch_exponent < 1:
        raise UsageError(f"--batch-exponent must be ≥ 1 (below n ≍ d a step learns nothing, §2.3); "
                         f"got {args.batch_exponent:g}")
    kappas = tuple(dict.fromkeys(int(k) for k in args.kappa))  # ⌊κ⌋, each once, in the order given
    sw = _target(args).stairway(args.steps, kappas, int(args.batch_exponent), args.activation)
    notes = [n for n in (floor_note(args.kappa), floor_note([args.batch_exponent], "ℓ")) if n]
    if args.latex:
        return sw.to_latex() + "".join(f"\n% {n}" for n in notes), sw.to_dict()
    return "\n".join([str(sw), *notes]), sw.to_dict()


def cmd_report(args: argparse.Namespace) -> tuple[str, dict]:
    texts, datas = [], []
    for t in args.targets:
        ns = argparse.Namespace(target=t, r=None, method=Method.AUTO)
        a_text, a_data = cmd_analyze(ns)
        g = _target(ns)
        sw = g.stairway(3, (1, 2))
        tr = g.transition_exponents(3)
        texts.append("\n".join([a_text, str(tr), str(sw), ""]))
        datas.append({**a_data, "transitions": tr.to_dict(), "stairway": sw.to_dict()})
    return "\n".join(texts), {"targets": datas}


def cmd_generative(args: argparse.Namespace) -> tuple[str, dict]:
    from theory.generative import generative_exponent, label_exponent

    link = Target.parse(args.link, method=args.method)
    ge = generative_exponent(link)
    if args.label_transform is None:
        return str(ge), ge.to_dict()
    le = label_exponent(link, args.label_transform, standardize=args.standardize)
    return f"{ge}\n{le}", {"generative": ge.to_dict(), "label": le.to_dict()}


def cmd_reuse(args: argparse.Namespace) -> tuple[str, dict]:
    from theory.reuse import reuse_reach

    g = _target(args)
    learned = None if args.learned is None else learned_subspace(args.learned, g.r)
    reach = reuse_reach(g, learned, args.max_power)
    return str(reach), reach.to_dict()


def cmd_orientation(args: argparse.Namespace) -> tuple[str, dict]:
    from theory.orientation import step2_orientation

    o = step2_orientation(int(args.target) if args.target in ("1", "2") else args.target, args.eta, args.alpha)
    return str(o), o.to_dict()


def _target_command(sub: argparse._SubParsersAction, name: str, help_: str) -> argparse.ArgumentParser:
    """A subcommand about one target: the target, ``--r``, ``--method`` and ``--json``."""
    s = sub.add_parser(name, help=help_, description=help_)
    s.add_argument("target", help='target, e.g. "x1 + x1*x2" (variables x1..xr, + - * / **, activations)')
    s.add_argument("--r", type=int, default=None,
                   help="number of variables r (None: the largest index the target uses)")
    s.add_argument("--method", choices=tuple(Method), default=Method.AUTO,
                   help="exact: sympy, rational polynomials only; numeric: quadrature with a rank tolerance; "
                        "auto: exact when the target allows it")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return s


def _latex_flag(s: argparse.ArgumentParser) -> None:
    s.add_argument("--latex", action="store_true", help="print a LaTeX tabular (booktabs) for a paper")


def _add_hermite(sub: argparse._SubParsersAction) -> None:
    h = sub.add_parser("hermite", help="Hermite coefficients μ_k = E[σ He_k] of an activation",
                       description="Hermite coefficients μ_k = E[σ He_k] of an activation (§1, §2.7)")
    h.add_argument("activation", help='e.g. relu, tanh, He3, "u**3 - u", "relu[2:]"')
    h.add_argument("--kmax", type=int, default=6, help="highest order k")
    h.add_argument("--normalization", choices=tuple(Normalization), default=Normalization.EXPECTATION,
                   help="expectation: E[σ He_k]; orthonormal: E[σ He_k]/√k!; series: E[σ He_k]/k!")
    h.add_argument("--json", action="store_true", help="print JSON instead of a table")
    h.set_defaults(func=cmd_hermite)


def _add_staircase_commands(sub: argparse._SubParsersAction) -> None:
    """``analyze``, ``staircase``, ``leap``, ``error`` and ``stairway`` (THEORY.md §2)."""
    s = _target_command(sub, "analyze", "ℓ1, relevant subspace, staircase, leap index, hard directions")
    s.set_defaults(func=cmd_analyze)
    sigma_help = ('activation σ for the σ-aware answers (§2.8), e.g. relu, "relu + He3/6", "tanh(u + 0.5)"; '
                  "None: the generic answers only")
    s = _target_command(sub, "staircase", "the staircase U^0 ⊆ U^1 ⊆ … (Conjecture 1), generic and σ-aware")
    s.add_argument("--leap", type=int, default=1, help="ℓ of the leap-ℓ staircase (n ≍ d^ℓ per step; §2.5)")
    s.add_argument("--activation", default=None, help=sigma_help)
    _latex_flag(s)
    s.set_defaults(func=cmd_staircase)
    s = _target_command(sub, "leap", "leap index, hard directions and transition exponents")
    s.add_argument("--steps", type=int, default=3, help="transition exponents for T = 1..steps giant steps (§2.5)")
    s.add_argument("--activation", default=None, help=sigma_help)
    s.set_defaults(func=cmd_leap)
    s = _target_command(sub, "error", "predicted error ε_pred(U, κ) for a learned subspace U")
    s.add_argument("--learned", default="", help='comma-separated linear forms spanning U, e.g. "x1, x2 - x3" ("" = {0})')
    s.add_argument("--kappa", type=readout_exponent, nargs="+", default=[1],
                   help="readout exponents κ ≥ 0 (p, n₂ ≍ d^κ); a non-integer κ is read as ⌊κ⌋ (§2.6)")
    s.add_argument("--noise", type=float, default=0.0, help="label noise Δ added to the test error")
    s.set_defaults(func=cmd_error)
    s = _target_command(sub, "stairway", "the stairway to accuracy ε_pred(U^T, κ)")
    s.add_argument("--steps", type=int, default=3, help="last number of giant steps T")
    s.add_argument("--kappa", type=readout_exponent, nargs="+", default=[1, 2],
                   help="readout exponents κ ≥ 0 (p, n₂ ≍ d^κ); a non-integer κ is read as ⌊κ⌋ (§2.6)")
    s.add_argument("--batch-exponent", type=readout_exponent, default=1,
                   help="ℓ ≥ 1: n ≍ d^ℓ per step, U^T the leap-⌊ℓ⌋ staircase (§2.5)")
    s.add_argument("--activation", default=None, help=sigma_help)
    _latex_flag(s)
    s.set_defaults(func=cmd_stairway)


def _add_single_index_commands(sub: argparse._SubParsersAction) -> None:
    """``generative`` and ``reuse`` (THEORY.md §3.5)."""
    s = sub.add_parser("generative", help="generative exponent k* of a single-index link y = σ*(x1) (§3.5)",
                       description="generative exponent k* of y = σ*(x1) and, with --label-transform, the "
                                   "information exponent of T(y) (THEORY.md §3.5)")
    s.add_argument("link", help='single-index link in x1, e.g. "He3(x1)", "abs(x1)"')
    s.add_argument("--label-transform", default=None, help='T as an expression in y, e.g. "y**3", "tanh(y)"')
    s.add_argument("--standardize", action="store_true", help="use y = σ*(z)/√E[σ*²] (e.g. He3/√6)")
    s.add_argument("--method", choices=tuple(Method), default=Method.AUTO, help="analysis of the link")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_generative)
    s = _target_command(sub, "reuse", "directions a second gradient step on a reused batch reaches at n ≍ d (§3.5)")
    s.add_argument("--learned", default=None, help='comma-separated linear forms spanning the learned U ("" = {0}; '
                   "None: U^1, what one giant step at n ≍ d learns)")
    s.add_argument("--max-power", type=int, default=4, help="largest j of the witnesses y^j He_α(x_U)")
    s.set_defaults(func=cmd_reuse)


def _add_protocol_commands(sub: argparse._SubParsersAction) -> None:
    """``orientation`` (THEORY.md §3.2) and ``report``."""
    s = sub.add_parser("orientation", help="population step-2 orientation of dklps-multi-step (§3.2, NB-orient)",
                       description="off-line component and cosine of the second step (THEORY.md §3.2)")
    s.add_argument("target", help='1 or 2 (the published examples) or a target in x1, x2 with C1 ≠ 0')
    s.add_argument("--eta", type=float, default=2.0, help="per-neuron step η̃")
    s.add_argument("--alpha", type=float, default=1.0, help="α = n/d of both steps")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_orientation)
    rp = sub.add_parser("report", help="full theory report of several targets",
                        description="analyze, transition exponents and stairway of each target")
    rp.add_argument("targets", nargs="+", help="targets, each quoted")
    rp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rp.set_defaults(func=cmd_report)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, epilog=exit_help(), description="Symbolic questions about targets and activations "
                "(THEORY.md §2; docs/theory.md explains each answer).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_hermite, _add_staircase_commands, _add_single_index_commands, _add_protocol_commands):
        add(sub)
    return p


def json_safe(data: object) -> object:
    """``data`` with every non-finite float written as the string ``"inf"``, ``"-inf"`` or ``"nan"`` (strict JSON)."""
    if isinstance(data, float) and not math.isfinite(data):
        return "nan" if math.isnan(data) else ("inf" if data > 0 else "-inf")
    if isinstance(data, dict):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(v) for v in data]
    return data


def _classify(exc: BaseException) -> tuple[int, str] | None:
    return (EXIT_BAD_INPUT, "error: " + " ".join(str(exc).split())) if isinstance(exc, UsageError) else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0, or a failure's (module docstring; one line on stderr, never a traceback).
    """
    def command() -> int:
        args = build_parser().parse_args(argv)
        if args.json and getattr(args, "latex", False):
            raise UsageError("--json and --latex exclude each other; give one")
        text, data = args.func(args)
        out = json.dumps(json_safe(data), indent=1, allow_nan=False) if args.json else text
        print(out)
        return EXIT_OK

    return run_command(PROG, command, _classify)