"""The report folder ``reports/<profile>/``: ``results.json``, ``report.md``, ``report.html``, ``report.tex`` and the
figures (THEORY.md §5).

File names are fixed (``report.md``, ``report.html``, ``report.tex``, ``results.json``,
``fig_<claim>_<figure kind>.{png,pdf,svg}`` with the claim's ASCII id, ``verify.names.ascii_id``) so that two
reports can be diffed. Every verdict lists the store keys of the runs it was computed from.

**A run merges into the folder's report.** ``results.json`` holds one entry per claim (:func:`claim_entry`);
a run of some claims (``--claims C1-sigma``, a ``--claims-file``) replaces the entries and the figures of
*those* claims and keeps every other claim's entry and figures, so a one-claim run never deletes the rest
of the report. Each entry says when it was written. The documents are then made from all entries
(``verify.documents``); every file is written atomically (``verify.files``). Figures are drawn by
``verify.figures`` in the shared style of ``verify.style``, each as PNG, PDF and SVG.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from verify import documents
from verify.claims.base import FigureKind
from verify.files import report_folder, write_text
from verify.names import ascii_id
from verify.rules import Verdict
from verify.runner import Outcome
from verify.style import FORMATS, math_text

RESULTS = "results.json"
UNREADABLE = ".unreadable"  # suffix a results.json that cannot be read is kept under (never deleted)
PAPER_FIGURES = "stairway_*.png"  # the figures of python -m verify figures (verify.paper.STAIRWAY_FIGURES)
DECIDED_KEY = "decided_by"  # Evaluation.numbers[DECIDED_KEY]: a claim's own "decided by" text, if it gives one


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (int, str, bool)) or x is None:
        return x
    return str(x)


def decided_by(o: Outcome) -> str:
    """The number that decided a claim, in words: ``Evaluation.numbers["decided_by"]`` when the claim gives it,
    else for an INCONCLUSIVE claim the first part of its reason (what was missing), else the first part of its
    measured summary (up to the first ``;``), else the reason."""
    own = o.evaluation.numbers.get(DECIDED_KEY) if isinstance(o.evaluation.numbers, Mapping) else None
    if isinstance(own, str) and own.strip():
        return own
    if o.verdict is Verdict.INCONCLUSIVE:  # what is missing decided it
        return o.evaluation.decision.reason.split(";")[0].strip()
    first = o.evaluation.measured.split(";")[0].strip()
    return first or o.evaluation.decision.reason


def claim_entry(o: Outcome, figures: Sequence[str], written: str) -> dict[str, Any]:
    """One claim's entry of ``results.json``: everything its report section shows, JSON-able.

    Parameters
    ----------
    o : Outcome
        The claim's outcome (``verify.runner``).
    figures : sequence of str
        Its PNG file names (each with PDF and SVG siblings) or ``"(figure … not drawn: reason)"``.
    written : str
        When the entry was written (ISO 8601, UTC).

    Returns
    -------
    dict
        ``id``, ``ascii_id``, the claim's texts, ``verdict``, ``reason``, ``decided_by``, ``arms`` (name, verdict,
        reason), ``controls`` (alternative, verdict, reason, refuted, text), predicted/measured, numbers,
        plots, runs, run keys, ``figures`` and ``written``.
    """
    ev = o.evaluation
    return _jsonable({
        "id": o.id, "ascii_id": ascii_id(o.id), "source": o.source, "kind": str(o.status), "statement": o.statement,
        "statistic": o.statistic, "rule": o.rule, "verdict": o.verdict, "reason": ev.decision.reason,
        "decided_by": decided_by(o),
        "arms": [{"name": a.name, "verdict": a.decision.verdict, "reason": a.decision.reason} for a in ev.arms],
        "controls": [{"alternative": c.alternative, "verdict": c.decision.verdict, "reason": c.decision.reason,
                      "refuted": c.refuted, "text": c.text()} for c in ev.controls],
        "predicted": ev.predicted, "measured": ev.measured, "prediction": o.prediction, "numbers": ev.numbers,
        "plots": [{"kind": str(p.figure), "title": p.title, "data": p.data} for p in ev.plots],
        "runs": o.runs_by_variant, "run_keys": list(o.run_keys), "figures": list(figures), "written": written})


# ---------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------
def figure_stems(o: Outcome) -> list[str]:
    """``fig_<ascii id>_<figure kind>`` per plot, ``…_<figure kind>_2`` for a second plot of that figure kind in
    the same claim."""
    shown = [str(plot.figure) for plot in o.evaluation.plots]
    return [f"fig_{ascii_id(o.id)}_{ascii_id(k)}" + ("" if shown[:i].count(k) == 0 else f"_{shown[:i].count(k) + 1}")
            for i, k in enumerate(shown)]


def render_figures(outcomes: Sequence[Outcome], out: Path) -> dict[str, list[str]]:
    """Draw every plot of every outcome (``verify.figures``, shared style ``verify.style``) as PNG, PDF and SVG.

    Parameters
    ----------
    outcomes : sequence of Outcome
        The claims' outcomes; each ``evaluation.plots`` entry becomes one figure.
    out : Path
        The report folder.

    Returns
    -------
    dict
        Claim id → PNG file names (``fig_<ascii id>_<kind>.png``; the PDF and SVG have the same stem); a figure
        that could not be drawn is listed as ``"(figure … not drawn: reason)"``.
    """
    from verify import style
    from verify.figures import draw, figure_size

    files: dict[str, list[str]] = {}
    for o in outcomes:
        files[o.id] = []
        for plot, stem in zip(o.evaluation.plots, figure_stems(o)):
            with style.figure(figure_size(plot.figure)) as fig:
                try:
                    draw(fig, plot)
                    fig.suptitle(f"{o.id}: {math_text(plot.title)}")
                    files[o.id].append(style.save(fig, out, stem)[0])
                except (KeyError, ValueError, IndexError, TypeError) as exc:
                    files[o.id].append(f"(figure {stem}.png not drawn: {exc})")
    return files


def _unlisted_figures(out: Path, claim_id: str) -> list[Path]:
    """Figures of ``claim_id`` in ``out`` found by their names (``fig_<id>_<figure kind>…``, with the id as
    written or in ASCII), for an entry of ``results.json`` that does not list its figures."""
    kinds = "|".join(re.escape(k) for k in FigureKind)
    found = []
    for name in {claim_id.replace("/", "_"), ascii_id(claim_id)}:
        pattern = re.compile(rf"fig_{re.escape(name)}_({kinds})(_\d+)?\.(png|pdf|svg)")
        found += [f for f in out.iterdir() if pattern.fullmatch(f.name)]
    return found


def _remove_figures(out: Path, entry: Mapping[str, Any] | None, claim_id: str) -> None:
    """Delete the figure files (every format) of one claim's old entry, before it is re-drawn."""
    names = [f for f in (entry or {}).get("figures", []) if documents.is_figure(f)]
    paths = [out / f"{n[:-4]}.{fmt}" for n in names for fmt in FORMATS] + _unlisted_figures(out, claim_id)
    for p in paths:
        if p.is_file() and p.parent == out:
            p.unlink()


