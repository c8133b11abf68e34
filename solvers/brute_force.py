"""Brute force: the exact referee for tiny instances (registered as ``"brute-force"``).

It enumerates every choice of mode and unit per kernel and a set of start times that provably
contains an optimal schedule of every objective under every rule of :mod:`xpuplan.models.instance`,
keeps the best schedule found, and runs :func:`xpuplan.models.check_schedule` on every schedule
before it becomes the incumbent, so the referee cannot report a schedule the checker rejects. It is
meant to be obviously correct rather than fast and refuses instances with more than ``max_kernels``
kernels (default 7).

Two methods
-----------
``method="anchored"`` (the default) enumerates the *anchored* schedules defined below.
``method="grid"`` places kernels in topological order at every integer start time up to the
horizon of :func:`xpuplan.solvers.bounds.serial_upper_bound`; it assumes nothing but that horizon
and is used on instances of at most ``GRID_MAX_KERNELS`` kernels to test the anchored method.

Why anchored schedules suffice
------------------------------
Fix a valid schedule :math:`S`. Call an edge with ``resume_cost > 0`` *resumable*, and let
:math:`G` be the set of resumable edges that are contiguous in :math:`S`. A kernel has at most
one contiguous in-edge (two sources contiguous to it would end at the same instant on its unit)
and at most one contiguous out-edge (two contiguous successors would start together on one unit),
so :math:`G` splits the kernels into *blocks*: chains :math:`b_0, \\dots, b_m` that run back to
back on one unit, with :math:`s_{b_{i+1}} = e_{b_i}`. Every kernel's duration is
:math:`d_k + \\max\\{c_e : e \\text{ resumable into } k, e \\notin G\\}`, a function of
:math:`G` only.

Let :math:`W` be a union of blocks, and shift all of :math:`W` one time unit earlier. Nothing
else moves and every duration stays as it is, unless :math:`W` is *anchored*: some member
:math:`w` has

(a) :math:`s_w = r_{j(w)}` (its release);
(b) :math:`s_w = e_z` for a kernel :math:`z \\notin W` (at instant :math:`s_w` a kernel outside
    :math:`W` ends: the only way the shift can overlap a kernel on :math:`w`'s unit, or raise the
    power or a resource level, is at an instant where some member of :math:`W` starts and some
    kernel outside :math:`W` ends. Indeed the level at slot :math:`t` after the shift is
    :math:`out(t) + in(t+1)`, above both feasible :math:`out(t) + in(t)` and
    :math:`out(t+1) + in(t+1)` only when :math:`in(t+1) > in(t)` and :math:`out(t) > out(t+1)`);
(c) :math:`s_w = e_z + \\delta_{zw}` for an edge :math:`z \\to w`, :math:`z \\notin W`, with
    :math:`\\delta_{zw}` the cross-device delay if the devices differ, else 0 (precedence);
(d) :math:`s_w = e_z + 1` for a resumable edge :math:`z \\to w`, :math:`z \\notin W` on
    :math:`w`'s unit (the shift would make that edge contiguous and change :math:`w`'s duration).

Otherwise the shifted schedule is valid, has the same contiguous edges (edges inside :math:`W`
keep their gaps, an edge out of :math:`W` cannot become contiguous since its target starts at or
after its source's old end, and an edge into :math:`W` becomes contiguous only in case (d) or
into a block's non-first member, whose unit is taken by its block predecessor), hence the same
durations and dynamic energy, and no end time later. Every objective is non-decreasing in the end
times plus the dynamic energy, so it is no worse. Repeating while some union of blocks is not
anchored strictly decreases the sum of the starts, so it stops, at an equally good schedule in
which *every* union of blocks is anchored.

In such a schedule, order the blocks greedily: the union of all unplaced blocks is anchored, so
some unplaced block has a member :math:`w` whose start is a release or an end (+0, +1 or
:math:`+\\delta`) of an already placed kernel. The block's start is then that anchor minus the
durations of the members before :math:`w`. The search below tries, for every contiguity pattern
:math:`G`, every order of blocks, every unit and DVFS level of each block, and every such anchor,
so it reaches that schedule; releases, hard deadlines, unit overlap, precedence, power, resources,
per-device DVFS and ":math:`G` exactly" are checked on the placed kernels after each step (a
violation among placed kernels stays in every completion), and a branch is cut when the placed
kernels alone already make the objective no better than the incumbent (every objective part is
non-decreasing as kernels are added, so its partial value is a lower bound, and so is a
lexicographic tuple of them). Infeasibility is reported only after the whole space is exhausted,
which is sound since the shifts above keep any feasible schedule feasible.

Units of one device are identical, so a unit is only opened after all lower-numbered units of its
device are in use (relabelling units maps schedules to schedules of equal value).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from xpuplan.models import (
    Instance,
    InvalidInput,
    Schedule,
    Unsupported,
    build_assignments,
    check_schedule,
    evaluate,
    preemptions_of,
)
from xpuplan.models.schedule import ObjectiveValue
from xpuplan.solvers.bounds import lower_bound, serial_upper_bound
from xpuplan.solvers.registry import register

MAX_KERNELS = 7
GRID_MAX_KERNELS = 4
METHODS = ("anchored", "grid")
# Float slack for power and resource sums, as in models.checker.
_EPS = 1e-9
# Objective values closer than this count as equal when comparing candidates.
_TOL = 1e-9
# The clock is read once per this many search nodes.
_CLOCK_EVERY = 256


class _TimeUp(Exception):
    """The time limit ran out during the search."""


@dataclass(frozen=True)
class _Option:
    """One way to run a kernel: mode index, device index, unit."""

    mode: int
    device: int
    unit: int


def _lex_less(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """``a < b`` lexicographically, ignoring differences below the tolerance."""
    for x, y in zip(a, b, strict=True):
        if abs(x - y) <= _TOL * max(1.0, abs(x), abs(y)):
            continue
        return x < y
    return False


class _Search:
    """The state shared by both methods: placed kernels, checks, incumbent, clock."""

    def __init__(self, instance: Instance, time_limit: float | None) -> None:
        self.inst = instance
        self.deadline_at = None if time_limit is None else time.monotonic() + time_limit
        self.nodes = 0
        num = instance.num_kernels
        self.num = num
        self.release = [instance.jobs[j].release for j in instance.kernel2job]
        soft = instance.soft_deadlines
        self.due = [None if soft else instance.jobs[j].deadline for j in instance.kernel2job]
        self.dev_units = [dev.units for dev in instance.devices]
        self.dev_of_mode = [
            [instance.device_idx[m.device] for m in ker.modes] for ker in instance.kernels
        ]
        self.cap = instance.dynamic_power_cap_w
        self.res_names = [res.name for res in instance.resources]
        self.res_caps = [res.capacity for res in instance.resources]
        # usage[k][m]: (power, demand per resource) of kernel k in mode m.
        self.power = [[m.power_w for m in ker.modes] for ker in instance.kernels]
        self.demand = [
            [[m.demands.get(name, 0.0) for name in self.res_names] for m in ker.modes]
            for ker in instance.kernels
        ]
        self.preds: list[list[tuple[int, int, int]]] = [[] for _ in range(num)]
        self.succs: list[list[tuple[int, int, int]]] = [[] for _ in range(num)]
        for e_idx, (src, dst) in enumerate(instance.edge_endpoints):
            edge = instance.edges[e_idx]
            self.preds[dst].append((src, edge.cross_device_delay, e_idx))
            self.succs[src].append((dst, edge.cross_device_delay, e_idx))
        self.parts = instance.objective.parts
        self.weights = [job.weight for job in instance.jobs]
        self.deadlines = [job.deadline for job in instance.jobs]
        self.min_busy = [
            self.release[k] + min(m.duration for m in ker.modes)
            for k, ker in enumerate(instance.kernels)
        ]
        self.min_energy = [
            min(m.power_w * m.duration for m in ker.modes) for ker in instance.kernels
        ]
        # The placed kernels.
        self.opt: list[_Option | None] = [None] * num
        self.start = [0] * num
        self.end = [0] * num
        self.unit_count: dict[tuple[int, int], int] = {}
        self.level_of: list[str | None] = [None] * instance.num_devices
        self.level_count = [0] * instance.num_devices
        # The incumbent.
        self.best_value: tuple[float, ...] | None = None
        self.best: Schedule | None = None

    # ------------------------------------------------------------------ clock
    def tick(self) -> None:
        self.nodes += 1
        if (
            self.deadline_at is not None
            and self.nodes % _CLOCK_EVERY == 0
            and time.monotonic() > self.deadline_at
        ):
            raise _TimeUp

    # ------------------------------------------------------------------ options
    def options(self, k_idx: int, device: int | None = None) -> Iterator[_Option]:
        """Modes and units for kernel ``k_idx`` (on ``device`` only, if given).

        Honours per-device DVFS against the placed kernels and opens units in order.
        """
        ker = self.inst.kernels[k_idx]
        per_device = self.inst.dvfs == "per-device"
        for m_idx, mode in enumerate(ker.modes):
            d_idx = self.dev_of_mode[k_idx][m_idx]
            if device is not None and d_idx != device:
                continue
            if per_device and self.level_of[d_idx] not in (None, mode.level):
                continue
            for unit in range(min(self.dev_units[d_idx], self.num_open(d_idx) + 1)):
                yield _Option(m_idx, d_idx, unit)

    def num_open(self, d_idx: int) -> int:
        """Units of a device in use are always 0..n-1; this is n."""
        num = 0
        while self.unit_count.get((d_idx, num), 0):
            num += 1
        return num

    # ------------------------------------------------------------------ placing
    def fits(self, k_idx: int, opt: _Option, start: int, end: int, exact: frozenset[int]) -> bool:
        """Whether kernel ``k_idx`` can run over ``[start, end)`` beside the placed kernels.

        ``exact`` is the contiguity pattern the durations were computed for: a resumable edge in
        it must be contiguous, one not in it must not be (an edge to a kernel not placed yet is
        checked when that kernel is placed).
        """
        if not self._fits_common(k_idx, opt, start, end):
            return False
        for src, _, e_idx in self.preds[k_idx]:
            src_opt = self.opt[src]
            if src_opt is None or not self.inst.edges[e_idx].resume_cost:
                continue
            contiguous = (
                src_opt.device == opt.device
                and src_opt.unit == opt.unit
                and (self.end[src] == start)
            )
            if contiguous != (e_idx in exact):
                return False
        for dst, _, e_idx in self.succs[k_idx]:
            dst_opt = self.opt[dst]
            if dst_opt is None or not self.inst.edges[e_idx].resume_cost:
                continue
            contiguous = (
                dst_opt.device == opt.device
                and dst_opt.unit == opt.unit
                and (self.start[dst] == end)
            )
            if contiguous != (e_idx in exact):
                return False
        return True

    def _fits_common(self, k_idx: int, opt: _Option, start: int, end: int) -> bool:
        """Release, hard deadline, precedence, unit overlap, power and resources."""
        if start < self.release[k_idx]:
            return False
        due = self.due[k_idx]
        if due is not None and end > due:
            return False
        for src, delay, _ in self.preds[k_idx]:
            src_opt = self.opt[src]
            if src_opt is not None:
                gap = delay if src_opt.device != opt.device else 0
                if start < self.end[src] + gap:
                    return False
        for dst, delay, _ in self.succs[k_idx]:
            dst_opt = self.opt[dst]
            if dst_opt is not None:
                gap = delay if dst_opt.device != opt.device else 0
                if self.start[dst] < end + gap:
                    return False
        running = []
        for other in range(self.num):
            other_opt = self.opt[other]
            if other_opt is None or self.end[other] <= start or self.start[other] >= end:
                continue
            if other_opt.device == opt.device and other_opt.unit == opt.unit:
                return False
            running.append(other)
        # The level over [start, end) peaks at start or where another kernel starts.
        instants = {start} | {self.start[o] for o in running if self.start[o] > start}
        for instant in instants:
            now = [o for o in running if self.start[o] <= instant < self.end[o]]
            if self.cap is not None:
                level = self.power[k_idx][opt.mode] + sum(
                    self.power[o][self.opt_mode(o)] for o in now
                )
                if level > self.cap + _EPS * max(1.0, abs(self.cap)):
                    return False
            for r_idx, cap in enumerate(self.res_caps):
                level = self.demand[k_idx][opt.mode][r_idx] + sum(
                    self.demand[o][self.opt_mode(o)][r_idx] for o in now
                )
                if level > cap + _EPS * max(1.0, abs(cap)):
                    return False
        return True

    def opt_mode(self, k_idx: int) -> int:
        opt = self.opt[k_idx]
        assert opt is not None
        return opt.mode

    def place(self, k_idx: int, opt: _Option, start: int, end: int) -> None:
        self.opt[k_idx] = opt
        self.start[k_idx] = start
        self.end[k_idx] = end
        key = (opt.device, opt.unit)
        self.unit_count[key] = self.unit_count.get(key, 0) + 1
        self.level_of[opt.device] = self.inst.kernels[k_idx].modes[opt.mode].level
        self.level_count[opt.device] += 1

    def unplace(self, k_idx: int) -> None:
        opt = self.opt[k_idx]
        assert opt is not None
        self.opt[k_idx] = None
        self.unit_count[(opt.device, opt.unit)] -= 1
        self.level_count[opt.device] -= 1
        if not self.level_count[opt.device]:
            self.level_of[opt.device] = None

    # ------------------------------------------------------------------ objective
    def partial_value(self) -> tuple[float, ...]:
        """A lower bound on the objective of every completion of the placed kernels.

        Each part is computed over the placed kernels as :func:`xpuplan.models.evaluate` would, with
        every unplaced kernel counted as ending no earlier than its release plus its shortest
        duration and drawing at least its least dynamic energy: every part is non-decreasing in the
        end times and the dynamic energy, so this never exceeds any completion's value.
        """
        ends = [
            self.end[k] if self.opt[k] is not None else self.min_busy[k] for k in range(self.num)
        ]
        makespan = max(ends, default=0)
        completions = [0] * self.inst.num_jobs
        for k_idx, j_idx in enumerate(self.inst.kernel2job):
            completions[j_idx] = max(completions[j_idx], ends[k_idx])
        values = []
        for part in self.parts:
            if part.type == "makespan":
                values.append(float(makespan))
            elif part.type == "energy":
                dynamic = 0.0
                for k_idx in range(self.num):
                    opt = self.opt[k_idx]
                    if opt is None:
                        dynamic += self.min_energy[k_idx]
                    else:
                        dynamic += self.power[k_idx][opt.mode] * (
                            self.end[k_idx] - self.start[k_idx]
                        )
                values.append(dynamic + self.inst.idle_power_w * makespan)
            elif part.type == "weighted_completion":
                values.append(sum(w * c for w, c in zip(self.weights, completions, strict=True)))
            elif part.type == "weighted_tardiness":
                values.append(
                    sum(
                        w * max(0, c - d)
                        for w, c, d in zip(self.weights, completions, self.deadlines, strict=True)
                        if d is not None
                    )
                )
            else:
                values.append(
                    sum(
                        w
                        for w, c, d in zip(self.weights, completions, self.deadlines, strict=True)
                        if d is not None and c > d
                    )
                )
        return tuple(values)

    def hopeless(self) -> bool:
        """True when no completion of the placed kernels can beat the incumbent."""
        return self.best_value is not None and not _lex_less(self.partial_value(), self.best_value)

    def offer(self) -> None:
        """All kernels are placed: make a schedule, check it, and keep it if it is better."""
        modes, units = [], []
        for k_idx in range(self.num):
            opt = self.opt[k_idx]
            assert opt is not None
            modes.append(opt.mode)
            units.append(opt.unit)
        assignments = build_assignments(self.inst, modes, units, self.start)
        value = evaluate(self.inst, assignments)
        as_tuple = value if isinstance(value, tuple) else (value,)
        if self.best_value is not None and not _lex_less(as_tuple, self.best_value):
            return
        schedule = Schedule(
            self.inst.name,
            tuple(assignments),
            solver="brute-force",
            status="feasible",
            objective=value,
            preemptions=tuple(preemptions_of(self.inst, assignments)),
        )
        violations = check_schedule(self.inst, schedule)
        ends_agree = all(a.end == self.end[k] for k, a in enumerate(assignments))
        if violations or not ends_agree:
            # The search's own checks let through what the checker rejects: a bug to fix here,
            # never a schedule to keep.
            detail = "; ".join(str(v) for v in violations) or "end times differ from the search's"
            raise RuntimeError(
                f"brute force built an invalid schedule for {self.inst.name}: {detail}"
            )
        self.best_value = tuple(float(v) for v in as_tuple)
        self.best = schedule


# ---------------------------------------------------------------------- anchored method
def contiguity_patterns(instance: Instance) -> Iterator[frozenset[int]]:
    """Every set of resumable edges that can be contiguous together.

    At most one contiguous in-edge and one contiguous out-edge per kernel, and the two kernels of
    a contiguous edge must share a device in some of their modes.
    """
    devices = [{m.device for m in ker.modes} for ker in instance.kernels]
    candidates = [
        e_idx
        for e_idx, (src, dst) in enumerate(instance.edge_endpoints)
        if instance.edges[e_idx].resume_cost and devices[src] & devices[dst]
    ]
    for size in range(len(candidates) + 1):
        for chosen in itertools.combinations(candidates, size):
            srcs = [instance.edge_endpoints[e][0] for e in chosen]
            dsts = [instance.edge_endpoints[e][1] for e in chosen]
            if len(set(srcs)) == len(srcs) and len(set(dsts)) == len(dsts):
                yield frozenset(chosen)


def blocks_of(instance: Instance, pattern: frozenset[int]) -> list[list[int]]:
    """The chains of kernels joined by the edges of ``pattern``, each in running order."""
    nxt: dict[int, int] = {}
    has_prev: set[int] = set()
    for e_idx in pattern:
        src, dst = instance.edge_endpoints[e_idx]
        nxt[src] = dst
        has_prev.add(dst)
    out = []
    for k_idx in range(instance.num_kernels):
        if k_idx in has_prev:
            continue
        chain = [k_idx]
        while chain[-1] in nxt:
            chain.append(nxt[chain[-1]])
        out.append(chain)
    return out


class _Anchored(_Search):
    """Blocks placed one at a time, each anchored at a release or at an end of a placed kernel."""

    def run(self) -> None:
        for pattern in contiguity_patterns(self.inst):
            self.pattern = pattern
            self.blocks = blocks_of(self.inst, pattern)
            self.resume = [0] * self.num
            for e_idx, (_, dst) in enumerate(self.inst.edge_endpoints):
                if e_idx not in pattern:
                    self.resume[dst] = max(self.resume[dst], self.inst.edges[e_idx].resume_cost)
            self.visited: set[frozenset[tuple[int, int, int, int]]] = set()
            self.dfs([False] * len(self.blocks))

    def dfs(self, done: list[bool]) -> None:
        self.tick()
        if all(done):
            self.offer()
            return
        key = frozenset(
            (k, opt.mode, opt.unit, self.start[k])
            for k, opt in enumerate(self.opt)
            if opt is not None
        )
        if key in self.visited:
            return
        self.visited.add(key)
        if self.hopeless():
            return
        for b_idx, block in enumerate(self.blocks):
            if done[b_idx]:
                continue
            for options in self.block_options(block):
                durations = [
                    self.inst.kernels[k].modes[opt.mode].duration + self.resume[k]
                    for k, opt in zip(block, options, strict=True)
                ]
                offsets = list(itertools.accumulate(durations, initial=0))
                for start in self.block_starts(block, options, offsets):
                    if self.place_block(block, options, durations, start):
                        done[b_idx] = True
                        self.dfs(done)
                        done[b_idx] = False
                        for k_idx in block:
                            self.unplace(k_idx)

    def block_options(self, block: list[int]) -> Iterator[list[_Option]]:
        """One unit for the whole block (a contiguous chain shares it), a mode per member."""
        first = list(self.options(block[0]))
        for head in first:
            rest = [
                [opt for opt in self.options(k_idx, head.device) if opt.unit == head.unit]
                for k_idx in block[1:]
            ]
            per_device = self.inst.dvfs == "per-device"
            for tail in itertools.product(*rest):
                chosen = [head, *tail]
                pairs = zip(block, chosen, strict=True)
                levels = {self.inst.kernels[k].modes[o.mode].level for k, o in pairs}
                if not per_device or len(levels) == 1:
                    yield chosen

    def block_starts(
        self, block: list[int], options: list[_Option], offsets: list[int]
    ) -> list[int]:
        """Block starts that put some member at a release or at an end (+0, +1, +delay)."""
        device, unit = options[0].device, options[0].unit
        placed_ends = {self.end[k] for k in range(self.num) if self.opt[k] is not None}
        starts: set[int] = set()
        for pos, k_idx in enumerate(block):
            anchors = {self.release[k_idx], *placed_ends}
            for src, delay, e_idx in self.preds[k_idx]:
                src_opt = self.opt[src]
                if src_opt is None:
                    continue
                if src_opt.device != device:
                    anchors.add(self.end[src] + delay)
                elif pos == 0 and src_opt.unit == unit and self.inst.edges[e_idx].resume_cost:
                    anchors.add(self.end[src] + 1)
            starts.update(a - offsets[pos] for a in anchors)
        return sorted(s for s in starts if s >= 0)

    def place_block(
        self, block: list[int], options: list[_Option], durations: list[int], start: int
    ) -> bool:
        """Place the block's members back to back from ``start``; undo and say False on a clash."""
        placed: list[int] = []
        at = start
        for k_idx, opt, duration in zip(block, options, durations, strict=True):
            if not self.fits(k_idx, opt, at, at + duration, self.pattern):
                for done_idx in placed:
                    self.unplace(done_idx)
                return False
            self.place(k_idx, opt, at, at + duration)
            placed.append(k_idx)
            at += duration
        return True


