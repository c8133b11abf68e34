"""xpuplan's user-facing layer: scenario -> Instance, solver choice, comparisons, plans, the CLI.

The only package that imports models, solvers and runtime together.
"""
