"""Small hand-made machines and workloads whose runs can be followed by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xpuplan.models import Mode, Unsupported, check_schedule
from xpuplan.models.workload import EdgeSpec, JobTemplate, KernelSpec, TaskSpec, single_task
from xpuplan.runtime.platform_sim import DeviceInfo, MachineSpec
from xpuplan.runtime.policies import get_policy
from xpuplan.runtime.record import executed_instance
from xpuplan.runtime.simulator import SimConfig, Simulator

# A plain machine: a CPU (two levels), an iGPU and an NPU, one unit each.
DEVICES = (
    DeviceInfo("cpu", "cpu", 1, 1.0, ("lo", "hi")),
    DeviceInfo("gpu", "gpu", 1, 0.5, ("hi",)),
    DeviceInfo("npu", "npu", 1, 0.25, ("hi",)),
)
EXACT = SimConfig(contention=False, dvfs_transition_us=0.0, record=True)


def machine(
    budget: float | None = None,
    peak_bw: float | None = 100.0,
    contention_bw: float | None = None,
    devices: Sequence[DeviceInfo] = DEVICES,
) -> MachineSpec:
    return MachineSpec("test", tuple(devices), budget, peak_bw, contention_bw)


def kernel(name: str, power: float = 1.0, bw: float = 0.0, **durations: int) -> KernelSpec:
    """A kernel with one top-level mode per device given (``cpu=100, npu=40``)."""
    modes = [Mode(dev, "hi", dur, power, {"mem_bw_gbps": bw}) for dev, dur in durations.items()]
    return KernelSpec(name, tuple(modes))


def chain(name: str, *kernels: KernelSpec, delay: int = 0, resume: int = 0) -> JobTemplate:
    """Kernels in a chain."""
    edges = tuple(EdgeSpec(i, i + 1, delay, resume) for i in range(len(kernels) - 1))
    return JobTemplate(name, kernels, edges)


def task(name: str, template: JobTemplate, **fields: Any) -> TaskSpec:
    return single_task(name, template, **fields)


def run(
    tasks: Sequence[TaskSpec],
    arrivals: Sequence[Sequence[int]],
    policy: Any,
    horizon: float = 1e6,
    *,
    spec: MachineSpec | None = None,
    config: SimConfig = EXACT,
    seed: int = 0,
    check: bool = True,
    **options: Any,
) -> Simulator:
    """Run a policy (a name or an object) over explicit arrival times.

    With ``check`` (the default) an exact run also passes the independent checker, as an
    Instance and a Schedule (:func:`xpuplan.runtime.record.executed_instance`); runs with LLM decode
    steps have no such form and are left to their tests' own assertions.
    """
    pol = get_policy(policy, **options) if isinstance(policy, str) else policy
    sim = Simulator(
        spec or machine(), tasks, pol, arrivals, horizon, config=config, seed=seed
    ).run()
    if check and config == EXACT:
        try:
            inst, sched = executed_instance(sim)
        except Unsupported:
            return sim
        assert check_schedule(inst, sched) == []
    return sim


def starts(sim: Simulator) -> dict[tuple[str, str], tuple[float, str]]:
    """(job, kernel) -> (start, unit name) of every executed kernel."""
    return {
        (job, ker): (start, sim.machine.unit_name[unit])
        for job, ker, unit, _, _, start, _, _ in sim.executed
    }


def assert_valid(sim: Simulator) -> None:
    """The run, as an Instance and a Schedule, passes the independent checker."""
    inst, sched = executed_instance(sim)
    assert check_schedule(inst, sched) == []
