"""The real executor: a plan (and online work in its slack) run on ONNX Runtime, on the real clock.

It is the simulator with two things replaced, so that the policies -- the plan executors
``time-triggered`` and ``self-timed``, and ``hybrid`` with any list policy serving the unknown
arrivals in the plan's slack -- are the very same objects, bound to the same dispatch API
(:mod:`xpuplan.runtime.dispatch`):

* **the machine** (:class:`OrtMachine`): when a kernel begins, its sub-model (the kernel's ONNX
  nodes extracted as a standalone model, :func:`xpuplan.models.onnx.extract_kernel`) is handed to
  the worker thread of its unit, which runs it in an ``onnxruntime.InferenceSession`` bound to
  the device's provider. Sessions are built once, before the clock starts. ONNX Runtime releases
  the GIL, so the units run concurrently;
* **the clock** (:meth:`RealSimulator.run`): events fire when the wall clock reaches them, and a
  kernel ends when its worker says it ended (its predicted end is ignored).

Real tensors flow through each job: every model of a job gets seeded random inputs of its input
shapes and types (:meth:`xpuplan.models.onnx.OnnxModel.sample_inputs`, drawn before the clock
starts: :meth:`ModelSet.prepare_inputs`), each kernel is fed the boundary tensors its
predecessors produced (on any device), and the model's outputs are what its last kernels produce
-- the unpartitioned model's outputs for the same inputs (checked on a sample of jobs with
``check_outputs``).

Every kernel's real start and end (ns clock, in us since the run began) are recorded; a kernel
that raises inside ONNX Runtime fails its job (the job's other kernels are dispatched as usual but
not run, and the job counts as failed and late: conservation is arrived = completed + failed +
dropped + in flight); the run goes on.

What the simulator models and a real machine does not obey is left out: a frozen job's running
kernel cannot be stopped inside ONNX Runtime (it runs to its end; nothing new of the job starts),
bandwidth contention and the power governor are off (the machine contends and throttles by
itself), and a DVFS level is a label (the device runs at whatever its governor picks).
"""

from __future__ import annotations

import math
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import onnxruntime as ort

from xpuplan.models import InvalidInput
from xpuplan.models.kernels import build_kernel_dag
from xpuplan.models.onnx import OnnxModel, extract_kernel, onnx_params
from xpuplan.models.onnx.extract import KernelPart
from xpuplan.models.platform import Platform
from xpuplan.models.scenario import Scenario
from xpuplan.runtime.jobs import Job
from xpuplan.runtime.onnxrt import available_providers, session
from xpuplan.runtime.platform_sim import PlatformSim, Run
from xpuplan.runtime.simulator import PRIO_END, ExecutedKernel, Simulator

_CHAIN = re.compile(r"^m(\d+)\.(.*)$", re.DOTALL)
# Coarsening targets tried, after the plan's own kernel counts, to find a kernel's ONNX nodes by
# its name (kernels are named by their node sets, so a name means one set at any granularity).
# Input sets drawn per model before the clock starts.
INPUT_POOL = 8
_GRANULARITIES = (8, 6, 4, 12, 16, 3, 2, 1, 24, 32, 48, 64)


@dataclass(frozen=True)
class KernelBinding:
    """One kernel of one model: its part of the ONNX graph and a session per device."""

    model: str
    m_idx: int
    part: KernelPart
    sessions: Mapping[str, ort.InferenceSession]


@dataclass
class Measured:
    """One kernel as it really ran (times in us since the run began)."""

    job: str
    kernel: str
    task_idx: int
    tag: Any
    model: str
    local: str
    unit: int
    dev: int
    level: int
    start: float
    end: float
    ok: bool
    dispatched: float = 0.0  # when the dispatcher handed it to its unit's worker


@dataclass
class _JobData:
    """The tensors of one job: per model of its chain, name -> array."""

    tensors: list[dict[str, np.ndarray]]
    feeds: list[dict[str, np.ndarray]]
    failed: str | None = None
    sampled: bool = False
    last_end: float = 0.0


@dataclass
class RunStats:
    """What the real clock saw beside the simulator's own counters."""

    measured: list[Measured] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # job, kernel, error
    skipped: int = 0
    dispatched: int = 0
    overhead_s: float = 0.0  # the dispatcher's busy wall time
    overhead_cpu_s: float = 0.0  # the dispatcher thread's CPU time over the run (waits excluded)
    interrupted: bool = False
    end_us: float = 0.0
    # Jobs that ended (completed or failed): name -> (tag, end of its last kernel).
    jobs_done: dict[str, tuple[Any, float]] = field(default_factory=dict)
    job_failed: set[str] = field(default_factory=set)
    sampled_outputs: list[tuple[str, int, dict[str, np.ndarray], dict[str, np.ndarray]]] = field(
        default_factory=list
    )


