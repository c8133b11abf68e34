"""A plan of real ONNX models executed on ONNX Runtime and measured against the plan.

The models of ``benchmarks/onnx_models.py`` (PP-OCRv4 detector and recogniser, silero-vad; see
``benchmarks/results/onnx.md`` for where the files come from) in the ``ocr-vad`` scenario
(detection 1 Hz, recognition 2 Hz, voice activity 31.25 Hz) on ``xpuplan platform local``
(here 2 CPU units, CPU provider, one thread per session):

1. ``xpuplan profile`` measures every kernel; ``xpuplan plan --profile`` plans one hyperperiod;
2. the plan is simulated with the same profile (``simulate``, time-triggered, no noise): the
   deadline violation rate the plan predicts;
3. ``run_plan`` executes it for ``--duration`` seconds (time-triggered, then self-timed): kernel
   error, dispatch jitter and latency, deadline violation rate in reality, the runtime's overhead
   per dispatched kernel, outputs checked against the whole models;
4. the closed loop: the run's measured latencies (``write_profile``) plan again, and that plan runs
   again.

Usage::

    PYTHONPATH=. python benchmarks/run_real.py --model-dir DIR [--duration 15]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from xpuplan.models.plan import load_plan
from xpuplan.models.presets.scenarios import resolve_scenario
from xpuplan.models.profiles import load_profile
from xpuplan.planner.cli import main
from xpuplan.runtime.api import simulate
from xpuplan.runtime.real_run import run_plan
from xpuplan.runtime.simulator import SimConfig

FILES = (
    "ch_PP-OCRv4_det_infer.onnx",
    "ch_PP-OCRv4_rec_infer.onnx",
    "silero_vad_16k_op15.onnx",
)
SCENARIO = """name: ocr-vad
description: text detection and recognition on camera frames, voice activity on 32 ms audio chunks
tasks:
  - name: detect
    model: ch_PP-OCRv4_det_infer.onnx
    inputs: {x: [1, 3, 640, 640]}
    arrival: {type: periodic, rate_hz: 1}
  - name: recognise
    model: ch_PP-OCRv4_rec_infer.onnx
    inputs: {x: [1, 3, 48, 320]}
    arrival: {type: periodic, rate_hz: 2}
  - name: vad
    model: silero_vad_16k_op15.onnx
    inputs: {input: [1, 512], state: [2, 1, 128], sr: {range: [16000, 16001]}}
    arrival: {type: periodic, rate_hz: 31.25}
