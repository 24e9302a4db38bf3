"""The report's documents, written from the claims' entries of ``results.json`` (THEORY.md §5):
the console summary, ``report.md``, ``report.html`` and ``report.tex``.

Every document is made from the same list of claim entries (``verify.report.claim_entry``: the claim, its
verdict and reason, the number that decided it, its arms and negative controls, its figures and its runs),
so a report that merges the claims of several runs (``verify.report.write_report``) reads the same in every
format. Each claim's section gives, next to the verdict, every arm with its verdict and reason and the
power of the claim (``power: <Control.text()>``, THEORY §5.1) — or says that no control is declared.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from verify.names import GREEK

Entry = Mapping[str, Any]
NO_CONTROL = "no control declared"
POWER_MARK = {True: "✓", False: "✗", None: "–"}  # every control refuted / one not refuted / none declared
DECIDED_WIDTH = 60  # console: characters of the "decided by" column
VERDICT_COLOUR = {"CONFIRMED": "#1a7f37", "REFUTED": "#cf222e", "INCONCLUSIVE": "#9a6700"}


def short(text: str, n: int) -> str:
    """``text`` on one line, cut to ``n`` characters with ``…``."""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def power(entry: Entry) -> bool | None:
    """``True`` when every negative control of the claim is refuted, ``False`` when one is not, ``None`` when the
    claim declares none."""
    controls = entry.get("controls") or []
    return None if not controls else all(c["refuted"] for c in controls)


def power_lines(entry: Entry) -> list[str]:
    """``"power: <Control.text()>"`` per control, or ``["power: no control declared"]``."""
    return [f"power: {c['text']}" for c in entry.get("controls") or []] or [f"power: {NO_CONTROL}"]


def arm_lines(entry: Entry) -> list[str]:
    """``"<arm>: <verdict> — <reason>"`` per arm (empty when the claim lists none)."""
    return [f"{a['name']}: {a['verdict']} — {a['reason']}" for a in entry.get("arms") or []]


def is_figure(name: str) -> bool:
    """Whether a figure-list item is a PNG file (else it says why a figure was not drawn)."""
    return name.endswith(".png")


# ---------------------------------------------------------------------------
# console
# ---------------------------------------------------------------------------
def console_summary(entries: Sequence[Entry], width: int = DECIDED_WIDTH) -> str:
    """A compact table: claim, verdict, power (✓ every negative control refuted, ✗ one not, – none declared),
    and the number that decided the claim; the rest is in the report.

    Parameters
    ----------
    entries : sequence of mapping
        Claim entries (``verify.report.claim_entry``).
    width : int
        Characters of the ``decided by`` column.

    Returns
    -------
    str
        The table, one line per claim.
    """
    rows = [("claim", "verdict", "power", "decided by")]
    rows += [(e["id"], e["verdict"], POWER_MARK[power(e)], short(e.get("decided_by", ""), width)) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(r[:3], widths)), r[3]]).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in [*widths, len("decided by")]))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# markdown
# ---------------------------------------------------------------------------
def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown(entries: Sequence[Entry], header: Sequence[str], paper_figures: Sequence[str] = ()) -> str:
    """``report.md``: the header lines, the verdict table, one section per claim, then the paper figures.

    Parameters
    ----------
    entries : sequence of mapping
        Claim entries.
    header : sequence of str
        Paragraphs under the title (profile, store, runs; ``verify.report.header``).
    paper_figures : sequence of str
        PNG names of the stairway figures of ``python -m verify figures`` in the folder.

    Returns
    -------
    str
    """
    lines = [f"# Verification report — profile `{header[0]}`", "", *(p for h in header[1:] for p in (h, "")),
             "| claim | source | kind | predicted | measured ± interval | verdict | power |",
             "|---|---|---|---|---|---|---|"]
    for e in entries:
        cells = [e["id"], e["source"], e["kind"], e["predicted"], e["measured"], f"**{e['verdict']}**",
                 POWER_MARK[power(e)]]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    for e in entries:
        lines += ["", f"## {e['id']} — {e['verdict']}", "", f"*{e['source']}, {e['kind']}.* {e['statement']}", "",
                  f"- **predicted** (from `theory`): {e['predicted']}", f"- **statistic**: {e['statistic']}",
                  f"- **rule**: {e['rule']}", f"- **measured**: {e['measured']}", f"- **reason**: {e['reason']}",
                  f"- **{power_lines(e)[0]}**", *(f"- **{p}**" for p in power_lines(e)[1:])]
        if e.get("arms"):
            lines += ["- **arms**:", *(f"  - {a}" for a in arm_lines(e))]
        lines += ["- **runs**: " + (", ".join(f"{v or 'main'}: " + ", ".join(f"d={d}×{n}" for d, n in sorted(
            c.items(), key=lambda kv: int(kv[0]))) for v, c in e.get("runs", {}).items()) or "none"),
                  f"- **written**: {e.get('written', '?')}"]
        for f in e.get("figures", []):
            stem = f[:-4]
            lines += ["", f"![{e['id']}]({f}) ([PDF]({stem}.pdf), [SVG]({stem}.svg))" if is_figure(f) else f]
        lines += ["", "<details><summary>store keys</summary>", "",
                  " ".join(f"`{k}`" for k in e.get("run_keys", [])) or "(none)", "", "</details>"]
    if paper_figures:
        lines += ["", "## Stairway figures (`python -m verify figures`)", ""]
        lines += [f"![{f}]({f}) ([PDF]({f[:-4]}.pdf), [SVG]({f[:-4]}.svg), [numbers]({f[:-4]}.json))"
                  for f in paper_figures]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# html
# ---------------------------------------------------------------------------
def _html_figure(name: str) -> str:
    e = html.escape
    if not is_figure(name):
        return f"<p>{e(name)}</p>"
    stem = e(name[:-4])
    return (f"<figure><img src='{e(name)}' style='max-width:100%'><figcaption><a href='{stem}.pdf'>PDF</a> · "
            f"<a href='{stem}.svg'>SVG</a></figcaption></figure>")


def html_page(entries: Sequence[Entry], header: Sequence[str], paper_figures: Sequence[str] = ()) -> str:
    """``report.html``: as :func:`markdown`, with each figure's PDF and SVG linked and the stairway figures of
    ``python -m verify figures`` shown when the folder has them."""
    e = html.escape
    rows = "".join(
        f"<tr><td><a href='#{e(c['ascii_id'])}'>{e(c['id'])}</a></td><td>{e(c['source'])}</td><td>{e(c['kind'])}</td>"
        f"<td>{e(c['predicted'])}</td><td>{e(c['measured'])}</td>"
        f"<td style='color:{VERDICT_COLOUR.get(c['verdict'], '#000')}'><b>{e(c['verdict'])}</b></td>"
        f"<td>{POWER_MARK[power(c)]}</td></tr>" for c in entries)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>verify — {e(header[0])}</title>"
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{border:1px solid #ccc;"
             "padding:4px;font-size:13px;vertical-align:top}table{border-collapse:collapse}code{font-size:11px}"
             "figcaption{font-size:12px}</style></head><body>",
             f"<h1>Verification report — profile {e(header[0])}</h1>", *(f"<p>{e(h)}</p>" for h in header[1:]),
             "<table><tr><th>claim</th><th>source</th><th>kind</th><th>predicted</th><th>measured ± interval</th>"
             f"<th>verdict</th><th>power</th></tr>{rows}</table>"]
    if paper_figures:
        parts.append("<p>Stairway figures (<code>python -m verify figures</code>): " + ", ".join(
            f"<a href='#{e(f[:-4])}'>{e(f[:-4])}</a>" for f in paper_figures) + "</p>")
    for c in entries:
        arms = "".join(f"<li>{e(a)}</li>" for a in arm_lines(c))
        parts.append(
            f"<h2 id='{e(c['ascii_id'])}'>{e(c['id'])} — "
            f"<span style='color:{VERDICT_COLOUR.get(c['verdict'], '#000')}'>{e(c['verdict'])}</span></h2>"
            f"<p><i>{e(c['source'])}, {e(c['kind'])}.</i> {e(c['statement'])}</p><ul>"
            f"<li><b>predicted</b>: {e(c['predicted'])}</li><li><b>statistic</b>: {e(c['statistic'])}</li>"
            f"<li><b>rule</b>: {e(c['rule'])}</li><li><b>measured</b>: {e(c['measured'])}</li>"
            f"<li><b>reason</b>: {e(c['reason'])}</li>" + "".join(f"<li><b>{e(p)}</b></li>" for p in power_lines(c))
            + (f"<li><b>arms</b>:<ul>{arms}</ul></li>" if arms else "")
            + f"<li><b>written</b>: {e(str(c.get('written', '?')))}</li></ul>"
            + "".join(_html_figure(f) for f in c.get("figures", []))
            + f"<details><summary>store keys ({len(c.get('run_keys', []))})</summary>"
              f"<code>{e(' '.join(c.get('run_keys', [])))}</code></details>")
    if paper_figures:
        parts.append("<h2>Stairway figures (<code>python -m verify figures</code>)</h2>")
        parts += [f"<div id='{e(f[:-4])}'>{_html_figure(f)}</div>" for f in paper_figures]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------
# LaTeX
# ---------------------------------------------------------------------------
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_TEX_MATH = {"≍": r"\asymp", "⊖": r"\ominus", "‖": r"\|", "±": r"\pm", "∞": r"\infty", "−": "-", "×": r"\times",
             "≤": r"\leq", "≥": r"\geq", "→": r"\to", "≈": r"\approx", "⟨": r"\langle", "⟩": r"\rangle",
             "·": r"\cdot", "∝": r"\propto", "∈": r"\in", "⊥": r"\perp", "√": r"\surd", "≪": r"\ll", "≫": r"\gg",
             "≠": r"\neq", "⌊": r"\lfloor", "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil", "∑": r"\sum",
             "Σ": r"\Sigma", "∼": r"\sim", "⊂": r"\subset", "⊆": r"\subseteq", "∅": r"\emptyset", "∩": r"\cap",
             "∪": r"\cup", "↦": r"\mapsto", "∀": r"\forall", "≡": r"\equiv", "°": r"^\circ", "²": "^2", "³": "^3",
             "ⁿ": "^n", "∘": r"\circ", "★": r"\star", "∗": r"\ast", "⋅": r"\cdot", "ℓ": r"\ell"}
_TEX_TEXT = {"…": r"\ldots{}", "“": "``", "”": "''", "‘": "`", "’": "'", "—": "---", "–": "--", "✓": "yes",
             "✗": "no", "\u00a0": "~", "§": r"\S{}"}
_TEX_SUPERSCRIPT = re.compile(r"\^(\{[^{}]*\}|[-+−]?[^\W_]+(?:[./][^\W_]+)?)")


def tex(text: Any) -> str:
    """``text`` as LaTeX that any engine compiles (pure ASCII): specials escaped, plain-text superscripts
    (``d^-0.5``, ``U^{T}``) as ``\\textsuperscript``, Greek letters and the common mathematical symbols as math
    macros (``σ`` → ``\\ensuremath{\\sigma}``), subscript digits as ``\\ensuremath{_{2}}``, anything else by
    its closest ASCII letter."""
    parts = _TEX_SUPERSCRIPT.split(str(text))  # text, superscript, text, …
    return "".join(_tex_chars(p) if i % 2 == 0 else f"\\textsuperscript{{{_tex_chars(p.strip('{}'))}}}"
                   for i, p in enumerate(parts))


def _tex_chars(text: str) -> str:
    """:func:`tex` character by character (no superscripts)."""
    out = []
    for ch in text:
        if ch in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[ch])
        elif ch in _TEX_TEXT:
            out.append(_TEX_TEXT[ch])
        elif ch in _TEX_MATH:
            out.append(f"\\ensuremath{{{_TEX_MATH[ch]}}}")
        elif ch in GREEK:
            out.append(f"\\ensuremath{{\\{GREEK[ch].replace('epsilon', 'varepsilon')}}}")
        elif "₀" <= ch <= "₉":
            out.append(f"\\ensuremath{{_{{{ord(ch) - ord('₀')}}}}}")
        elif ch.isascii():
            out.append(ch)
        else:
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
            out.append(_tex_chars(plain) if plain else "?")
    return "".join(out)


def latex_table(entries: Sequence[Entry]) -> str:
    """The verdict table as a LaTeX ``table`` (``booktabs``): claim, kind, verdict, power, decided by.

    Parameters
    ----------
    entries : sequence of mapping
        Claim entries.

    Returns
    -------
    str
        ``\\begin{table}…\\end{table}``, one row ``claim & kind & verdict & power & decided by \\\\`` per claim.
    """
    rows = [f"{tex(e['id'])} & {tex(e['kind'])} & {tex(e['verdict'])} & {tex(POWER_MARK[power(e)])} & "
            f"{tex(short(e.get('decided_by', ''), DECIDED_WIDTH))} \\\\" for e in entries]
    return "\n".join([r"\begin{table}[ht]", r"\centering\small", r"\begin{tabular}{lllcp{0.45\linewidth}}",
                      r"\toprule", r"claim & kind & verdict & power & decided by \\", r"\midrule", *rows,
                      r"\bottomrule", r"\end{tabular}",
                      r"\caption{Verdicts of the claims (THEORY.md \S5). Power: every negative control refuted "
                      r"(yes), one not (no), none declared (--).}", r"\label{tab:verdicts}", r"\end{table}"])


def latex_document(entries: Sequence[Entry], header: Sequence[str]) -> str:
    """``report.tex``: a standalone document (``pdflatex report.tex`` in the report folder) with the verdict
    table (:func:`latex_table`) and one section per claim — predicted, measured, reason, power, arms and its
    figures as PDFs."""
    parts = [r"\documentclass[10pt]{article}", r"\usepackage[margin=2cm]{geometry}",
             r"\usepackage{booktabs,graphicx,amsmath,amssymb}", r"\begin{document}",
             f"\\section*{{Verification report --- profile {tex(header[0])}}}",
             *(tex(h) + "\n" for h in header[1:]), latex_table(entries)]
    for e in entries:
        items = [("predicted", e["predicted"]), ("measured", e["measured"]), ("reason", e["reason"]),
                 *(("", p) for p in power_lines(e)), *(("arm", a) for a in arm_lines(e))]
        parts += [f"\\subsection*{{{tex(e['id'])} --- {tex(e['verdict'])}}}",
                  f"\\emph{{{tex(e['source'])}, {tex(e['kind'])}.}} {tex(e['statement'])}", r"\begin{itemize}",
                  *(f"\\item \\textbf{{{tex(k)}}} {tex(v)}" if k else f"\\item {tex(v)}" for k, v in items),
                  r"\end{itemize}"]
        parts += [f"\\begin{{center}}\\includegraphics[width=0.9\\linewidth]{{{f[:-4]}.pdf}}\\end{{center}}"
                  for f in e.get("figures", []) if is_figure(f)]
    parts.append(r"\end{document}")
    return "\n".join(parts) + "\n"


__all__ = ["NO_CONTROL", "POWER_MARK", "arm_lines", "console_summary", "html_page", "latex_document", "latex_table",
           "markdown", "power", "power_lines", "short", "tex"]