class ModelSet:
    """The ONNX models of the tasks to run, their kernels and a session per kernel and device.

    Parameters
    ----------
    platform
        The platform: each device's ``onnxruntime`` binding gives the session's provider.
    scenario
        The scenario naming the ONNX files.
    kernel_names
        Per task, the kernel names (local to the job: without the job's prefix) and the devices
        each may run on.
    plan_counts
        Per (task, model index), how many kernels the plan has (the granularity it was cut at).
    """

    def __init__(
        self,
        platform: Platform,
        scenario: Scenario,
        kernel_names: Mapping[str, Mapping[str, Iterable[str]]],
        plan_counts: Mapping[tuple[str, int], int] | None = None,
    ) -> None:
        self.platform = platform
        self.models: dict[tuple[str, int], OnnxModel] = {}
        self.bindings: dict[tuple[str, str], KernelBinding] = {}
        self.whole: dict[tuple[str, int], ort.InferenceSession] = {}
        self._inputs: dict[tuple[str, int], list[dict[str, np.ndarray]]] = {}
        tasks = {task.name: task for task in scenario.tasks}
        plan_counts = plan_counts or {}
        for task_name, kernels in kernel_names.items():
            task = tasks[task_name]
            wanted: dict[int, dict[str, set[str]]] = {}
            for local, devices in kernels.items():
                m_idx, name = _split_chain(local, len(task.models))
                wanted.setdefault(m_idx, {})[name] = set(devices)
            for m_idx, names in wanted.items():
                ref = task.models[m_idx]
                # a profile travelling in the parameters (plan --profile) changes no kernel
                params = {k: v for k, v in ref.params.items() if k != "profile"}
                model = onnx_params(ref.name, params)
                self.models[(task_name, m_idx)] = model
                parts = _find_parts(
                    ref.name, platform, params, set(names), plan_counts.get((task_name, m_idx))
                )
                for name, devices in names.items():
                    sessions = {
                        dev: session(extract_kernel(model, parts[name]), self._binding(dev))
                        for dev in sorted(devices)
                    }
                    prefix = f"m{m_idx}." if len(task.models) > 1 else ""
                    self.bindings[(task_name, prefix + name)] = KernelBinding(
                        ref.name, m_idx, parts[name], sessions
                    )

    def prepare_inputs(self, seed: int, pool: int = INPUT_POOL) -> None:
        """Draw ``pool`` input sets per model before the clock starts (job ``n`` of a task gets
        set ``n % pool``): seeded random values of each input's shape and type
        (:meth:`xpuplan.models.onnx.OnnxModel.sample_inputs`, seed ``(seed * 1000003 + i) * 8 +
        model index``), so no drawing happens on the clock."""
        self._inputs = {
            key: [model.sample_inputs((seed * 1_000_003 + i) * 8 + key[1]) for i in range(pool)]
            for key, model in self.models.items()
        }

    def inputs(self, task: str, jid: int) -> list[dict[str, np.ndarray]]:
        """The inputs of job ``jid`` of ``task``: one dict per model of its chain."""
        count = 1 + max((m for t, m in self._inputs if t == task), default=0)
        out = []
        for m_idx in range(count):
            sets = self._inputs.get((task, m_idx))
            out.append({} if not sets else sets[jid % len(sets)])
        return out

    def _binding(self, device: str) -> Any:
        return self.platform.device(device).onnxruntime

    def whole_session(self, task: str, m_idx: int) -> ort.InferenceSession:
        """The unpartitioned model on the CPU provider (for checking outputs; built on demand)."""
        key = (task, m_idx)
        if key not in self.whole:
            self.whole[key] = session(self.models[key].model)
        return self.whole[key]

    def warm_up(self, seed: int) -> None:
        """Run every session once (first runs allocate), fed real boundary tensors."""
        for (task, m_idx), model in self.models.items():
            tensors: dict[str, np.ndarray] = dict(model.sample_inputs(seed))
            kernels = [b for (t, _), b in self.bindings.items() if t == task and b.m_idx == m_idx]
            order = {n.name: i for i, n in enumerate(model.model.graph.node)}
            kernels.sort(key=lambda b: order.get(b.part.nodes[0], 0))
            for binding in kernels:
                outputs = None
                for sess in binding.sessions.values():
                    try:
                        outputs = sess.run(
                            list(binding.part.outputs),
                            {n: tensors[n] for n in binding.part.inputs if n in tensors},
                        )
                    except Exception:  # a kernel that fails, fails at run time
                        outputs = None
                if outputs is not None:
                    tensors.update(zip(binding.part.outputs, outputs, strict=True))


