"""Each heuristic against schedules computed by hand, on textbook and tiny hand-built instances."""

from __future__ import annotations

import pytest

from xpuplan.models import (
    Assignment,
    Device,
    Edge,
    Instance,
    InvalidInput,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
    Schedule,
    check_schedule,
    evaluate,
)
from xpuplan.solvers import solve, solver_info
from xpuplan.solvers.bounds import lower_bound
from xpuplan.solvers.heuristics import (
    best_heuristic_schedule,
    heuristic_names,
    lower_levels,
    repair_power_cap,
    run_heuristic,
)
from xpuplan.solvers.heuristics.cpop import critical_path
from xpuplan.solvers.heuristics.problem import build_problem
from xpuplan.solvers.heuristics.ranks import downward_ranks, optimistic_cost_table, upward_ranks

# Topcuoglu, Hariri, Wu (2002), Fig. 2: computation costs of n1..n10 on P1, P2, P3, and the
# (averaged) communication costs of the edges.
PAPER_COSTS = (
    (14, 16, 9),
    (13, 19, 18),
    (11, 13, 19),
    (13, 8, 17),
    (12, 13, 10),
    (13, 16, 9),
    (7, 15, 11),
    (5, 11, 14),
    (18, 12, 20),
    (21, 7, 16),
)
PAPER_EDGES = (
    (1, 2, 18), (1, 3, 12), (1, 4, 9), (1, 5, 11), (1, 6, 14), (2, 8, 19), (2, 9, 16), (3, 7, 23),
    (4, 8, 27), (4, 9, 23), (5, 9, 13), (6, 8, 15), (7, 10, 17), (8, 10, 11), (9, 10, 13),
)  # fmt: skip


def paper_instance() -> Instance:
    """The 10-task, 3-processor DAG of the HEFT paper as an Instance (one mode per processor)."""
    return Instance(
        name="heft-paper",
        devices=tuple(Device(f"p{d + 1}") for d in range(3)),
        jobs=(Job("dag"),),
        kernels=tuple(
            Kernel(
                f"n{k + 1}", "dag", tuple(Mode(f"p{d + 1}", "max", c) for d, c in enumerate(row))
            )
            for k, row in enumerate(PAPER_COSTS)
        ),
        edges=tuple(Edge(f"n{s}", f"n{d}", c) for s, d, c in PAPER_EDGES),
        time_unit="unit",
    )


def placed(schedule: Schedule) -> dict[str, tuple[str, int, int]]:
    """Kernel -> (device, start, end)."""
    return {a.kernel: (a.device, a.start, a.end) for a in schedule.assignments}


def valid(instance: Instance, schedule: Schedule) -> Schedule:
    """Assert the schedule places everything and passes the checker; return it."""
    assert schedule.is_solution, schedule.message
    assert check_schedule(instance, schedule) == []
    return schedule


def independent(durations: dict[str, dict[str, int]], **changes: object) -> Instance:
    """Independent kernels of one job: kernel -> {device: duration} (level "max", power 1)."""
    devices = sorted({dev for row in durations.values() for dev in row})
    inst = Instance(
        name="independent",
        devices=tuple(Device(dev) for dev in devices),
        jobs=(Job("j"),),
        kernels=tuple(
            Kernel(name, "j", tuple(Mode(dev, "max", dur, 1.0) for dev, dur in row.items()))
            for name, row in durations.items()
        ),
        time_unit="unit",
    )
    return inst.replace(**changes) if changes else inst


# ---------------------------------------------------------------------- HEFT paper (2002)
def test_ranks_match_the_heft_paper():
    """Upward and downward ranks equal the values in Topcuoglu et al. (2002), Table 1/Fig. 5."""
    prob = build_problem(paper_instance())
    mean = prob.mean_durations()
    assert upward_ranks(prob, mean) == pytest.approx(
        [108.0, 77.0, 80.0, 80.0, 69.0, 63.333, 42.667, 35.667, 44.333, 14.667], abs=1e-3
    )
    assert downward_ranks(prob, mean) == pytest.approx(
        [0.0, 31.0, 25.0, 22.0, 24.0, 27.0, 62.333, 66.667, 63.667, 93.333], abs=1e-3
    )