"""


def _cli(*argv: str) -> None:
    code = main(list(argv))
    if code != 0:
        raise SystemExit(f"xpuplan {' '.join(argv)} exited {code}")


def _with_profile(scenario_path: Path, profile: Path) -> Any:
    table = load_profile(profile)
    scen = resolve_scenario(str(scenario_path))
    tasks = tuple(
        replace(
            t, models=tuple(replace(r, params={**r.params, "profile": table}) for r in t.models)
        )
        for t in scen.tasks
    )
    return replace(scen, tasks=tasks)


def _rates(doc: dict[str, Any]) -> dict[str, Any]:
    return {name: tm["deadline_violation_rate"] for name, tm in doc["tasks"].items()}


def _real(plan_path: Path, work: Path, executor: str, duration: float, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    result = run_plan(
        load_plan(plan_path),
        str(work / "local.yaml"),
        str(work / "ocr-vad.yaml"),
        duration_s=duration,
        executor=executor,
        seed=seed,
        check_outputs_every=7,
    )
    doc = result.to_json()
    doc["_wall_s"] = time.perf_counter() - started
    result.write_profile(work / f"measured-{executor}.csv")
    per_model: dict[str, list[float]] = {}
    for m in result.stats.measured:
        if m.ok:
            per_model.setdefault(m.model, []).append(m.end - m.start)
    doc["_median_kernel_us_per_model"] = {
        model: round(statistics.median(v), 1) for model, v in per_model.items()
    }
    print(f"{executor}: median kernel per model (us): {doc['_median_kernel_us_per_model']}")
    profiled: dict[str, list[float]] = {}
    for line in (work / "profile.csv").read_text().splitlines():
        cells = line.split(",")
        if line.startswith("#") or cells[0] == "model":
            continue
        profiled.setdefault(cells[0], []).append(float(cells[4]))
    print(
        "profile (xpuplan profile, each kernel alone): median kernel per model (us):",
        {model: round(statistics.median(v), 1) for model, v in profiled.items()},
    )
    print(f"{executor}: overhead {json.dumps(doc['runtime_overhead'])}")
    print(f"{executor}: planned vs measured {json.dumps(doc['planned_vs_measured'])}")
    return doc


def _row(label: str, doc: dict[str, Any], sim_rates: dict[str, Any]) -> str:
    pvm = doc["planned_vs_measured"]
    over = doc["runtime_overhead"]
    err, jit, lat = pvm["kernel_error_pct"], pvm["jitter_us"], pvm["dispatch_latency_us"]
    real = _rates(doc)
    rates = ", ".join(
        f"{name} {_pct(real[name])} (sim {_pct(sim_rates.get(name))})" for name in real
    )
    return (
        f"| {label} | {pvm['kernels']} | {err['p50']:.1f} / {err['p90']:.1f} | "
        f"{jit['p50']:.0f} / {jit['p99']:.0f} | {lat['p50']:.0f} / {lat['p99']:.0f} | {rates} | "
        f"{pvm['late_in_reality_on_time_in_plan']} | {over['us_per_kernel']:.0f} us / "
        f"{over['median_kernel_us']:.0f} us = {100 * over['share_of_median_kernel']:.2f} % | "
        f"{doc['outputs']['checked']} / {doc['outputs']['mismatched']} |"
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="folder with the three .onnx files")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", help="working folder (default: a temporary one)")
    args = parser.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="xpuplan-run-"))
    work.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy(Path(args.model_dir) / name, work / name)
    (work / "ocr-vad.yaml").write_text(SCENARIO)
    _cli("platform", "local", "-o", str(work / "local.yaml"))
    t0 = time.perf_counter()
    _cli(
        "profile",
        "--platform",
        str(work / "local.yaml"),
        "--scenario",
        str(work / "ocr-vad.yaml"),
        "-o",
        str(work / "profile.csv"),
        "--repeats",
        "5",
    )
    print(f"profile: {time.perf_counter() - t0:.1f} s")
    plan_args = ["--platform", str(work / "local.yaml"), "--scenario", str(work / "ocr-vad.yaml")]
    _cli("plan", *plan_args, "--profile", str(work / "profile.csv"), "-o", str(work / "plan.json"))
    plan = load_plan(work / "plan.json")
    cpu0 = time.thread_time()
    sim = simulate(
        str(work / "local.yaml"),
        _with_profile(work / "ocr-vad.yaml", work / "profile.csv"),
        "time-triggered",
        plan=plan,
        duration_s=args.duration,
        seed=args.seed,
        config=SimConfig(noise_cv=0.0, dvfs_transition_us=0.0),
    ).to_json()
    sim_cpu = time.thread_time() - cpu0
    sim_rates = _rates(sim)
    kernels = sum(tm["completed"] for tm in sim["tasks"].values())
    print("simulated (time-triggered, same profile):", json.dumps(sim_rates))
    print(
        f"simulator's own cost under the same load: {sim['num_events']} events, "
        f"{1e6 * sim_cpu / max(1, sim['num_events']):.1f} us CPU per event "
        f"({kernels} jobs, simulate wall {sim['wall_s']:.3f} s)"
    )
    rows = []
    docs = {}
    for executor in ("time-triggered", "self-timed"):
        doc = _real(work / "plan.json", work, executor, args.duration, args.seed)
        docs[executor] = doc
        rows.append(_row(executor, doc, sim_rates))
        print(rows[-1], flush=True)
    # the closed loop: the time-triggered run's measured latencies plan again (deadlines soft:
    # measured on a loaded machine, they may not all be met; then the makespan, so that the plan
    # keeps the slack it has instead of spreading work up to the deadlines)
    _cli(
        "plan",
        *plan_args,
        "--profile",
        str(work / "measured-time-triggered.csv"),
        "--objective",
        "late_jobs,makespan",
        "-o",
        str(work / "replan.json"),
    )
    replan = load_plan(work / "replan.json")
    if not replan.schedule.is_solution:
        print("the re-plan found no schedule within its time limit; closed loop not run")
        (work / "docs.json").write_text(json.dumps(docs, indent=1))
        return
    sim2 = simulate(
        str(work / "local.yaml"),
        _with_profile(work / "ocr-vad.yaml", work / "measured-time-triggered.csv"),
        "time-triggered",
        plan=replan,
        duration_s=args.duration,
        seed=args.seed,
        config=SimConfig(noise_cv=0.0, dvfs_transition_us=0.0),
    ).to_json()
    doc = _real(work / "replan.json", work, "time-triggered", args.duration, args.seed)
    docs["replanned"] = doc
    rows.append(_row("time-triggered, re-planned on the measured profile", doc, _rates(sim2)))
    print(rows[-1], flush=True)
    (work / "docs.json").write_text(json.dumps(docs, indent=1))
    print(f"documents in {work / 'docs.json'}")


if __name__ == "__main__":
    main_()
