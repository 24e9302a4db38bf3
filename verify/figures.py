"""Every figure of the report: one renderer per figure kind (THEORY.md §5; [ZG] figures §4).

A claim's evaluation returns :class:`verify.Plot` objects (``figure``: a ``verify.claims.base.FigureKind``,
``title``, ``data``: plain numbers); this module turns them into matplotlib figures, so no claim module draws
and the report imports no claim. Every renderer takes a matplotlib ``Figure`` and the plot's ``data``
mapping; :func:`draw` picks it from ``RENDERERS`` by the plot's figure kind.

Figure kinds: ``loglog`` (per-``x`` means with intervals and the fitted power law), ``curve`` (the §3.1
one-step overlap against ``α = n/d``), ``plane`` (neurons in the ``(v*, v⊥)`` plane after each step),
``extrapolation`` (test error against ``d`` with ``ε∞ + c·d^{-γ}``), ``stairway`` (test error against
``log_d n``), ``zg_time``, ``zg_neurons``, ``zg_mass`` ([ZG] loss/λ trajectory, neurons, mass per teacher),
``published`` (the authors' published errors against the suite's seeds, NB-one-step), ``dmft`` (overlaps per
reused step against the authors' DMFT, BR-dmft), ``step_plane`` (the
neurons' step cosines in the ``(e1, e2)`` plane per step with the ``±v*`` line, NB-orient), ``paper_stairway``
(test error against ``log_d n`` per number of steps with the predicted plateaus as steps, ``verify.paper``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from verify import style
from verify.claims.base import FigureKind, Plot
from verify.style import REFERENCE, colour, marker, math_text

if TYPE_CHECKING:
    from theory.overlap import OneStepOverlap

Renderer = Callable[[Any, Mapping[str, Any]], None]

WIDE = (9, 3.2)       # figure size of the one-panel-per-step kinds
GRID_PANEL = 2.1      # step_plane: inches per panel (rows = examples, columns = steps)
LOGLOG_PANEL = (3.3, 3.0)  # loglog with several panels: inches per panel (legend below each)
LOGLOG_COLUMNS = 3
PER_PANEL = len(style.PALETTE) - 1  # series in one panel at most (the last colour, black, is kept for guides)
PAPER_SIZE = (7, 4.2)  # paper_stairway
DEFAULT_SIZE = (6, 4)
ANGLE_FLOOR = 1e-6    # zg_neurons: angles below are drawn at the floor (log axis)
CURVE_ALPHAS = (0.1, 20.0)  # curve: range of α = n/d drawn for the d → ∞ prediction


def panels(series: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """The ``loglog`` series split into panels of at most ``PER_PANEL``: one panel when they fit, else one
    per label prefix (the text before ``": "``, e.g. ``"relu t=2"``), a prefix with too many cut in chunks.

    Returns
    -------
    list of (title, series)
        The panel's title (``""`` for a single panel) and its series; a series keeps its full label in a
        single panel, and only the text after the prefix in a titled one.
    """
    if len(series) <= PER_PANEL:
        return [("", list(series))]
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for s in series:
        head, sep, tail = str(s["label"]).partition(": ")
        key = head if sep else ""
        groups.setdefault(key, []).append({**s, "label": tail if sep else head})
    out = []
    for key, members in groups.items():
        for k in range(0, len(members), PER_PANEL):
            out.append((key, members[k:k + PER_PANEL]))
    return out


def _slope_label(s: Mapping[str, Any], x_name: str) -> str:
    """``"<label>: d^{−0.51} [−0.55, −0.47]"`` in mathtext (the fitted exponent and its interval)."""
    lo, hi = s["ci"]
    base = "d" if x_name == "d" else f"({x_name})"
    return f"{math_text(s['label'])}: {base}$^{{{s['slope']:+.2f}}}$ [{lo:+.2f}, {hi:+.2f}]"


def _guide(ax: Any, members: Sequence[Mapping[str, Any]], expected: float, x_name: str) -> None:
    """A grey dotted guide of slope ``expected`` (``∝ d^{-1/2}``), parallel to and above the fitted line whose
    slope is closest to it, so a decay can be compared with the prediction by eye."""
    s = min(members, key=lambda m: abs(float(m["slope"]) - expected))
    d = np.array(s["dims"], dtype=float)
    y0 = 2.0 * float(np.exp(s["intercept"]) * d[0] ** s["slope"])
    frac = Fraction(expected).limit_denominator(12)
    power = f"{frac.numerator}/{frac.denominator}" if frac.denominator != 1 else f"{frac.numerator}"
    ax.plot(d, y0 * (d / d[0]) ** expected, ":", color=REFERENCE, lw=1.2,
            label=f"slope of ${'d' if x_name == 'd' else 'x'}^{{{power}}}$ (the predicted decay)")


LEGEND_BELOW = {"xlabel": -0.15, "ticks": -0.12, "none": -0.05}  # legend offset under a panel, by what is there


def loglog(fig: Any, data: Mapping[str, Any]) -> None:
    """Per-``x`` means with intervals and the fitted power law, at most ``PER_PANEL`` series a panel
    (:func:`panels`), each legend below its panel; ``x`` is ``d`` unless ``data["xlabel"]`` says; a dotted
    guide of the predicted exponent ``data["expected"]`` when given."""
    x_name = data.get("xlabel", "d")
    x_label = math_text(x_name) if x_name != "d" else "$d$"
    groups = panels(data["series"])
    cols = min(LOGLOG_COLUMNS, len(groups))
    rows = math.ceil(len(groups) / cols)
    if len(groups) > 1:
        fig.set_size_inches(LOGLOG_PANEL[0] * cols, LOGLOG_PANEL[1] * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True).ravel()
    for k, (ax, (title, members)) in enumerate(zip(axes, groups)):
        for i, s in enumerate(members):
            d = np.array(s["dims"], dtype=float)
            m, lo, hi = (np.array(s[key], dtype=float) for key in ("means", "mean_lo", "mean_hi"))
            ax.errorbar(d, m, yerr=[np.maximum(m - lo, 0), np.maximum(hi - m, 0)], fmt=marker(i), color=colour(i),
                        ms=4, capsize=2, label=_slope_label(s, x_name))
            ax.plot(d, np.exp(s["intercept"]) * d ** s["slope"], "-", color=colour(i), lw=1)
        if data.get("expected") is not None and members:
            _guide(ax, members, float(data["expected"]), x_name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(math_text(title), fontsize=8)
        below = k + cols >= len(groups)  # no panel under it: its tick labels show
        ax.xaxis.set_tick_params(labelbottom=below)
        if len(groups) == 1:
            ax.set_xlabel(x_label)
        if members:
            where = "xlabel" if len(groups) == 1 else ("ticks" if below else "none")
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, LEGEND_BELOW[where]), fontsize=6)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    if len(groups) > 1:
        fig.supxlabel(x_label)
    axes[0].set_ylabel(math_text(data.get("ylabel", "overlap / singular value")))


def curve(fig: Any, data: Mapping[str, Any]) -> None:
    """The §3.1 overlap (``data["_formula"]``: ``theory.overlap.OneStepOverlap``) and the points measured per ``d``."""
    ax = fig.add_subplot(1, 1, 1)
    formula: OneStepOverlap = data["_formula"]
    al = np.geomspace(*CURVE_ALPHAS, 200)
    ax.plot(al, formula.evaluate(al), "-", color=REFERENCE, lw=1.5, label=r"§3.1 formula ($d \to \infty$)")
    by_d: dict[str, list[tuple[float, float, float, float]]] = {}
    for a, rows in data["measured"].items():
        for d, r in rows.items():
            by_d.setdefault(d, []).append((float(a), r["mean"], r["lo"], r["hi"]))
    for i, (d, pts) in enumerate(sorted(by_d.items(), key=lambda kv: int(kv[0]))):
        pts.sort()
        a, m, lo, hi = (np.array(x) for x in zip(*pts))
        ax.errorbar(a, m, yerr=[m - lo, hi - m], fmt=marker(i), color=colour(i), ms=4, capsize=2,
                    label=f"simulated, $d = {d}$ (mean, CI over seeds)")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\alpha = n/d$")
    ax.set_ylabel(r"$\langle \hat w, v^*\rangle$ ($a_i = +1$ neurons)")
    ax.legend(loc="upper left")


def plane(fig: Any, data: Mapping[str, Any]) -> None:
    """One panel per step: each neuron at ``(⟨ŵ, v*⟩, ⟨ŵ, v⊥⟩)``, the ``a = +1`` half and the ``a = −1`` half."""
    from matplotlib.patches import Circle

    steps = data["steps"]
    axes = fig.subplots(1, len(steps), squeeze=False)[0]
    for ax, st in zip(axes, steps):
        x, y = np.array(st["x"]), np.array(st["y"])
        half = len(x) // 2
        ax.scatter(x[:half], y[:half], s=8, color=colour(0), marker=marker(0), label="$a_i = +1$")
        ax.scatter(x[half:], y[half:], s=8, color=colour(1), marker=marker(1), label="$a_i = -1$")
        ax.add_patch(Circle((0, 0), 1, fill=False, lw=0.5, color=REFERENCE))
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_aspect("equal")
        ax.set_title(f"after {st['t']} step(s)", fontsize=8)
        ax.set_xlabel(r"$\langle \hat w, v^*\rangle$")
    axes[0].set_ylabel(r"$\langle \hat w, v_\perp\rangle$")
    axes[0].legend(loc="lower left", fontsize=6)


def extrapolation(fig: Any, data: Mapping[str, Any]) -> None:
    """Per-``d`` means ± standard error over seeds, the fitted ``ε∞ + c·d^{-γ}`` with the CI of ``ε∞`` (band),
    and the predicted limit (dashed); every line and band in the legend."""
    ax = fig.add_subplot(1, 1, 1)
    for i, s in enumerate(data["series"]):
        vals = {int(d): np.asarray(v, dtype=float) for d, v in s["values"].items()}
        if not vals:
            continue
        c = colour(i)
        d = np.array(sorted(vals), dtype=float)
        m = np.array([vals[int(x)].mean() for x in d])
        se = np.array([vals[int(x)].std(ddof=1) / math.sqrt(vals[int(x)].size) if vals[int(x)].size > 1 else 0.0
                       for x in d])
        label = math_text(s["label"])
        ax.errorbar(d, m, yerr=se, fmt=marker(i), color=c, ms=4, capsize=2, label=f"{label}: mean ± s.e.")
        fit = s.get("fit")
        if fit and fit.get("ok"):
            dd = np.geomspace(d[0], d[-1] * 16, 100)
            ax.plot(dd, fit["eps_inf"] + fit["c"] * dd ** (-fit["gamma"]), "-", color=c, lw=1,
                    label=rf"{label}: fit $\varepsilon_\infty + c\,d^{{-{fit['gamma']:.2g}}}$")
            ax.axhspan(fit["ci_eps_inf"][0], fit["ci_eps_inf"][1], color=c, alpha=0.12,
                       label=rf"{label}: CI of $\varepsilon_\infty$")
        ax.axhline(s["predicted"], color=c, ls="--", lw=1, label=f"{label}: predicted limit")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("$d$")
    ax.set_ylabel("test error")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=6)


def stairway(fig: Any, data: Mapping[str, Any]) -> None:
    """Predicted ``ε_pred(U^T, 1)`` against ``log_d n`` per step ``T``, and the simulated errors with intervals."""
    ax = fig.add_subplot(1, 1, 1)
    pred = data["predicted"]
    exps = sorted(pred, key=float)
    x = np.array([float(e) for e in exps])
    for T in range(1, len(pred[exps[0]])):
        c = colour(T - 1)
        ax.plot(x, [pred[e][T] for e in exps], "--", color=c, lw=1, label=f"predicted $T = {T}$")
        pts = [(float(e), data["measured"][e]["errors"].get(str(T))) for e in exps if e in data["measured"]]
        pts = [(e, r) for e, r in pts if r]
        if pts:
            ax.errorbar([e for e, _ in pts], [r["mean"] for _, r in pts],
                        yerr=[[r["mean"] - r["lo"] for _, r in pts], [r["hi"] - r["mean"] for _, r in pts]],
                        fmt=marker(T - 1), color=c, capsize=2, label=f"simulated $T = {T}$ (mean, CI)")
    ax.set_xlabel(r"$\log_d n$")
    ax.set_ylabel("test error")
    ds = sorted({v["d"] for v in data["measured"].values()})
    ax.set_title(f"simulated at $d$ = {', '.join(map(str, ds))}", fontsize=8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=6)


def published(fig: Any, data: Mapping[str, Any]) -> None:
    """One panel per ``κ`` (own scale): the suite's per-seed errors (notebook protocol and honest variant), the
    prediction interval of one full seed, and the published mean with its data-only standard deviation."""
    rows = data["rows"]
    axes = fig.subplots(1, len(rows), squeeze=False)[0]
    for ax, row in zip(axes, rows):
        full, honest, pub = row["full_seeds"]["values"], row["honest"]["values"], row["published"]
        ax.scatter(np.zeros(len(full)), full, s=14, color=colour(0), label="suite, full seeds")
        ax.scatter(np.ones(len(honest)), honest, s=18, marker="x", color=colour(2), label="suite, honest test estimate")
        if "interval" in row:
            ax.vlines(0, *row["interval"], color=colour(0), lw=4, alpha=0.25,
                      label=f"{row['level']:.1%} prediction interval")
        ax.errorbar(2, pub["mean"], yerr=pub["std"], fmt="D", color=colour(1), ms=5, capsize=3,
                    label="published mean ± data-only sd")
        ax.set_xlim(-0.7, 2.7)
        ax.set_xticks([0, 1, 2], ["suite", "honest", "published"], fontsize=7)
        ax.set_title(rf"$\kappa = {row['kappa']:g}$ ({row['verdict']})", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel(f"test error ($d = {data['size']['d']}$, $p = {data['size']['p']}$)")
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=7)


def dmft(fig: Any, data: Mapping[str, Any]) -> None:
    """One panel per neuron ``i`` and teacher axis ``k``: the authors' DMFT ``m[t, i, k]`` against the step ``t``
    (line) and the suite's mean with its interval at each ``d`` (BR-dmft)."""
    m = np.asarray(data["dmft"], dtype=float)
    rows, cols = m.shape[1], m.shape[2]
    axes = fig.subplots(rows, cols, squeeze=False)
    for i in range(rows):
        for k in range(cols):
            ax = axes[i][k]
            ax.plot(range(m.shape[0]), m[:, i, k], "-", color=REFERENCE, lw=1, label="DMFT (published)")
            for j, d in enumerate(data["d"]):
                cells = [(t, data["measured"].get(f"{t},{i},{k},{d}")) for t in range(m.shape[0])]
                cells = [(t, c) for t, c in cells if c]
                ax.errorbar([t + 0.08 * (j - 1) for t, _ in cells], [c["mean"] for _, c in cells],
                            yerr=[[c["mean"] - c["lo"] for _, c in cells], [c["hi"] - c["mean"] for _, c in cells]],
                            fmt=marker(j), ms=3, color=colour(j), capsize=2, label=f"$d = {d}$")
            ax.set_title(rf"$m_{{t,{i},{k}}}$", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[-1][0].set_xlabel("reused step $t$")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=7)


