"""Instances as networkx graphs, and instances built from networkx task graphs.

:func:`instance_to_networkx` (also :meth:`xpuplan.models.Instance.to_networkx`) gives a
:class:`networkx.DiGraph` that holds the whole instance; :func:`instance_from_networkx` reads such
a graph back into an equal, validated :class:`~xpuplan.models.Instance`. It also builds instances
from two other kinds of graph: a kernel DAG of :func:`xpuplan.models.kernels.build_kernel_dag`
(nodes carry ``modes``), and a plain SAGA-style task graph (node ``weight`` = cost, edge
``weight`` = data size) on devices with speeds.

Schema of :func:`instance_to_networkx`
--------------------------------------
Graph attributes: ``name``, ``time_unit``, ``dvfs``, ``power_cap_w`` (None: no cap), ``objective``
(an :class:`~xpuplan.models.Objective`), ``devices``, ``jobs`` and ``resources`` (tuples of
:class:`~xpuplan.models.Device`, :class:`~xpuplan.models.Job`, :class:`~xpuplan.models.Resource`).

One node per kernel, named after it, in instance order: ``job`` (the job's name), ``modes`` (a
tuple of :class:`~xpuplan.models.Mode`) and ``attrs`` (a dict, the kernel's provenance). One edge
per precedence: ``cross_device_delay`` and ``resume_cost`` (ints in ``time_unit``).

Round trip
----------
``instance_from_networkx(instance.to_networkx()) == instance`` except for the order of
``instance.edges``: a DiGraph lists edges grouped by source node, so the edges come back sorted
stably by the position of their source kernel (:func:`canonical_edge_order`). No rule depends on
that order.

SAGA-style task graphs
----------------------
SAGA (github.com/ANRGUSC/saga, the heterogeneous list-scheduling library) describes a task graph
as a DiGraph with node ``weight`` = computation cost and edge ``weight`` = data size, and a
network whose node ``weight`` is a speed and whose edge ``weight`` is a link strength; a task runs
for ``cost / speed`` and a hand-over between two nodes takes ``data / strength``. Instance times are
integers, so with ``time_scale`` :math:`s` (default 1):

* duration of task :math:`k` on device :math:`d`:
  :math:`\\max(1, \\lceil s \\cdot cost_k / speed_d \\rceil)`;
* cross-device delay of edge :math:`e`: :math:`\\lceil s \\cdot data_e / bandwidth \\rceil`
  (0 when the data size is 0);

both quotients rounded to 9 decimals before the ceiling, so that ``1 / (1/3)`` is 3 and not 4.
An Instance has one cross-device delay per edge whatever the two devices, so every link must
have the same strength; a ``network`` whose links differ raises
:class:`~xpuplan.models.Unsupported`. Every task becomes one kernel of one job (``job``, release 0,
no deadline) with one mode per device at level ``level`` and dynamic power 0; the objective is the
makespan unless ``objective`` says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx

from xpuplan.models.errors import InvalidInput, Unsupported
from xpuplan.models.instance import (
    MEM_BW,
    Device,
    Edge,
    Instance,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
)
from xpuplan.models.platform import Platform

# Node attributes that instance_from_networkx reads itself; any other scalar node attribute is
# kept as kernel provenance (``Kernel.attrs``).
_NODE_KEYS = frozenset({"job", "modes", "attrs", "weight"})
# Quotients are rounded to this many decimals before the ceiling (float noise, e.g. 1 / (1/3)).
_DECIMALS = 9

DeviceLike = Device | str | Mapping[str, Any]


def instance_to_networkx(instance: Instance) -> nx.DiGraph:
    """The instance as a DiGraph (see the module docstring for the schema).

    Parameters
    ----------
    instance
        Any valid instance.

    Returns
    -------
    networkx.DiGraph
        One node per kernel (``job``, ``modes``, ``attrs``), one edge per precedence
        (``cross_device_delay``, ``resume_cost``), the rest of the instance as graph attributes.

    Examples
    --------
    >>> from xpuplan.models.generate import layered_dag_instance
    >>> inst = layered_dag_instance(seed=1, num_kernels=8, num_devices=2)
    >>> graph = instance_to_networkx(inst)
    >>> graph.number_of_nodes(), graph.number_of_edges() == len(inst.edges)
    (8, True)
    >>> graph.nodes["t0"]["job"], [m.device for m in graph.nodes["t0"]["modes"]]
    ('dag', ['dev0', 'dev1'])
    >>> instance_from_networkx(graph) == canonical_edge_order(inst)
    True
    """
    graph = nx.DiGraph(
        name=instance.name,
        time_unit=instance.time_unit,
        dvfs=instance.dvfs,
        power_cap_w=instance.power_cap_w,
        objective=instance.objective,
        devices=instance.devices,
        jobs=instance.jobs,
        resources=instance.resources,
    )
    for ker in instance.kernels:
        graph.add_node(ker.name, job=ker.job, modes=ker.modes, attrs=dict(ker.attrs))
    for edge in instance.edges:
        graph.add_edge(
            edge.src,
            edge.dst,
            cross_device_delay=edge.cross_device_delay,
            resume_cost=edge.resume_cost,
        )
    return graph


def canonical_edge_order(instance: Instance) -> Instance:
    """The instance with its edges sorted stably by the position of their source kernel.

    This is the order in which a DiGraph lists edges, hence the order
    :func:`instance_from_networkx` returns them in.
    """
    kernel_idx = instance.kernel_idx
    edges = sorted(instance.edges, key=lambda edge: kernel_idx[edge.src])
    return instance if edges == list(instance.edges) else instance.replace(edges=tuple(edges))


def instance_from_networkx(
    graph: nx.DiGraph,
    devices: Platform | Sequence[DeviceLike] | None = None,
    *,
    name: str | None = None,
    jobs: Sequence[Job | Mapping[str, Any]] | None = None,
    resources: Sequence[Resource | Mapping[str, Any]] | None = None,
    objective: Objective | str | None = None,
    power_cap_w: float | None = None,
    dvfs: str | None = None,
    time_unit: str | None = None,
    speeds: Mapping[str, float] | None = None,
    network: nx.Graph | None = None,
    bandwidth: float | None = None,
    job: str = "dag",
    level: str = "max",
    time_scale: float = 1.0,
) -> Instance:
    """A validated Instance from a networkx DiGraph.

    Three kinds of graph are read:

    * a graph of :func:`instance_to_networkx` (every node has ``modes``; graph attributes hold
      the rest), read back equal up to the order of the edges;
    * a kernel DAG of :func:`xpuplan.models.kernels.build_kernel_dag` (nodes have ``modes``
      but no ``job``): pass the platform as ``devices`` (its memory bandwidth becomes the
      ``mem_bw_gbps`` resource the modes demand); every kernel joins job ``job``, scalar node
      attributes (``label``, ``flops``, ``layer``...) become its ``attrs``, and edges keep their
      ``cross_device_delay`` and ``resume_cost``;
    * a SAGA-style task graph (no node has ``modes``; node ``weight`` is the cost, edge
      ``weight`` the data size, both default 0) on devices with ``speeds`` or a SAGA
      ``network``; durations and delays as the module docstring derives them.

    Parameters
    ----------
    graph
        A directed acyclic graph; node names become kernel names (``str(node)``).
    devices
        The devices: :class:`~xpuplan.models.Device` objects, names, mappings of Device fields,
        or a :class:`~xpuplan.models.platform.Platform` (its devices, units, idle power and
        kinds). Default: the graph's ``devices`` attribute, else the devices of ``speeds`` or
        ``network``, else every device some mode names (1 unit, no idle power).
    name, jobs, resources, objective, power_cap_w, dvfs, time_unit
        Override the graph attribute of the same name (defaults when neither is given: the
        graph's ``name`` else ``"networkx"``; one job per distinct node ``job`` with release 0,
        no deadline and weight 1; no resources, except a platform's memory bandwidth when
        ``devices`` is a platform and a mode demands it; makespan, or
        ``Objective.parse(objective)`` for a string; no power cap; ``"per-kernel"``; ``"unit"``).
    speeds
        SAGA form: device name -> speed (cost per time unit).
    network
        SAGA form, instead of ``speeds``: an undirected graph whose node ``weight`` is a device's
        speed and whose edge ``weight`` is a link strength (self loops ignored).
    bandwidth
        SAGA form: the link strength (data per time unit); default the network's common link
        strength, else 1.
    job
        The job of nodes without a ``job`` attribute.
    level
        SAGA form: the DVFS level of every mode.
    time_scale
        SAGA form: time units per unit of ``cost / speed`` (e.g. 1000 to keep three decimals).

    Returns
    -------
    Instance
        Validated: a cycle, an unknown device or a bad number raises
        :class:`~xpuplan.models.InvalidInput` naming the field.

    Raises
    ------
    InvalidInput
        On a bad graph or a bad value (the field names the node, edge or attribute).
    Unsupported
        When a SAGA network's links have different strengths.

    Examples
    --------
    A plain task graph on a CPU and a GPU four times as fast, data moving at 2 per time unit:

    >>> import networkx as nx
    >>> tasks = nx.DiGraph()
    >>> tasks.add_nodes_from([("a", {"weight": 8}), ("b", {"weight": 4}), ("c", {"weight": 6})])
    >>> tasks.add_edges_from([("a", "b", {"weight": 10}), ("a", "c", {"weight": 3})])
    >>> inst = instance_from_networkx(tasks, speeds={"cpu": 1.0, "gpu": 4.0}, bandwidth=2.0)
    >>> [(m.device, m.duration) for m in inst.kernels[0].modes]
    [('cpu', 8), ('gpu', 2)]
    >>> [(e.src, e.dst, e.cross_device_delay) for e in inst.edges]
    [('a', 'b', 5), ('a', 'c', 2)]
    """
    _check_dag(graph)
    gattrs = graph.graph
    modes_given = [node for node, data in graph.nodes(data=True) if "modes" in data]
    saga = not modes_given
    if modes_given and len(modes_given) < graph.number_of_nodes():
        missing = next(node for node, data in graph.nodes(data=True) if "modes" not in data)
        raise InvalidInput(
            "has no 'modes' while other nodes have them (give every node modes, or none and "
            "a 'weight' each)",
            field=f"nodes[{missing!r}]",
            value=missing,
        )
    if saga:
        node_speeds = _speeds(speeds, network, devices)
        link = _bandwidth(bandwidth, network)
        device_list = _devices(devices, gattrs, fallback=list(node_speeds))
        unknown = [dev.name for dev in device_list if dev.name not in node_speeds]
        if unknown:
            raise InvalidInput("has no speed", field="speeds", value=unknown[0])
        kernels = _saga_kernels(graph, device_list, node_speeds, job, level, time_scale)
        edges = _saga_edges(graph, link, time_scale)
    else:
        if speeds is not None or network is not None:
            raise InvalidInput(
                "applies to a task graph without modes only",
                field="speeds" if speeds is not None else "network",
                value="given",
                show_value=False,
            )
        kernels = _mode_kernels(graph, job)
        used = list(dict.fromkeys(m.device for ker in kernels for m in ker.modes))
        device_list = _devices(devices, gattrs, fallback=used)
        edges = _mode_edges(graph)

    job_list = _jobs(jobs, gattrs, kernels)
    if resources is None:
        resources = gattrs.get("resources")
    if resources is None:
        resources = _platform_resources(devices, kernels)
    return Instance(
        name=name if name is not None else str(gattrs.get("name") or "networkx"),
        devices=tuple(device_list),
        jobs=tuple(job_list),
        kernels=tuple(kernels),
        edges=tuple(edges),
        objective=_objective(objective if objective is not None else gattrs.get("objective")),
        resources=tuple(
            _as(Resource, r, f"resources[{r_idx}]") for r_idx, r in enumerate(resources)
        ),
        power_cap_w=power_cap_w if power_cap_w is not None else gattrs.get("power_cap_w"),
        dvfs=dvfs if dvfs is not None else gattrs.get("dvfs", "per-kernel"),
        time_unit=time_unit if time_unit is not None else gattrs.get("time_unit", "unit"),
    )


# ---------------------------------------------------------------------- pieces
def _check_dag(graph: Any) -> None:
    if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
        raise InvalidInput("must be a networkx DiGraph", field="graph", value=type(graph).__name__)
    if graph.number_of_nodes() == 0:
        raise InvalidInput("has no nodes", field="graph", value=0)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        path = " -> ".join([str(u) for u, _ in cycle] + [str(cycle[0][0])])
        raise InvalidInput("the graph contains a cycle", field="edges", value=path)


def _as(cls: Any, value: Any, where: str) -> Any:
    """``value`` if it is a ``cls`` already, else ``cls(**value)`` from a mapping."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            return cls(**value)
        except TypeError as exc:
            raise InvalidInput(f"is not a {cls.__name__}: {exc}", field=where, value=value) from exc
    raise InvalidInput(f"must be a {cls.__name__} or a mapping", field=where, value=value)


