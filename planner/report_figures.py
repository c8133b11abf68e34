"""The standard figures of a sweep (``xpuplan report``): PNG files and an HTML page showing them.

* ``violations.png``: deadline violation rate per policy per scenario (mean over seeds; from the
  scenario's simulation when the sweep simulated, else from the run on the Instance);
* ``gaps.png``: gap to the best bound per solver and policy, per scenario (mean over seeds; rows
  whose schedule breaks a rule of the Instance are counted as *invalid* instead);
* ``latency_cdf.png``: the job latency distribution of each solver and policy on the Instance (the
  stored quantiles, averaged over seeds), per scenario; ``latency_cdf_sim.png`` the same for the
  policies' own simulations when the sweep ran them;
* ``energy_latency.png``: energy against mean job latency, one point per row;
* ``cell.png`` (with a chosen cell): the cell's schedule as a Gantt chart with the jobs'
  deadlines, over the platform's power draw with the cap line.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xpuplan.models import Instance, InvalidInput, Schedule
from xpuplan.models.objectives import job_completions
from xpuplan.planner.sweep import LATENCY_QUANTILES, cell_from_spec, cell_schedule

_DPI = 110


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _problem_label(row: Mapping[str, Any]) -> str:
    label = f"{row['scenario']}@{row['platform']}"
    mode = row.get("power_mode")
    if isinstance(mode, str) and mode:
        label += f"[{mode}]"
    cap = row.get("power_cap_w")
    if isinstance(cap, str) and cap:
        label += " [no cap]" if cap == "none" else f" [cap {float(cap):g} W]"
    scale = row.get("load_scale")
    if scale is not None and not pd.isna(scale) and float(scale) != 1.0:
        label += f" x{float(scale):g}"
    return label


def _with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["problem"] = [_problem_label(r) for r in frame.to_dict("records")]
    return frame


def _problems(frame: pd.DataFrame) -> list[str]:
    """The problems' labels in order: scenario, platform, mode, cap, then load scale (numeric)."""
    keys = ["scenario", "platform", "power_mode", "power_cap_w", "load_scale"]
    order = frame[[*keys, "problem"]].drop_duplicates("problem")
    order = order.assign(**{k: order[k].astype(str) for k in keys[:-1]})
    return list(order.sort_values(keys, na_position="first")["problem"])


def _save(fig: Any, path: Path) -> None:
    plt = _plt()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=_DPI)
    plt.close(fig)
    os.replace(tmp, path)


def _colours(plt: Any, count: int) -> Any:
    """Distinct colours: tab10 up to ten series (tab20's neighbours look alike), else tab20."""
    cmap = plt.get_cmap("tab10" if count <= 10 else "tab20")
    return lambda i: cmap(i % (10 if count <= 10 else 20))


