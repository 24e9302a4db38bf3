"""The report folder (issue 21 items 1, 2, 4, 6): a subset run merges into the report, every figure also as PDF
and SVG in the shared style, ``report.tex``, arms and negative controls in every document, the compact console
summary, ASCII claim ids. Tiny hand-made outcomes, no simulation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pytest

from verify import documents, style
from verify.claims.base import Arm, Control, Evaluation, FigureKind, Plot
from verify.figures import PER_PANEL, draw, panels
from verify.names import ascii_id, resolve_ids
from verify.report import read_entries, refresh, summary, write_report
from verify.rules import CONFIRMED, INCONCLUSIVE, REFUTED, Decision
from verify.runner import Outcome

matplotlib.use("Agg")


def _series(label: str, slope: float = -0.5) -> dict:
    dims = [64, 128, 256]
    means = [d ** slope for d in dims]
    return {"label": label, "slope": slope, "intercept": 0.0, "ci": [slope - 0.1, slope + 0.1], "dims": dims,
            "means": means, "mean_lo": [m * 0.9 for m in means], "mean_hi": [m * 1.1 for m in means]}


def _outcome(cid: str, verdict: str = CONFIRMED, arms: tuple = (), controls: tuple = (), n_series: int = 2,
             measured: str = "s_2: d^-0.51 [-0.55, -0.47]; s_1: d^+0.01") -> Outcome:
    plot = Plot(FigureKind.LOGLOG, "overlaps vs d",
                {"series": [_series(f"t={i // 3}: U^{i}") for i in range(n_series)], "expected": -0.5})
    ev = Evaluation(Decision(verdict, f"reason of {cid}"), "d^-1/2", measured, {"x": 1.0}, (plot,), arms, controls)
    return Outcome(cid, "THEORY §5", "theorem", f"statement of {cid}", "stat", "rule", {"p": 1}, ev, ("key1",),
                   {"": {64: 3}})


def _write(outcomes: list[Outcome], root: Path) -> Path:
    return write_report(outcomes, "quick", {"runs": 3, "simulate_s": 1.0, "evaluate_s": 0.1}, "store.sqlite", root,
                        log=lambda _: None)


def _files(folder: Path) -> set[str]:
    return {f.name for f in folder.iterdir()}


@pytest.fixture
def png_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Figures as PNG only, for the tests about documents (the vector copies have their own tests)."""
    monkeypatch.setattr(style, "FORMATS", ("png",))


def test_a_subset_run_merges_into_the_report_and_keeps_the_other_claims(tmp_path: Path) -> None:
    out = _write([_outcome("T1-a"), _outcome("C1-σ", REFUTED), _outcome("Z9")], tmp_path)
    before = _files(out)
    assert {"fig_C1-sigma_loglog.png", "fig_C1-sigma_loglog.pdf", "fig_C1-sigma_loglog.svg"} <= before
    first = {c["id"]: c for c in json.loads((out / "results.json").read_text())["claims"]}
    # a one-claim run (README: --claims-file my_claims.py --claims MY-single) into the same folder
    _write([_outcome("C1-σ", CONFIRMED), _outcome("MY-single", INCONCLUSIVE)], tmp_path)
    after = _files(out)
    assert before <= after  # no figure of another claim was deleted
    assert {"fig_MY-single_loglog.png", "fig_MY-single_loglog.pdf", "fig_MY-single_loglog.svg"} <= after
    data = json.loads((out / "results.json").read_text())
    claims = {c["id"]: c for c in data["claims"]}
    assert [c["id"] for c in data["claims"]] == ["T1-a", "C1-σ", "Z9", "MY-single"]
    assert claims["C1-σ"]["verdict"] == CONFIRMED and data["updated"] == ["C1-σ", "MY-single"]
    assert claims["T1-a"] == first["T1-a"] and claims["Z9"] == first["Z9"]  # kept as they were
    md, html, tex = ((out / n).read_text() for n in ("report.md", "report.html", "report.tex"))
    for cid in ("T1-a", "Z9", "MY-single"):
        assert f"## {cid} — " in md and f"<h2 id='{cid}'>" in html and f"\\subsection*{{{cid} ---" in tex
    assert "The other 2 claim(s) are from earlier runs" in md
    assert not list(out.glob(".*tmp*"))  # atomic writes leave no temporary files


