"""One module per ``xpuplan`` command (see :mod:`xpuplan.planner.cli`)."""