# ---------------------------------------------------------------------------
# the merged report
# ---------------------------------------------------------------------------
def read_entries(out: Path, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """The claim entries of ``<out>/results.json`` (``[]`` when there is none). A file that cannot be read as a
    report is kept as ``results.json.unreadable`` (never deleted) and the report starts afresh; ``log`` says so."""
    path = out / RESULTS
    if not path.is_file():
        return []
    try:
        claims = json.loads(path.read_text(encoding="utf-8"))["claims"]
        if not isinstance(claims, list) or not all(isinstance(c, dict) and "id" in c for c in claims):
            raise ValueError("no list of claims")
        return [_complete(c, out) for c in claims]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        keep = path.with_name(RESULTS + UNREADABLE)
        path.replace(keep)
        log(f"verify: {path} could not be read as a report ({type(exc).__name__}: {exc}); kept as {keep.name}, "
            "the report starts afresh")
        return []


def _complete(entry: dict[str, Any], out: Path) -> dict[str, Any]:
    """``entry`` completed with the keys the documents read that it lacks (ASCII id, decided by, arms, controls,
    its figures found in the folder by name)."""
    full = {"ascii_id": ascii_id(str(entry["id"])), "arms": [], "controls": [], "written": "before this format",
            "decided_by": str(entry.get("measured", "")).split(";")[0].strip(), "source": "", "kind": "",
            "statement": "", "statistic": "", "rule": "", "verdict": "INCONCLUSIVE", "reason": "", "predicted": "",
            "measured": "", "runs": {}, "run_keys": [], **entry}
    if "figures" not in entry:
        full["figures"] = sorted(f.name for f in _unlisted_figures(out, str(entry["id"])) if f.suffix == ".png")
    return full


def merge(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``old`` with each entry of the same id replaced by its ``new`` one (in place), then the new claims."""
    fresh = {e["id"]: e for e in new}
    merged = [fresh.pop(e["id"], e) for e in old]
    return merged + [e for e in new if e["id"] in fresh]


def header(profile: str, stats: Mapping[str, Any], store: str, entries: Sequence[Mapping[str, Any]],
           updated: Sequence[str]) -> list[str]:
    """The profile and the paragraphs under every document's title: the latest run and which claims it wrote."""
    others = len(entries) - len(updated)
    return [profile,
            f"Latest run: {len(updated)} claim(s) ({', '.join(updated)}), {stats.get('runs', 0)} distinct runs "
            f"(store `{store}`); simulate {stats.get('simulate_s', 0):.1f} s, "
            f"evaluate {stats.get('evaluate_s', 0):.1f} s."
            + (f" The other {others} claim(s) are from earlier runs into this folder (each section says when)."
               if others else ""),
            "Numbers: results.json. Claims: THEORY.md §5. Figures as PNG, PDF and SVG; report.tex for LaTeX."]


def paper_figures(out: Path) -> list[str]:
    """PNG names of the stairway figures ``python -m verify figures`` drew in ``out`` (``PAPER_FIGURES``)."""
    return sorted(f.name for f in out.glob(PAPER_FIGURES))


def refresh(out: Path) -> bool:
    """Rewrite the documents of the report in ``out`` from its ``results.json`` (after ``python -m verify
    figures`` drew the stairway figures, so ``report.html`` links them); ``False`` when there is no report."""
    path = out / RESULTS
    if not path.is_file():
        return False
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        head = list(results["header"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # an older or unreadable report: the next python -m verify rewrites it
    write_documents(out, read_entries(out), head, results)
    return True


def write_documents(out: Path, entries: Sequence[Mapping[str, Any]], head: Sequence[str],
                    results: Mapping[str, Any]) -> None:
    """``results.json``, ``report.md``, ``report.html`` and ``report.tex`` of ``entries``, each atomically."""
    papers = paper_figures(out)
    write_text(out / RESULTS, json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    write_text(out / "report.md", documents.markdown(entries, head, papers))
    write_text(out / "report.html", documents.html_page(entries, head, papers))
    write_text(out / "report.tex", documents.latex_document(entries, head))


def write_report(outcomes: Sequence[Outcome], profile: str, stats: Mapping[str, Any], store: str,
                 out_root: str | Path, log: Callable[[str], None] = print) -> Path:
    """Merge the outcomes into ``<out_root>/<profile>/`` (module docstring): their entries and figures replace
    those of the same claims, every other claim's entry and figures are kept, and the documents are rewritten.

    Parameters
    ----------
    outcomes : sequence of Outcome
        The claims' outcomes (``verify.runner.verify``).
    profile : str
        Profile name (the report folder).
    stats : mapping
        Run statistics (``runs``, ``simulate_s``, ``evaluate_s`` …).
    store : str
        Path of the results store, printed in the report.
    out_root : str or Path
        The report root.
    log : callable
        Where a note goes (an unreadable ``results.json`` kept aside).

    Returns
    -------
    Path
        The report folder ``<out_root>/<profile>``.
    """
    out = report_folder(out_root, profile)
    old = read_entries(out, log)
    by_id = {e["id"]: e for e in old}
    for o in outcomes:
        _remove_figures(out, by_id.get(o.id), o.id)
    figures = render_figures(outcomes, out)
    written = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entries = merge(old, [claim_entry(o, figures[o.id], written) for o in outcomes])
    head = header(profile, stats, store, entries, [o.id for o in outcomes])
    results = _jsonable({"profile": profile, "store": store, "stats": stats, "updated": [o.id for o in outcomes],
                         "written": written, "header": head, "claims": entries})
    write_documents(out, entries, head, results)
    return out


def summary(outcomes: Sequence[Outcome]) -> str:
    """The compact console table of the outcomes (``verify.documents.console_summary``)."""
    return documents.console_summary([claim_entry(o, [], "") for o in outcomes])


def latex_table(outcomes: Sequence[Outcome]) -> str:
    """The verdict table of the outcomes as LaTeX (``verify.documents.latex_table``), for ``--latex``."""
    return documents.latex_table([claim_entry(o, [], "") for o in outcomes])


__all__ = ["DECIDED_KEY", "PAPER_FIGURES", "RESULTS", "claim_entry", "decided_by", "figure_stems",
           "header", "latex_table", "merge", "paper_figures", "read_entries", "refresh", "render_figures",
           "report_folder", "summary", "write_documents", "write_report"]