def test_a_plot_that_is_gone_loses_its_files_and_an_unreadable_report_is_kept_aside(tmp_path: Path,
                                                                                    png_only: None) -> None:
    out = _write([_outcome("A")], tmp_path)
    bare = Outcome("A", "s", "theorem", "", "", "", {}, Evaluation(Decision(CONFIRMED, "r"), "", ""), (), {})
    _write([bare], tmp_path)
    assert not list(out.glob("fig_A_*"))  # the claim's own old figures are replaced, in every format
    (out / "results.json").write_text("{not json")
    notes: list[str] = []
    assert read_entries(out, notes.append) == [] and (out / "results.json.unreadable").is_file() and notes


def test_every_png_has_vector_siblings_and_every_figure_uses_the_palette(tmp_path: Path) -> None:
    out = _write([_outcome("A", n_series=8), _outcome("B")], tmp_path)
    pngs = sorted(out.glob("*.png"))
    assert pngs
    for png in pngs:
        for fmt in ("pdf", "svg"):
            sibling = png.with_suffix(f".{fmt}")
            assert sibling.is_file() and sibling.stat().st_size > 1000, sibling
        assert png.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
        assert "<svg" in png.with_suffix(".svg").read_text()[:2000]
    svg = (out / "fig_A_loglog.svg").read_text().lower()
    assert style.PALETTE[0].lower() in svg and style.PALETTE[1].lower() in svg  # the shared colours


def test_an_overloaded_loglog_is_split_into_panels_without_repeated_colours() -> None:
    import matplotlib.pyplot as plt

    series = [_series(f"{arm} t={t}: level {k}") for arm in ("relu", "tanh") for t in (1, 2, 3) for k in range(3)]
    groups = panels(series)
    assert len(groups) == 6 and all(len(members) <= PER_PANEL for _, members in groups)
    assert groups[0][0] == "relu t=1" and groups[0][1][0]["label"] == "level 0"
    fig = plt.figure()
    draw(fig, Plot(FigureKind.LOGLOG, "", {"series": series, "expected": -0.5}))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 6
    for ax in axes:
        colours = [line.get_color() for line in ax.get_lines() if line.get_linestyle() == "-"]
        assert len(colours) == len(set(colours)) == 3  # three fitted lines, three colours
        legend = ax.get_legend()
        assert legend is not None and len(legend.get_texts()) == 4  # three series and the predicted slope
        assert any("$" in t.get_text() for t in legend.get_texts())  # mathtext exponents
    plt.close(fig)


def test_report_tex_holds_one_table_row_per_claim(tmp_path: Path, png_only: None) -> None:
    out = _write([_outcome("T1-a"), _outcome("C1-σ", REFUTED), _outcome("N", INCONCLUSIVE)], tmp_path)
    tex = (out / "report.tex").read_text()
    assert tex.isascii() and tex.count(r"\begin{tabular}") == 1 and r"\end{document}" in tex
    body = tex.split(r"\midrule", 1)[1].split(r"\bottomrule", 1)[0]
    rows = [[c.strip() for c in r.split(" & ")] for r in body.strip().split("\\\\\n") if r.strip()]
    rows = [[c.rstrip("\\").strip() for c in r] for r in rows]
    assert [r[:3] for r in rows] == [["T1-a", "theorem", "CONFIRMED"],
                                      [r"C1-\ensuremath{\sigma}", "theorem", "REFUTED"],
                                      ["N", "theorem", "INCONCLUSIVE"]]
    assert r"\includegraphics[width=0.9\linewidth]{fig_C1-sigma_loglog.pdf}" in tex
    assert documents.tex("a_b & 50% d^-1/2 ε∞") == (r"a\_b \& 50\% d\textsuperscript{-1/2} "
                                                   r"\ensuremath{\varepsilon}\ensuremath{\infty}")