def _devices(
    devices: Platform | Sequence[DeviceLike] | None,
    gattrs: Mapping[str, Any],
    fallback: Iterable[str],
) -> list[Device]:
    if devices is None:
        devices = gattrs.get("devices")
    if devices is None:
        return [Device(name) for name in fallback]
    if isinstance(devices, Platform):
        return [Device(d.name, d.units, d.idle_power_w, d.kind) for d in devices.devices]
    out = []
    for d_idx, dev in enumerate(devices):
        out.append(Device(dev) if isinstance(dev, str) else _as(Device, dev, f"devices[{d_idx}]"))
    return out


def _platform_resources(devices: Any, kernels: Sequence[Kernel]) -> list[Resource]:
    """The platform's memory bandwidth, when ``devices`` is a platform and a mode demands it."""
    if not isinstance(devices, Platform):
        return []
    demanded = any(MEM_BW in mode.demands for ker in kernels for mode in ker.modes)
    return [Resource(MEM_BW, devices.mem_bw_gbps)] if demanded else []


def _jobs(
    jobs: Sequence[Job | Mapping[str, Any]] | None,
    gattrs: Mapping[str, Any],
    kernels: Sequence[Kernel],
) -> list[Job]:
    if jobs is None:
        jobs = gattrs.get("jobs")
    if jobs is None:
        return [Job(name) for name in dict.fromkeys(ker.job for ker in kernels)]
    return [_as(Job, job, f"jobs[{j_idx}]") for j_idx, job in enumerate(jobs)]


