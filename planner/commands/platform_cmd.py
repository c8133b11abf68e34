"""``xpuplan platform local``: write a platform file for the machine this runs on."""

from __future__ import annotations

import argparse

import yaml

from xpuplan.models.platform import load_platform, platform_to_dict
from xpuplan.runtime.localhost import local_platform

NAME = "platform"
HELP = "write a platform YAML for this machine (ONNX Runtime providers, cores, power counters)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=("local",), help="local: this machine")
    parser.add_argument(
        "-o", "--output", default="local.yaml", metavar="YAML", help="default local.yaml"
    )


def run(args: argparse.Namespace) -> int:
    platform, notes = local_platform()
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.writelines(f"# {note}\n" for note in notes)
        yaml.safe_dump(platform_to_dict(platform), handle, sort_keys=False)
    load_platform(args.output)  # what was written reads back valid
    devices = ", ".join(
        f"{dev.name} ({dev.units} units, {dev.onnxruntime.provider})"
        for dev in platform.devices
        if dev.onnxruntime is not None
    )
    print(f"wrote {args.output}: {devices}")
    return 0
