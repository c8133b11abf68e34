"""``python -m xpuplan``: the command line."""

from xpuplan.planner.cli import main

raise SystemExit(main())
