"""Console table, ``report.md``, ``report.html``, ``results.json`` and PNG figures (issue item 4).

File names are fixed (``reports/<profile>/report.md``, ``report.html``,
``results.json``, ``fig_<name>.png``) so that two reports can be diffed.
Every verdict lists the store keys of the runs it was computed from.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

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
def _fig_loglog(ax: Any, data: Mapping[str, Any]) -> None:
    """Per-``x`` means with intervals and the fitted power law; ``x`` is ``d`` unless ``data["xlabel"]`` says."""
    x_name = data.get("xlabel", "d")
    for s in data["series"]:
        d = np.array(s["dims"], dtype=float)
        m, lo, hi = (np.array(s[k]) for k in ("means", "mean_lo", "mean_hi"))
        line = ax.errorbar(d, m, yerr=[m - lo, hi - m], fmt="o", ms=4, capsize=2,
                           label=f"{s['label']}: {x_name}^{s['slope']:+.2f} [{s['ci'][0]:+.2f}, {s['ci'][1]:+.2f}]")
        ax.plot(d, np.exp(s["intercept"]) * d ** s["slope"], "-", color=line[0].get_color(), lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(x_name)
    ax.set_ylabel(data.get("ylabel", "overlap / singular value"))
    if data["series"]:
        ax.legend(fontsize=6)


def _fig_curve(ax: Any, data: Mapping[str, Any]) -> None:
    f = data["formula"]
    al = np.geomspace(0.1, 20, 200)
    eta, mu1, mu2, c1, c0 = f["eta_tilde"], f["mu1"], f["mu2"], f["norm_C1"], f["C0"]
    pred = eta * mu1 * c1 / np.sqrt((1 + eta * mu2 * c0) ** 2 + eta**2 * mu1**2 * c1**2
                                    + eta**2 * (f["E_g2"] + f["noise"]) * f["E_dsigma2"] / al)
    ax.plot(al, pred, "k-", lw=1, label="§3.1 formula (d → ∞)")
    by_d: dict[str, list[tuple[float, float, float, float]]] = {}
    for a, rows in data["measured"].items():
        for d, r in rows.items():
            by_d.setdefault(d, []).append((float(a), r["mean"], r["lo"], r["hi"]))
    for d, pts in sorted(by_d.items(), key=lambda kv: int(kv[0])):
        pts.sort()
        a, m, lo, hi = (np.array(x) for x in zip(*pts))
        ax.errorbar(a, m, yerr=[m - lo, hi - m], fmt="o", ms=4, capsize=2, label=f"simulated, d={d}")
    ax.set_xscale("log")
    ax.set_xlabel("α = n/d")
    ax.set_ylabel("⟨ŵ, v*⟩ (a = +1 neurons)")
    ax.legend(fontsize=7)


def _fig_plane(fig: Any, data: Mapping[str, Any]) -> None:
    steps = data["steps"]
    axes = fig.subplots(1, len(steps), squeeze=False)[0]
    for ax, st in zip(axes, steps):
        x, y = np.array(st["x"]), np.array(st["y"])
        half = len(x) // 2
        ax.scatter(x[:half], y[:half], s=8, label="a = +1")
        ax.scatter(x[half:], y[half:], s=8, label="a = −1")
        ax.add_patch(__import__("matplotlib.patches", fromlist=["Circle"]).Circle((0, 0), 1, fill=False, lw=0.5))
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_aspect("equal")
        ax.set_title(f"after {st['t']} step(s)", fontsize=8)
        ax.set_xlabel("⟨ŵ, v*⟩")
    axes[0].set_ylabel("⟨ŵ, v⊥⟩")
    axes[0].legend(fontsize=6)


def _fig_extrapolation(ax: Any, data: Mapping[str, Any]) -> None:
    for s in data["series"]:
        vals = {int(d): v for d, v in s["values"].items()}
        if not vals:
            continue
        d = np.array(sorted(vals), dtype=float)
        m = np.array([np.mean(vals[int(x)]) for x in d])
        line = ax.plot(d, m, "o", ms=4, label=f"{s['label']} (measured)")[0]
        fit = s.get("fit")
        if fit and fit.get("ok"):
            dd = np.geomspace(d[0], d[-1] * 16, 100)
            ax.plot(dd, fit["eps_inf"] + fit["c"] * dd ** (-fit["gamma"]), "-", color=line.get_color(), lw=1)
            ax.axhspan(fit["ci_eps_inf"][0], fit["ci_eps_inf"][1], color=line.get_color(), alpha=0.12)
        ax.axhline(s["predicted"], color=line.get_color(), ls="--", lw=1, label=f"{s['label']} predicted")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("d")
    ax.set_ylabel("test error")
    ax.legend(fontsize=6)


def _fig_stairway(ax: Any, data: Mapping[str, Any]) -> None:
    pred = data["predicted"]
    exps = sorted(pred, key=float)
    x = np.array([float(e) for e in exps])
    for T in (1, 2, 3):
        line = ax.plot(x, [pred[e][T] for e in exps], "--", lw=1, label=f"predicted T={T}")[0]
        pts = [(float(e), data["measured"][e]["errors"].get(str(T))) for e in exps if e in data["measured"]]
        pts = [(e, r) for e, r in pts if r]
        if pts:
            ax.errorbar([e for e, _ in pts], [r["mean"] for _, r in pts],
                        yerr=[[r["mean"] - r["lo"] for _, r in pts], [r["hi"] - r["mean"] for _, r in pts]],
                        fmt="o", color=line.get_color(), capsize=2, label=f"simulated T={T}")
    ax.set_xlabel("log_d n")
    ax.set_ylabel("test error")
    ds = sorted({v["d"] for v in data["measured"].values()})
    ax.set_title(f"simulated at d = {', '.join(map(str, ds))}", fontsize=8)
    ax.legend(fontsize=6)


def render_figures(outcomes: Sequence[Outcome], out: Path) -> dict[str, list[str]]:
    """Write one PNG per plot (``fig_<claim>_<kind>.png``); returns claim id → file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from verify.claims.zhou_ge import FIGURES as ZG_FIGURES

    files: dict[str, list[str]] = {}
    for o in outcomes:
        for plot in o.evaluation.plots:
            name = f"fig_{o.id}_{plot.kind}.png".replace("/", "_")
            fig = plt.figure(figsize=(9, 3.2) if plot.kind == "plane" else (6, 4), dpi=110)
            try:
                if plot.kind == "plane":
                    _fig_plane(fig, plot.data)
                elif plot.kind in ZG_FIGURES:
                    ZG_FIGURES[plot.kind](fig, plot.data)
                else:
                    ax = fig.add_subplot(1, 1, 1)
                    {"loglog": _fig_loglog, "curve": _fig_curve, "extrapolation": _fig_extrapolation,
                     "stairway": _fig_stairway}[plot.kind](ax, plot.data)
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


def write_report(outcomes: Sequence[Outcome], profile: str, stats: Mapping[str, Any], store: str,
                 out_root: str | Path) -> Path:
    """Write ``<out_root>/<profile>/{report.md, report.html, results.json, fig_*.png}``; returns the folder."""
    out = Path(out_root) / profile
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("fig_*.png"):
        old.unlink()
    figures = render_figures(outcomes, out)
    (out / "report.md").write_text(markdown(outcomes, profile, stats, store, figures))
    (out / "report.html").write_text(html_page(outcomes, profile, stats, store, figures))
    (out / "results.json").write_text(json.dumps(results_dict(outcomes, profile, stats, store), indent=1,
                                                 ensure_ascii=False) + "\n")
    return out


__all__ = ["console_table", "html_page", "markdown", "render_figures", "results_dict", "write_report"]
