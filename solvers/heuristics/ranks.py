"""Static priorities from the list-scheduling literature, computed once per instance.

Costs are averaged as in Topcuoglu, Hariri and Wu (2002): a kernel's cost :math:`\\bar w_k` is its
mean duration over the processors (see :meth:`Problem.mean_durations`), and an edge's cost
:math:`\\bar c_{ij}` is its ``cross_device_delay`` times ``comm_factor`` (1 by default: the delay is
what the edge costs whenever its ends are on different devices, as the paper's averaged edge
weights are). A job's release is not part of a rank; the schedulers honour it when placing.
"""

from __future__ import annotations

import numpy as np

from xpuplan.solvers.heuristics.problem import Problem


def upward_ranks(prob: Problem, mean_cost: np.ndarray, comm_factor: float = 1.0) -> list[float]:
    """:math:`rank_u(i) = \\bar w_i + \\max_{j \\in succ(i)} (\\bar c_{ij} + rank_u(j))`.

    The length of the longest path from ``i`` to an exit, ``i`` included (HEFT's priority).
    """
    cost = mean_cost.tolist()
    rank = [0.0] * prob.num_kernels
    succs = prob.succs
    for k_idx in reversed(prob.topological_order):
        tail = 0.0
        for dst, delay in succs[k_idx]:
            value = delay * comm_factor + rank[dst]
            if value > tail:
                tail = value
        rank[k_idx] = cost[k_idx] + tail
    return rank


def downward_ranks(prob: Problem, mean_cost: np.ndarray, comm_factor: float = 1.0) -> list[float]:
    """:math:`rank_d(i) = \\max_{j \\in pred(i)} (rank_d(j) + \\bar w_j + \\bar c_{ji})`.

    0 at entry kernels: the longest path from an entry to ``i``, ``i`` excluded (used by CPOP).
    """
    cost = mean_cost.tolist()
    rank = [0.0] * prob.num_kernels
    preds = prob.preds
    for k_idx in prob.topological_order:
        head = 0.0
        for src, delay, _ in preds[k_idx]:
            value = rank[src] + cost[src] + delay * comm_factor
            if value > head:
                head = value
        rank[k_idx] = head
    return rank


def heights(prob: Problem) -> list[int]:
    """Number of edges on the longest path from each kernel to an exit (0 for exits)."""
    height = [0] * prob.num_kernels
    succs = prob.succs
    for k_idx in reversed(prob.topological_order):
        for dst, _ in succs[k_idx]:
            if height[dst] + 1 > height[k_idx]:
                height[k_idx] = height[dst] + 1
    return height


def optimistic_cost_table(prob: Problem, table: np.ndarray, comm_factor: float = 1.0) -> np.ndarray:
    """PEFT's Optimistic Cost Table (Arabnejad and Barbosa 2014), per kernel and device.

    .. math::

        OCT(t_i, p_k) = \\max_{t_j \\in succ(t_i)} \\min_{p_w}
            \\left[ OCT(t_j, p_w) + w(t_j, p_w) + \\bar c_{ij} [p_w \\ne p_k] \\right],

    0 for exit kernels, where ``w`` is ``table`` (:meth:`Problem.device_durations`). The inner
    minimum is :math:`\\min(A_j[p_k], \\min_w A_j[w] + \\bar c_{ij})` with
    :math:`A_j = OCT(t_j, \\cdot) + w(t_j, \\cdot)`, so the table is filled one height class at a
    time (every successor of a kernel has a smaller height) with array operations over the edges.
    """
    num_kernels, num_devices = table.shape
    oct_table = np.zeros((num_kernels, num_devices))
    edges = [(s, d, c) for s in range(num_kernels) for d, c in prob.succs[s]]
    if not edges:
        return oct_table
    edge_arr = np.asarray(edges, dtype=np.int64)
    src, dst = edge_arr[:, 0], edge_arr[:, 1]
    cost = edge_arr[:, 2] * comm_factor
    height = np.asarray(heights(prob))
    edge_height = height[src]
    order = np.argsort(edge_height, kind="stable")
    # bounds[h - 1]: where the edges leaving kernels of height h start in ``order``.
    bounds = np.searchsorted(edge_height[order], np.arange(1, int(height.max()) + 2))
    reach = oct_table + table
    for h_idx in range(len(bounds) - 1):
        idcs = order[bounds[h_idx] : bounds[h_idx + 1]]
        dst_reach = reach[dst[idcs]]
        best = np.minimum(dst_reach, dst_reach.min(axis=1)[:, None] + cost[idcs][:, None])
        np.maximum.at(oct_table, src[idcs], best)
        done = np.unique(src[idcs])
        reach[done] = oct_table[done] + table[done]
    return oct_table