# ---------------------------------------------------------------------- grid method
class _Grid(_Search):
    """Kernels in topological order, each at every integer start up to the horizon."""

    def run(self, horizon: int) -> None:
        self.horizon = horizon
        self.order = self.inst.topological_order
        self.dfs(0)

    def dfs(self, pos: int) -> None:
        self.tick()
        if pos == self.num:
            self.offer()
            return
        if self.hopeless():
            return
        k_idx = self.order[pos]
        mode_list = self.inst.kernels[k_idx].modes
        for opt in list(self.options(k_idx)):
            duration = mode_list[opt.mode].duration
            for start in range(self.release[k_idx], self.horizon - duration + 1):
                end = start + duration + self.resume_at(k_idx, opt, start)
                if self._fits_common(k_idx, opt, start, end):
                    self.place(k_idx, opt, start, end)
                    self.dfs(pos + 1)
                    self.unplace(k_idx)

    def resume_at(self, k_idx: int, opt: _Option, start: int) -> int:
        """The resume time if the kernel starts at ``start`` (its sources are all placed)."""
        resume = 0
        for src, _, e_idx in self.preds[k_idx]:
            cost = self.inst.edges[e_idx].resume_cost
            src_opt = self.opt[src]
            assert src_opt is not None
            contiguous = (
                src_opt.device == opt.device and src_opt.unit == opt.unit and self.end[src] == start
            )
            if cost and not contiguous:
                resume = max(resume, cost)
        return resume


