"""A notebook-style tour of xpuplan's Python API, from ``import xpuplan`` alone.

Run it top to bottom (``python examples/notebook_tour.py --out tour``), or open it as a notebook:
the ``# %%`` markers are cells for Jupyter (jupytext), VS Code and Spyder. It loads a scenario,
plans it, compares heuristics with the optimum and online policies with each other, and draws
the results. Every schedule goes through the independent checker. The test suite runs it with
small limits (``tests/test_notebook_tour.py``). xpuplan's names all come from ``import xpuplan``;
pandas and networkx are there for the tables and graphs xpuplan hands back.
"""

# %% [markdown]
# ## Set-up: what is built in

# %%
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import networkx as nx
import pandas as pd

import xpuplan

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="tour", help="folder for the pictures and files")
parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per exact solve")
parser.add_argument("--duration", type=float, default=10.0, help="simulated seconds per policy")
args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

print("platforms:", xpuplan.platform_names())
print("scenarios:", xpuplan.scenario_names())
print("policies: ", xpuplan.policy_names())

# %% [markdown]
# ## A scenario on a platform becomes an Instance
# The gaming scenario (a 60 FPS upscaler and 30 FPS hand tracking with frame deadlines, NPC
# dialogue from an LLM on demand) on a Jetson Orin NX. The planner unrolls the known, periodic
# tasks over 100 ms (six upscaler frames, three hand-tracking frames); the LLM's requests arrive
# unannounced and are left to the runtime.

# %%
platform = xpuplan.get_platform("jetson-orin-nx-16gb")  # its default 15 W mode
scenario = xpuplan.get_scenario("gaming")
options = xpuplan.PlanningOptions(horizon_s=0.1)
instance = xpuplan.build_instance(platform, scenario, options)
graph = instance.to_networkx()  # a networkx DiGraph: one node per kernel
print(
    f"{instance.name}: {instance.num_jobs} jobs, {graph.number_of_nodes()} kernels, "
    f"{graph.number_of_edges()} edges, objective {instance.objective.type}, "
    f"power cap {graph.graph['power_cap_w']} W"
)

# %% [markdown]
# ## Plan it: the optimum (or a proven bound) and a heuristic

# %%
# make_plan solves the instance built from the same arguments, and wraps the schedule in a Plan.
made = xpuplan.make_plan(
    platform, scenario, options, solver="cpsat", time_limit=args.time_limit, workers=2
)
assert made.plan.instance == instance
optimal = made.result
heft = xpuplan.solve(instance, "heft")
for result in (optimal, heft):
    assert xpuplan.check_schedule(instance, result.schedule) == []
    print(f"{result.schedule.solver:>6}: {result.status}, objective {result.objective}")

frame = optimal.schedule.to_frame(instance)  # one row per kernel
per_task = frame.groupby(["task", "device"])[["duration", "energy"]].sum()
print(per_task)
xpuplan.save_gantt(out / "gantt.png", instance, optimal.schedule)

# %% [markdown]
# ## A plan file: the instance, the schedule and the settings it assumes
# The plan knows its platform, power mode, scenario, period (it repeats every 100 ms) and the
# task of every job, so the runtime can execute it beside the scenario's other tasks.

# %%
plan = made.plan
print(plan.platform, plan.power_mode, plan.scenario, plan.period_us)
xpuplan.save_plan(out / "plan.json", plan)
plan = xpuplan.load_plan(out / "plan.json")
assert xpuplan.check_schedule(plan.instance, plan.schedule) == []
print("DVFS levels:", plan.settings["dvfs_levels"])

# %% [markdown]
# ## How far are the heuristics from the best known bound?

# %%
gaps = xpuplan.compare(
    instance,
    ["heft", "cpop", "peft", "etf", "edf+dvfs", "cpsat"],
    time_limit=args.time_limit,
    workers=2,
)
assert gaps["valid"].all()
print(gaps[["solver", "status", "objective", "best_bound", "gap", "seconds"]])
axes = (100 * gaps.set_index("solver")["gap"].astype(float)).plot.bar(
    ylabel="gap to the best bound (%)", title=instance.name
)
axes.figure.tight_layout()
axes.figure.savefig(out / "gaps.png")

# %% [markdown]
# ## Online policies on the same arrivals, and the plan executed beside them
# Every policy sees the same seeded arrivals. ``hybrid`` runs the plan for the periodic tasks and
# serves the LLM's requests in its slack.

# %%
runs = []
for policy in ("fcfs", "edf", "static-best", "dynamic-eft", "twill", "hybrid"):
    run = xpuplan.simulate(
        platform,
        scenario,
        policy,
        plan=plan if policy == "hybrid" else None,
        duration_s=args.duration,
        seed=0,
    )
    runs.append(run.to_frame())  # one row per task
tasks = pd.concat(runs, ignore_index=True)
violations = tasks.pivot(index="policy", columns="task", values="deadline_violation_rate")
print(violations)
axes = (100 * violations.dropna(axis=1, how="all")).plot.bar(
    ylabel="deadline violations (%)", title=f"{scenario.name} on {platform.name}"
)
axes.figure.tight_layout()
axes.figure.savefig(out / "policies.png")

# %% [markdown]
# ## Graphs in, graphs out
# A model of the zoo as a networkx kernel DAG, and a plain SAGA-style task graph (node ``weight``
# = cost, edge ``weight`` = data size) on devices with speeds, each turned into an instance.

# %%
dag = xpuplan.build_kernel_dag("mobilenet-v3", platform, max_kernels=10, levels="top")
dag_instance = xpuplan.instance_from_networkx(dag, platform, job="mobilenet@0", time_unit="us")
dag_result = xpuplan.solve(dag_instance, "heft")
assert xpuplan.check_schedule(dag_instance, dag_result.schedule) == []
print(f"mobilenet-v3: {dag.number_of_nodes()} kernels, HEFT makespan {dag_result.objective} us")

task_graph = nx.DiGraph()
task_graph.add_nodes_from([("load", {"weight": 4}), ("a", {"weight": 12}), ("b", {"weight": 9})])
task_graph.add_nodes_from([("merge", {"weight": 3})])
task_graph.add_edges_from([("load", "a"), ("load", "b"), ("a", "merge"), ("b", "merge")], weight=2)
saga = xpuplan.instance_from_networkx(
    task_graph, speeds={"cpu": 1.0, "gpu": 3.0}, bandwidth=1.0, time_scale=10
)
saga_result = xpuplan.solve(saga, "cpsat", time_limit=args.time_limit, workers=2)
assert xpuplan.check_schedule(saga, saga_result.schedule) == []
print(saga_result.schedule.to_frame(saga)[["kernel", "device", "start", "end"]])
print(f"pictures and the plan are in {out}/")
