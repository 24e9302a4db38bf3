"""Entry point for ``python -m theory`` (see ``theory.cli``; ``theory.exits`` for the exit statuses)."""

from theory.exits import main_module

raise SystemExit(main_module("python -m theory", "theory.cli"))
