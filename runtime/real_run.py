"""``run_plan``: execute a plan for real on ONNX Runtime and measure it against the plan.

>>> result = run_plan(plan, "local.yaml", "scenario.yaml", duration_s=2.0)  # doctest: +SKIP
>>> doc = result.to_json()  # doctest: +SKIP
>>> doc["planned_vs_measured"]["kernel_error_pct"]["p50"]  # doctest: +SKIP

The run is :func:`xpuplan.runtime.api.simulate` with the real executor
(:class:`xpuplan.runtime.ort_exec.RealSimulator`) behind the same policies: the plan's jobs under
``time-triggered`` or ``self-timed``, and with ``policy`` the scenario's other tasks (reactive,
proactive, Poisson arrivals) served in the plan's slack by that list policy through ``hybrid``.

Definitions (what :meth:`RealRunResult.to_json` adds to the ``simulate`` document)
---------------------------------------------------------------------------------
* kernel error of a planned kernel: ``|measured duration - planned duration| / planned duration``
  in %, over every execution of every plan kernel (all repetitions of the plan);
* jitter: measured start minus planned start (the plan's offset plus the repetition's period),
  in us (positive: late);
* ``late_in_reality_on_time_in_plan``: among the plan's jobs with a deadline that the plan
  finishes on time and that are decided in the run (completed, failed, or in flight past their
  deadline), the share that missed it in reality;
* dispatch latency: measured start minus the earliest time the kernel could start (planned
  start, predecessors' measured ends plus cross-device delays, the unit's previous measured end):
  the runtime's own lateness, apart from what slow predecessors pass on;
* worker wake-up: measured start minus the moment the dispatcher handed the kernel to its unit's
  worker thread (the operating system's and the interpreter's share of the dispatch latency);
* overrun: a planned kernel that ran longer than its planned slot (``worst_overruns``: the five
  largest excesses); ``late_starts``: planned kernels that started more than ``LATE_START_US``
  after their planned start; ``ended_late``: planned kernels that ended after their planned end
  (for any reason: their own overrun, or lateness passed on by what they waited for);
* overhead per dispatched kernel: the dispatcher thread's CPU time over the run (event handling,
  policy decisions, tensor hand-over, the clock's polling; its blocking waits cost none) over the
  kernels it dispatched (``us_per_kernel``); ``busy_wall_us_per_kernel`` is the wall time of its
  busy stretches instead, which on a loaded machine includes the time it was preempted.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpuplan.models import InvalidInput, Schedule, check_schedule
from xpuplan.models.onnx import is_onnx_ref
from xpuplan.models.plan import Plan
from xpuplan.models.platform import Platform
from xpuplan.models.presets import resolve_platform
from xpuplan.models.presets.scenarios import resolve_scenario
from xpuplan.models.profiles import PROFILE_COLUMNS
from xpuplan.models.scenario import Scenario
from xpuplan.runtime.api import simulate
from xpuplan.runtime.metrics import SimResult
from xpuplan.runtime.ort_exec import (
    ModelSet,
    RealSimulator,
    RunStats,
    _split_chain,
    check_outputs,
    missing_bindings,
)
from xpuplan.runtime.policies import policy_plan_only
from xpuplan.runtime.simulator import SimConfig, Simulator

EXECUTORS = ("time-triggered", "self-timed")
# Rules of the checker that a real run may break without any fault of the executor: what the
# machine did (late kernels; resources and power the plan modelled, which reality does not obey).
# Every other rule (coverage, modes, units, release, precedence, unit exclusivity, DVFS) is an
# invariant of the executor: a violation is a bug.
MEASURED_OUTCOMES = frozenset({"deadline", "resource", "power"})
LATE_START_US = 1000.0


@dataclass
class RealRunResult:
    """What a real run measured: the ``simulate`` result plus the comparison with the plan.

    ``violations`` are the executed schedule's breaches of the executor's invariants (a bug when
    not empty); ``outcomes`` counts the checker's findings that are facts of the run
    (:data:`MEASURED_OUTCOMES`: kernels past their job's deadline, resources, power).
    """

    sim: SimResult
    plan: Plan
    executor: str
    policy: str | None
    stats: RunStats
    live: list[tuple[str, Any, float | None]]
    outputs: dict[str, int] | None = None
    output_notes: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    device_names: tuple[str, ...] = ()
    unit_names: tuple[str, ...] = ()
    level_names: tuple[tuple[str, ...], ...] = ()

    @property
    def executed(self) -> Schedule | None:
        """Repetition 0 of the plan as executed (real start and end, us, rounded)."""
        return self.sim.executed

    def planned_vs_measured(self) -> dict[str, Any]:
        """The comparison of the run with the plan (see the module docstring)."""
        by_kernel = self.plan.schedule.by_kernel()
        errors, jitters = [], []
        overruns: list[tuple[float, str, int, float]] = []  # excess, kernel, planned, measured
        late_starts = ended_late = 0
        for m in self.stats.measured:
            if m.tag is None or not m.ok:
                continue
            asg = by_kernel.get(m.kernel)
            if asg is None:
                continue
            offset = m.tag[1]
            planned = asg.end - asg.start
            took = m.end - m.start
            errors.append(abs(took - planned) / planned * 100.0)
            jitter = m.start - (asg.start + offset)
            jitters.append(jitter)
            if jitter > LATE_START_US:
                late_starts += 1
            if m.end > asg.end + offset:
                ended_late += 1
            if took > planned:
                overruns.append((took - planned, m.job + "/" + m.local, planned, took))
        overruns.sort(reverse=True)
        return {
            "kernels": len(errors),
            "kernel_error_pct": _pcts(errors, (50, 90)),
            "jitter_us": _pcts(jitters, (50, 99)),
            "dispatch_latency_us": _pcts(self._dispatch_latencies(), (50, 99)),
            "worker_wake_us": _pcts(
                [m.start - m.dispatched for m in self.stats.measured if m.ok], (50, 99)
            ),
            "late_in_reality_on_time_in_plan": self._late_share(),
            "overruns": len(overruns),
            "worst_overruns": [
                {"kernel": name, "planned_us": planned, "measured_us": round(took, 1)}
                for _, name, planned, took in overruns[:5]
            ],
            "late_starts": late_starts,
            "ended_late": ended_late,
        }

    def _dispatch_latencies(self) -> list[float]:
        """Per planned kernel: measured start minus the earliest time it could start (its
        planned start, its predecessors' measured ends plus any cross-device delay, the end of
        what ran before it on its unit) -- the runtime's own lateness, without the lateness it
        inherits from slow predecessors."""
        inst = self.plan.instance
        by_kernel = self.plan.schedule.by_kernel()
        preds: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for edge in inst.edges:
            preds[edge.dst].append((edge.src, edge.cross_device_delay))
        ends: dict[tuple[str, str], tuple[float, int]] = {}
        for m in self.stats.measured:
            ends[(m.job, m.kernel)] = (m.end, m.dev)
        unit_prev: dict[int, float] = {}
        out = []
        for m in sorted(self.stats.measured, key=lambda x: x.start):
            prev = unit_prev.get(m.unit, 0.0)
            unit_prev[m.unit] = m.end
            asg = by_kernel.get(m.kernel) if m.tag is not None else None
            if asg is None or not m.ok:
                continue
            ready = max(asg.start + m.tag[1], prev)
            suffix = m.job[len(m.job.split("#", 1)[0]) :]
            for src, delay in preds.get(m.kernel, ()):
                src_job = src.split("/", 1)[0] + suffix
                got = ends.get((src_job, src))
                if got is not None:
                    ready = max(ready, got[0] + (delay if got[1] != m.dev else 0))
            out.append(m.start - ready)
        return out

    def _late_share(self) -> float | None:
        inst = self.plan.instance
        by_kernel = self.plan.schedule.by_kernel()
        plan_end: dict[str, int] = defaultdict(int)
        for ker in inst.kernels:
            asg = by_kernel.get(ker.name)
            if asg is not None:
                plan_end[ker.job] = max(plan_end[ker.job], asg.end)
        deadline = {job.name: job.deadline for job in inst.jobs}
        # Every plan job the run saw: name -> (tag, end of its last kernel or None, failed).
        seen: dict[str, tuple[Any, float | None, bool]] = {
            name: (tag, end, name in self.stats.job_failed)
            for name, (tag, end) in self.stats.jobs_done.items()
        }
        seen.update((name, (tag, None, False)) for name, tag, _ in self.live)
        on_time_plan = late_real = 0
        for name, (tag, end, failed) in seen.items():
            base = name.split("#", 1)[0]
            dl = deadline.get(base)
            if dl is None or tag is None or plan_end[base] > dl:
                continue
            dl_abs = dl + tag[1]
            if end is None and not failed and dl_abs >= self.stats.end_us:
                continue  # in flight, deadline after the end: undecided
            on_time_plan += 1
            if failed or end is None or end > dl_abs:
                late_real += 1
        return round(late_real / on_time_plan, 4) if on_time_plan else None

    def to_json(self) -> dict[str, Any]:
        """The ``simulate`` document plus ``executor``, ``planned_vs_measured``, ``failed``,
        ``overhead_us_per_kernel``, ``executed_check`` and (with outputs checked) ``outputs``."""
        doc = self.sim.to_json()
        doc["mode"] = "real"
        doc["executor"] = self.executor
        doc["online_policy"] = self.policy
        failed = len(self.stats.job_failed)
        doc["conservation"] = {**doc["conservation"], "failed": failed}
        doc["failed"] = failed
        doc["failures"] = [
            {"job": j, "kernel": k, "error": e} for j, k, e in self.stats.failures[:5]
        ]
        doc["planned_vs_measured"] = self.planned_vs_measured()
        ok = [m for m in self.stats.measured if m.ok]
        median_kernel = statistics.median([m.end - m.start for m in ok]) if ok else None
        stats = self.stats
        per_kernel = stats.overhead_cpu_s * 1e6 / stats.dispatched if stats.dispatched else None
        per_kernel_wall = stats.overhead_s * 1e6 / stats.dispatched if stats.dispatched else None
        doc["runtime_overhead"] = {
            "dispatched": stats.dispatched,
            "skipped": stats.skipped,
            "us_per_kernel": _round(per_kernel),
            "busy_wall_us_per_kernel": _round(per_kernel_wall),
            "median_kernel_us": _round(median_kernel),
            "share_of_median_kernel": (
                _round(per_kernel / median_kernel) if per_kernel and median_kernel else None
            ),
        }
        doc["executed_check"] = {
            "violations": len(self.violations),
            "first": self.violations[:3],
            "measured_outcomes": dict(self.outcomes),
        }
        doc["interrupted"] = self.stats.interrupted
        doc["wall_end_s"] = _round(self.stats.end_us / 1e6)
        if self.outputs is not None:
            doc["outputs"] = {**self.outputs, "notes": self.output_notes[:3]}
        return doc

    def write_profile(self, path: str | os.PathLike[str]) -> int:
        """Write the measured latencies as a profile (:mod:`xpuplan.models.profiles`): the median
        over the run of every (model, kernel, device, level); returns the number of rows."""
        samples: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
        for m in self.stats.measured:
            if m.ok:
                key = (m.model, m.local, self.device_names[m.dev], self.level_names[m.dev][m.level])
                samples[key].append(m.end - m.start)
        lines = [
            "# xpuplan run: measured kernel latencies (median over the run; "
            f"executor {self.executor}, plan {self.plan.instance.name})",
            ",".join(PROFILE_COLUMNS),
        ]
        for (model, kernel, device, level), values in sorted(samples.items()):
            lines.append(
                f"# {kernel} on {device}: {len(values)} runs, p90 "
                f"{float(np.percentile(values, 90)):.1f} us"
            )
            lines.append(f"{model},{kernel},{device},{level},{statistics.median(values):.3f},")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        return len(samples)

    def write_trace(self, path: str | os.PathLike[str]) -> None:
        """A Chrome/Perfetto trace: the planned timeline (process "plan") and the measured one
        (process "measured"), one track per device unit, the kernels of the same executions."""
        by_kernel = self.plan.schedule.by_kernel()
        events: list[dict[str, Any]] = []
        for pid, label in ((1, "plan"), (2, "measured")):
            events.append({"ph": "M", "name": "process_name", "pid": pid, "args": {"name": label}})
            for unit, name in enumerate(self.unit_names):
                events.append(
                    {
                        "ph": "M",
                        "name": "thread_name",
                        "pid": pid,
                        "tid": unit,
                        "args": {"name": name},
                    }
                )
        for m in self.stats.measured:
            label = f"{m.job}/{m.local}"
            events.append(
                {
                    "ph": "X",
                    "name": label,
                    "pid": 2,
                    "tid": m.unit,
                    "ts": round(m.start, 3),
                    "dur": round(m.end - m.start, 3),
                    "args": {"ok": m.ok, "online": m.tag is None},
                }
            )
            asg = by_kernel.get(m.kernel) if m.tag is not None else None
            if asg is not None:
                events.append(
                    {
                        "ph": "X",
                        "name": label,
                        "pid": 1,
                        "tid": m.unit,
                        "ts": asg.start + m.tag[1],
                        "dur": asg.end - asg.start,
                    }
                )
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"traceEvents": events, "displayTimeUnit": "ms"}, handle)


def _pcts(values: list[float], which: tuple[int, ...]) -> dict[str, float | None]:
    if not values:
        return {f"p{q}": None for q in which}
    got = np.percentile(np.asarray(values, dtype=float), which)
    return {f"p{q}": round(float(v), 3) for q, v in zip(which, got, strict=True)}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _task_name(job: str) -> str:
    return job.split("@", 1)[0]


def run_plan(
    plan: Plan,
    platform: Platform | str,
    scenario: Scenario | str,
    *,
    duration_s: float = 10.0,
    executor: str = "time-triggered",
    policy: str | None = None,
    seed: int = 0,
    check_outputs_every: int = 0,
    drain_s: float = 5.0,
) -> RealRunResult:
    """Execute ``plan`` for real on ONNX Runtime for ``duration_s`` seconds (see the module doc).

    Parameters
    ----------
    plan
        The plan (its instance's jobs repeat every plan period when its tasks are periodic).
    platform, scenario
        What the plan was made from (objects, built-in names or YAML paths): the platform's
        ONNX Runtime bindings and the scenario's ONNX files.
    duration_s
        How long arrivals keep coming, in seconds.
    executor
        ``time-triggered`` or ``self-timed``.
    policy
        A list policy (``edf``, ``fcfs``...) serving the scenario's other tasks in the plan's
        slack (through ``hybrid``); None runs the plan alone.
    seed
        Seeds the inputs of every job and the other tasks' arrivals.
    check_outputs_every
        Keep every n-th job's tensors and compare its outputs with the whole model's after the
        run (0: no check).
    drain_s
        At most this long after ``duration_s`` for the jobs in flight to finish.

    Raises
    ------
    InvalidInput
        When a device the run needs has no runnable ONNX Runtime binding here (all of them
        listed), a task to run has a model that is not an ONNX file, the executor or policy is
        unknown, or a plan kernel matches no kernel of its model.

    Returns
    -------
    RealRunResult
        The measured run: the executed schedule beside the plan, per-task metrics, and its
        Chrome/Perfetto trace (``write_trace``).

    Examples
    --------
    It needs a scenario whose models are ONNX files (``model: detector.onnx`` in its YAML file,
    see the README), so this example is not run as a doctest:

    >>> import xpuplan
    >>> from xpuplan.models.scenario import load_scenario
    >>> scenario = load_scenario("detector.yaml")  # doctest: +SKIP
    >>> made = xpuplan.make_plan(xpuplan.get_platform("core-ultra-125h"), scenario,
    ...                          solver="heft")  # doctest: +SKIP
    >>> result = run_plan(made.plan, "core-ultra-125h", scenario, duration_s=2)  # doctest: +SKIP
    >>> result.write_trace("run.json")  # doctest: +SKIP
    """
    if executor not in EXECUTORS:
        raise InvalidInput(
            f"must be one of {', '.join(EXECUTORS)}", field="executor", value=executor
        )
    if policy is not None and policy_plan_only(policy):
        raise InvalidInput(
            "must be an online list policy (edf, fcfs...)", field="policy", value=policy
        )
    plat = resolve_platform(platform) if isinstance(platform, str) else platform
    scen = resolve_scenario(scenario) if isinstance(scenario, str) else scenario
    inst = plan.instance
    by_kernel = plan.schedule.by_kernel()
    planned_tasks = sorted({_task_name(job.name) for job in inst.jobs})
    tasks = {task.name: task for task in scen.tasks}
    run_tasks = list(planned_tasks)
    if policy is not None:
        run_tasks += [t.name for t in scen.tasks if t.name not in planned_tasks]
    for name in run_tasks:
        task = tasks.get(name)
        if task is None:
            raise InvalidInput(
                f"plan task {name!r} is not a task of scenario {scen.name!r}",
                field="scenario",
                value=scen.name,
            )
        for ref in task.models:
            if not is_onnx_ref(ref.params):
                raise InvalidInput(
                    f"task {name!r}: model {ref.name!r} is not an ONNX file; only ONNX models "
                    "run for real",
                    field=f"tasks.{name}.model",
                    value=ref.name,
                )
    devices = {asg.device for asg in plan.schedule.assignments}
    if policy is not None:
        devices |= {dev.name for dev in plat.devices}
    missing = missing_bindings(plat, devices)
    if missing:
        raise InvalidInput(
            f"cannot run here: {'; '.join(missing)}", field="devices", value=plat.name
        )
    # Plan kernels: name local to the job -> devices; kernels per (task, model) of one job.
    kernel_names: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    counts: dict[tuple[str, str, int], int] = defaultdict(int)
    for ker in inst.kernels:
        t_name = _task_name(ker.job)
        local = ker.name[len(ker.job) + 1 :] if ker.name.startswith(ker.job + "/") else ker.name
        asg = by_kernel.get(ker.name)
        if asg is not None:
            kernel_names[t_name][local].add(asg.device)
        m_idx, _ = _split_chain(local, len(tasks[t_name].models))
        counts[(t_name, ker.job, m_idx)] += 1
    plan_counts: dict[tuple[str, int], int] = {}
    for (t_name, _, m_idx), count in counts.items():
        plan_counts[(t_name, m_idx)] = count

    holder: dict[str, Any] = {}

    def prepare(sim: Simulator) -> None:
        assert isinstance(sim, RealSimulator)
        if policy is not None:
            for spec in sim.tasks:
                if spec.name in planned_tasks or spec.name not in run_tasks:
                    continue
                for stage in spec.stages:
                    template = getattr(stage, "template", None)
                    if template is None:
                        raise InvalidInput(
                            "has a stage that is not a kernel graph",
                            field="task",
                            value=spec.name,
                        )
                    for ker in template.kernels:
                        kernel_names[spec.name][ker.name] |= {mode.device for mode in ker.modes}
        models = ModelSet(plat, scen, kernel_names, plan_counts)
        models.warm_up(seed)
        models.prepare_inputs(seed)
        sim.attach(models, seed=seed, check_every=check_outputs_every, drain_s=drain_s)
        holder["sim"] = sim

    name = executor if policy is None else "hybrid"
    options: dict[str, Any] = {} if policy is None else {"online": policy, "executor": executor}
    config = SimConfig(
        noise_cv=0.0, dvfs_transition_us=0.0, contention=False, governor=False, record=True
    )
    result = simulate(
        plat,
        scen,
        name,
        plan=plan,
        duration_s=duration_s,
        seed=seed,
        config=config,
        policy_options=options,
        simulator_type=RealSimulator,
        prepare=prepare,
    )
    sim: RealSimulator = holder["sim"]
    live = [(job.name, job.tag, job.deadline) for job in sim.jobs.values()]
    out = RealRunResult(
        sim=result,
        plan=plan,
        executor=executor,
        policy=policy,
        stats=sim.stats,
        live=live,
        device_names=tuple(dev.name for dev in sim.spec.devices),
        unit_names=tuple(sim.machine.unit_name),
        level_names=tuple(tuple(dev.levels) for dev in sim.spec.devices),
    )
    if result.executed is not None:
        # Kernels of repetition 0 that never ran (their job failed, or Ctrl-C came first) are
        # missing for a known reason; every rule is checked on those that ran.
        partial = sim.stats.interrupted or bool(sim.stats.job_failed)
        for v in check_schedule(inst, result.executed, measured=True):
            if v.rule in MEASURED_OUTCOMES:
                out.outcomes[v.rule] = out.outcomes.get(v.rule, 0) + 1
            elif not (partial and v.rule == "coverage"):
                out.violations.append(str(v))
    if check_outputs_every:
        checked, mismatched, notes = check_outputs(sim.models, sim.stats.sampled_outputs)
        out.outputs = {"checked": checked, "mismatched": mismatched}
        out.output_notes = notes
    return out