def _grouped_bars(
    table: pd.DataFrame, ylabel: str, title: str, path: Path, notes: pd.DataFrame | None = None
) -> None:
    """Bars per column (series) within groups per index entry."""
    plt = _plt()
    groups, series = list(table.index), list(table.columns)
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(8.0, 2.0 + len(groups) * (0.4 * len(series) + 0.6)), 5.0))
    colour = _colours(plt, len(series))
    top = float(np.nanmax(table.to_numpy(dtype=float))) if table.notna().any().any() else 1.0
    for s_idx, name in enumerate(series):
        xs = np.arange(len(groups)) + (s_idx - (len(series) - 1) / 2) * width
        values = table[name].to_numpy(dtype=float)
        ax.bar(xs, np.nan_to_num(values), width, label=name, color=colour(s_idx))
        for x, g, v in zip(xs, groups, values, strict=True):
            text = notes.at[g, name] if notes is not None and name in notes.columns else ""
            if isinstance(text, str) and text:
                label = text
            elif math.isnan(v):
                continue
            else:
                label = f"{v:.1f}"
            y = 0.0 if math.isnan(v) else v
            ax.annotate(
                label, (x, y + 0.01 * max(top, 1e-9)), ha="center", va="bottom", fontsize=7,
                rotation=90,
            )  # fmt: skip
    ax.set_ylim(0, max(top, 1e-9) * 1.25 + 1e-9)
    ax.set_xticks(np.arange(len(groups)), groups, rotation=15, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _save(fig, path)


def violations_figure(frame: pd.DataFrame, path: Path) -> bool:
    """Deadline violation rate per policy per scenario; False when there is nothing to draw."""
    pol = frame[frame["kind"] == "policy"]
    if pol.empty:
        return False
    rate = pol["sim_deadline_violation_rate"].where(
        pol["sim_deadline_violation_rate"].notna(), pol["deadline_violation_rate"]
    )
    pol = pol.assign(rate=100.0 * rate)
    if pol["rate"].isna().all():
        return False
    table = pol.pivot_table(index="problem", columns="name", values="rate", aggfunc="mean")
    table = table.reindex([p for p in _problems(pol) if p in table.index])
    source = "simulation" if pol["sim_deadline_violation_rate"].notna().any() else "Instance"
    _grouped_bars(
        table,
        "deadline violation rate (%)",
        f"Deadline violations per policy (mean over seeds; {source})",
        path,
    )
    return True


def gaps_figure(frame: pd.DataFrame, path: Path) -> bool:
    """Gap to the best bound per solver and policy, per scenario."""
    rows = frame[frame["objective"].notna()]
    if rows.empty:
        return False
    valid = rows[rows["valid"].fillna(False).astype(bool)]
    table = (
        valid.assign(gap_pct=100.0 * valid["gap"])
        .pivot_table(index="problem", columns="name", values="gap_pct", aggfunc="mean")
        .reindex(columns=sorted(rows["name"].unique()))
    )
    table = table.reindex(_problems(rows))
    invalid = rows[~rows["valid"].fillna(False).astype(bool)]
    notes = pd.DataFrame("", index=table.index, columns=table.columns)
    for (problem, name), count in invalid.groupby(["problem", "name"]).size().items():
        total = len(rows[(rows["problem"] == problem) & (rows["name"] == name)])
        notes.at[problem, name] = f"invalid {count}/{total}"
    _grouped_bars(
        table,
        "gap to the best bound (%)",
        "Gap to the best bound (mean over seeds)\n"
        "invalid k/n: k of n schedules break a rule of the Instance (no gap)",
        path,
        notes,
    )
    return True


def _quantile_curves(frame: pd.DataFrame, column: str) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, list[np.ndarray]]] = {}
    for row in frame.to_dict("records"):
        text = row.get(column)
        if not isinstance(text, str):
            continue
        out.setdefault(row["problem"], {}).setdefault(row["name"], []).append(
            np.asarray(json.loads(text), dtype=float)
        )
    return {p: {n: np.mean(v, axis=0) for n, v in d.items()} for p, d in out.items()}


