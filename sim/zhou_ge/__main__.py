"""``python -m sim.zhou_ge``: see ``sim.zhou_ge.cli``."""

from sim.zhou_ge.cli import main

raise SystemExit(main())