def step_plane(fig: Any, data: Mapping[str, Any]) -> None:
    """Rows = examples, columns = steps: each neuron's step cosines ``(cos e1, cos e2)``, the ``±v*`` line
    (dashed) and the staircase's new directions at that step (dotted)."""
    rows = data["rows"]
    cols = max(len(r["steps"]) for r in rows)
    fig.set_size_inches(GRID_PANEL * cols, GRID_PANEL * len(rows) + 0.6)
    axes = fig.subplots(len(rows), cols, squeeze=False)
    for ax_row, row in zip(axes, rows):
        v = np.asarray(row["v_star"])
        for ax, st in zip(ax_row, row["steps"]):
            x, y = np.asarray(st["x"]), np.asarray(st["y"])
            lim = max(1e-3, 1.1 * float(np.max(np.abs(np.r_[x, y]))))
            ax.scatter(x, y, s=3, alpha=0.6, color=colour(0), label="neurons")
            ax.plot([-lim * v[0], lim * v[0]], [-lim * v[1], lim * v[1]], "--", color=REFERENCE, lw=0.8,
                    label=r"$\pm v^*$")
            for k, u in enumerate(st["new"]):
                ax.plot([-lim * u[0], lim * u[0]], [-lim * u[1], lim * u[1]], ":", color=colour(1), lw=1,
                        label="new staircase direction" if k == 0 else None)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=5)
            ax.set_title(f"step {st['t']}", fontsize=7)
        ax_row[0].set_ylabel(f"{row['label']}\n$d = {row['d']}$, seed {row['seed']}\n$\\cos(G_i, e_2)$", fontsize=6)
    for ax in axes[-1]:
        ax.set_xlabel(r"$\cos(G_i, e_1)$", fontsize=6)
    handles: dict[str, Any] = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=len(handles), fontsize=7)