def _split_chain(local: str, num_models: int) -> tuple[int, str]:
    if num_models > 1:
        match = _CHAIN.match(local)
        if match is not None and int(match.group(1)) < num_models:
            return int(match.group(1)), match.group(2)
    return 0, local


def _find_parts(
    model: str,
    platform: Platform,
    params: Mapping[str, Any],
    names: set[str],
    plan_count: int | None,
) -> dict[str, KernelPart]:
    """The :class:`KernelPart` of each kernel name, found at the granularity that made it."""
    found: dict[str, KernelPart] = {}
    tried: set[int] = set()
    candidates = ([plan_count] if plan_count else []) + list(_GRANULARITIES)
    for max_kernels in candidates:
        if max_kernels in tried:
            continue
        tried.add(max_kernels)
        graph: nx.DiGraph = build_kernel_dag(
            model, platform, max_kernels=max_kernels, levels="top", **params
        )
        for node, data in graph.nodes(data=True):
            if node in names and node not in found and "onnx_nodes" in data:
                found[node] = KernelPart(
                    str(node),
                    tuple(data["onnx_nodes"]),
                    tuple(data["onnx_inputs"]),
                    tuple(data["onnx_outputs"]),
                )
        if len(found) == len(names):
            return found
    missing = sorted(names - set(found))
    raise InvalidInput(
        f"names kernels the model's kernel graphs do not have (cut at another granularity?): "
        f"{', '.join(missing[:3])}",
        field=f"models.{model}.kernels",
        value=missing[0],
    )


def missing_bindings(platform: Platform, devices: Iterable[str]) -> list[str]:
    """``device: reason`` for each device that cannot run ONNX models here (empty: all can)."""
    have = set(available_providers())
    out = []
    for name in sorted(set(devices)):
        binding = platform.device(name).onnxruntime
        if binding is None:
            out.append(f"{name}: no onnxruntime binding")
        elif binding.provider not in have:
            out.append(f"{name}: {binding.provider} not installed")
    return out


class OrtMachine(PlatformSim):
    """The machine of a real run: a kernel that begins is handed to its unit's worker."""

    on_begin: Any = None

    def begin(self, run: Run, now: float, out: list[Any]) -> None:
        super().begin(run, now, out)
        run.due = math.nan  # the predicted end is not the end: the worker's report is
        self.on_begin(run)


class _Worker(threading.Thread):
    """One device unit: runs the kernels handed to it, one at a time, and reports each."""

    def __init__(self, unit: int, clock: Any, done: queue.SimpleQueue[Any]) -> None:
        super().__init__(name=f"xpuplan-unit-{unit}", daemon=True)
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._clock = clock
        self._done = done

    def run(self) -> None:
        inbox, clock, done = self.inbox, self._clock, self._done
        while True:
            work = inbox.get()
            if work is None:
                return
            run, sess, names, feeds = work
            start = clock()
            try:
                values = sess.run(names, feeds)
                error = None
            except Exception as exc:  # ONNX Runtime raises plain exceptions
                values, error = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            done.put((run, start, clock(), values, error))


