"""Sets of modes that can never run at the same time: redundant no-overlap constraints.

Two modes of different kernels *conflict* when they can never overlap in any schedule: one kernel
precedes the other (transitively), both run on one single-unit device, or together they exceed a
resource's capacity or the power cap. A set of modes that pairwise conflict (modes of one kernel
are never both present, so they never clash) may get a no-overlap constraint: implied by the
cumulatives and precedences, but the disjunctive propagators (edge finding, detectable
precedences) and the LP reason much more strongly on it. On resource-tight RCPSP instances
(PSPLIB j30) this is what closes many of them.

Cliques are grown greedily from seeds, heaviest modes first; only instances with a power cap or
resources get them (elsewhere the devices' no-overlaps already say it all).
"""

from __future__ import annotations

from collections.abc import Sequence

from xpuplan.models import Instance

# Seeds tried per instance, and the most modes for which every mode is a seed candidate.
MAX_SEEDS = 64
MAX_NODES = 3000
# Seeds stop once this many (node, clique member) pairs were tested: on a window of the 2,020
# kernel video-call instance (about 3,000 modes, cliques of hundreds on one device) 64 seeds took
# over 40 s.
MAX_WORK = 3_000_000

Node = tuple[int, int]
"""(kernel index, mode index)."""


def disjunctive_cliques(
    instance: Instance,
    power: Sequence[Sequence[int]] | None,
    power_cap: int | None,
    demands: Sequence[Sequence[Sequence[int]]],
    capacities: Sequence[int],
) -> list[list[Node]]:
    """Pairwise conflicting mode sets of at least three kernels.

    Parameters
    ----------
    instance
        The instance.
    power, power_cap
        Scaled dynamic power per ``[kernel][mode]`` and the scaled dynamic cap (None: no cap).
    demands, capacities
        Scaled demands per ``[resource][kernel][mode]`` and each resource's scaled capacity.

    Returns
    -------
    list[list[Node]]
        Distinct cliques, none of them inside one single-unit device (that no-overlap exists).
    """
    if power_cap is None and not capacities:
        return []
    nodes = [
        (k_idx, m_idx)
        for k_idx, ker in enumerate(instance.kernels)
        for m_idx in range(len(ker.modes))
    ]
    if len(nodes) > MAX_NODES:
        return []
    reach = _reachability(instance)
    device_idx = instance.device_idx
    device = {
        (k_idx, m_idx): device_idx[mode.device]
        for k_idx, ker in enumerate(instance.kernels)
        for m_idx, mode in enumerate(ker.modes)
    }
    exclusive = {d_idx for d_idx, dev in enumerate(instance.devices) if dev.units == 1}

    def weight(node: Node) -> float:
        k_idx, m_idx = node
        shares = [demands[r][k_idx][m_idx] / cap for r, cap in enumerate(capacities) if cap > 0]
        if power is not None and power_cap:
            shares.append(power[k_idx][m_idx] / power_cap)
        return max(shares, default=0.0)

    power_rows = power if power_cap is not None else None
    cap = power_cap or 0

    def conflict(a: Node, b: Node) -> bool:
        (k_a, m_a), (k_b, m_b) = a, b
        if k_a == k_b:
            return True
        if (reach[k_a] >> k_b) & 1 or (reach[k_b] >> k_a) & 1:
            return True
        if device[a] == device[b] and device[a] in exclusive:
            return True
        if power_rows is not None and power_rows[k_a][m_a] + power_rows[k_b][m_b] > cap:
            return True
        return any(
            demands[r][k_a][m_a] + demands[r][k_b][m_b] > cap for r, cap in enumerate(capacities)
        )

    order = sorted(nodes, key=lambda node: (-weight(node), node))
    seen: set[frozenset[Node]] = set()
    out: list[list[Node]] = []
    work = 0
    for seed in order[:MAX_SEEDS]:
        clique = [seed]
        for node in order:
            work += len(clique)
            if node != seed and all(conflict(node, member) for member in clique):
                clique.append(node)
        if work > MAX_WORK:
            break
        key = frozenset(clique)
        kernels = {k_idx for k_idx, _ in clique}
        devices = {device[node] for node in clique}
        one_device = len(devices) == 1 and devices <= exclusive
        if len(kernels) >= 3 and not one_device and key not in seen:
            seen.add(key)
            out.append(sorted(clique))
    return out


def _reachability(instance: Instance) -> list[int]:
    """Bit ``l`` of ``reach[k]`` is set when kernel ``l`` is a (transitive) successor of ``k``."""
    reach = [0] * instance.num_kernels
    for k_idx in reversed(instance.topological_order):
        for e_idx in instance.out_edges[k_idx]:
            dst = instance.edge_endpoints[e_idx][1]
            reach[k_idx] |= reach[dst] | (1 << dst)
    return reach