def paper_stairway(fig: Any, data: Mapping[str, Any]) -> None:
    """Test error against ``log_d n``, one curve per number of steps ``T`` (``T = 0``: random features), the
    seeds' range shaded, and the predicted plateaus ``ε_pred(U^T_σ, κ)`` as dashed steps (``verify.paper``)."""
    ax = fig.add_subplot(1, 1, 1)
    x = np.asarray(data["grid"], dtype=float)
    for T, m in data["measured"].items():
        color = colour(int(T))
        mean, lo, hi = (np.asarray(m[k], dtype=float) for k in ("mean", "lo", "hi"))
        ok = np.isfinite(mean)
        ax.plot(x[ok], mean[ok], "-", marker=marker(int(T)), ms=3, lw=1.2, color=color,
                label="$T = 0$ (random features)" if T == "0" else f"$T = {T}$")
        ax.fill_between(x[ok], lo[ok], hi[ok], color=color, alpha=0.15, lw=0)
    for seg in data["plateaus"]:  # one dashed step per distinct value, labelled with the T that share it
        shared: dict[float, list[int]] = {}
        for T, value in seg["errors"].items():
            shared.setdefault(round(float(value), 9), []).append(int(T))
        for value, Ts in shared.items():
            ax.hlines(value, seg["from"], seg["to"], colors=colour(min(Ts)), linestyles="--", lw=1.4, alpha=0.8)
            text = f"$T={Ts[0]}$" if len(Ts) == 1 else f"$T={min(Ts)}$–${max(Ts)}$"
            ax.annotate(text, (seg["from"], value), xytext=(2, 2), textcoords="offset points", fontsize=6,
                        color=colour(min(Ts)))
    for i, b in enumerate(data["boundaries"]):
        ax.axvline(b, color=REFERENCE, lw=0.5, alpha=0.5,
                   label=r"integer $\log_d n$: the leap changes" if i == 0 else None)
    ax.fill_between([], [], [], color=REFERENCE, alpha=0.15, lw=0, label="range over seeds")
    ax.plot([], [], "--", color=REFERENCE, lw=1.4,
            label=rf"predicted $\varepsilon_{{\rm pred}}(U^T_\sigma, \kappa={data['kappa']})$")
    ax.set_xlabel(r"$\log_d n$ (first-layer batch per step)")
    ax.set_ylabel("test error")
    ax.set_ylim(bottom=0)
    ax.set_title(f"$g$ = {data['target']}, $\\sigma$ = {data['activation']}, $d = {data['d']}$, $p = {data['p']}$, "
                 f"$n_2 = {data['n_ridge']}$, {data['seeds']} seed(s)", fontsize=7)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=6)


