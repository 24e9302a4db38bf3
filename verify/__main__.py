"""``python -m verify`` (see ``verify.cli``; ``theory.exits`` for the exit statuses)."""

from theory.exits import main_module

raise SystemExit(main_module("python -m verify", "verify.cli"))