def test_heft_reproduces_the_paper_schedule():
    """HEFT's schedule of the paper's example, task by task, with makespan 80 (Fig. 5a)."""
    inst = paper_instance()
    sched = valid(inst, run_heuristic(inst, "heft"))
    assert placed(sched) == {
        "n1": ("p3", 0, 9),
        "n3": ("p3", 9, 28),
        "n4": ("p2", 18, 26),
        "n2": ("p1", 27, 40),
        "n5": ("p3", 28, 38),
        "n6": ("p2", 26, 42),
        "n9": ("p2", 56, 68),
        "n7": ("p3", 38, 49),
        "n8": ("p1", 57, 62),
        "n10": ("p2", 73, 80),
    }
    assert evaluate(inst, sched) == 80


def test_cpop_reproduces_the_paper_makespan():
    """CPOP: critical path n1, n2, n9, n10 (|CP| = 108) on P2, makespan 86 (Fig. 5b)."""
    inst = paper_instance()
    prob = build_problem(inst)
    mean = prob.mean_durations()
    priority = [
        u + d for u, d in zip(upward_ranks(prob, mean), downward_ranks(prob, mean), strict=True)
    ]
    assert critical_path(prob, priority) == [0, 1, 8, 9]
    sched = valid(inst, run_heuristic(inst, "cpop"))
    cp = placed(sched)
    assert cp["n1"] == ("p2", 0, 16)
    assert cp["n2"] == ("p2", 16, 35)
    assert cp["n9"][0] == cp["n10"][0] == "p2"
    assert evaluate(inst, sched) == 86


def test_peft_optimistic_cost_table_by_hand():
    """OCT rows worked out by hand from the definition, and PEFT's first choice (P2 for n1)."""
    inst = paper_instance()
    prob = build_problem(inst)
    table = optimistic_cost_table(prob, prob.device_durations())
    assert table[9].tolist() == [0, 0, 0]
    # n7 -> n10 (cost 17): min(21, 7 + 17, 16 + 17), min(21 + 17, 7, 16 + 17), min(38, 24, 16).
    assert table[6].tolist() == [21, 7, 16]
    # n2 -> n8 (19), n9 (16): max over both successors of the same minimum.
    assert table[1].tolist() == [35, 19, 35]
    # O_EFT(n1) = EFT + OCT = (14 + 48, 16 + 38, 9 + 53): PEFT starts n1 on P2, unlike HEFT.
    assert table[0].tolist() == [48, 38, 53]
    sched = valid(inst, run_heuristic(inst, "peft"))
    assert placed(sched)["n1"] == ("p2", 0, 16)


def test_every_heuristic_is_valid_on_the_paper_example():
    """All heuristics (and their DVFS variants) give checked schedules no better than a bound."""
    inst = paper_instance()
    bound = lower_bound(inst)
    for name in heuristic_names():
        sched = valid(inst, run_heuristic(inst, name))
        assert evaluate(inst, sched) >= bound


# ---------------------------------------------------------------------- immediate-mode mappers
def test_met_ignores_load_and_mct_balances():
    """a runs every kernel fastest: MET queues all three on a; MCT moves t2 to b."""
    inst = independent({"t0": {"a": 1, "b": 5}, "t1": {"a": 1, "b": 5}, "t2": {"a": 4, "b": 5}})
    met = placed(valid(inst, run_heuristic(inst, "met")))
    assert met == {"t0": ("a", 0, 1), "t1": ("a", 1, 2), "t2": ("a", 2, 6)}
    mct = placed(valid(inst, run_heuristic(inst, "mct")))
    assert mct == {"t0": ("a", 0, 1), "t1": ("a", 1, 2), "t2": ("b", 0, 5)}