def zg_time(fig: Any, data: Mapping[str, Any]) -> None:
    """[ZG] stage-3 population loss and ``λ`` against GD steps, with the fixed-feature plateau."""
    ax = fig.add_subplot(1, 1, 1)
    ax.semilogy(data["step"], data["loss"], "-", color=colour(0), lw=1.2, label="stage-3 population loss")
    if data.get("plateau") is not None:
        ax.axhline(data["plateau"], color=REFERENCE, ls="--", lw=1, label="fixed-feature plateau")
    ax.set_xlabel("GD step (stage 3)")
    ax.set_ylabel("loss")
    ax2 = ax.twinx()
    ax2.semilogy(data["step"], data["lam"], ":", color=colour(1), lw=1.2, label=r"$\lambda$ (right axis)")
    ax2.set_ylabel(r"$\lambda$")
    ax2.grid(False)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7)


def zg_neurons(fig: Any, data: Mapping[str, Any]) -> None:
    """[ZG] neurons as (angle to the nearest teacher, ``‖w_i‖``), size ``∝ |a_i|``, at the start and end of stage 3."""
    axes = fig.subplots(1, 2, sharey=True, sharex=True)
    for ax, key in zip(axes, ("start", "end")):
        s = data[key]
        a = np.abs(np.asarray(s["a"]))
        size = 4 + 60 * a / max(a.max(), 1e-300)
        ax.scatter(np.maximum(np.asarray(s["angle"]), ANGLE_FLOOR), s["norm"], s=size, alpha=0.6, color=colour(0),
                   label=r"neuron $i$ (area $\propto |a_i|$)")
        ax.axvline(data["near_angle"], color=REFERENCE, ls="--", lw=0.8, label="near threshold")
        ax.set_xscale("log")
        ax.set_title("start of stage 3" if key == "start" else "end of stage 3", fontsize=8)
    fig.supxlabel(rf"angle to the nearest teacher (rad; below $10^{{{round(math.log10(ANGLE_FLOOR))}}}$ drawn at it)",
                  fontsize=9)
    axes[0].set_ylabel(r"$\|w_i\|$")
    axes[1].legend(loc="upper right", fontsize=6)


