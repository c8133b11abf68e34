"""``xpuplan profile``: time every kernel of the scenario's ONNX models with ONNX Runtime."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from xpuplan.models import InvalidInput
from xpuplan.models.jsonio import FileWriter, check_output_paths, write_files
from xpuplan.models.platform import platform_to_dict
from xpuplan.models.presets import resolve_platform
from xpuplan.models.presets.scenarios import resolve_scenario
from xpuplan.runtime.onnxrt import (
    DEFAULT_REPEATS,
    DEFAULT_WARMUP,
    ProfileResult,
    calibrated_platform,
    profile_scenario,
)

NAME = "profile"
HELP = "measure every kernel of the scenario's ONNX models on the platform's devices (ONNX Runtime)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", required=True, help="a built-in platform or a YAML file")
    parser.add_argument("--scenario", required=True, help="a built-in scenario or a YAML file")
    parser.add_argument("--power-mode", help="a named power mode of the platform")
    parser.add_argument(
        "-o", "--output", default="profile.csv", metavar="CSV", help="default profile.csv"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=DEFAULT_REPEATS,
        help=f"timed runs (default {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP,
        help=f"untimed runs (default {DEFAULT_WARMUP})",
    )
    parser.add_argument(
        "--max-kernels",
        type=int,
        default=6,
        metavar="N",
        help="coarsen each model to at most N kernels, as plan does (default 6)",
    )
    parser.add_argument(
        "--calibrated-platform",
        metavar="YAML",
        help="also write the platform with the fitted roofline efficiencies",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the input values")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    for flag, value in (("--repeats", args.repeats), ("--max-kernels", args.max_kernels)):
        if value < 1:
            raise InvalidInput("must be >= 1", field=flag, value=value)
    if args.warmup < 0:
        raise InvalidInput("must be >= 0", field="--warmup", value=args.warmup)
    check_output_paths([("-o", args.output), ("--calibrated-platform", args.calibrated_platform)])
    platform = resolve_platform(args.platform, args.power_mode)
    scenario = resolve_scenario(args.scenario)
    bar: Any = None
    progress = on_total = None
    if sys.stderr.isatty() and not args.json:
        from tqdm import tqdm

        def on_total(total: int) -> None:
            nonlocal bar
            bar = tqdm(total=total, unit="kernel", desc="profile", file=sys.stderr)

        def progress(step: int) -> None:
            if bar is not None:
                bar.update(step)

    start = time.perf_counter()
    try:
        result = profile_scenario(
            platform,
            scenario,
            max_kernels=args.max_kernels,
            repeats=args.repeats,
            warmup=args.warmup,
            seed=args.seed,
            progress=progress,
            on_total=on_total,
        )
    except InvalidInput as exc:
        if exc.field is not None and exc.field.startswith("devices.") and exc.file is None:
            raise exc.in_file(args.platform) from None
        raise
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - start
    # Written all or none, each through a temporary file (see models.jsonio.write_files).
    outputs: list[tuple[str, FileWriter]] = [(args.output, lambda tmp: result.write_csv(str(tmp)))]
    if args.calibrated_platform:
        fitted = calibrated_platform(platform, result.fits)
        text = f"# {platform.name} with roofline efficiencies fitted by xpuplan profile\n"
        text += yaml.safe_dump(platform_to_dict(fitted), sort_keys=False)

        def write_platform(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        outputs.append((args.calibrated_platform, write_platform))
    write_files(outputs)
    doc = summary(result, elapsed, args.output)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"wrote {len(result.measurements)} rows to {args.output} in {elapsed:.1f} s")
    for dev, why in result.skipped.items():
        print(f"  skipped {dev}: {why}")
    for entry in doc["models"]:
        print(
            f"  {entry['model']} on {entry['device']}: whole model {entry['whole_us']:.1f} us, "
            f"sum of {entry['kernels']} kernels {entry['kernels_us']:.1f} us "
            f"(partition overhead {entry['overhead']:+.1%})"
        )
    for fit in doc["fits"]:
        print(
            f"  roofline {fit['device']}: median error {fit['error_before']:.1%} -> "
            f"{fit['error_after']:.1%} (compute_efficiency {fit['compute_efficiency']:.3g}, "
            f"bandwidth_efficiency {fit['bandwidth_efficiency']:.3g}, launch_overhead_us "
            f"{fit['launch_overhead_us']:.3g})"
        )
    return 0


def summary(result: ProfileResult, elapsed_s: float, output: str) -> dict[str, Any]:
    """The JSON summary: per (model, device) the partition overhead; per device the fit."""
    models = []
    for (model, device), (whole, _) in sorted(result.whole_model_us.items()):
        rows = [m for m in result.measurements if m.model == model and m.device == device]
        total = sum(m.median_us for m in rows)
        models.append(
            {
                "model": model,
                "device": device,
                "kernels": len(rows),
                "whole_us": whole,
                "kernels_us": total,
                "overhead": total / whole - 1 if whole > 0 else 0.0,
            }
        )
    return {
        "output": output,
        "rows": len(result.measurements),
        "seconds": elapsed_s,
        "skipped": result.skipped,
        "models": models,
        "fits": [vars(fit) for fit in result.fits.values()],
    }