def test_olb_ignores_execution_time():
    """OLB sends t1 to idle b (5 units) and t2 to a, the first machine free (10 units)."""
    inst = independent({"t0": {"a": 1, "b": 5}, "t1": {"a": 1, "b": 5}, "t2": {"a": 10, "b": 5}})
    olb = placed(valid(inst, run_heuristic(inst, "olb")))
    assert olb == {"t0": ("a", 0, 1), "t1": ("b", 0, 5), "t2": ("a", 1, 11)}
    assert evaluate(inst, run_heuristic(inst, "mct")) == 5
    assert evaluate(inst, run_heuristic(inst, "met")) == 5


def test_min_min_and_max_min():
    """Min-Min maps the quickest task first (t0, t1 on a), Max-Min the slowest (t2 on a)."""
    inst = independent({"t0": {"a": 2, "b": 3}, "t1": {"a": 3, "b": 6}, "t2": {"a": 8, "b": 9}})
    assert placed(valid(inst, run_heuristic(inst, "min-min"))) == {
        "t0": ("a", 0, 2),
        "t1": ("a", 2, 5),
        "t2": ("b", 0, 9),
    }
    assert placed(valid(inst, run_heuristic(inst, "max-min"))) == {
        "t2": ("a", 0, 8),
        "t1": ("b", 0, 6),
        "t0": ("b", 6, 9),
    }


def test_etf_breaks_start_ties_by_static_level():
    """t0 and t1 can both start at 0: t1 (static level 3 + 4) goes first, then t0 before t2."""
    inst = independent({"t0": {"a": 5}, "t1": {"a": 3}, "t2": {"a": 4}}, edges=(Edge("t1", "t2"),))
    assert placed(valid(inst, run_heuristic(inst, "etf"))) == {
        "t1": ("a", 0, 3),
        "t0": ("a", 3, 8),
        "t2": ("a", 8, 12),
    }


# ---------------------------------------------------------------------- deadlines
def two_jobs(deadline_a: int, deadline_b: int, a: dict[str, int], b: dict[str, int]) -> Instance:
    """Two one-kernel jobs A (kernel "a") and B (kernel "b") with hard deadlines."""
    return Instance(
        name="deadlines",
        devices=tuple(Device(dev) for dev in sorted({*a, *b})),
        jobs=(Job("A", 0, deadline_a), Job("B", 0, deadline_b)),
        kernels=(
            Kernel("a", "A", tuple(Mode(d, "max", t) for d, t in a.items())),
            Kernel("b", "B", tuple(Mode(d, "max", t) for d, t in b.items())),
        ),
        time_unit="unit",
    )


def test_edf_meets_deadlines_that_heft_misses():
    """HEFT runs the longer kernel a first and b ends at 16 > 12; EDF runs b first."""
    inst = two_jobs(20, 12, {"cpu": 10}, {"cpu": 6})
    heft = run_heuristic(inst, "heft")
    assert heft.status == "unknown" and not heft.assignments
    assert "deadline 12" in (heft.message or "")
    assert placed(valid(inst, run_heuristic(inst, "edf"))) == {
        "b": ("cpu", 0, 6),
        "a": ("cpu", 6, 16),
    }


def test_least_laxity_beats_edf_when_the_later_deadline_is_tighter():
    """b has laxity 11 - 10 = 1 against a's 10 - 4 = 6: LLF gives b the fast device, EDF fails."""
    inst = two_jobs(10, 11, {"fast": 4, "slow": 6}, {"fast": 10, "slow": 20})
    assert run_heuristic(inst, "edf").status == "unknown"
    assert placed(valid(inst, run_heuristic(inst, "llf"))) == {
        "b": ("fast", 0, 10),
        "a": ("slow", 0, 6),
    }


def test_soft_deadlines_do_not_stop_a_heuristic():
    """Under late_jobs the missed deadline is a cost, so HEFT returns its schedule."""
    inst = two_jobs(20, 12, {"cpu": 10}, {"cpu": 6}).with_objective(Objective("late_jobs"))
    sched = valid(inst, run_heuristic(inst, "heft"))
    assert evaluate(inst, sched) == 1
    assert evaluate(inst, valid(inst, run_heuristic(inst, "edf"))) == 0