def zg_mass(fig: Any, data: Mapping[str, Any]) -> None:
    """[ZG] signed mass ``Σ_{i near j} a_i‖w_i‖`` per teacher at the start and end of stage 3, against ``a*_j``."""
    ax = fig.add_subplot(1, 1, 1)
    j = np.arange(len(data["a_star"]))
    ax.bar(j - 0.2, data["start"], 0.4, color=colour(0), label=f"start of stage 3 (far mass {data['far_start']:.3g})")
    ax.bar(j + 0.2, data["end"], 0.4, color=colour(1), label=f"end of stage 3 (far mass {data['far_end']:.3g})")
    ax.scatter(j, data["a_star"], color=colour(6), marker="_", s=300, label="teacher weight $a^*_j$", zorder=3)
    ax.set_xticks(j)
    ax.set_xlabel("teacher $j$")
    ax.set_ylabel(r"$\sum_{i\ \mathrm{near}\ j} a_i \|w_i\|$")
    ax.legend(fontsize=7)


RENDERERS: Mapping[FigureKind, Renderer] = {
    FigureKind.LOGLOG: loglog, FigureKind.CURVE: curve, FigureKind.PLANE: plane,
    FigureKind.EXTRAPOLATION: extrapolation, FigureKind.STAIRWAY: stairway, FigureKind.ZG_TIME: zg_time,
    FigureKind.ZG_NEURONS: zg_neurons, FigureKind.ZG_MASS: zg_mass, FigureKind.PUBLISHED: published,
    FigureKind.DMFT: dmft, FigureKind.STEP_PLANE: step_plane, FigureKind.PAPER_STAIRWAY: paper_stairway}
