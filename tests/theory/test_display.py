"""How theory's objects show themselves (issue 21 item 3): a short REPL repr that names what σ blocked, LaTeX that
a TeX reader accepts in structure, HTML that parses, and ``to_latex`` tables for papers."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from theory import OneStepOverlap, Target, activation, protocol_floor
from theory.display import MAX_LINE, MAX_REPR_LINES, compact
from theory.subspace import ExactSubspace, FloatSubspace

STAIR = "x1 + x1*x2 + x1*x2*x3"


class _Checker(HTMLParser):
    """Fails on a closing tag that does not close the innermost open one; collects text."""

    VOID = {"br", "hr", "img", "meta", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def well_formed_html(markup: str) -> str:
    """The text of ``markup`` after checking that every tag is closed in order."""
    p = _Checker()
    p.feed(markup)
    p.close()
    assert p.stack == [], f"unclosed tags {p.stack}"
    return "".join(p.text)


def latex_ok(tex: str) -> None:
    """Math mode opened and closed once, braces balanced (escaped ones aside), environments paired."""
    assert tex.startswith("$") and tex.endswith("$") and tex.count("$") == 2, tex
    plain = tex.replace(r"\{", "").replace(r"\}", "")
    depth = 0
    for ch in plain:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, tex
    assert depth == 0, tex
    assert plain.count(r"\begin{") == plain.count(r"\end{"), tex
    assert plain.count(r"\left") == plain.count(r"\right"), tex


def test_staircase_repr_is_short_exact_and_names_the_blocked_step() -> None:
    sc = Target.parse(STAIR).staircase(activation="relu")
    text = repr(sc)
    assert text.splitlines() == [
        "leap-1 staircase of g = x1 + x1*x2 + x1*x2*x3, σ = relu  (dims 0, 1, 2)",
        "  U^0: dim 0  {0}",
        "  U^1: dim 1  span{(1, 0, 0)}",
        "  U^2: dim 2  span{(1, 0, 0); (0, 1, 0)}",
        "  step 3: μ_3(relu) = 0 blocks span{(0, 0, 1)}",
    ]
    assert "MPQ" not in repr(sc.spaces) and "MPQ" not in repr(sc.blocked)
    assert repr(sc.blocked[0]) == "Blocked(step 3: μ_3(σ) = 0 blocks span{(0, 0, 1)})"
    assert repr(sc.spaces[2]) == "ExactSubspace(dim 2 in R^3: span{(1, 0, 0); (0, 1, 0)})"


def test_staircase_repr_keeps_irrational_bases_exact() -> None:
    sc = Target.parse("x1 + x1*x2 + x1*x3").staircase()
    assert "span{(1, 0, 0); (0, sqrt(2)/2, sqrt(2)/2)}" in repr(sc)


def test_long_staircase_repr_stays_within_twelve_lines_and_keeps_the_limit() -> None:
    chain = " + ".join("*".join(f"x{j}" for j in range(1, k + 1)) for k in range(1, 16))
    sc = Target.parse(chain).staircase()
    lines = repr(sc).splitlines()
    assert len(lines) <= MAX_REPR_LINES == 12 and all(len(ln) <= MAX_LINE for ln in lines)
    assert lines[-1] == "  U^15: dim 15  R^15" and any("str() shows all" in ln for ln in lines)
    assert len(str(sc).splitlines()) == 17  # the full text is still there


def test_staircase_latex_and_html_include_the_blocked_step() -> None:
    sc = Target.parse(STAIR).staircase(activation="relu")
    tex = sc._repr_latex_()
    latex_ok(tex)
    assert r"\mathrm{span}" in tex and r"\mu_{3}(\text{relu}) = 0" in tex and r"\left(0, 0, 1\right)" in tex
    text = well_formed_html(sc._repr_html_())
    assert "step 3: μ_3(relu) = 0 blocks span{(0, 0, 1)}" in text and "span{(1, 0, 0); (0, 1, 0)}" in text


def test_latex_escapes_activation_specs() -> None:
    sc = Target.parse(STAIR).staircase(activation="relu[2:]")
    tex = sc._repr_latex_()
    latex_ok(tex)
    assert "μ" not in tex and r"\text{relu[2:]}" in tex


def test_subspace_reprs_latex_and_html() -> None:
    e = ExactSubspace.span([[1, 1, 0]], 3)
    assert repr(e) == "ExactSubspace(dim 1 in R^3: span{(sqrt(2)/2, sqrt(2)/2, 0)})"
    latex_ok(e._repr_latex_())
    assert r"\frac{\sqrt{2}}{2}" in e._repr_latex_()
    assert ExactSubspace.zero(2)._repr_latex_() == r"$\{0\}$" and "R^2" in repr(ExactSubspace.whole(2))
    f = FloatSubspace.span([[1.0], [0.0]], 1e-9)
    assert repr(f) == "FloatSubspace(dim 1 in R^2, tol 1e-09: span{(1.0, 0.0)})"
    assert "span{(1.0, 0.0)}" in well_formed_html(f._repr_html_())


def test_stairway_repr_html_and_paper_table() -> None:
    sw = Target.parse(STAIR).stairway(max_steps=3, kappas=(1, 2), activation="relu")
    assert repr(sw).splitlines()[1:] == str(sw).splitlines()[1:] and len(repr(sw).splitlines()) == 6
    assert repr(sw).splitlines()[0] == ("stairway to accuracy for g = x1 + x1*x2 + x1*x2*x3  (‖g‖² = 3; σ = relu, "
                                        "leap-1 staircase, n ≍ d^1)")
    assert [ln.split()[:4] for ln in repr(sw).splitlines()[2:]] == [["0", "0", "2", "1"], ["1", "1", "1", "0"],
                                                                    ["2", "2", "0", "0"], ["3", "2", "0", "0"]]
    latex_ok(sw._repr_latex_())
    well_formed_html(sw._repr_html_())
    tab = sw.to_latex().splitlines()
    assert tab[0].startswith("% stairway to accuracy") and "σ = relu" in tab[0]
    assert tab[1] == r"\begin{tabular}{rrll}" and tab[-1] == r"\end{tabular}"
    assert r"3 & 2 & $0$ & $0$ \\" in tab


def test_staircase_paper_table() -> None:
    tab = Target.parse(STAIR).staircase(activation="relu").to_latex()
    assert r"\begin{tabular}" in tab and r"\end{tabular}" in tab
    assert r"$\mu_{3}(\text{relu}) = 0$ blocks" in tab and r"$\mathrm{span}\left\{\left(0, 0, 1\right)\right\}$" in tab


def test_prediction_objects_show_themselves() -> None:
    ov = OneStepOverlap.of("x1 + x1*x2", "relu", eta=2)
    lines = repr(ov).splitlines()
    assert len(lines) <= MAX_REPR_LINES and "μ1 = 1/2" in lines[2] and "v* = (1, 0)" in lines[3]
    latex_ok(ov._repr_latex_())
    assert "(1, 0)" in well_formed_html(ov._repr_html_())
    assert repr(protocol_floor("x1 + x1*x2", "relu", eta=2, alpha=1)).endswith("= 0.68169")
    tr = Target.parse(STAIR).transition_exponents(3)
    assert repr(tr) == str(tr)
    well_formed_html(tr._repr_html_())
    assert repr(activation("relu").hermite_series(3)).splitlines()[4].split()[:2] == ["k=3", "0"]


@pytest.mark.parametrize("n", [3, 12, 13, 40])
def test_compact_bounds_lines(n: int) -> None:
    out = compact([f"line {i}" for i in range(n)]).splitlines()
    assert len(out) == min(n, MAX_REPR_LINES) and out[0] == "line 0" and out[-1] == f"line {n - 1}"