# ---------------------------------------------------------------------- other Instance rules
def chain_instance(b_devices: tuple[str, ...]) -> Instance:
    """Job J: a -> b (delay 1, resume cost 5), a on d only; job K: c on d (duration 2)."""
    return Instance(
        name="resume",
        devices=(Device("d"), Device("e")),
        jobs=(Job("J"), Job("K")),
        kernels=(
            Kernel("a", "J", (Mode("d", "max", 3),)),
            Kernel("b", "J", tuple(Mode(dev, "max", 3) for dev in b_devices)),
            Kernel("c", "K", (Mode("d", "max", 2),)),
        ),
        edges=(Edge("a", "b", cross_device_delay=1, resume_cost=5),),
        time_unit="unit",
    )


def test_contiguous_kernel_pays_no_resume():
    """b right after a on the same unit costs 3, not 3 + 5; c comes after them."""
    inst = chain_instance(("d",))
    sched = valid(inst, run_heuristic(inst, "heft"))
    assert placed(sched) == {"a": ("d", 0, 3), "b": ("d", 3, 6), "c": ("d", 6, 8)}
    assert sched.preemptions == ()


def test_broken_edge_pays_resume_and_delay():
    """b can only run on e: it starts after the delay and runs 3 + resume 5."""
    inst = chain_instance(("e",))
    sched = valid(inst, run_heuristic(inst, "heft"))
    assert placed(sched)["b"] == ("e", 4, 12)
    assert sched.preemptions == (("a", "b"),)


def test_power_cap_serialises_kernels():
    """Two 3 W kernels on two devices under a 5 W cap cannot overlap."""
    inst = independent({"x": {"d0": 4}, "y": {"d1": 4}})
    inst = inst.replace(
        kernels=tuple(
            Kernel(k.name, k.job, tuple(Mode(m.device, m.level, m.duration, 3.0) for m in k.modes))
            for k in inst.kernels
        ),
        power_cap_w=5.0,
    )
    for name in heuristic_names():
        sched = valid(inst, run_heuristic(inst, name))
        assert evaluate(inst, sched) == 8, name


def test_resource_capacity_serialises_kernels():
    """Two kernels demanding 6 of a bandwidth of 10 cannot overlap."""
    inst = Instance(
        name="bw",
        devices=(Device("d0"), Device("d1")),
        resources=(Resource("bw", 10.0),),
        jobs=(Job("j"),),
        kernels=(
            Kernel("x", "j", (Mode("d0", "max", 4, 1.0, {"bw": 6.0}),)),
            Kernel("y", "j", (Mode("d1", "max", 3, 1.0, {"bw": 6.0}),)),
        ),
        time_unit="unit",
    )
    for name in heuristic_names():
        sched = valid(inst, run_heuristic(inst, name))
        assert evaluate(inst, sched) == 7, name


def test_releases_are_honoured():
    """A kernel of a job released at 5 starts at 5 even on an idle device."""
    inst = independent({"t0": {"a": 2}}, jobs=(Job("j", release=5),))
    assert placed(valid(inst, run_heuristic(inst, "heft"))) == {"t0": ("a", 5, 7)}


def test_per_device_dvfs_lock_never_strands_a_kernel():
    """k0 prefers d0 at hi, but that would leave k1 (only d0 at lo) without a mode."""
    inst = Instance(
        name="dvfs-lock",
        devices=(Device("d0"), Device("d1")),
        jobs=(Job("j"),),
        kernels=(
            Kernel("k0", "j", (Mode("d0", "hi", 1), Mode("d1", "max", 10))),
            Kernel("k1", "j", (Mode("d0", "lo", 5),)),
        ),
        dvfs="per-device",
        time_unit="unit",
    )
    for name in heuristic_names():
        sched = valid(inst, run_heuristic(inst, name))
        assert placed(sched) == {"k0": ("d1", 0, 10), "k1": ("d0", 0, 5)}, name


