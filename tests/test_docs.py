"""The repository's own account of its mathematics (issue 21 item 8): every "THEORY.md §N" the code cites has
a section of the same number in ``docs/``, every registered claim is explained in ``docs/claims.md``, the
papers are cited, and the REPL examples in ``docs/theory.md`` are true (run as doctests)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THEORY_DOC = ROOT / "docs" / "theory.md"
CLAIMS_DOC = ROOT / "docs" / "claims.md"


def _cited_sections() -> set[str]:
    """Section numbers cited as "THEORY.md §N" or "THEORY §N" anywhere in theory/, sim/ and verify/."""
    out: set[str] = set()
    for pkg in ("theory", "sim", "verify"):
        for f in (ROOT / pkg).rglob("*.py"):
            out |= set(re.findall(r"THEORY(?:\.md)? ?§ ?(\d+(?:\.\d+)?)", f.read_text()))
    return out


def _headings(path: Path) -> set[str]:
    return set(re.findall(r"^#+ .*?§(\d+(?:\.\d+)?)\b", path.read_text(), flags=re.M))


def test_every_cited_section_has_a_section_in_docs() -> None:
    cited = _cited_sections()
    assert {"1", "2.4", "2.8", "3.1", "5.1"} <= cited  # the search finds the citations
    documented = _headings(THEORY_DOC) | _headings(CLAIMS_DOC)
    missing = sorted(cited - documented, key=lambda s: [int(x) for x in s.split(".")])
    assert not missing, f"code cites THEORY.md §{missing}, which docs/ does not explain"


def test_section_map_names_every_section() -> None:
    text = THEORY_DOC.read_text()
    table = text.split("## Section map", 1)[1].split("\n---", 1)[0]
    rows = set(re.findall(r"^\| §(\d+(?:\.\d+)?)", table, flags=re.M))
    assert _headings(THEORY_DOC) - {"5"} <= rows | {"5"}, "a section of docs/theory.md is missing from its map"


def test_every_registered_claim_is_explained() -> None:
    from verify.claims import registry

    text = CLAIMS_DOC.read_text()
    missing = [c.id for c in registry() if f"| {c.id} |" not in text]
    assert not missing, f"docs/claims.md does not explain {missing}"
    for verdict in ("CONFIRMED", "REFUTED", "INCONCLUSIVE"):
        assert f"**{verdict}**" in text


def test_papers_are_cited() -> None:
    text = THEORY_DOC.read_text()
    for arxiv in ("2305.18270", "2406.01766", "2402.03220", "2403.05529", "2302.11055"):
        assert f"arxiv.org/abs/{arxiv}" in text, arxiv


def test_theory_doc_examples_are_true() -> None:
    failures, tried = doctest.testfile(str(THEORY_DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried >= 4 and failures == 0
