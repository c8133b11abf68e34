"""Every CP-SAT variable of the model, and the warm start that hints them from a schedule.

Per kernel :math:`k`: a start and an end, a presence literal :math:`x_{k,m}` and an optional
interval per mode :math:`m` (size :math:`d_{k,m} + \\rho_k`, the resume time :math:`\\rho_k` being
an affine function of one contiguity literal), a literal per device, and on devices modelled unit
by unit a literal and an optional interval per (mode, unit). Per edge with a resume cost and a
shared device, a contiguity literal; per edge with a cross-device delay that may join two kernels
on one device, a same-device literal. Then what the objectives and the deadline rules read:
makespan, job completions, lateness literals, tardiness, DVFS level literals, and, for the
explanation of infeasible instances, one assumption literal per relaxable rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python.cp_model import CpModel, IntervalVar, IntVar, LinearExpr, LinearExprT

from xpuplan.models import Assignment, Objective, Schedule
from xpuplan.solvers.cpsat.data import ModelData


@dataclass(frozen=True)
class KernelVars:
    """The variables of one kernel (see the module docstring)."""

    start_var: IntVar
    end_var: IntVar
    resume: LinearExprT
    mode_vars: tuple[IntVar, ...]
    mode_intervals: tuple[IntervalVar, ...]
    device_vars: dict[int, IntVar]
    unit_vars: dict[tuple[int, int], IntVar]
    unit_intervals: dict[tuple[int, int], IntervalVar]
    device_unit_vars: dict[tuple[int, int], IntVar]


class Variables:
    """Creates the model's variables.

    Parameters
    ----------
    model
        The CP-SAT model to add them to.
    data
        The instance's derived data.
    parts
        The objective parts the model will minimise (they decide which helper variables exist).
    explain
        Build assumption literals for deadlines, the power cap, resources and per-device DVFS, so
        that an infeasible instance can be explained (see :mod:`xpuplan.solvers.cpsat.explain`).
    """

    def __init__(
        self, model: CpModel, data: ModelData, parts: Sequence[Objective], *, explain: bool = False
    ) -> None:
        self.model = model
        self.data = data
        self.explain = explain
        inst = data.instance
        types = {part.type for part in parts}
        self.contig_vars = {
            e_idx: model.new_bool_var(f"contig[{e_idx}]") for e_idx in data.contig_edges
        }
        self.kernel_vars = [self._kernel_vars(k_idx) for k_idx in range(inst.num_kernels)]
        self.same_device_vars = {
            e_idx: model.new_bool_var(f"same_device[{e_idx}]") for e_idx in self._delay_edges()
        }
        self.level_vars = self._level_vars()
        self.makespan_var: IntVar | None = None
        if explain:  # the explanation only needs a valid floor; spare it the LPs
            self.makespan_var = model.new_int_var(data.cheap_makespan_lb, data.horizon, "makespan")
        elif types & {"makespan", "energy"}:
            self.makespan_var = model.new_int_var(data.makespan_lb, data.horizon, "makespan")
        self.completion_vars: dict[int, IntVar] = {}
        if "weighted_completion" in types:
            self.completion_vars = {
                j_idx: model.new_int_var(data.job_completion_lb[j_idx], data.horizon, f"C[{j_idx}]")
                for j_idx in range(inst.num_jobs)
            }
        deadlines = {
            j_idx: job.deadline
            for j_idx, job in enumerate(inst.jobs)
            if job.deadline is not None and job.deadline < data.horizon
        }
        self.late_vars: dict[int, IntVar] = {}
        if "late_jobs" in types:
            self.late_vars = {j_idx: model.new_bool_var(f"late[{j_idx}]") for j_idx in deadlines}
        self.tardiness_vars: dict[int, IntVar] = {}
        if "weighted_tardiness" in types:
            self.tardiness_vars = {
                j_idx: model.new_int_var(0, data.horizon - deadline, f"T[{j_idx}]")
                for j_idx, deadline in deadlines.items()
            }
        self.resume_mode_vars: dict[tuple[int, int], IntVar] = {}
        if "energy" in types:
            self.resume_mode_vars = self._resume_mode_vars()
        self.deadline_vars: dict[int, IntVar] = {}
        self.power_cap_var: IntVar | None = None
        self.resource_vars: dict[int, IntVar] = {}
        self.dvfs_var: IntVar | None = None
        if explain:
            self._assumption_vars()
        self._hinted: set[int] = set()

    # ------------------------------------------------------------------ construction
    def _kernel_vars(self, k_idx: int) -> KernelVars:
        model, data = self.model, self.data
        inst = data.instance
        ker = inst.kernels[k_idx]
        head, tail, fastest = data.heads[k_idx], data.tails[k_idx], data.fastest[k_idx]
        start = model.new_int_var(head, data.horizon - tail - fastest, f"start[{k_idx}]")
        end = model.new_int_var(head + fastest, data.horizon - tail, f"end[{k_idx}]")
        resume = self._resume_expr(k_idx)
        mode_vars = tuple(
            model.new_bool_var(f"x[{k_idx},{m_idx}]") for m_idx in range(len(ker.modes))
        )
        # Alternatives must not share one start and one end variable: CP-SAT 9.15 proved feasible
        # models with optional intervals of different sizes on shared variables infeasible
        # (tests/solvers/test_cpsat.py::test_alternatives_do_not_share_interval_variables).
        # Fixed sizes sit on the shared start with the end an expression of it; resume-dependent
        # sizes get their own start and end, equal to the kernel's when present.
        if len(ker.modes) > 1 and isinstance(resume, int):
            model.add(
                end
                == start
                + resume
                + LinearExpr.weighted_sum(mode_vars, [m.duration for m in ker.modes])
            )
        mode_intervals = tuple(
            self._optional_interval(
                start,
                end,
                mode.duration + resume,
                mode_vars[m_idx],
                f"I[{k_idx},{m_idx}]",
                alone=len(ker.modes) == 1,
            )
            for m_idx, mode in enumerate(ker.modes)
        )
        device_idx = inst.device_idx
        by_device: dict[int, list[int]] = {}
        for m_idx, mode in enumerate(ker.modes):
            by_device.setdefault(device_idx[mode.device], []).append(m_idx)
        device_vars = {
            d_idx: mode_vars[m_idcs[0]]
            if len(m_idcs) == 1
            else model.new_bool_var(f"dev[{k_idx},{d_idx}]")
            for d_idx, m_idcs in by_device.items()
        }
        unit_vars: dict[tuple[int, int], IntVar] = {}
        unit_intervals: dict[tuple[int, int], IntervalVar] = {}
        device_unit_vars: dict[tuple[int, int], IntVar] = {}
        for d_idx, m_idcs in by_device.items():
            if not data.per_unit[d_idx]:
                continue
            slots = data.unit_slots[d_idx][k_idx]
            for m_idx in m_idcs:
                for unit in range(slots):
                    if slots == 1:
                        unit_vars[m_idx, unit] = mode_vars[m_idx]
                        unit_intervals[m_idx, unit] = mode_intervals[m_idx]
                        continue
                    lit = model.new_bool_var(f"y[{k_idx},{m_idx},{unit}]")
                    unit_vars[m_idx, unit] = lit
                    unit_intervals[m_idx, unit] = self._optional_interval(
                        start,
                        end,
                        ker.modes[m_idx].duration + resume,
                        lit,
                        f"J[{k_idx},{m_idx},{unit}]",
                    )
            for unit in range(slots):
                if len(m_idcs) == 1:
                    device_unit_vars[d_idx, unit] = unit_vars[m_idcs[0], unit]
                else:
                    device_unit_vars[d_idx, unit] = model.new_bool_var(
                        f"on[{k_idx},{d_idx},{unit}]"
                    )
        return KernelVars(
            start,
            end,
            resume,
            mode_vars,
            mode_intervals,
            device_vars,
            unit_vars,
            unit_intervals,
            device_unit_vars,
        )

    def _optional_interval(
        self,
        start: IntVar,
        end: IntVar,
        size: LinearExprT,
        lit: IntVar,
        name: str,
        *,
        alone: bool = False,
    ) -> IntervalVar:
        """An optional interval of a kernel that has ``alone`` no other alternative interval.

        Alternatives of a fixed size share the kernel's start (their end is ``start + size``; the
        caller links the kernel's end); alternatives whose size depends on contiguity get copies
        of the kernel's start and end, equal to them when present.
        """
        model = self.model
        if alone:
            return model.new_optional_interval_var(start, size, end, lit, name)
        if isinstance(size, int):
            return model.new_optional_fixed_size_interval_var(start, size, lit, name)
        own_start = model.new_int_var(*_bounds(start), f"{name}.start")
        own_end = model.new_int_var(*_bounds(end), f"{name}.end")
        model.add(own_start == start).only_enforce_if(lit)
        model.add(own_end == end).only_enforce_if(lit)
        return model.new_optional_interval_var(own_start, size, own_end, lit, name)

    def _resume_expr(self, k_idx: int) -> LinearExprT:
        term = self.data.resume[k_idx]
        if term is None:
            return 0
        if term.edge is None:
            return term.high
        return term.high - (term.high - term.low) * self.contig_vars[term.edge]

    def _delay_edges(self) -> list[int]:
        """Edges whose delay applies only in some placements: a shared device, not always."""
        inst, devices = self.data.instance, self.data.kernel_devices
        out = []
        for e_idx, (src, dst) in enumerate(inst.edge_endpoints):
            if not inst.edges[e_idx].cross_device_delay or not devices[src] & devices[dst]:
                continue
            if len(devices[src]) == 1 and devices[src] == devices[dst]:
                continue
            out.append(e_idx)
        return out

    def _level_vars(self) -> dict[tuple[int, str], IntVar]:
        inst = self.data.instance
        if inst.dvfs != "per-device":
            return {}
        return {
            (d_idx, level): self.model.new_bool_var(f"level[{d_idx},{level}]")
            for d_idx, dev in enumerate(inst.devices)
            if len(inst.levels_by_device[dev.name]) > 1
            for level in inst.levels_by_device[dev.name]
        }

    def _resume_mode_vars(self) -> dict[tuple[int, int], IntVar]:
        """``contig[e] and x[k, m]`` for the energy of resume times (see objective.py)."""
        inst, data = self.data.instance, self.data
        out = {}
        for k_idx, term in enumerate(data.resume):
            if term is None or term.edge is None:
                continue
            src = data.resume_source(k_idx)
            for m_idx, mode in enumerate(inst.kernels[k_idx].modes):
                if inst.device_idx[mode.device] in data.kernel_devices[src]:
                    out[k_idx, m_idx] = self.model.new_bool_var(f"z[{k_idx},{m_idx}]")
        return out

    def _assumption_vars(self) -> None:
        inst, model = self.data.instance, self.model
        if not inst.soft_deadlines:
            self.deadline_vars = {
                j_idx: model.new_bool_var(f"deadline[{j_idx}]")
                for j_idx, job in enumerate(inst.jobs)
                if job.deadline is not None
            }
        if inst.power_cap_w is not None:
            self.power_cap_var = model.new_bool_var("power_cap")
        self.resource_vars = {
            r_idx: model.new_bool_var(f"resource[{r_idx}]") for r_idx in range(len(inst.resources))
        }
        if self.level_vars:
            self.dvfs_var = model.new_bool_var("per_device_dvfs")

    # ------------------------------------------------------------------ warm start
    def warmstart(self, schedule: Schedule) -> None:
        """Replace every hint by the values of ``schedule`` (a valid schedule of the instance).

        Units are relabelled in the order kernels first use them, to match the symmetry breaking.
        Kernels the schedule does not place get no hint.
        """
        inst = self.data.instance
        self.model.clear_hints()
        self._hinted = set()
        by_index: list[Assignment | None] = [None] * inst.num_kernels
        for asg in schedule.assignments:
            k_idx = inst.kernel_idx.get(asg.kernel)
            if k_idx is not None:
                by_index[k_idx] = asg
        units = _first_use_units(by_index)
        mode_of: dict[int, int] = {}
        for k_idx, placed in enumerate(by_index):
            if placed is not None:
                mode_of[k_idx] = self._hint_kernel(k_idx, placed, units[k_idx])
        self._hint_edges(by_index)
        self._hint_objective_vars(schedule, by_index, mode_of)

    def _hint_kernel(self, k_idx: int, asg: Assignment, unit: int) -> int:
        """Hint kernel ``k_idx``'s variables from its assignment; return its mode index."""
        inst = self.data.instance
        ker = inst.kernels[k_idx]
        mode = next(
            m_idx
            for m_idx, m in enumerate(ker.modes)
            if (m.device, m.level) == (asg.device, asg.level)
        )
        kv = self.kernel_vars[k_idx]
        d_idx = inst.device_idx[asg.device]
        self._hint(kv.start_var, asg.start)
        self._hint(kv.end_var, asg.end)
        for m_idx, lit in enumerate(kv.mode_vars):
            self._hint(lit, m_idx == mode)
        for dev, lit in kv.device_vars.items():
            self._hint(lit, dev == d_idx)
        for (m_idx, slot), lit in kv.unit_vars.items():
            self._hint(lit, m_idx == mode and slot == unit)
        for (dev, slot), lit in kv.device_unit_vars.items():
            self._hint(lit, dev == d_idx and slot == unit)
        return mode

    def _hint(self, var: IntVar, value: int | bool) -> None:
        """Hint ``var`` once (several roles may share one literal)."""
        if var.index not in self._hinted:
            self._hinted.add(var.index)
            self.model.add_hint(var, int(value))

    def _hint_edges(self, by_index: list[Assignment | None]) -> None:
        inst = self.data.instance
        for e_idx, lit in self.contig_vars.items():
            src, dst = (by_index[i] for i in inst.edge_endpoints[e_idx])
            if src is not None and dst is not None:
                same = src.device == dst.device and src.unit == dst.unit
                self._hint(lit, same and dst.start == src.end)
        for e_idx, lit in self.same_device_vars.items():
            src, dst = (by_index[i] for i in inst.edge_endpoints[e_idx])
            if src is not None and dst is not None:
                self._hint(lit, src.device == dst.device)
        levels = {(inst.device_idx[a.device], a.level) for a in by_index if a is not None}
        used_devices = {d_idx for d_idx, _ in levels}
        for (d_idx, level), lit in self.level_vars.items():
            if d_idx in used_devices:
                self._hint(lit, (d_idx, level) in levels)

    def _hint_objective_vars(
        self, schedule: Schedule, by_index: list[Assignment | None], mode_of: dict[int, int]
    ) -> None:
        inst = self.data.instance
        placed = [asg for asg in by_index if asg is not None]
        if len(placed) < len(by_index):
            return
        completions = [0] * inst.num_jobs
        for k_idx, asg in enumerate(placed):
            j_idx = inst.kernel2job[k_idx]
            completions[j_idx] = max(completions[j_idx], asg.end)
        if self.makespan_var is not None:
            self._hint(self.makespan_var, schedule.makespan)
        for j_idx, var in self.completion_vars.items():
            self._hint(var, completions[j_idx])
        deadline = [job.deadline or 0 for job in inst.jobs]  # the variables exist only with one
        for j_idx, lit in self.late_vars.items():
            self._hint(lit, completions[j_idx] > deadline[j_idx])
        for j_idx, var in self.tardiness_vars.items():
            self._hint(var, max(0, completions[j_idx] - deadline[j_idx]))
        for (k_idx, m_idx), lit in self.resume_mode_vars.items():
            src, dst = placed[self.data.resume_source(k_idx)], placed[k_idx]
            contiguous = src.device == dst.device and src.unit == dst.unit and dst.start == src.end
            self._hint(lit, contiguous and mode_of[k_idx] == m_idx)


def _first_use_units(by_index: list[Assignment | None]) -> list[int]:
    """Every kernel's unit, relabelled per device in the order kernels first use the units."""
    relabel: dict[tuple[str, int], int] = {}
    used: dict[str, int] = {}
    out = []
    for asg in by_index:
        if asg is None:
            out.append(0)
            continue
        key = (asg.device, asg.unit)
        if key not in relabel:
            relabel[key] = used.get(asg.device, 0)
            used[asg.device] = relabel[key] + 1
        out.append(relabel[key])
    return out


def _bounds(var: IntVar) -> tuple[int, int]:
    """The lower and upper bound of a variable's domain."""
    domain = list(var.proto.domain)
    return domain[0], domain[-1]
