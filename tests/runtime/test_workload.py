"""Job templates, decode tables and the scenario -> workload builder."""

from __future__ import annotations

import networkx as nx
import pytest

from tests.runtime.helpers import kernel
from xpuplan.models import InvalidInput, Mode
from xpuplan.models.presets import get_platform
from xpuplan.models.presets.scenarios import get_scenario
from xpuplan.models.workload import (
    CompileOptions,
    DagStage,
    DecodeStage,
    DecodeTable,
    EdgeSpec,
    JobTemplate,
    KernelSpec,
    collapse_modes,
    compile_workload,
)


def test_template_from_kernel_dag_orders_topologically_and_keeps_attributes() -> None:
    """Kernels come in a deterministic topological order; edges carry delays and resumes."""
    graph = nx.DiGraph(name="m")
    graph.add_node("b", modes=(Mode("cpu", "hi", 5),), label="conv", op_types=("conv", "relu"))
    graph.add_node("a", modes=(Mode("cpu", "hi", 3),), chunk=0)
    graph.add_edge("a", "b", cross_device_delay=4, resume_cost=2)
    template = JobTemplate.from_kernel_dag(graph)
    assert [k.name for k in template.kernels] == ["a", "b"]
    assert template.kernels[1].attrs["op_types"] == "conv+relu"
    assert template.edges == (EdgeSpec(0, 1, 4, 2),)
    assert template.min_work_us == 8.0


def test_template_rejects_backward_edges_and_modeless_kernels() -> None:
    """Edges must follow the kernel order (which also rules out cycles); kernels need modes."""
    with pytest.raises(InvalidInput, match="topological"):
        JobTemplate("t", (kernel("a", cpu=1), kernel("b", cpu=1)), (EdgeSpec(1, 0),))
    with pytest.raises(InvalidInput, match="no mode"):
        JobTemplate("t", (KernelSpec("a", ()),))


def test_chain_joins_sinks_to_sources() -> None:
    """Two models in a chain: each sink of the first precedes each source of the second."""
    first = JobTemplate("x", (kernel("a", cpu=1), kernel("b", cpu=1)))
    second = JobTemplate("y", (kernel("c", cpu=1),))
    joined = JobTemplate.chain("xy", [first, second], delay_us=3)
    assert [k.name for k in joined.kernels] == ["m0.a", "m0.b", "m1.c"]
    assert set(joined.edges) == {EdgeSpec(0, 2, 3), EdgeSpec(1, 2, 3)}


def test_collapse_conserves_time_energy_and_bytes() -> None:
    """One collapsed step: durations add up; power and bandwidth are time-weighted."""
    parts = (
        KernelSpec(
            "k1", (Mode("gpu", "hi", 100, 10.0, {"mem_bw_gbps": 50.0}), Mode("cpu", "hi", 400, 5.0))
        ),
        KernelSpec("k2", (Mode("gpu", "hi", 300, 2.0, {"mem_bw_gbps": 10.0}),)),
    )
    (mode,) = collapse_modes(parts)
    assert (mode.device, mode.duration) == ("gpu", 400)
    assert mode.power_w * 400 == pytest.approx(100 * 10.0 + 300 * 2.0)
    assert mode.demands["mem_bw_gbps"] * 400 == pytest.approx(100 * 50.0 + 300 * 10.0)


def test_decode_table_is_exact_on_the_grid_and_linear_between() -> None:
    """Bilinear in KV length and batch; past the last KV point the line continues."""
    steps = {
        (kv, b): (Mode("gpu", "hi", 1000 + kv + 100 * b, 5.0),) for kv in (100, 300) for b in (1, 4)
    }
    table = DecodeTable.from_steps("llm", (100, 300), (1, 4), steps)
    assert table.cost(0, 100, 1)[0] == 1200
    assert table.cost(0, 200, 1)[0] == pytest.approx(1300)
    assert table.cost(0, 300, 2)[0] == pytest.approx(1500)
    assert table.cost(0, 500, 4)[0] == pytest.approx(1900)
    assert table.cost(0, 100, 64)[0] == table.cost(0, 100, 4)[0]  # capped at the largest batch


def test_agent_assistant_workload_on_core_ultra() -> None:
    """LLM tasks become a chunked prefill then decode steps sharing one table per model."""
    platform = get_platform("core-ultra-125h")
    options = CompileOptions(levels=2, decode_batches=(1, 8))
    workload = compile_workload(platform, get_scenario("agent-assistant"), options)
    chat, summary = workload.tasks
    assert isinstance(chat.stages[0], DagStage) and isinstance(chat.stages[1], DecodeStage)
    assert chat.stages[1].num_steps == 69 and chat.stages[1].kv_start == 214
    assert chat.stages[1].table is summary.stages[1].table
    chunks = {k.attrs.get("chunk") for k in chat.stages[0].template.kernels}
    assert chunks == {0, 1}  # 213 tokens in 128-token chunks
    table = chat.stages[1].table
    gpu = table.modes.index(("igpu", platform.device("igpu").top_level.name))
    one, eight = table.cost(gpu, 300, 1)[0], table.cost(gpu, 300, 8)[0]
    assert one < eight < 8 * one  # memory bound: a batch of 8 costs far less than 8 steps
    assert workload.power_budget_w == platform.power_budget_w
