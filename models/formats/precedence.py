"""Dropping zero-duration tasks from a precedence graph while keeping every precedence they imply.

The benchmark formats carry tasks of duration 0 (STG's and PSPLIB's dummy source and sink, the odd
zero-time operation in FJSP files), but an :class:`xpuplan.models.Instance` needs durations >= 1. A
zero-duration task ``z`` never delays anything by itself, so it can be removed exactly: for every
predecessor ``p`` and successor ``s`` of ``z`` the edge ``p -> s`` is added. Then for every pair of
kept tasks ``(u, v)``

.. math:: u \\leadsto v \\text{ before} \\iff u \\leadsto v \\text{ after contraction},

so the earliest start of every kept task (and hence every schedule's feasibility and objective) is
unchanged when there are no delays on edges (true in all three formats).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import TypeVar

import networkx as nx

from xpuplan.models.errors import InvalidInput

Node = TypeVar("Node", bound=Hashable)


def contract_zero_tasks(
    nodes: Sequence[Node], edges: Iterable[tuple[Node, Node]], dropped: Collection[Node]
) -> list[tuple[Node, Node]]:
    """The edges among ``nodes`` minus ``dropped`` that keep reachability between kept nodes.

    Parameters
    ----------
    nodes
        All nodes of the graph.
    edges
        Precedence edges ``(u, v)``: ``v`` starts after ``u`` ends. Repeated edges are merged.
    dropped
        The nodes to remove (those of duration 0).

    Returns
    -------
    list of (u, v)
        The original edges between kept nodes in their original order, then the edges added to
        bypass dropped nodes, each once.

    Raises
    ------
    InvalidInput
        When the graph contains a cycle (field ``precedence``, value the cycle).

    Examples
    --------
    >>> contract_zero_tasks([0, 1, 2, 3], [(0, 1), (1, 2), (2, 3)], {0, 2})
    [(1, 3)]
    """
    edge_list = list(edges)
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edge_list)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        path = " -> ".join([str(u) for u, _ in cycle] + [str(cycle[0][0])])
        raise InvalidInput("the precedence graph contains a cycle", field="precedence", value=path)
    kept_edges = dict.fromkeys(edge_list)
    for node in [node for node in nodes if node in dropped]:
        for pred in graph.predecessors(node):
            for succ in graph.successors(node):
                graph.add_edge(pred, succ)
                kept_edges.setdefault((pred, succ))
        graph.remove_node(node)
    return [edge for edge in kept_edges if edge[0] in graph and edge[1] in graph]
