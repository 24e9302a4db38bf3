"""``python -m verify``: decide the claims of THEORY.md §5 (issue items 3–5).

Exit status: 0 normally; 1 when a claim of kind "theorem" is REFUTED (with
``--strict``: when any claim is not CONFIRMED); 2 on bad input, with one line
on stderr saying what to change, before any compute.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from verify.claims import registry
from verify.claims.base import Claim
from verify.profiles import PROFILES, get_profile


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise _BadInput(message)


class _BadInput(Exception):
    pass


def load_claims_file(path: str) -> tuple[Claim, ...]:
    """The ``CLAIMS`` list of a user's Python file (imported from its path; it is the user's own code)."""
    p = Path(path)
    if not p.is_file():
        raise _BadInput(f"--claims-file {path!r}: no such file")
    spec = importlib.util.spec_from_file_location(f"verify_user_claims_{p.stem}", p)
    if spec is None or spec.loader is None:
        raise _BadInput(f"--claims-file {path!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - report the user's error in one line
        raise _BadInput(f"--claims-file {path!r} failed to import: {type(exc).__name__}: {exc}") from None
    claims = getattr(module, "CLAIMS", None)
    if not isinstance(claims, (list, tuple)) or not all(isinstance(c, Claim) for c in claims):
        raise _BadInput(f"--claims-file {path!r} must define CLAIMS = [verify.Claim(...), ...]")
    return tuple(claims)


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m verify", description="Decide the claims of THEORY.md §5.")
    ap.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default quick)")
    ap.add_argument("--claims", nargs="+", metavar="ID", help="only these claim ids")
    ap.add_argument("--claims-file", action="append", default=[], metavar="PATH",
                    help="a Python file defining CLAIMS = [verify.Claim(...)] to add (repeatable)")
    ap.add_argument("--store", default=None, help="results store (default: sim's, runs/results.sqlite)")
    ap.add_argument("--out", default="reports", help="report root; the report goes to <out>/<profile>/")
    ap.add_argument("--force", action="store_true", help="re-run simulations already in the store")
    ap.add_argument("--strict", action="store_true", help="exit 1 unless every claim is CONFIRMED")
    ap.add_argument("--list", action="store_true", help="list the claims and exit")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap


def select(args: argparse.Namespace) -> list[Claim]:
    claims = list(registry())
    for f in args.claims_file:
        claims.extend(load_claims_file(f))
    ids = [c.id for c in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise _BadInput(f"claim id(s) {', '.join(dup)} defined twice; rename the claim in your --claims-file")
    if args.claims:
        unknown = [i for i in args.claims if i not in ids]
        if unknown:
            raise _BadInput(f"unknown claim id {unknown[0]!r}; known ids are {', '.join(ids)}")
        claims = [c for c in claims if c.id in args.claims]
    return claims


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m verify``: predict, run or load, decide, write the report.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``); see :func:`parser`.

    Returns
    -------
    int
        Exit status: 0, 1 when a theorem is REFUTED (``--strict``: any claim not CONFIRMED), 2 on bad input
        (one line on stderr, before any compute).
    """
    t0 = time.perf_counter()
    try:
        args = parser().parse_args(argv)
        profile = get_profile(args.profile) if args.profile in PROFILES else None
        if profile is None:
            raise _BadInput(f"unknown profile {args.profile!r}; choose one of {', '.join(PROFILES)}")
        claims = select(args)
        if args.list:
            for c in claims:
                print(f"{c.id:10s} {c.kind:10s} {c.source:36s} {c.statement}")
            return 0
        from verify.runner import make_plan, sim_configs

        sim_configs(make_plan(claims, profile))  # every config validated before compute
    except _BadInput as exc:
        print(f"python -m verify: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"python -m verify: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    from verify.report import console_table, write_report
    from verify.runner import exit_status, verify

    store = args.store or "runs/results.sqlite"
    outcomes, stats = verify(claims, profile, store, force=args.force, progress=not args.no_progress,
                             log=lambda s: print(s, file=sys.stderr))
    stats["wall_s"] = time.perf_counter() - t0
    out = write_report(outcomes, profile.name, stats, store, args.out)
    print(console_table(outcomes))
    print(f"\nreport: {out / 'report.md'} ({out / 'report.html'}, {out / 'results.json'}); "
          f"{stats['runs']} runs, {stats['wall_s']:.0f} s")
    return exit_status(outcomes, args.strict)


__all__ = ["load_claims_file", "main", "parser"]