def latency_cdf_figure(frame: pd.DataFrame, path: Path, column: str, title: str) -> bool:
    """Job latency CDFs from the stored quantiles, one panel per problem."""
    curves = _quantile_curves(frame, column)
    if not curves:
        return False
    plt = _plt()
    problems = [p for p in _problems(frame) if p in curves]
    cols = min(2, len(problems))
    nrows = math.ceil(len(problems) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(6.5 * cols, 4.0 * nrows), squeeze=False)
    names = sorted({n for d in curves.values() for n in d})
    colour = _colours(plt, len(names))
    probs = np.asarray(LATENCY_QUANTILES, dtype=float) / 100.0
    for p_idx, problem in enumerate(problems):
        ax = axes[p_idx // cols][p_idx % cols]
        for name, q in sorted(curves[problem].items()):
            style = "--" if name in set(frame.loc[frame["kind"] == "solver", "name"]) else "-"
            ax.step(q, probs, where="post", ls=style, label=name, color=colour(names.index(name)))
        ax.set_xscale("log")
        ax.set_xlabel("job latency (ms, log)")
        ax.set_ylabel("fraction of jobs")
        ax.set_title(problem, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for extra in range(len(problems), nrows * cols):
        axes[extra // cols][extra % cols].axis("off")
    fig.suptitle(title)
    _save(fig, path)
    return True


def energy_latency_figure(frame: pd.DataFrame, path: Path) -> bool:
    """Energy against mean job latency on the Instance, one point per row, one panel per problem."""
    rows = frame[frame["energy_j"].notna() & frame["latency_mean_ms"].notna()]
    if rows.empty:
        return False
    plt = _plt()
    problems = _problems(rows)
    cols = min(2, len(problems))
    nrows = math.ceil(len(problems) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(6.5 * cols, 4.0 * nrows), squeeze=False)
    names = sorted(rows["name"].unique())
    colours = _colours(plt, len(names))
    for p_idx, problem in enumerate(problems):
        ax = axes[p_idx // cols][p_idx % cols]
        sub = rows[rows["problem"] == problem]
        for name in names:
            pts = sub[sub["name"] == name]
            if pts.empty:
                continue
            valid = pts["valid"].fillna(False).astype(bool)
            marker = "s" if (pts["kind"] == "solver").all() else "o"
            colour = colours(names.index(name))
            ax.scatter(
                pts.loc[valid, "latency_mean_ms"],
                pts.loc[valid, "energy_j"],
                marker=marker,
                color=colour,
                label=name,
            )
            if (~valid).any():
                ax.scatter(
                    pts.loc[~valid, "latency_mean_ms"],
                    pts.loc[~valid, "energy_j"],
                    marker="x",
                    color=colour,
                    label=f"{name} (invalid)",
                )
        ax.set_xlabel("mean job latency (ms)")
        ax.set_ylabel("energy (J)")
        ax.set_title(problem, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for extra in range(len(problems), nrows * cols):
        axes[extra // cols][extra % cols].axis("off")
    fig.suptitle("Energy vs latency on the Instance (squares: solvers, x: invalid schedules)")
    _save(fig, path)
    return True


def power_profile(instance: Instance, schedule: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """Times and the platform's power (idle of every unit plus running kernels) as a step curve."""
    power = {(k.name, m.device, m.level): m.power_w for k in instance.kernels for m in k.modes}
    deltas: dict[int, float] = {}
    for asg in schedule.assignments:
        p = power.get((asg.kernel, asg.device, asg.level), 0.0)
        deltas[asg.start] = deltas.get(asg.start, 0.0) + p
        deltas[asg.end] = deltas.get(asg.end, 0.0) - p
    times = np.asarray(sorted(deltas), dtype=float)
    levels = instance.idle_power_w + np.cumsum([deltas[int(t)] for t in times])
    return times, levels


def cell_figure(instance: Instance, schedule: Schedule, path: Path, title: str) -> None:
    """A Gantt chart of ``schedule`` with the jobs' deadlines over its power draw and the cap."""
    plt = _plt()
    rows = [f"{dev.name}/{u}" for dev in instance.devices for u in range(dev.units)]
    row_idx = {row: r for r, row in enumerate(rows)}
    tasks = sorted({str(k.attrs.get("task", k.job.split("@")[0])) for k in instance.kernels})
    cmap = plt.get_cmap("tab20")
    colour = {t: cmap(t_idx % 20) for t_idx, t in enumerate(tasks)}
    scale = 1000.0 if instance.time_unit == "us" else 1.0
    unit = "ms" if instance.time_unit == "us" else instance.time_unit
    completions = job_completions(instance, schedule.assignments)
    late_jobs = {
        instance.jobs[j].name
        for j, job in enumerate(instance.jobs)
        if job.deadline is not None and completions[j] > job.deadline
    }
    fig, (gantt, power_ax) = plt.subplots(
        2,
        1,
        figsize=(13, 0.55 * len(rows) + 5.0),
        sharex=True,
        gridspec_kw={"height_ratios": [max(2.0, 0.55 * len(rows)), 2.2]},
    )
    end = max((a.end for a in schedule.assignments), default=1) / scale
    for asg in schedule.assignments:
        ker = instance.kernels[instance.kernel_idx[asg.kernel]]
        task = str(ker.attrs.get("task", ker.job.split("@")[0]))
        late = ker.job in late_jobs
        # Outlines of bars thinner than the line would hide their colour.
        narrow = (asg.end - asg.start) / scale < 0.004 * end
        gantt.barh(
            row_idx[f"{asg.device}/{asg.unit}"],
            (asg.end - asg.start) / scale,
            left=asg.start / scale,
            color=colour[task],
            edgecolor="red" if late else ("none" if narrow else "black"),
            linewidth=1.2 if late else 0.3,
        )
    # The view ends with the schedule; deadlines after it are counted in the legend.
    view = end * 1.03
    all_deadlines = [j.deadline / scale for j in instance.jobs if j.deadline is not None]
    deadlines = [d for d in all_deadlines if d <= view]
    beyond = len(all_deadlines) - len(deadlines)
    if deadlines:
        gantt.scatter(
            deadlines,
            [-0.75] * len(deadlines),
            marker="v",
            color="red",
            s=18,
            label="job deadlines",
            clip_on=False,
        )
    gantt.set_yticks(range(len(rows)), rows)
    gantt.set_ylim(len(rows) - 0.5, -1.1)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[t]) for t in tasks[:20]]
    labels = list(tasks[:20])
    if deadlines:
        handles.append(plt.Line2D([], [], marker="v", color="red", ls=""))
        labels.append("deadline" + (f" ({beyond} after the view)" if beyond else ""))
    if late_jobs:
        handles.append(plt.Rectangle((0, 0), 1, 1, fill=False, edgecolor="red", linewidth=1.2))
        labels.append("kernel of a late job")
    gantt.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    gantt.set_title(title, fontsize=10)
    times, watts = power_profile(instance, schedule)
    if len(times):
        power_ax.step(
            np.concatenate(([0.0], times / scale)),
            np.concatenate(([instance.idle_power_w], watts)),
            where="post",
            color="tab:blue",
            label="power draw",
        )
    if instance.power_cap_w is not None:
        power_ax.axhline(instance.power_cap_w, color="red", ls="--", label="power cap")
    else:
        power_ax.plot([], [], " ", label="no power cap")
    power_ax.set_xlim(0, view)
    power_ax.set_ylabel("power (W)")
    power_ax.set_xlabel(f"time ({unit})")
    power_ax.grid(alpha=0.3)
    power_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    _save(fig, path)


def select_cell(frame: pd.DataFrame, selector: str) -> pd.Series:
    """The one row ``KEY=VALUE,...`` selects (keys are columns: name, scenario, seed, ...; an
    empty value selects a missing one, e.g. ``power_cap_w=`` the default cap)."""
    mask = pd.Series(True, index=frame.index)
    for item in selector.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in frame.columns:
            raise InvalidInput(
                "must be KEY=VALUE[,KEY=VALUE...] with keys among the table's columns",
                field="--cell",
                value=item,
            )
        mask &= _matches(frame[key], value.strip())
    chosen = frame[mask]
    if len(chosen) != 1:
        raise InvalidInput(
            f"selects {len(chosen)} rows; name exactly one (add scenario=, seed=, name=...)",
            field="--cell",
            value=selector,
        )
    return chosen.iloc[0]


def _matches(column: pd.Series, value: str) -> pd.Series:
    """Rows whose ``column`` equals ``value``: empty matches a missing value, numbers by value."""
    if value == "":
        return column.isna()
    if pd.api.types.is_numeric_dtype(column):
        try:
            return (pd.to_numeric(column, errors="coerce") == float(value)).fillna(False)
        except ValueError:
            return pd.Series(False, index=column.index)
    return (column.astype("string") == value).fillna(False)


def write_report(
    frame: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    cell: str | None = None,
    meta: Mapping[str, Any] | None = None,
    title: str = "xpuplan sweep",
) -> list[Path]:
    """Write the figures and ``index.html`` into ``out_dir``; return the PNGs written.

    ``cell`` selects one row (:func:`select_cell`) whose run is repeated to draw its schedule.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = _with_labels(frame)
    written: list[tuple[Path, str]] = []
    figures = (
        ("violations.png", violations_figure, "Deadline violation rate per policy per scenario"),
        ("gaps.png", gaps_figure, "Gap to the best bound per solver and policy"),
    )
    for name, draw, caption in figures:
        if draw(frame, out / name):
            written.append((out / name, caption))
    if latency_cdf_figure(
        frame, out / "latency_cdf.png", "latency_q_ms", "Job latency CDF on the Instance"
    ):
        written.append((out / "latency_cdf.png", "Job latency CDFs on the Instance"))
    if latency_cdf_figure(
        frame,
        out / "latency_cdf_sim.png",
        "sim_latency_q_ms",
        "Job latency CDF in the policies' own simulations",
    ):
        written.append((out / "latency_cdf_sim.png", "Job latency CDFs, simulations"))
    if energy_latency_figure(frame, out / "energy_latency.png"):
        written.append((out / "energy_latency.png", "Energy vs mean latency"))
    if cell is not None:
        row = select_cell(frame, cell)
        spec = row.get("spec")
        if not isinstance(spec, str):
            raise InvalidInput("the selected row has no cell spec", field="--cell", value=cell)
        instance, schedule = cell_schedule(cell_from_spec(spec))
        parts = (
            json.loads(row["objective_parts"]) if isinstance(row["objective_parts"], str) else []
        )
        label = (
            f"{instance.name}, seed {row['seed']}: {row['kind']} {row['name']}, objective "
            f"{', '.join(f'{v:.6g}' for v in parts) or '-'}, "
            + ("valid" if bool(row["valid"]) else f"INVALID ({row['violation_rules']})")
        )
        cell_figure(instance, schedule, out / "cell.png", label)
        written.append((out / "cell.png", f"The chosen cell ({html.escape(cell)})"))
    _write_index(out, frame, written, meta or {}, title)
    summary = summary_table(frame)
    tmp = out / ".summary.md.tmp"
    tmp.write_text(markdown_table(summary), encoding="utf-8")
    os.replace(tmp, out / "summary.md")
    return [p for p, _ in written]


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (empty cells as ``-``)."""

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return "-"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = [
        "| " + " | ".join(str(c) for c in frame.columns) + " |",
        "|" + "---|" * len(frame.columns),
    ]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


#: Simulation columns the summary shows (mean over seeds) when the sweep measured them.
SUMMARY_SIM_COLUMNS = {
    "sim_latency_mean_ms": "sim mean latency (ms)",
    "sim_ttft_mean_ms": "sim TTFT (ms)",
    "sim_tps": "sim TPS",
    "sim_reactive_mean_latency_ms": "sim reactive latency (ms)",
    "sim_proactive_rpm": "sim proactive (req/min)",
    "sim_time_over_budget_s": "sim over budget (s)",
}


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per problem and solver or policy: rows, valid rows, mean gap and violation rates, and the
    simulation's figures (means over seeds) where the sweep measured them."""
    if "problem" not in frame.columns:
        frame = _with_labels(frame)
    shown = [c for c in SUMMARY_SIM_COLUMNS if frame[c].notna().any()]
    rows = []
    for (problem, kind, name), sub in frame.groupby(["problem", "kind", "name"], sort=True):
        valid = sub["valid"].fillna(False).astype(bool)
        row: dict[str, Any] = {
            "problem": problem,
            "kind": kind,
            "name": name,
            "rows": len(sub),
            "errors": int((sub["status"] == "error").sum()),
            "valid": int(valid.sum()),
            "mean gap (%)": _mean_pct(sub.loc[valid, "gap"]),
            "max gap (%)": None
            if not valid.any()
            else round(100 * float(sub.loc[valid, "gap"].max()), 2),
            "violation rate, Instance (%)": _mean_pct(sub["deadline_violation_rate"]),
            "violation rate, simulation (%)": _mean_pct(sub["sim_deadline_violation_rate"]),
        }
        for column in shown:
            values = sub[column].dropna()
            row[SUMMARY_SIM_COLUMNS[column]] = (
                None if values.empty else round(float(values.mean()), 3)
            )
        row["mean s"] = round(float(sub["seconds"].mean()), 3)
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_pct(values: pd.Series) -> float | None:
    values = values.dropna()
    return None if values.empty else round(100.0 * float(values.mean()), 2)


def _write_index(
    out: Path,
    frame: pd.DataFrame,
    written: list[tuple[Path, str]],
    meta: Mapping[str, Any],
    title: str,
) -> None:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1400px;margin:auto}"
        "img{max-width:100%;border:1px solid #ccc}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(frame)} rows, {int((frame['status'] == 'error').sum())} failed cells.</p>",
    ]
    for path, caption in written:
        parts.append(f"<h2>{caption}</h2><img src='{html.escape(path.name)}' alt='{caption}'>")
    parts.append("<h2>Summary</h2>")
    parts.append(summary_table(frame).to_html(index=False, na_rep="-"))
    if meta:
        parts.append("<h2>Grid and versions</h2><pre>")
        shown = {k: meta[k] for k in ("grid", "versions", "seeds") if k in meta}
        parts.append(html.escape(json.dumps(shown, indent=1)))
        parts.append("</pre>")
    parts.append("</body></html>")
    tmp = out / ".index.html.tmp"
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, out / "index.html")