FIGURE_SIZES: Mapping[FigureKind, tuple[float, float]] = {
    FigureKind.PLANE: WIDE, FigureKind.PUBLISHED: WIDE, FigureKind.PAPER_STAIRWAY: PAPER_SIZE}


def figure_size(figure: FigureKind) -> tuple[float, float]:
    """Figure size in inches for a figure kind (``FIGURE_SIZES``: ``WIDE`` for one panel per step, else
    ``DEFAULT_SIZE``)."""
    return FIGURE_SIZES.get(figure, DEFAULT_SIZE)


def draw(fig: Any, plot: Plot) -> None:
    """Draw ``plot`` into the matplotlib figure ``fig`` with the renderer of its figure kind (``RENDERERS``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        An empty figure (size from :func:`figure_size`; ``verify.style.figure`` makes one with the shared
        style); the renderer adds its own axes, under ``verify.style.rc``.
    plot : verify.Plot
        ``plot.figure`` picks the renderer; ``plot.data`` the numbers the claim's evaluation stored.
    """
    import matplotlib

    with matplotlib.rc_context(style.rc()):  # the shared look also for a figure made outside verify.style
        RENDERERS[plot.figure](fig, plot.data)


__all__ = ["FIGURE_SIZES", "PER_PANEL", "RENDERERS", "curve", "dmft", "draw", "extrapolation", "figure_size", "loglog",
           "panels", "paper_stairway", "plane", "published", "stairway", "step_plane", "zg_mass", "zg_neurons",
           "zg_time"]
