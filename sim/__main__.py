"""``python -m sim``: see ``sim.cli`` (``theory.exits`` for the exit statuses)."""

from theory.exits import main_module

raise SystemExit(main_module("python -m sim", "sim.cli"))
