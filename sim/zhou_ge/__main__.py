"""``python -m sim.zhou_ge``: see ``sim.zhou_ge.cli`` (``theory.exits`` for the exit statuses)."""

from theory.exits import main_module

raise SystemExit(main_module("python -m sim.zhou_ge", "sim.zhou_ge.cli"))
