"""xpuplan: optimal and provably bounded schedules for AI inference on heterogeneous chips.

The four layers install under this namespace (the repository keeps them as top-level folders,
symlinked here for development tools): :mod:`xpuplan.models` (validated data, the workload
compiler, the checker), :mod:`xpuplan.solvers` (exact solvers, heuristics, bounds),
:mod:`xpuplan.runtime` (simulator and policies) and :mod:`xpuplan.planner` (the user-facing layer
and the command line).
"""

from __future__ import annotations

from xpuplan.models import __version__

__all__ = ["__version__"]