def _objective(value: Any) -> Objective:
    if value is None:
        return Objective("makespan")
    if isinstance(value, str):
        return Objective.parse(value)
    if isinstance(value, Objective):
        return value
    raise InvalidInput("must be an Objective or a string", field="objective", value=value)


def _attrs(data: Mapping[str, Any]) -> dict[str, Any]:
    """A node's provenance: its ``attrs`` mapping and its other scalar attributes."""
    out = dict(data.get("attrs") or {})
    for key, value in data.items():
        if key not in _NODE_KEYS and isinstance(value, str | int | float | bool):
            out.setdefault(key, value)
    return out


def _mode_kernels(graph: nx.DiGraph, job: str) -> list[Kernel]:
    kernels = []
    for node, data in graph.nodes(data=True):
        modes = data["modes"]
        if isinstance(modes, Mapping | str) or not isinstance(modes, Iterable):
            raise InvalidInput(
                "must be a sequence of modes", field=f"nodes[{node!r}].modes", value=modes
            )
        kernels.append(
            Kernel(
                str(node),
                str(data.get("job", job)),
                tuple(
                    _as(Mode, mode, f"nodes[{node!r}].modes[{m_idx}]")
                    for m_idx, mode in enumerate(modes)
                ),
                _attrs(data),
            )
        )
    return kernels