def test_arms_and_controls_in_every_document_and_the_summary(tmp_path: Path, png_only: None) -> None:
    arms = (Arm("n ≍ d", Decision(CONFIRMED, "slope -0.5 in CI")),
            Arm("n ≍ d^1.5", Decision(INCONCLUSIVE, "no runs in this profile")))
    good = Control("s_2 Θ(1)", Decision(REFUTED, "slope -0.5 excludes 0"))
    weak = Control("s_3 Θ(1)", Decision(INCONCLUSIVE, "CI straddles 0"))
    out = _write([_outcome("P", arms=arms, controls=(good,)), _outcome("W", controls=(weak,)), _outcome("N")],
                 tmp_path)
    md, html, tex = ((out / n).read_text() for n in ("report.md", "report.html", "report.tex"))
    for doc in (md, html):
        assert f"power: {good.text()}" in doc or f"power: {good.text()}".replace("“", "&ldquo;") in doc
        assert "n ≍ d^1.5: INCONCLUSIVE — no runs in this profile" in doc
        assert f"power: {documents.NO_CONTROL}" in doc
    assert "is NOT refuted" in md and r"power:~no~control~declared" in tex.replace(" ", "~")
    claims = {c["id"]: c for c in json.loads((out / "results.json").read_text())["claims"]}
    assert claims["P"]["controls"][0]["refuted"] is True and claims["W"]["controls"][0]["refuted"] is False
    assert [a["verdict"] for a in claims["P"]["arms"]] == [CONFIRMED, INCONCLUSIVE]
    text = summary([_outcome("P", controls=(good,)), _outcome("W", controls=(weak,)), _outcome("N")])
    marks = {line.split()[0]: line.split()[2] for line in text.splitlines()[2:]}
    assert marks == {"P": "✓", "W": "✗", "N": "–"}
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "s_2: d^-0.51 [-0.55, -0.47]" in text and "s_1" not in text  # the deciding number only


def test_stairway_figures_are_linked_from_report_html(tmp_path: Path, png_only: None) -> None:
    out = _write([_outcome("A")], tmp_path)
    assert "stairway_two_index" not in (out / "report.html").read_text()
    (out / "stairway_two_index.png").write_bytes(b"png")
    assert refresh(out)
    html = (out / "report.html").read_text()
    assert "<img src='stairway_two_index.png'" in html and "href='stairway_two_index.pdf'" in html
    assert not refresh(tmp_path / "nothing")


def test_ascii_aliases_of_claim_ids() -> None:
    ids = ["T1-curve", "C1-σ", "C1-stair"]
    assert ascii_id("C1-σ") == "C1-sigma" and ascii_id("T1-curve") == "T1-curve" and ascii_id("a/b κ") == "a_b_kappa"
    assert resolve_ids(["C1-sigma", "c1-SIGMA", "T1-curve", "C1-σ"], ids) == ["C1-σ", "T1-curve"]
    with pytest.raises(ValueError, match=re.escape("C1-σ (C1-sigma)")):
        resolve_ids(["C1-tau"], ids)


def test_claims_flag_takes_the_ascii_spelling(capsys: pytest.CaptureFixture[str]) -> None:
    from verify.cli import main

    assert main(["--list", "--claims", "C1-sigma", "T1-curve"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["T1-curve", "C1-σ"]


def test_a_report_of_the_old_format_is_merged_too(tmp_path: Path, png_only: None) -> None:
    out = tmp_path / "quick"
    out.mkdir()
    old = [{"id": i, "source": "s", "kind": "theorem", "statement": "", "statistic": "", "rule": "",
            "verdict": CONFIRMED, "reason": "r", "predicted": "p", "measured": "m1; m2", "runs": {}, "run_keys": []}
           for i in ("T1-a", "C1-σ")]
    (out / "results.json").write_text(json.dumps({"profile": "quick", "claims": old}))
    for name in ("fig_T1-a_loglog.png", "fig_C1-σ_loglog.png", "fig_C1-σ_loglog_2.png"):
        (out / name).write_bytes(b"png")
    _write([_outcome("C1-σ")], tmp_path)
    files = _files(out)
    assert "fig_C1-σ_loglog.png" not in files and "fig_C1-σ_loglog_2.png" not in files  # replaced by ASCII names
    assert {"fig_C1-sigma_loglog.png", "fig_T1-a_loglog.png"} <= files
    claims = {c["id"]: c for c in json.loads((out / "results.json").read_text())["claims"]}
    assert claims["T1-a"]["figures"] == ["fig_T1-a_loglog.png"] and claims["T1-a"]["decided_by"] == "m1"
    assert "![T1-a](fig_T1-a_loglog.png)" in (out / "report.md").read_text()


def test_latex_flag_prints_the_table_and_a_log_gets_no_escape_codes(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tests.verify.test_cli import USER_FILE
    from verify.cli import main

    f = tmp_path / "my_claims.py"
    f.write_text(USER_FILE)
    argv = ["--profile", "smoke", "--claims-file", str(f), "--claims", "MY-single", "--store",
            str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "reports"), "--latex"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert r"\begin{tabular}" in captured.out and "\nMY-single & theorem & INCONCLUSIVE & -- & " in captured.out
    assert "\x1b" not in captured.err and "\r" not in captured.err and "runs: [1/4] " in captured.err
    assert (tmp_path / "reports" / "smoke" / "report.tex").is_file()