# ---------------------------------------------------------------------- DVFS post-pass, repair
def slack_instance(**changes: object) -> Instance:
    """A 10-unit kernel on d0 beside a short kernel on d1 that can run at hi (2 x 4 W) or lo
    (4 x 1.5 W); objective energy."""
    inst = Instance(
        name="slack",
        devices=(Device("d0"), Device("d1")),
        jobs=(Job("j"),),
        kernels=(
            Kernel("long", "j", (Mode("d0", "hi", 10, 2.0),)),
            Kernel("short", "j", (Mode("d1", "hi", 2, 4.0), Mode("d1", "lo", 4, 1.5))),
        ),
        objective=Objective("energy"),
        time_unit="unit",
    )
    return inst.replace(**changes) if changes else inst


def test_dvfs_post_pass_uses_slack_to_save_energy():
    """HEFT runs short at hi (8 J); the post-pass runs it at lo (6 J), as late as the makespan
    10 allows."""
    inst = slack_instance()
    plain = valid(inst, run_heuristic(inst, "heft"))
    assert placed(plain)["short"] == ("d1", 0, 2)
    res = solve(inst, "heft+dvfs")
    lowered = valid(inst, res.schedule)
    assert {a.kernel: (a.level, a.start, a.end) for a in lowered.assignments}["short"] == (
        "lo",
        6,
        10,
    )
    assert res.objective == 26 < evaluate(inst, plain) == 28
    assert lowered.makespan == 10


def test_dvfs_post_pass_keeps_time_objectives():
    """Under weighted completion the short kernel's job would finish later at lo: no change."""
    inst = slack_instance(
        jobs=(Job("j"), Job("k")),
        kernels=(
            Kernel("long", "j", (Mode("d0", "hi", 10, 2.0),)),
            Kernel("short", "k", (Mode("d1", "hi", 2, 4.0), Mode("d1", "lo", 4, 1.5))),
        ),
        objective=Objective(
            "lexicographic", (Objective("weighted_completion"), Objective("energy"))
        ),
    )
    plain = valid(inst, run_heuristic(inst, "heft"))
    assert lower_levels(inst, plain) == plain


def test_dvfs_post_pass_lowers_a_whole_device_only_if_all_fit():
    """Per-device DVFS: d1 moves to lo only when both of its kernels fit their slack."""
    kernels = (
        Kernel("long", "j", (Mode("d0", "hi", 10, 2.0),)),
        Kernel("s1", "j", (Mode("d1", "hi", 2, 4.0), Mode("d1", "lo", 4, 1.5))),
        Kernel("s2", "j", (Mode("d1", "hi", 2, 4.0), Mode("d1", "lo", 4, 1.5))),
    )
    inst = slack_instance(kernels=kernels, dvfs="per-device")
    plain = valid(inst, run_heuristic(inst, "heft"))
    lowered = valid(inst, lower_levels(inst, plain))
    assert {a.level for a in lowered.assignments if a.device == "d1"} == {"lo"}
    assert evaluate(inst, lowered) < evaluate(inst, plain)
    # A 5-unit kernel before "long" leaves no room: at lo the second d1 kernel would end past 10.
    tight = inst.replace(
        kernels=(
            *kernels[:2],
            Kernel("s2", "j", (Mode("d1", "hi", 7, 4.0), Mode("d1", "lo", 9, 1.5))),
        )
    )
    plain = valid(tight, run_heuristic(tight, "heft"))
    assert lower_levels(tight, plain) == plain


def test_power_cap_repair_delays_overlapping_kernels():
    """x and y overlap at 6 W under a 5 W cap; the repair delays y until x ends."""
    inst = independent({"x": {"d0": 4}, "y": {"d1": 4}})
    inst = inst.replace(
        kernels=tuple(
            Kernel(k.name, k.job, tuple(Mode(m.device, m.level, m.duration, 3.0) for m in k.modes))
            for k in inst.kernels
        ),
        power_cap_w=5.0,
    )
    broken = Schedule(
        inst.name,
        (Assignment("x", "d0", 0, "max", 0, 4), Assignment("y", "d1", 0, "max", 0, 4)),
    )
    assert [v.rule for v in check_schedule(inst, broken)] == ["power"]
    fixed = valid(inst, repair_power_cap(inst, broken))
    assert placed(fixed) == {"x": ("d0", 0, 4), "y": ("d1", 4, 8)}


