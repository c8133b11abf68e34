"""``xpuplan platform local``: write a platform file for the machine this runs on."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from xpuplan.models.jsonio import check_output_paths, write_files
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
    check_output_paths([("-o", args.output)])
    platform, notes = local_platform()
    text = "".join(f"# {note}\n" for note in notes)
    text += yaml.safe_dump(platform_to_dict(platform), sort_keys=False)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
        load_platform(tmp)  # what is written reads back valid (else nothing replaces the file)

    write_files([(args.output, write)])
    devices = ", ".join(
        f"{dev.name} ({dev.units} units, {dev.onnxruntime.provider})"
        for dev in platform.devices
        if dev.onnxruntime is not None
    )
    print(f"wrote {args.output}: {devices}")
    return 0
