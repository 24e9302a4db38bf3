"""``--help`` of ``python -m sim run``, ``sweep`` and ``zg`` (issue 21 item 6): every config flag says what it
is and its default, and ``--lr0`` states the per-neuron step of THEORY §3 (not the old ``η0·√p·d^…``)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from sim.cli import build_parser
from sim.giant_step.config import SimConfig
from sim.zhou_ge.config import ZGConfig


def _help(capsys: pytest.CaptureFixture, *argv: str) -> dict[str, str]:
    """Option → its help (words joined by one space), read from the ``--help`` text: an entry starts on a line
    indented by two spaces with the invocation (``--x X``, ``--b, --no-b``), its help follows after two spaces
    or on the next, deeper-indented lines."""
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*argv, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out.split("\noptions:\n", 1)[1]
    entries: dict[str, str] = {}
    flags: list[str] = []
    for line in text.splitlines():
        if re.match(r"^  -", line):
            invocation, _, rest = line.strip().partition("  ")
            flags = [w for w in re.split(r"[ ,]+", invocation) if w.startswith("-")]
            entries.update({f: rest.strip() for f in flags})
        elif line.startswith("    ") and flags:
            entries.update({f: (entries[f] + " " + line.strip()).strip() for f in flags})
        else:
            flags = []
    return entries


@pytest.mark.parametrize("command, cls", [("run", SimConfig), ("sweep", SimConfig), ("zg", ZGConfig)])
def test_every_config_flag_has_help_and_its_default(capsys: pytest.CaptureFixture, command: str, cls: type) -> None:
    helps = _help(capsys, command) if command != "sweep" else _help(capsys, "sweep", "x.yaml")
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        flag = "--" + f.name.replace("_", "-")
        words = helps[flag]
        assert len(re.sub(r"\(default: [^)]*\)", "", words).split()) >= 2, (command, flag, words)
        if f.default is not None and f.default is not dataclasses.MISSING:
            assert "(default: " in words, (command, flag, words)
        elif f.default is None:
            assert "None" in words, (command, flag, words)  # the help says what None means


def test_lr0_help_states_the_per_neuron_step(capsys: pytest.CaptureFixture) -> None:
    words = _help(capsys, "run")["--lr0"]
    assert "√p" not in words and "η̃ = lr0·d^((ℓ−1)/2)" in words and "η = η̃/s_p" in words
    assert "(default: 1)" in words