def _mode_edges(graph: nx.DiGraph) -> list[Edge]:
    return [
        Edge(
            str(src),
            str(dst),
            data.get("cross_device_delay", 0),
            data.get("resume_cost", 0),
        )
        for src, dst, data in graph.edges(data=True)
    ]


def _speeds(
    speeds: Mapping[str, float] | None,
    network: nx.Graph | None,
    devices: Any,
) -> dict[str, float]:
    if speeds is not None and network is not None:
        raise InvalidInput(
            "give speeds or a network, not both", field="network", value="given", show_value=False
        )
    if network is not None:
        speeds = {str(node): data.get("weight", 1.0) for node, data in network.nodes(data=True)}
    if speeds is None:
        raise InvalidInput(
            "is required for a task graph without modes (device name -> speed), or give a network",
            field="speeds",
            value=None,
            show_value=False,
        )
    out = {}
    for dev, speed in speeds.items():
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not speed > 0:
            raise InvalidInput("must be a number > 0", field=f"speeds.{dev}", value=speed)
        if not math.isfinite(speed):
            raise InvalidInput("must be finite", field=f"speeds.{dev}", value=speed)
        out[str(dev)] = float(speed)
    if not out:
        raise InvalidInput("must name at least one device", field="speeds", value={})
    return out


