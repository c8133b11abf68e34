"""Seeded random instances: small ones that exercise every rule, and large layered DAGs.

Used by the cross-checking tests (every solver against every other and against brute force), by
property tests, and by the benchmarks. Everything is a pure function of its arguments and seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from xpuplan.models.instance import (
    SIMPLE_OBJECTIVES,
    Device,
    Edge,
    Instance,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
)


@dataclass(frozen=True)
class Features:
    """Which rules a random small instance may use (each drawn with the given probability)."""

    cross_delay: float = 0.5
    resume_cost: float = 0.4
    releases: float = 0.5
    deadlines: float = 0.4
    power_cap: float = 0.3
    resources: float = 0.3
    per_device_dvfs: float = 0.3
    multi_unit: float = 0.4
    cross_job_edges: float = 0.2
    objectives: tuple[str, ...] = (*SIMPLE_OBJECTIVES, "lexicographic")


def random_small_instance(
    seed: int,
    *,
    max_kernels: int = 6,
    max_devices: int = 3,
    features: Features = Features(),
) -> Instance:
    """A small random instance that may use any rule of the format.

    Sizes stay small enough for brute-force enumeration (at most ``max_kernels`` kernels with at
    most 4 modes each). Hard deadlines, power caps and resources are drawn without checking
    feasibility, so some instances are infeasible on purpose.
    """
    rng = random.Random(seed)
    num_devices = rng.randint(1, max_devices)
    devices = []
    for d_idx in range(num_devices):
        units = rng.choice((1, 2)) if rng.random() < features.multi_unit else 1
        devices.append(Device(f"d{d_idx}", units, round(rng.choice((0.0, 0.5, 1.0)), 3)))
    levels = {dev.name: ["lo", "hi"] if rng.random() < 0.5 else ["hi"] for dev in devices}
    resources = (
        (Resource("bw", float(rng.randint(4, 8))),) if rng.random() < features.resources else ()
    )

    num_kernels = rng.randint(2, max_kernels)
    num_jobs = rng.randint(1, min(3, num_kernels))
    kernel2job = sorted(rng.randrange(num_jobs) for _ in range(num_kernels))
    kernel2job[:num_jobs] = range(num_jobs)  # every job gets at least one kernel
    kernel2job.sort()

    kernels = []
    for k_idx in range(num_kernels):
        options = [(dev.name, lvl) for dev in devices for lvl in levels[dev.name]]
        rng.shuffle(options)
        chosen = sorted(options[: rng.randint(1, min(4, len(options)))])
        modes = []
        base = rng.randint(1, 6)
        for device, lvl in chosen:
            duration = base + rng.randint(0, 3) + (2 if lvl == "lo" else 0)
            power = round(rng.uniform(1.0, 4.0) + (0 if lvl == "lo" else 1.5), 1)
            demands = {"bw": float(rng.randint(1, 4))} if resources and rng.random() < 0.7 else {}
            modes.append(Mode(device, lvl, duration, power, demands))
        kernels.append(Kernel(f"k{k_idx}", f"j{kernel2job[k_idx]}", tuple(modes)))

    edges = []
    for dst in range(num_kernels):
        for src in range(dst):
            same_job = kernel2job[src] == kernel2job[dst]
            p_edge = 0.45 if same_job else 0.1 * features.cross_job_edges
            if rng.random() < p_edge:
                delay = rng.randint(1, 3) if rng.random() < features.cross_delay else 0
                resume = (
                    rng.randint(1, 3) if same_job and rng.random() < features.resume_cost else 0
                )
                edges.append(Edge(f"k{src}", f"k{dst}", delay, resume))

    if rng.random() < features.objectives.count("lexicographic") / len(features.objectives):
        first = rng.choice(("late_jobs", "weighted_tardiness", "makespan"))
        second = rng.choice(("energy", "makespan", "weighted_completion"))
        objective = Objective("lexicographic", (Objective(first), Objective(second)))
    else:
        objective = Objective(rng.choice([o for o in features.objectives if o != "lexicographic"]))

    serial = sum(min(m.duration for m in k.modes) for k in kernels)
    jobs = []
    for j_idx in range(num_jobs):
        release = rng.randint(0, 4) if rng.random() < features.releases else 0
        deadline = None
        if rng.random() < features.deadlines or objective.soft_deadlines:
            deadline = release + rng.randint(max(1, serial // 3), serial + 4)
        jobs.append(Job(f"j{j_idx}", release, deadline, float(rng.randint(1, 3))))

    idle = sum(dev.units * dev.idle_power_w for dev in devices)
    power_cap = None
    if rng.random() < features.power_cap:
        largest = max(min(m.power_w for m in k.modes) for k in kernels)
        power_cap = round(idle + largest + rng.uniform(0.0, 5.0), 1)

    return Instance(
        name=f"random-{seed}",
        devices=tuple(devices),
        jobs=tuple(jobs),
        kernels=tuple(kernels),
        edges=tuple(edges),
        objective=objective,
        resources=resources,
        power_cap_w=power_cap,
        dvfs="per-device" if rng.random() < features.per_device_dvfs else "per-kernel",
        time_unit="unit",
    )


def layered_dag_instance(
    seed: int,
    num_kernels: int,
    *,
    num_devices: int = 4,
    num_layers: int | None = None,
    edge_prob: float = 0.3,
    ccr: float = 0.5,
    speed_spread: float = 3.0,
    max_cost: int = 100,
) -> Instance:
    """A random layered DAG on ``num_devices`` heterogeneous devices (one job, makespan).

    Kernels are spread over ``num_layers`` layers (default ``sqrt(num_kernels)``); each kernel gets
    1-3 predecessors in earlier layers, chosen mostly from the previous layer. Every device gets a
    speed in ``[1, speed_spread]`` and every kernel a per-device affinity factor, so durations are
    unrelated across devices (as real NPU/GPU/CPU kernels are). ``ccr`` scales cross-device delays
    relative to the mean duration (communication-to-computation ratio).
    """
    rng = random.Random(seed)
    layers = num_layers or max(2, round(num_kernels**0.5))
    speeds = [1.0 + rng.random() * (speed_spread - 1.0) for _ in range(num_devices)]
    devices = tuple(Device(f"dev{d}", 1, 0.0) for d in range(num_devices))
    layer_of = sorted(rng.randrange(layers) for _ in range(num_kernels))
    layer_of[:layers] = range(min(layers, num_kernels))
    layer_of.sort()
    by_layer: list[list[int]] = [[] for _ in range(layers)]
    for k_idx, layer in enumerate(layer_of):
        by_layer[layer].append(k_idx)

    kernels = []
    total = 0
    for k_idx in range(num_kernels):
        cost = rng.randint(max(1, max_cost // 10), max_cost)
        modes = []
        for d_idx in range(num_devices):
            affinity = rng.uniform(0.5, 1.5)
            duration = max(1, round(cost * affinity / speeds[d_idx]))
            modes.append(Mode(f"dev{d_idx}", "max", duration, 0.0))
            total += duration
        kernels.append(Kernel(f"t{k_idx}", "dag", tuple(modes)))
    mean = total / (num_kernels * num_devices)

    edges = []
    for layer in range(1, layers):
        earlier = [k for lyr in range(max(0, layer - 3), layer) for k in by_layer[lyr]]
        previous = by_layer[layer - 1]
        for dst in by_layer[layer]:
            srcs = {rng.choice(previous)}
            for _ in range(2):
                if rng.random() < edge_prob:
                    srcs.add(rng.choice(earlier))
            for src in sorted(srcs):
                delay = round(rng.uniform(0.0, 2.0) * ccr * mean)
                edges.append(Edge(f"t{src}", f"t{dst}", delay))
    return Instance(
        name=f"layered-{num_kernels}-{seed}",
        devices=devices,
        jobs=(Job("dag"),),
        kernels=tuple(kernels),
        edges=tuple(edges),
        objective=Objective("makespan"),
        time_unit="unit",
    )