def test_power_cap_repair_lowers_a_level_over_the_cap():
    """A mode drawing 6 W alone cannot run under a 5 W cap: the repair takes the 2 W level."""
    inst = Instance(
        name="over-cap",
        devices=(Device("d0"),),
        jobs=(Job("j"),),
        kernels=(Kernel("x", "j", (Mode("d0", "hi", 2, 6.0), Mode("d0", "lo", 3, 2.0))),),
        power_cap_w=5.0,
        time_unit="unit",
    )
    broken = Schedule(inst.name, (Assignment("x", "d0", 0, "hi", 0, 2),))
    fixed = valid(inst, repair_power_cap(inst, broken))
    assert [(a.level, a.start, a.end) for a in fixed.assignments] == [("lo", 0, 3)]


def test_power_cap_repair_reports_a_missed_deadline():
    """Delaying y past its job's deadline is reported, not returned as feasible."""
    inst = independent({"x": {"d0": 4}, "y": {"d1": 4}}, jobs=(Job("j", 0, 6),))
    inst = inst.replace(
        kernels=tuple(
            Kernel(k.name, k.job, tuple(Mode(m.device, m.level, m.duration, 3.0) for m in k.modes))
            for k in inst.kernels
        ),
        power_cap_w=5.0,
    )
    broken = Schedule(
        inst.name,
        (Assignment("x", "d0", 0, "max", 0, 4), Assignment("y", "d1", 0, "max", 0, 4)),
    )
    answer = repair_power_cap(inst, broken)
    assert answer.status == "unknown" and "deadline 6" in (answer.message or "")


# ---------------------------------------------------------------------- registry and portfolio
def test_registered_heuristic_reports_feasible_with_the_cheap_bound():
    """solve(inst, "heft") is feasible, objective 80, with solvers.bounds' lower bound."""
    inst = paper_instance()
    res = solve(inst, "heft")
    assert res.status == "feasible"
    assert res.objective == 80
    assert res.lower_bound == lower_bound(inst) <= 80
    assert check_schedule(inst, res.schedule) == []


def test_registered_heuristic_reports_unknown_when_a_deadline_cannot_be_met():
    """A heuristic that misses a hard deadline answers unknown, with a message, no schedule."""
    res = solve(two_jobs(20, 12, {"cpu": 10}, {"cpu": 6}), "heft")
    assert res.status == "unknown"
    assert res.objective is None and not res.schedule.assignments
    assert res.schedule.message


def test_every_heuristic_is_registered():
    """Each name (and the portfolio) is a registered heuristic solver."""
    for name in [*heuristic_names(), "best-heuristic"]:
        assert solver_info(name).kind == "heuristic"


def test_unknown_heuristic_name():
    """An unknown name is bad input naming the value."""
    with pytest.raises(InvalidInput, match="nope"):
        run_heuristic(paper_instance(), "nope")


def test_best_heuristic_schedule_takes_the_best():
    """On the paper's example the best of all heuristics is at most HEFT's 80 and checked."""
    inst = paper_instance()
    best = best_heuristic_schedule(inst)
    assert best is not None
    valid(inst, best)
    values = [evaluate(inst, run_heuristic(inst, name)) for name in heuristic_names()]
    assert best.objective == evaluate(inst, best) == min(values)
    only = best_heuristic_schedule(inst, names=["met"])
    assert only is not None and only.objective == evaluate(inst, run_heuristic(inst, "met"))


def test_best_heuristic_schedule_none_when_deadlines_are_impossible():
    """A deadline shorter than every mode's duration: no heuristic schedule, so None."""
    inst = two_jobs(20, 3, {"cpu": 10}, {"cpu": 6})
    assert best_heuristic_schedule(inst) is None
    assert solve(inst, "best-heuristic").status == "unknown"
