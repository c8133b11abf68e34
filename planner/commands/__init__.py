"""One module per ``xpuplan`` command (see :mod:`planner.cli`)."""