# ---------------------------------------------------------------------- entry point
@register(
    "brute-force",
    kind="exact",
    description="exhaustive enumeration of anchored schedules; the referee for tiny instances",
)
def solve_brute_force(
    instance: Instance,
    *,
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    hint: Schedule | None = None,
    max_kernels: int = MAX_KERNELS,
    method: str = "anchored",
    horizon: int | None = None,
    **options: Any,
) -> Schedule:
    """The optimal schedule of a tiny instance, by enumeration.

    Parameters
    ----------
    instance
        At most ``max_kernels`` kernels (``GRID_MAX_KERNELS`` for ``method="grid"``).
    time_limit
        Seconds; when it runs out the best schedule so far is returned as ``feasible`` (or
        ``unknown`` without one) with :func:`xpuplan.solvers.bounds.lower_bound` as its bound.
    workers, seed, hint
        Ignored: the enumeration is sequential, deterministic and needs no start.
    max_kernels
        The refusal threshold.
    method
        ``"anchored"`` (see the module docstring) or ``"grid"`` (every integer start time).
    horizon
        For ``"grid"``: the latest end considered (default
        :func:`xpuplan.solvers.bounds.serial_upper_bound`).

    Returns
    -------
    Schedule
        ``optimal`` with ``lower_bound == objective``, or ``infeasible``.

    Raises
    ------
    Unsupported
        When the instance has too many kernels for the method.
    InvalidInput
        On an unknown option or method.
    """
    del workers, seed, hint  # the enumeration is sequential and deterministic
    if options:
        name = next(iter(options))
        raise InvalidInput(
            "is not an option of the brute-force solver", field=name, value=options[name]
        )
    if method not in METHODS:
        raise InvalidInput(f"must be one of {', '.join(METHODS)}", field="method", value=method)
    limit = GRID_MAX_KERNELS if method == "grid" else max_kernels
    if method == "grid":
        limit = min(limit, max_kernels)
    if instance.num_kernels > limit:
        raise Unsupported(
            f"brute force ({method}) enumerates at most {limit} kernels; instance "
            f"{instance.name!r} has {instance.num_kernels}"
        )
    began = time.monotonic()
    search: _Search
    try:
        if method == "grid":
            search = _Grid(instance, time_limit)
            search.run(serial_upper_bound(instance) if horizon is None else horizon)
        else:
            search = _Anchored(instance, time_limit)
            search.run()
    except _TimeUp:
        return _stopped(instance, search, time.monotonic() - began)
    seconds = time.monotonic() - began
    if search.best is None:
        return Schedule(
            instance.name,
            solver="brute-force",
            status="infeasible",
            solve_seconds=seconds,
            message="no schedule satisfies every rule (exhaustive enumeration)",
        )
    value = search.best.objective
    return search.best.replace(status="optimal", lower_bound=value, solve_seconds=seconds)


def _stopped(instance: Instance, search: _Search, seconds: float) -> Schedule:
    """The schedule to report when the time limit interrupted the enumeration."""
    bound: ObjectiveValue = lower_bound(instance)
    if search.best is None:
        return Schedule(
            instance.name,
            solver="brute-force",
            status="unknown",
            lower_bound=bound,
            solve_seconds=seconds,
            message=f"time limit reached after {search.nodes} search nodes, no schedule found",
        )
    value = search.best.objective
    assert value is not None
    return search.best.replace(
        status="feasible", lower_bound=_capped(bound, value), solve_seconds=seconds
    )


def _capped(bound: ObjectiveValue, value: ObjectiveValue) -> ObjectiveValue:
    """The bound, never above an achieved value (both numbers or both tuples)."""
    if isinstance(bound, tuple) and isinstance(value, tuple):
        return bound if _lex_less(bound, value) or bound == value else value
    assert not isinstance(bound, tuple) and not isinstance(value, tuple)
    return min(bound, value)
