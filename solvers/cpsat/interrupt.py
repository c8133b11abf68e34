"""Ctrl-C during a CP-SAT solve: stop the search through OR-Tools' API, then raise
``KeyboardInterrupt``.

OR-Tools installs a SIGINT handler of its own while it solves (``catch_sigint_signal``): the first
Ctrl-C ends the search quietly and the solve returns its incumbent as if the time limit had been
reached, so a script cannot tell the run was cut short, and the handler has been seen to deadlock
inside presolve. Instead, :func:`solve_interruptibly` switches that handler off, runs
``CpSolver.solve`` in a worker thread and waits in the main thread, where Python runs signal
handlers; its own SIGINT handler calls ``CpSolver.stop_search()`` and, once the solve has returned,
``KeyboardInterrupt`` is raised. The command line turns that into exit code 130 with nothing written
(:mod:`xpuplan.planner.cli`).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from ortools.sat.python.cp_model import CpModel, CpSolver, CpSolverSolutionCallback

# How often the waiting main thread wakes up (Python runs signal handlers between bytecodes).
POLL_SECONDS = 0.05


def solve_interruptibly(
    solver: CpSolver, model: CpModel, callback: CpSolverSolutionCallback | None
) -> Any:
    """``solver.solve(model, callback)``, stopped by Ctrl-C (SIGINT) with ``KeyboardInterrupt``.

    Outside the main thread (where no signal handler can be installed) the solve runs directly,
    with OR-Tools' own handler off as well.
    """
    solver.parameters.catch_sigint_signal = False
    if threading.current_thread() is not threading.main_thread():
        return solver.solve(model, callback)
    interrupted = threading.Event()

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        interrupted.set()
        solver.stop_search()

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["status"] = solver.solve(model, callback)
        except BaseException as exc:  # re-raised in the main thread
            outcome["error"] = exc

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        worker = threading.Thread(target=run, name="cpsat-solve", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(POLL_SECONDS)
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted.is_set():
        raise KeyboardInterrupt("the CP-SAT solve was interrupted (SIGINT)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["status"]
