"""``python -m verify``: decide the claims of THEORY.md §5.

Exit status (one line on stderr for every failure, never a traceback; ``sim.exits``):

* 0: the report was written and no claim of status "theorem" is REFUTED;
* 1: a theorem is REFUTED (with ``--strict``: a claim is not CONFIRMED) — ``theory.exits.EXIT_REFUTED``;
* 2: bad input, before any compute: a flag, the profile, a claim id or ``--claims-file``, a ladder's
  config or resources (naming the claim and the arm), the results store (``--store``), an unwritable
  ``--out``;
* 2 also: a ``--claims-file`` that fails to import — an exception, ``sys.exit()`` or ``KeyboardInterrupt``
  raised by its code;
* 3: an internal error — a crash never looks like a refutation;
* 74: an I/O error (``theory.exits.EXIT_IO``): a full device or a file-size limit while writing the report
  (every file is written to a temporary file and renamed, ``verify.files``: none is left truncated) or
  the store;
* 130: interrupted, in any phase (finished runs are in the store).

A claim whose prediction or evaluation fails (``sys.exit()`` included) or runs past ``--claim-timeout``
seconds (``verify.limits.CLAIM_TIMEOUT`` by default), or one of whose runs diverges, is INCONCLUSIVE with
the reason; the other claims still run and the report is written (``verify.runner``).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from theory.validate import check_scalar
from verify.claims import registry
from verify.claims.base import Claim
from verify.limits import TIMEOUT
from verify.profiles import PROFILES, get_profile

PROG = "python -m verify"


def load_claims_file(path: str) -> tuple[Claim, ...]:
    """The ``CLAIMS`` list of a user's Python file (imported from its path; it is the user's own code)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--claims-file {path!r}: no such file")
    spec = importlib.util.spec_from_file_location(f"verify_user_claims_{p.stem}", p)
    if spec is None or spec.loader is None:
        raise ValueError(f"--claims-file {path!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:  # noqa: BLE001 - the user's error, in one line
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise ValueError(f"--claims-file {path!r} failed to import: {what}") from None
    claims = getattr(module, "CLAIMS", None)
    if not isinstance(claims, (list, tuple)) or not all(isinstance(c, Claim) for c in claims):
        raise ValueError(f"--claims-file {path!r} must define CLAIMS = [verify.Claim(...), ...]")
    return tuple(claims)


def parser() -> argparse.ArgumentParser:
    from sim.fields import FlagParser
    from sim.store import DEFAULT_PATH
    from theory.exits import EXIT_REFUTED, exit_help
    from verify.limits import CLAIM_TIMEOUT

    ap = FlagParser(prog=PROG, description="Decide the claims of THEORY.md §5.", epilog=exit_help(
        f"{EXIT_REFUTED} a theorem REFUTED (--strict: a claim not CONFIRMED)"))
    ap.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default quick)")
    ap.add_argument("--claims", nargs="+", metavar="ID", help="only these claim ids (or their ASCII spelling: "
                    "C1-sigma for C1-σ); the report folder keeps the other claims' results")
    ap.add_argument("--claims-file", action="append", default=[], metavar="PATH",
                    help="a Python file defining CLAIMS = [verify.Claim(...)] to add (repeatable)")
    ap.add_argument("--store", default=None, help=f"results store (default: sim's, {DEFAULT_PATH})")
    ap.add_argument("--out", default="reports", help="report root; the report goes to <out>/<profile>/")
    ap.add_argument("--force", action="store_true", help="re-run simulations already in the store")
    ap.add_argument("--strict", action="store_true", help="exit 1 unless every claim is CONFIRMED")
    ap.add_argument("--list", action="store_true", help="list the claims and exit")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--claim-timeout", type=float, default=CLAIM_TIMEOUT, metavar="S",
                    help="seconds a claim's predict() and, separately, its evaluate() may take; past it the claim "
                         f"is INCONCLUSIVE and the others are reported (default {CLAIM_TIMEOUT:g})")
    ap.add_argument("--latex", action="store_true", help="print the verdict table as LaTeX (booktabs) instead of the "
                    "console summary; report.tex is written either way")
    return ap


def select_claims(args: argparse.Namespace) -> list[Claim]:
    """The claims to decide: the registry and ``--claims-file`` claims, narrowed to ``--claims`` when given;
    without ``--claims``, a claim the profile runs only on request (``Claim.on_request``) is left out."""
    claims = list(registry())
    for f in args.claims_file:
        claims.extend(load_claims_file(f))
    ids = [c.id for c in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"claim id(s) {', '.join(dup)} defined twice; rename the claim in your --claims-file")
    if args.claims:
        from verify.names import resolve_ids

        wanted = resolve_ids(args.claims, ids)  # an id or its ASCII spelling (C1-sigma for C1-σ)
        return [c for c in claims if c.id in wanted]
    return [c for c in claims if c.by_default(args.profile)]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m verify``: predict, run or load, decide, write the report.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``); see :func:`parser`.

    Returns
    -------
    int
        Exit status (module docstring): 0, 1 when a theorem is REFUTED (``--strict``: any claim not
        CONFIRMED), 2 on bad input (one line on stderr, before any compute), 3 on an internal error.
    """
    from sim.exits import EXIT_INTERNAL, run_command

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["figures"]:  # python -m verify figures [--profile …]: the paper-style figures
        from verify import paper

        return paper.main(argv[1:])
    return run_command(PROG, lambda: _main(argv), diverged_status=EXIT_INTERNAL)


def _main(argv: Sequence[str] | None) -> int:
    """``main`` without the translation of failures: checks everything, then computes."""
    t0 = time.perf_counter()
    args = parser().parse_args(argv)
    profile = get_profile(args.profile)
    check_scalar(args.claim_timeout, "--claim-timeout", TIMEOUT)
    claims = select_claims(args)
    if args.list:
        for c in claims:
            print(f"{c.id:10s} {c.status:10s} {c.source:36s} {c.statement}")
        return 0
    from sim.exits import one_line
    from sim.store import DEFAULT_PATH, Store, StoreError
    from verify.report import latex_table, report_folder, summary, write_report
    from verify.runner import check_store, exit_status, make_run_plan, verify

    report_folder(args.out, profile.name)  # everything a run needs is checked before any compute
    store = Store(args.store or DEFAULT_PATH)
    plan = make_run_plan(claims, profile)  # every run's config and resources, checked once
    if not args.force:
        check_store(plan, store)
    try:
        outcomes, stats = verify(claims, profile, store, force=args.force, progress=not args.no_progress,
                                 claim_timeout=args.claim_timeout, plan=plan)
        stats["wall_s"] = time.perf_counter() - t0
        out = write_report(outcomes, profile.name, stats, store.path, args.out)
    except StoreError:
        raise
    except ValueError as exc:  # past the checks above, a ValueError is a bug, never bad input
        raise RuntimeError(one_line(exc)) from exc
    print(latex_table(outcomes) if args.latex else summary(outcomes))
    print(f"\nreport: {out / 'report.html'} ({out / 'report.md'}, {out / 'report.tex'}, {out / 'results.json'}); "
          f"{stats['runs']} runs, {stats['wall_s']:.0f} s")
    return exit_status(outcomes, args.strict)


__all__ = ["PROG", "load_claims_file", "main", "parser", "select_claims"]
