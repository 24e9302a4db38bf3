"""Console table, ``report.md``, ``report.html``, ``results.json`` and PNG figures (THEORY.md §5).

File names are fixed (``reports/<profile>/report.md``, ``report.html``,
``results.json``, ``fig_<name>.png``) so that two reports can be diffed.
Every verdict lists the store keys of the runs it was computed from. Figures are drawn by
``verify.figures`` (one renderer per plot kind); this module only lays the files out.
"""

from __future__ import annotations

import html
import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from verify.figures import draw, figure_size
from verify.runner import Outcome


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


def console_table(outcomes: Sequence[Outcome]) -> str:
    """Claim, source, predicted, measured ± interval, verdict — one row per claim."""
    rows = [("claim", "source", "predicted", "measured ± interval", "verdict")]
    for o in outcomes:
        rows.append((o.id, o.source, _short(o.evaluation.predicted), _short(o.evaluation.measured), o.verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------
def render_figures(outcomes: Sequence[Outcome], out: Path) -> dict[str, list[str]]:
    """Write one PNG per plot (``fig_<claim>_<kind>.png``, then ``…_<kind>_2.png`` for a second plot of
    that kind in the same claim; drawn by ``verify.figures``).

    Parameters
    ----------
    outcomes : sequence of Outcome
        The claims' outcomes; each ``evaluation.plots`` entry becomes one file.
    out : Path
        The report folder.

    Returns
    -------
    dict
        Claim id → file names; a figure that could not be drawn is listed as ``"(figure … not drawn: reason)"``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: dict[str, list[str]] = {}
    for o in outcomes:
        kinds = [plot.kind for plot in o.evaluation.plots]
        for i, plot in enumerate(o.evaluation.plots):
            nth = kinds[:i].count(plot.kind)  # a second plot of one kind in one claim gets its own file
            name = f"fig_{o.id}_{plot.kind}{'' if nth == 0 else f'_{nth + 1}'}.png".replace("/", "_")
            fig = plt.figure(figsize=figure_size(plot.kind), dpi=110)
            try:
                draw(fig, plot)
                fig.suptitle(f"{o.id}: {plot.title}", fontsize=9)
                fig.tight_layout()
                fig.savefig(out / name)
                files.setdefault(o.id, []).append(name)
            except (KeyError, ValueError, IndexError, TypeError) as exc:
                files.setdefault(o.id, []).append(f"(figure {name} not drawn: {exc})")
            finally:
                plt.close(fig)
    return files


# ---------------------------------------------------------------------------
# documents
# ---------------------------------------------------------------------------
def results_dict(outcomes: Sequence[Outcome], profile: str, stats: Mapping[str, Any], store: str) -> dict:
    return _jsonable({
        "profile": profile, "store": store, "stats": stats,
        "claims": [{"id": o.id, "source": o.source, "kind": o.kind, "statement": o.statement,
                    "statistic": o.statistic, "rule": o.rule, "verdict": o.verdict,
                    "reason": o.evaluation.decision.reason, "predicted": o.evaluation.predicted,
                    "measured": o.evaluation.measured, "prediction": o.prediction,
                    "numbers": o.evaluation.numbers, "plots": [{"kind": p.kind, "title": p.title, "data": p.data}
                                                              for p in o.evaluation.plots],
                    "runs": o.runs_by_variant, "run_keys": list(o.run_keys)} for o in outcomes]})


def markdown(outcomes: Sequence[Outcome], profile: str, stats: Mapping[str, Any], store: str,
             figures: Mapping[str, list[str]]) -> str:
    lines = [f"# Verification report — profile `{profile}`", "",
             f"Runs: {stats.get('runs', 0)} distinct (store `{store}`); simulate {stats.get('simulate_s', 0):.1f} s, "
             f"evaluate {stats.get('evaluate_s', 0):.1f} s. Numbers: `results.json`. Claims: THEORY.md §5.", "",
             "| claim | source | kind | predicted | measured ± interval | verdict |",
             "|---|---|---|---|---|---|"]
    for o in outcomes:
        cells = [o.id, o.source, o.kind, o.evaluation.predicted, o.evaluation.measured, f"**{o.verdict}**"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    for o in outcomes:
        lines += ["", f"## {o.id} — {o.verdict}", "", f"*{o.source}, {o.kind}.* {o.statement}", "",
                  f"- **predicted** (from `theory`): {o.evaluation.predicted}",
                  f"- **statistic**: {o.statistic}", f"- **rule**: {o.rule}",
                  f"- **measured**: {o.evaluation.measured}", f"- **reason**: {o.evaluation.decision.reason}",
                  "- **runs**: " + ", ".join(f"{v or 'main'}: " + ", ".join(f"d={d}×{n}" for d, n in sorted(c.items()))
                                             for v, c in o.runs_by_variant.items())]
        for f in figures.get(o.id, []):
            lines += ["", f"![{o.id}]({f})" if f.endswith(".png") else f]
        lines += ["", "<details><summary>store keys</summary>", "", " ".join(f"`{k}`" for k in o.run_keys) or "(none)",
                  "", "</details>"]
    return "\n".join(lines) + "\n"


def html_page(outcomes: Sequence[Outcome], profile: str, stats: Mapping[str, Any], store: str,
              figures: Mapping[str, list[str]]) -> str:
    e = html.escape
    colour = {"CONFIRMED": "#1a7f37", "REFUTED": "#cf222e", "INCONCLUSIVE": "#9a6700"}
    rows = "".join(
        f"<tr><td>{e(o.id)}</td><td>{e(o.source)}</td><td>{e(o.kind)}</td><td>{e(o.evaluation.predicted)}</td>"
        f"<td>{e(o.evaluation.measured)}</td><td style='color:{colour[o.verdict]}'><b>{o.verdict}</b></td></tr>"
        for o in outcomes)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>verify — {e(profile)}</title>"
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{border:1px solid #ccc;"
             "padding:4px;font-size:13px;vertical-align:top}table{border-collapse:collapse}code{font-size:11px}"
             "</style></head><body>",
             f"<h1>Verification report — profile {e(profile)}</h1>",
             f"<p>Runs: {stats.get('runs', 0)} distinct (store <code>{e(store)}</code>); simulate "
             f"{stats.get('simulate_s', 0):.1f} s, evaluate {stats.get('evaluate_s', 0):.1f} s. All numbers in "
             "<code>results.json</code>. Claims: THEORY.md §5.</p>",
             "<table><tr><th>claim</th><th>source</th><th>kind</th><th>predicted</th><th>measured ± interval</th>"
             f"<th>verdict</th></tr>{rows}</table>"]
    for o in outcomes:
        imgs = "".join(f"<p><img src='{e(f)}' style='max-width:100%'></p>" if f.endswith(".png") else f"<p>{e(f)}</p>"
                       for f in figures.get(o.id, []))
        parts.append(
            f"<h2 id='{e(o.id)}'>{e(o.id)} — <span style='color:{colour[o.verdict]}'>{o.verdict}</span></h2>"
            f"<p><i>{e(o.source)}, {e(o.kind)}.</i> {e(o.statement)}</p><ul>"
            f"<li><b>predicted</b>: {e(o.evaluation.predicted)}</li><li><b>statistic</b>: {e(o.statistic)}</li>"
            f"<li><b>rule</b>: {e(o.rule)}</li><li><b>measured</b>: {e(o.evaluation.measured)}</li>"
            f"<li><b>reason</b>: {e(o.evaluation.decision.reason)}</li></ul>{imgs}"
            f"<details><summary>store keys ({len(o.run_keys)})</summary><code>{e(' '.join(o.run_keys))}</code>"
            "</details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def report_folder(out_root: str | Path, profile: str) -> Path:
    """``<out_root>/<profile>``, created and proved writable (a probe file is written and removed) — checked
    before any compute; ``ValueError`` in one line naming the folder otherwise.

    Parameters
    ----------
    out_root : str or Path
        The report root (``--out``).
    profile : str
        Profile name (the report folder).

    Returns
    -------
    Path
        The report folder.
    """
    out = Path(out_root) / profile
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise ValueError(f"--out {str(out_root)!r}: cannot write the report folder {str(out)!r} "
                         f"({exc.strerror or type(exc).__name__}); choose another --out") from None
    return out


def write_report(outcomes: Sequence[Outcome], profile: str, stats: Mapping[str, Any], store: str,
                 out_root: str | Path) -> Path:
    """Write ``<out_root>/<profile>/{report.md, report.html, results.json, fig_*.png}``.

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

    Returns
    -------
    Path
        The report folder ``<out_root>/<profile>``.
    """
    out = report_folder(out_root, profile)
    for old in out.glob("fig_*.png"):
        old.unlink()
    figures = render_figures(outcomes, out)
    (out / "report.md").write_text(markdown(outcomes, profile, stats, store, figures))
    (out / "report.html").write_text(html_page(outcomes, profile, stats, store, figures))
    (out / "results.json").write_text(json.dumps(results_dict(outcomes, profile, stats, store), indent=1,
                                                 ensure_ascii=False) + "\n")
    return out


__all__ = ["console_table", "html_page", "markdown", "render_figures", "report_folder", "results_dict",
           "write_report"]
