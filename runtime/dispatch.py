"""What a policy sees of a run: the dispatch API and a read-only view of the machine.

A policy is bound to one run through a :class:`DispatchApi` (``policy.bind(api)``); that is all it
gets. Through it a policy

* reads the clock (:attr:`DispatchApi.now`), the tasks (:attr:`DispatchApi.tasks`) and the machine
  (:attr:`DispatchApi.machine`, a :class:`MachineView`: units and devices, which units are idle,
  the governor's level caps, power and budget, memory pressure, the runs in progress as
  :class:`RunView` objects);
* asks where work could go (:meth:`~DispatchApi.best_idle`, :meth:`~DispatchApi.mode_on`,
  :meth:`~DispatchApi.data_ready`, :meth:`~DispatchApi.decode_items`);
* acts: :attr:`~DispatchApi.start` a ready item on a unit, :meth:`~DispatchApi.freeze` and
  :meth:`~DispatchApi.unfreeze` a job, :meth:`~DispatchApi.retarget` a run to another DVFS
  level, and ask to be woken at a time (:meth:`~DispatchApi.wake_at`).

Ready work arrives through the policy's hooks (:class:`xpuplan.runtime.policy.Policy`) as
:class:`xpuplan.runtime.jobs.Ready` items whose modes are :class:`xpuplan.runtime.jobs.ModeRec`
named tuples. The simulator behind the API (:mod:`xpuplan.runtime.simulator`) keeps the jobs'
lifecycle, the accounting and the recording; a policy never touches it, nor the platform's mutable
state (:class:`xpuplan.runtime.platform_sim.PlatformSim`): the views below copy or compute what
they return, and have no setters.

This module imports neither the simulator nor any policy, so the two sides do not import each
other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from xpuplan.models.workload import TaskSpec
from xpuplan.runtime.jobs import Job, ModeRec, Ready
from xpuplan.runtime.platform_sim import MachineSpec, PlatformSim, Run

if TYPE_CHECKING:
    from xpuplan.runtime.engine import Engine


class RunView:
    """A read-only view of one run (a kernel, or a batched decode step, on one unit)."""

    __slots__ = ("_run",)

    def __init__(self, run: Run) -> None:
        self._run = run

    def __repr__(self) -> str:
        run = self._run
        return f"RunView({run.job.name}, unit={run.unit}, level={run.level})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunView) and other._run is self._run

    def __hash__(self) -> int:
        return id(self._run)

    @property
    def job(self) -> Job:
        """The job it runs (the first job of a decode batch)."""
        return self._run.job

    @property
    def jobs(self) -> tuple[Job, ...]:
        """Every job it runs (several for a decode batch)."""
        run = self._run
        return (run.job,) if run.batch is None else tuple(run.batch)

    @property
    def item(self) -> Ready:
        """The ready item it was started for."""
        return self._run.item

    @property
    def is_batch(self) -> bool:
        """True for a decode step started with ``batch=`` (whatever its size)."""
        return self._run.batch is not None

    @property
    def unit(self) -> int:
        return self._run.unit

    @property
    def dev(self) -> int:
        return self._run.dev

    @property
    def level(self) -> int:
        """Its current DVFS level index."""
        return self._run.level

    @property
    def modes(self) -> tuple[ModeRec, ...]:
        """The modes it could run in (all devices; :meth:`DispatchApi.retarget` takes one of
        those on its own device)."""
        return self._run.modes

    @property
    def power_w(self) -> float:
        """Dynamic power of its current mode (drawn while it runs and is not suspended)."""
        return self._run.power

    @property
    def bw_gbps(self) -> float:
        """Bandwidth demand of its current mode."""
        return self._run.bw

    @property
    def suspended(self) -> bool:
        """True while its job is frozen."""
        return self._run.suspended

    @property
    def start(self) -> float:
        """When it started executing (or will start, while it waits for its inputs)."""
        return self._run.start

    @property
    def expected_end(self) -> float:
        """When it ends if nothing changes (inf while suspended)."""
        return self._run.expected_end


class MachineView:
    """A read-only view of the simulated machine: what a policy may know of it.

    Static facts (the spec, units and devices) are exposed as tuples; state (idle units, caps,
    power, runs in progress) is read from the machine at each access, so it is always current,
    and is returned as numbers, tuples or :class:`RunView` objects, never as the machine's own
    lists.
    """

    __slots__ = ("_m", "dev_units", "num_devices", "num_units", "spec", "unit_dev", "unit_name")

    _m: PlatformSim
    spec: MachineSpec
    num_units: int
    num_devices: int
    #: The device of each unit.
    unit_dev: tuple[int, ...]
    #: The units of each device, in order (a device's unit ``i`` is ``dev_units[d][i]``).
    dev_units: tuple[tuple[int, ...], ...]
    #: ``device/index`` of each unit.
    unit_name: tuple[str, ...]

    def __init__(self, machine: PlatformSim) -> None:
        init = object.__setattr__
        init(self, "_m", machine)
        init(self, "spec", machine.spec)
        init(self, "num_units", machine.num_units)
        init(self, "num_devices", machine.num_devices)
        init(self, "unit_dev", tuple(machine.unit_dev))
        init(self, "dev_units", tuple(map(tuple, machine.dev_units)))
        init(self, "unit_name", tuple(machine.unit_name))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"the machine view is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"the machine view is read-only (cannot delete {name!r})")

    # ------------------------------------------------------------------ units
    @property
    def idle_mask(self) -> int:
        """Bit ``d`` set when device ``d`` has an idle unit."""
        return self._m.idle_mask

    def idle_units(self, dev: int) -> tuple[int, ...]:
        """The idle units of device ``dev``, lowest first."""
        return tuple(self._m.idle[dev])

    def first_idle(self, dev: int) -> int | None:
        """The lowest idle unit of device ``dev`` (None when all are busy)."""
        idle = self._m.idle[dev]
        return idle[0] if idle else None

    def is_idle(self, unit: int) -> bool:
        """True when nothing holds ``unit`` (a run waiting for its inputs holds its unit)."""
        return self._m.unit_run[unit] is None

    def run_on(self, unit: int) -> RunView | None:
        """What holds ``unit`` (None when idle)."""
        run = self._m.unit_run[unit]
        return None if run is None else RunView(run)

    def unit_free_at(self, unit: int, now: float) -> float:
        """When ``unit`` is expected to be free (``now`` when it is idle)."""
        return self._m.unit_free_at(unit, now)

    # ------------------------------------------------------------------ DVFS and power
    def unit_level(self, unit: int) -> int:
        """The DVFS level index ``unit`` is at (or switching to)."""
        return self._m.unit_level[unit]

    def level_cap(self, dev: int) -> int:
        """The governor's cap on device ``dev``'s level index (its top level when uncapped)."""
        return self._m.cap[dev]

    @property
    def throttled(self) -> bool:
        """True while the governor caps a device below its top level or holds dispatch."""
        return self._m.throttled

    @property
    def power_w(self) -> float:
        """Power drawn now (idle power of every unit plus the running kernels' dynamic power)."""
        return self._m.power_w

    @property
    def budget_w(self) -> float | None:
        """The power budget (None: none)."""
        return self._m.budget_w

    @property
    def peak_bw_gbps(self) -> float | None:
        """The shared memory's peak bandwidth (None: unknown)."""
        return self.spec.peak_bw_gbps

    @property
    def memory_pressure(self) -> float:
        """:math:`P_{mem} = \\sum_k b_k / B_{peak}` over the running kernels."""
        return self._m.memory_pressure

    # ------------------------------------------------------------------ runs
    @property
    def num_running(self) -> int:
        """How many runs have started executing and not ended (suspended ones included)."""
        return len(self._m.running)

    @property
    def running(self) -> tuple[RunView, ...]:
        """The runs that have started executing and not ended, in start order."""
        return tuple(RunView(run) for run in self._m.running)

    def runs_of(self, job: Job) -> tuple[RunView, ...]:
        """The runs of ``job`` that hold a unit now."""
        return tuple(RunView(run) for run in job._runs)


class StartFn(Protocol):
    """The signature of :attr:`DispatchApi.start`."""

    def __call__(
        self,
        item: Ready,
        unit: int,
        mode: ModeRec | None = None,
        *,
        batch: Sequence[Ready] = (),
        not_before: float | None = None,
    ) -> None: ...


class World(Protocol):
    """What the API needs from the simulator behind it (:class:`xpuplan.runtime.simulator.
    Simulator` is one)."""

    engine: Engine
    tasks: tuple[TaskSpec, ...]

    def start(
        self,
        item: Ready,
        unit: int,
        mode: ModeRec | None = None,
        *,
        batch: Sequence[Ready] = (),
        not_before: float | None = None,
    ) -> None: ...

    def freeze(self, job: Job) -> None: ...

    def unfreeze(self, job: Job) -> None: ...

    def wake_at(self, time: float) -> None: ...

    def switch_level(self, unit: int, level: int) -> None: ...

    def retarget(self, run: Run, mode: ModeRec) -> None: ...

    def data_ready(self, item: Ready, dev: int) -> float: ...

    def decode_items(self, item: Ready) -> list[Ready]: ...


class DispatchApi:
    """The calls a policy makes to a run (see the module docstring).

    Parameters
    ----------
    world
        The simulator the calls act on.
    machine
        Its machine, seen through a :class:`MachineView`.
    """

    __slots__ = ("_engine", "_machine", "_world", "machine", "start", "tasks")

    #: True when :meth:`best_idle` depends on the item's duration (a :meth:`restricted` API).
    restricted_placement = False

    def __init__(self, world: World, machine: PlatformSim) -> None:
        self._world = world
        self._engine = world.engine
        self._machine = machine
        #: The machine, read-only.
        self.machine = MachineView(machine)
        #: The tasks of the run (a job's ``task_idx`` indexes this).
        self.tasks: tuple[TaskSpec, ...] = world.tasks
        #: ``start(item, unit, mode=None, *, batch=(), not_before=None)``: dispatch ``item`` to
        #: ``unit`` in ``mode`` (default: the fastest mode on that device). The unit is held
        #: from now; the kernel starts when its inputs are on the device, the unit has switched
        #: DVFS level, and not before ``not_before``. A mode above the governor's cap runs at the
        #: fastest level within it. ``batch`` adds other ready decode steps of the same model to
        #: a decode step (one step for all of them, costed at their size and mean KV length).
        #: Raises RuntimeError when the policy breaks a rule (the item taken, the unit busy, the
        #: mode on another device, the job frozen, a batch mixing models or holding non-decode
        #: work) or calls it outside its hooks. It is the world's own method (it returns None),
        #: bound here so that a dispatch, the hot path, costs no extra call.
        self.start: StartFn = world.start

    @property
    def now(self) -> float:
        """The simulated time, in us."""
        return self._engine.now

    # ------------------------------------------------------------------ placement queries
    def mode_on(self, item: Ready, dev: int) -> ModeRec | None:
        """The fastest mode of ``item`` on device ``dev`` within the governor's level cap."""
        cap = self._machine.cap[dev]
        for rec in item.modes:
            if rec[1] == dev and rec[2] <= cap:
                return rec
        return None

    def best_idle(self, item: Ready, mask: int = -1, skip: int = 0) -> tuple[int, ModeRec] | None:
        """The fastest ``(unit, mode)`` of ``item`` among idle units of the devices in ``mask``
        (leaving out the units in the bit set ``skip``), within the governor's level caps.

        The fastest allowed mode wins, on its device's lowest idle unit that is not skipped.
        """
        machine = self._machine
        allowed = machine.idle_mask & mask & item.dev_mask
        if not allowed:
            return None
        if not (skip or machine.throttled):
            # No level cap or excluded unit: the fastest mode on an allowed device wins.
            for rec in item.modes:
                if allowed >> rec[1] & 1:
                    return machine.idle[rec[1]][0], rec
        cap = machine.cap
        for rec in item.modes:
            dev = rec[1]
            if allowed >> dev & 1 and rec[2] <= cap[dev]:
                for unit in machine.idle[dev]:
                    if not skip >> unit & 1:
                        return unit, rec
        return None

    def data_ready(self, item: Ready, dev: int) -> float:
        """When ``item``'s inputs are available on device ``dev`` (cross-device delays included)."""
        return self._world.data_ready(item, dev)

    def decode_items(self, item: Ready) -> list[Ready]:
        """Ready decode steps of ``item``'s model that are not taken, oldest first (a fresh
        list; empty when ``item`` is not a decode step)."""
        return self._world.decode_items(item)

    # ------------------------------------------------------------------ actions
    def freeze(self, job: Job) -> None:
        """Suspend ``job``: its running kernels stop (power and progress), nothing new starts."""
        self._world.freeze(job)

    def unfreeze(self, job: Job) -> None:
        """Let a frozen job continue."""
        self._world.unfreeze(job)

    def retarget(self, run: RunView, mode: ModeRec) -> None:
        """Switch a started run to another mode of its device (a DVFS change mid-kernel)."""
        self._world.retarget(run._run, mode)

    def wake_at(self, time: float) -> None:
        """Ask for a dispatch decision at ``time`` (e.g. a planned start)."""
        self._world.wake_at(time)

    def switch_level(self, unit: int, level: int) -> None:
        """Switch the idle ``unit`` to DVFS level index ``level`` ahead of the work that needs
        it (the switch takes the run's DVFS transition time from now; a level above the
        governor's cap is lowered to it). Raises RuntimeError when the unit is held."""
        self._world.switch_level(unit, level)

    def restricted(self, latest_end: Callable[[int], float]) -> DispatchApi:
        """This API for a policy that may use a unit only up to a time.

        The copy's :meth:`best_idle` offers a unit only when the item, started there now in the
        mode considered, ends by ``latest_end(unit)`` at the mode's nominal duration (``hybrid``
        keeps its online policy out of the plan's intervals this way). Everything else is
        shared with this API.
        """
        return _RestrictedApi(self._world, self._machine, latest_end)


class _RestrictedApi(DispatchApi):
    """A :class:`DispatchApi` whose :meth:`best_idle` honours a per-unit latest end."""

    __slots__ = ("_latest_end",)

    restricted_placement = True

    def __init__(
        self, world: World, machine: PlatformSim, latest_end: Callable[[int], float]
    ) -> None:
        super().__init__(world, machine)
        self._latest_end = latest_end

    def best_idle(self, item: Ready, mask: int = -1, skip: int = 0) -> tuple[int, ModeRec] | None:
        machine = self._machine
        allowed = machine.idle_mask & mask & item.dev_mask
        if not allowed:
            return None
        latest_end = self._latest_end
        now = self._engine.now
        cap = machine.cap
        for rec in item.modes:
            dev = rec.dev
            if allowed >> dev & 1 and rec.level <= cap[dev]:
                end = now + rec.duration_us
                for unit in machine.idle[dev]:
                    if not skip >> unit & 1 and end <= latest_end(unit):
                        return unit, rec
        return None