def _bandwidth(bandwidth: float | None, network: nx.Graph | None) -> float:
    if bandwidth is None and network is not None:
        strengths = {
            float(data.get("weight", 1.0))
            for src, dst, data in network.edges(data=True)
            if src != dst
        }
        if len(strengths) > 1:
            raise Unsupported(
                "an xpuplan instance has one cross-device delay per edge whatever the two "
                f"devices, but the network's links differ in strength ({sorted(strengths)}); "
                "pass bandwidth= (e.g. the weakest link, for a safe delay)"
            )
        bandwidth = strengths.pop() if strengths else 1.0
    if bandwidth is None:
        bandwidth = 1.0
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float) or not bandwidth > 0:
        raise InvalidInput("must be a number > 0", field="bandwidth", value=bandwidth)
    return float(bandwidth)


def _weight(data: Mapping[str, Any], where: str) -> float:
    value = data.get("weight", 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("must be a number >= 0", field=f"{where}.weight", value=value)
    if not math.isfinite(value) or value < 0:
        raise InvalidInput("must be a finite number >= 0", field=f"{where}.weight", value=value)
    return float(value)


def _ceil(value: float) -> int:
    return math.ceil(round(value, _DECIMALS))


def _saga_kernels(
    graph: nx.DiGraph,
    devices: Sequence[Device],
    speeds: Mapping[str, float],
    job: str,
    level: str,
    time_scale: float,
) -> list[Kernel]:
    if not time_scale > 0 or not math.isfinite(time_scale):
        raise InvalidInput("must be a finite number > 0", field="time_scale", value=time_scale)
    kernels = []
    for node, data in graph.nodes(data=True):
        cost = _weight(data, f"nodes[{node!r}]")
        modes = tuple(
            Mode(dev.name, level, max(1, _ceil(time_scale * cost / speeds[dev.name])))
            for dev in devices
        )
        kernels.append(Kernel(str(node), str(data.get("job", job)), modes, _attrs(data)))
    return kernels


def _saga_edges(graph: nx.DiGraph, bandwidth: float, time_scale: float) -> list[Edge]:
    edges = []
    for src, dst, data in graph.edges(data=True):
        size = _weight(data, f"edges[{src!r}, {dst!r}]")
        edges.append(Edge(str(src), str(dst), _ceil(time_scale * size / bandwidth)))
    return edges
