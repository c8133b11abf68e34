"""Following and drawing a simulation: a live line of simulated time on a terminal, and a
recorded run turned into the data of the Gantt chart.

A run is drawn from what the simulator records with ``SimConfig(record=True)``: every executed
kernel (job, kernel, unit, level, start, end, power). Each becomes one bar; each job's release is
its arrival and its deadline the simulator's. The power panel adds up the power each run drew
when it ended (its mode's; a batched decode step's shared equally by its jobs) and the idle
power.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from xpuplan.models import Assignment, Device, Instance, Job, Kernel, Mode, Schedule
from xpuplan.runtime.simulator import Simulator

DELAY_S = 1.0
PERIOD_S = 0.25


class SimWatch:
    """Holds the simulator once it exists (``observe``) and, when enabled, draws its clock."""

    def __init__(self, duration_s: float, enabled: bool) -> None:
        self.duration_s = duration_s
        self.enabled = enabled
        self.sim: Simulator | None = None
        self.began = time.perf_counter()

    def observe(self, sim: Simulator) -> None:
        self.sim = sim

    def text(self) -> str:
        simulated = 0.0 if self.sim is None else self.sim.engine.now / 1e6
        elapsed = time.perf_counter() - self.began
        return (
            f"simulating: {simulated:.2f} s of {self.duration_s:g} s simulated, "
            f"{elapsed:.1f} s elapsed"
        )


@contextmanager
def watching(duration_s: float, enabled: bool) -> Iterator[SimWatch]:
    """A :class:`SimWatch` whose ``observe`` goes to :func:`xpuplan.runtime.api.simulate`;
    while the block runs, a line on stderr shows the simulated time (after a second)."""
    watch = SimWatch(duration_s, enabled)
    if not enabled:
        yield watch
        return
    stop = threading.Event()
    shown = False

    def tick() -> None:
        nonlocal shown
        if stop.wait(DELAY_S):
            return
        while not stop.is_set():
            sys.stderr.write("\r" + watch.text() + "\x1b[K")
            sys.stderr.flush()
            shown = True
            stop.wait(PERIOD_S)

    ticker = threading.Thread(target=tick, name="xpuplan-sim-progress", daemon=True)
    ticker.start()
    try:
        yield watch
    finally:
        stop.set()
        ticker.join()
        if shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def run_as_schedule(sim: Simulator, name: str) -> tuple[Instance, Schedule]:
    """The recorded run of ``sim`` as an instance and schedule to draw (not to check: each
    executed kernel is its own one-mode kernel, at the power its run drew)."""
    jobs_by_name: dict[str, Any] = {job.name: job for job in sim.finished_jobs}
    for live in sim.jobs.values():
        jobs_by_name.setdefault(live.name, live)
    devices = tuple(Device(d.name, d.units, d.idle_power_w, d.kind) for d in sim.spec.devices)
    kernels: list[Kernel] = []
    assignments: list[Assignment] = []
    used_jobs: dict[str, Job] = {}
    for r_idx, (job_name, kname, unit, dev, level, start, end, power) in enumerate(sim.executed):
        job = jobs_by_name.get(job_name)
        if job_name not in used_jobs:
            deadline = None if job is None or job.deadline is None else round(job.deadline)
            release = 0 if job is None else round(job.arrival)
            if deadline is not None and deadline < release:
                deadline = release
            used_jobs[job_name] = Job(job_name, release, deadline)
        device = sim.spec.devices[dev]
        lo, hi = round(start), max(round(end), round(start) + 1)
        task = job_name.rsplit("@", 1)[0]
        kernel = f"{job_name}/{kname}#{r_idx}"
        level_name = device.levels[level]
        mode = Mode(device.name, level_name, hi - lo, power)
        kernels.append(Kernel(kernel, job_name, (mode,), {"task": task}))
        assignments.append(
            Assignment(
                kernel, device.name, unit - sim.machine.dev_units[dev][0], level_name, lo, hi
            )
        )
    # No power cap: a run may exceed the budget (the governor reacts after the fact); the
    # picture draws the budget as a line instead.
    instance = Instance(name, devices, tuple(used_jobs.values()), tuple(kernels))
    schedule = Schedule(name, tuple(assignments), solver=f"runtime:{sim.policy.name}")
    return instance, schedule
