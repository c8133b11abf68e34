"""The reproductions' tables, from the results of their sweeps (``examples/sweeps/*.yaml``).

Usage::

    R=benchmarks/results/sweeps
    xpuplan sweep examples/sweeps/rtgen.yaml --set duration_s=60 -o $R/rtgen.parquet
    xpuplan sweep examples/sweeps/agent-xpu.yaml --set duration_s=300 -o $R/agent-xpu.parquet
    xpuplan sweep examples/sweeps/twill.yaml --set duration_s=120 -o $R/twill.parquet
    python benchmarks/sweep_tables.py benchmarks/results/sweeps

Each table is a mean over the sweep's seeds. The simulation columns are the policies' own runs of
the scenario (``sim_*``); the gaps are each schedule's distance from the best bound of the
clairvoyant Instance of the same arrivals (``gap``), or the rules a schedule breaks.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from xpuplan.planner.sweep import read_results


def _pct(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _gap_text(rows: pd.DataFrame) -> str:
    """Mean gap in %, or which rules the invalid schedules break."""
    valid = rows["valid"].fillna(False).astype(bool)
    if valid.all():
        return f"{100 * rows['gap'].mean():.1f}"
    rules = sorted(
        {r for text in rows.loc[~valid, "violation_rules"].dropna() for r in text.split(",")}
    )
    text = f"invalid {int((~valid).sum())}/{len(rows)} ({', '.join(rules) or 'incomplete'})"
    if valid.any():
        text += f"; valid {100 * rows.loc[valid, 'gap'].mean():.1f}"
    return text


def _cap(frame: pd.DataFrame, cap: str | None) -> pd.DataFrame:
    return frame[frame["power_cap_w"].isna()] if cap is None else frame[frame["power_cap_w"] == cap]


def rtgen(frame: pd.DataFrame) -> list[str]:
    lines = ["## RTGen: the policy family on ryzen-ai-hx370", ""]
    spreads = []
    for scenario in ("video-call", "gaming"):
        capped = _cap(frame[frame["scenario"] == scenario], None)
        uncapped = _cap(frame[frame["scenario"] == scenario], "none")
        rows = []
        rates = {}
        for name in (
            "static-best",
            "rr-backends",
            "edf",
            "llm-background",
            "dynamic-eft",
            "heft",
            "cpsat",
        ):
            sub = capped[capped["name"] == name]
            free = uncapped[uncapped["name"] == name]
            if sub.empty:
                continue
            rate = sub["sim_deadline_violation_rate"].mean()
            if not math.isnan(rate):
                rates[name] = rate
            rows.append(
                f"| {name} | {_pct(rate)} | {_num(sub['sim_ttft_mean_ms'].mean())} | "
                f"{_num(sub['sim_tps'].mean())} | "
                f"{_num(sub['sim_time_over_budget_s'].mean(), 2)} | "
                f"{_gap_text(sub)} | {_gap_text(free) if not free.empty else '-'} |"
            )
        spread = 100 * (max(rates.values()) - min(rates.values())) if rates else float("nan")
        spreads.append(spread)
        seeds = sorted(int(s) for s in capped["seed"].unique())
        lines += [
            f"### {scenario} ({capped['duration_s'].iloc[0]:g} s simulated, seeds {seeds}; "
            f"Instance: the first {capped['horizon_s'].iloc[0]:g} s)",
            "",
            "| policy / solver | violation rate (%) | LLM TTFT (ms) | LLM TPS | over budget (s) | "
            "gap to best bound, 28 W cap (%) | gap, no cap (%) |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Spread of the violation rate over the five policies: **{spread:.1f} points**.",
            "",
        ]
    lines += [
        f"Average spread: **{sum(spreads) / len(spreads):.1f} points** (RTGen study: 41.7).",
        "",
    ]
    return lines


def agent_xpu(frame: pd.DataFrame) -> list[str]:
    capped = _cap(frame, None)
    uncapped = _cap(frame, "none")
    rows = []
    for name in ("fcfs", "agent-xpu", "heft", "cpsat"):
        sub = capped[capped["name"] == name]
        free = uncapped[uncapped["name"] == name]
        rows.append(
            f"| {name} | {_num(sub['sim_reactive_mean_latency_ms'].mean() / 1000, 2)} | "
            f"{_num(sub['sim_proactive_rpm'].mean(), 2)} | "
            f"{_num(sub['sim_ttft_mean_ms'].mean())} | "
            f"{_gap_text(sub)} | {_gap_text(free) if not free.empty else '-'} |"
        )
    pol = capped[capped["kind"] == "policy"].set_index(["seed", "name"])
    lat = [
        pol.loc[(s, "fcfs"), "sim_reactive_mean_latency_ms"]
        / pol.loc[(s, "agent-xpu"), "sim_reactive_mean_latency_ms"]
        for s in sorted(capped["seed"].unique())
    ]
    thr = [
        pol.loc[(s, "agent-xpu"), "sim_proactive_rpm"] / pol.loc[(s, "fcfs"), "sim_proactive_rpm"]
        for s in sorted(capped["seed"].unique())
    ]
    return [
        f"## Agent.xpu: agent-assistant on core-ultra-125h ({capped['duration_s'].iloc[0]:g} s "
        f"simulated; Instance: the first {capped['horizon_s'].iloc[0]:g} s)",
        "",
        "| policy / solver | reactive mean latency (s) | proactive (req/min) | TTFT (ms) | "
        "gap to best bound, 28 W cap (%) | gap, no cap (%) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"agent-xpu against fcfs, mean over seeds: reactive latency **{sum(lat) / len(lat):.1f}x "
        f"lower**, proactive throughput **{sum(thr) / len(thr):.2f}x higher**.",
        "",
    ]


def twill(frame: pd.DataFrame) -> list[str]:
    rows = []
    for scale in sorted(frame["load_scale"].unique()):
        sub = frame[frame["load_scale"] == scale]
        fcfs, tw = sub[sub["name"] == "fcfs"], sub[sub["name"] == "twill"]
        base, ours = fcfs["sim_latency_mean_ms"].mean(), tw["sim_latency_mean_ms"].mean()
        rows.append(
            f"| x{scale:g} | {base:.1f} / {ours:.1f} | {100 * (1 - ours / base):.0f}% | "
            f"{fcfs['sim_time_over_budget_s'].mean():.3f} / "
            f"{tw['sim_time_over_budget_s'].mean():.3f} | "
            f"{_gap_text(fcfs)} | {_gap_text(tw)} | {_gap_text(sub[sub['name'] == 'heft'])} | "
            f"{_gap_text(sub[sub['name'] == 'cpsat'])} |"
        )
    return [
        f"## Twill: compound-ai on jetson-orin-nx-16gb [MAXN], 10 W budget "
        f"({frame['duration_s'].iloc[0]:g} s simulated; Instance: the first "
        f"{frame['horizon_s'].iloc[0]:g} s)",
        "",
        "fcfs-fixed / twill in each pair; gaps to the best bound in %.",
        "",
        "| load | mean latency (ms) | lower by | over budget (s) | gap fcfs-fixed | gap twill | "
        "gap heft | gap cpsat |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def gaps(frame: pd.DataFrame) -> list[str]:
    rows = []
    for (platform, scenario), sub in frame.groupby(["platform", "scenario"], sort=False):
        heur = sub[(sub["name"] != "cpsat") & sub["valid"].fillna(False).astype(bool)]
        exact = sub[sub["name"] == "cpsat"].iloc[0]
        best = heur.loc[heur["gap"].idxmin()] if not heur.empty else None
        rows.append(
            f"| {scenario}@{platform} | {int(exact['num_kernels'])} | {exact['objective_type']} | "
            + ("- | - | " if best is None else f"{best['name']} | {100 * best['gap']:.2f} | ")
            + f"{_pct_or_invalid(exact)} | {exact['status']} | {exact['seconds']:.0f} |"
        )
    limit = frame.loc[frame["name"] == "cpsat", "time_limit_s"].iloc[0]
    return [
        f"## Distance to the optimum: the built-in scenarios (CP-SAT {limit:g} s)",
        "",
        "| instance | kernels | objective | best heuristic | its gap (%) | CP-SAT gap (%) | "
        "CP-SAT status | cell s |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _pct_or_invalid(row: pd.Series) -> str:
    if not bool(row["valid"]):
        return f"invalid ({row['violation_rules']})"
    return f"{100 * row['gap']:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    lines: list[str] = []
    tables = (
        ("rtgen", rtgen),
        ("agent-xpu", agent_xpu),
        ("twill", twill),
        ("gaps-scenarios", gaps),
    )
    for name, table in tables:
        path = args.folder / f"{name}.parquet"
        if path.exists():
            frame, _ = read_results(path)
            lines += table(frame)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