class RealSimulator(Simulator):
    """A :class:`Simulator` whose kernels run on ONNX Runtime and whose clock is the wall clock.

    Build it as a simulator (same arguments), then give it the models (:meth:`attach`) and
    :meth:`run` it. ``drain_s`` bounds how long after the horizon the run waits for the jobs in
    flight to finish (arrivals stop at the horizon).
    """

    machine_type = OrtMachine

    def attach(
        self,
        models: ModelSet,
        *,
        seed: int = 0,
        check_every: int = 0,
        drain_s: float = 5.0,
    ) -> None:
        """Bind the models (sessions already built) and the run's options.

        ``check_every``: keep the inputs and outputs of every ``check_every``-th job (0: none)
        to compare with the whole model's outputs after the run.
        """
        self.models = models
        self.seed = seed
        self.check_every = check_every
        self.drain_us = drain_s * 1e6
        self.stats = RunStats()
        self._data: dict[int, _JobData] = {}
        self._meta: dict[int, tuple[float, float, bool]] = {}  # id(run) -> start, end, ran
        self._handed: dict[int, float] = {}  # id(run) -> when it was handed to its worker
        self._done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._t0 = 0
        self._workers: list[_Worker] = []
        machine = self.machine
        assert isinstance(machine, OrtMachine)
        machine.on_begin = self._submit

    # ------------------------------------------------------------------ the clock
    def clock(self) -> float:
        """Microseconds since the run began."""
        return (time.perf_counter_ns() - self._t0) / 1000.0

    def run(self, until: float | None = None) -> RealSimulator:
        """Run on the real clock until the horizon, then until the jobs in flight finish (at
        most ``drain_s`` more); Ctrl-C ends it early (``stats.interrupted``)."""
        if self._ran:
            raise RuntimeError("the run has ended")
        self._workers = [
            _Worker(unit, self.clock, self._done) for unit in range(self.machine.num_units)
        ]
        for worker in self._workers:
            worker.start()
        self._started = True
        for s_idx in range(len(self._streams)):
            self._schedule_arrival(s_idx)
        engine = self.engine
        stats = self.stats
        horizon = self.horizon_us if until is None else min(until, self.horizon_us)
        # Ctrl-C stops the clock between two events (never inside a handler), so the partial
        # run's accounting stays whole.
        stop = threading.Event()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
        # Hand the GIL between the dispatcher and the workers every 0.2 ms rather than 5 ms, so
        # a worker returning its outputs does not wait behind a busy dispatcher.
        switch = sys.getswitchinterval()
        sys.setswitchinterval(2e-4)
        self._t0 = time.perf_counter_ns()
        cpu0 = time.thread_time_ns()
        busy_ns = 0
        try:
            while not stop.is_set():
                now = self.clock()
                if now >= horizon and (not self.jobs or now >= horizon + self.drain_us):
                    break
                t_busy = time.perf_counter_ns()
                worked = self._drain()
                if engine.next_time <= now:
                    engine.run(now)
                    worked = True
                if worked:
                    busy_ns += time.perf_counter_ns() - t_busy
                    continue
                wait = min(engine.next_time, max(horizon, now + 1000.0)) - self.clock()
                if wait > 0:
                    try:
                        item = self._done.get(timeout=min(wait, 50_000.0) / 1e6)
                    except queue.Empty:
                        continue
                    self._done.put(item)
        except KeyboardInterrupt:
            stop.set()
        finally:
            stats.interrupted = stop.is_set()
            sys.setswitchinterval(switch)
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            for worker in self._workers:
                worker.inbox.put(None)
            for worker in self._workers:
                worker.join(timeout=30.0)
        stats.overhead_s = busy_ns / 1e9
        stats.overhead_cpu_s = (time.thread_time_ns() - cpu0) / 1e9
        end = max(self.clock(), engine.now)
        stats.end_us = end
        self.horizon_us = end
        self._ran = True
        self.machine.account(end)
        for run in self.machine.running:
            self.machine.busy_us[run.dev] += end - run.start
        self.recorder.check_conservation(self.jobs.values())
        return self

    def _drain(self) -> bool:
        """Turn the workers' reports into end events at their real times."""
        worked = False
        engine = self.engine
        while True:
            try:
                run, start, end, values, error = self._done.get_nowait()
            except queue.Empty:
                return worked
            worked = True
            self._finished(run, start, end, values, error)
            t = max(end, engine.now)
            run.due = t
            self._meta[id(run)] = (start, end, values is not None or error is not None)
            engine.schedule(t, PRIO_END, self._on_end, run)

    def _finished(
        self, run: Run, start: float, end: float, values: Sequence[Any] | None, error: str | None
    ) -> None:
        job = run.job
        handed = self._handed.pop(id(run), start)
        data = self._data.get(job.jid)
        binding = self._binding(job, run.k)
        stats = self.stats
        if data is None or binding is None:
            return
        if error is not None:
            if data.failed is None:
                data.failed = error
                stats.job_failed.add(job.name)
            stats.failures.append((job.name, job._bt.names[run.k], error))
        elif values is not None:
            data.tensors[binding.m_idx].update(zip(binding.part.outputs, values, strict=True))
        if values is not None or error is not None:
            data.last_end = max(data.last_end, end)
            stats.measured.append(
                Measured(
                    job.name,
                    job._bt.names[run.k],
                    job.task_idx,
                    job.tag,
                    binding.model,
                    binding.part.name,
                    run.unit,
                    run.dev,
                    run.level,
                    start,
                    end,
                    error is None,
                    handed,
                )
            )

    # ------------------------------------------------------------------ the machine
    def _binding(self, job: Job, k: int) -> KernelBinding | None:
        bt = job._bt
        if bt is None or k < 0:
            return None
        name = bt.names[k]
        prefix = bt.template.name + "/"
        local = name[len(prefix) :] if name.startswith(prefix) else name
        return self.models.bindings.get((job.spec.name, local))

    def _job_data(self, job: Job) -> _JobData:
        data = self._data.get(job.jid)
        if data is None:
            feeds = self.models.inputs(job.spec.name, job.jid)
            sampled = self.check_every > 0 and job.jid % self.check_every == 0
            data = _JobData([dict(f) for f in feeds], feeds, sampled=sampled)
            self._data[job.jid] = data
        return data

    def _submit(self, run: Run) -> None:
        """A kernel begins: hand it to its unit's worker (or skip it when its job failed)."""
        job = run.job
        binding = self._binding(job, run.k)
        self.stats.dispatched += 1
        data = self._job_data(job)
        if binding is None:
            data.failed = data.failed or "no ONNX model for this kernel"
            self.stats.job_failed.add(job.name)
        if data.failed is not None or binding is None:
            self.stats.skipped += 1
            now = self.clock()
            self._done.put((run, now, now, None, None))
            return
        device = self.spec.devices[run.dev].name
        sess = binding.sessions.get(device)
        tensors = data.tensors[binding.m_idx]
        missing = [n for n in binding.part.inputs if n not in tensors]
        if sess is None or missing:
            error = (
                f"no session on {device}" if sess is None else f"input {missing[0]} not produced"
            )
            now = self.clock()
            self._done.put((run, now, now, None, error))
            return
        feeds = {n: tensors[n] for n in binding.part.inputs}
        self._handed[id(run)] = self.clock()
        self._workers[run.unit].inbox.put((run, sess, list(binding.part.outputs), feeds))

    # ------------------------------------------------------------------ the simulator's hooks
    def _on_end(self, run: Run) -> list[Any] | None:
        if id(run) not in self._meta or run.due != self.engine.now:
            return None  # the predicted end of a run that has not really ended
        try:
            return super()._on_end(run)
        finally:
            del self._meta[id(run)]

    def _record(self, run: Run, now: float) -> None:
        start, end, ran = self._meta[id(run)]
        if not ran:
            return
        name = run.job._bt.names[run.k]
        self.executed.append(
            ExecutedKernel(run.job.name, name, run.unit, run.dev, run.level, start, end, run.power)
        )

    def _complete(self, job: Job, now: float) -> None:
        data = self._data.pop(job.jid, None)
        self.stats.jobs_done[job.name] = (job.tag, data.last_end if data else now)
        if data is None or data.failed is None:
            if data is not None and data.sampled:
                for m_idx, feeds in enumerate(data.feeds):
                    if feeds:
                        self.stats.sampled_outputs.append(
                            (job.spec.name, m_idx, feeds, data.tensors[m_idx])
                        )
            super()._complete(job, now)
            return
        job._done_at = now
        del self.jobs[job.jid]
        self.recorder.fail(job)
        if self._record_runs:
            self.finished_jobs.append(job)
        self.policy.on_job_done(job)


def check_outputs(
    models: ModelSet,
    samples: Sequence[tuple[str, int, dict[str, np.ndarray], dict[str, np.ndarray]]],
    rtol: float = 1e-3,
    atol: float = 1e-4,
) -> tuple[int, int, list[str]]:
    """Compare each sampled job's outputs with the whole model's for the same inputs.

    Returns (checked, mismatched, messages). Outputs match when every element is within
    ``atol + rtol * |expected|`` (:func:`numpy.allclose`); integer and boolean outputs must be
    equal.
    """
    checked = mismatched = 0
    notes: list[str] = []
    for task, m_idx, feeds, tensors in samples:
        model = models.models[(task, m_idx)]
        expected = models.whole_session(task, m_idx).run(list(model.outputs), feeds)
        checked += 1
        for name, want in zip(model.outputs, expected, strict=True):
            got = tensors.get(name)
            if got is None or got.shape != want.shape or not _close(got, want, rtol, atol):
                mismatched += 1
                notes.append(f"{task}: output {name} differs from the whole model's")
                break
    return checked, mismatched, notes


def _close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    if np.issubdtype(want.dtype, np.floating):
        return bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True))
    return bool(np.array_equal(got, want))
