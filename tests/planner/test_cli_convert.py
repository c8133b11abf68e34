"""``xpuplan convert``: benchmark files to instance files, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.models.test_formats import TINY_FJSP, TINY_SM, TINY_STG, tiny_dnn, write
from xpuplan.models import instance_from_json, load_instance
from xpuplan.models.formats import (
    dnn_graph_to_instance,
    fjsp_to_instance,
    psplib_to_instance,
    stg_to_instance,
)
from xpuplan.planner.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``xpuplan convert ARGV``: (exit code, stdout, stderr)."""
    code = main(["convert", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_convert_each_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every format converts to an instance file equal to the converter's result."""
    stg = write(tmp_path, "tiny.stg", TINY_STG)
    fjsp = write(tmp_path, "tiny.txt", TINY_FJSP)
    sm = write(tmp_path, "tiny.sm", TINY_SM)
    dnn = write(tmp_path, "tiny.json", json.dumps(tiny_dnn()))
    cases = [
        (["stg", str(stg), "--processors", "3"], stg_to_instance(stg, 3)),
        (["fjsp", str(fjsp), "--name", "flex"], fjsp_to_instance(fjsp, name="flex")),
        (["psplib", str(sm)], psplib_to_instance(sm)),
        (
            [
                "dnn-graph",
                str(dnn),
                "--inferences",
                "2",
                "--period-us",
                "500",
                "--deadline-us",
                "900",
                "--accel-units",
                "2",
            ],
            dnn_graph_to_instance(
                dnn, num_inferences=2, period_us=500, deadline_us=900, accel_units=2
            ),
        ),
    ]
    for c_idx, (argv, expected) in enumerate(cases):
        out_file = tmp_path / f"out{c_idx}.json"
        code, out, err = run_cli(capsys, *argv, "-o", str(out_file))
        assert (code, err) == (0, "")
        assert str(out_file) in out
        assert load_instance(out_file) == expected


def test_convert_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without -o the instance is printed as one JSON document."""
    stg = write(tmp_path, "tiny.stg", TINY_STG)
    code, out, _ = run_cli(capsys, "stg", str(stg), "--processors", "2")
    assert code == 0
    assert instance_from_json(json.loads(out)) == stg_to_instance(stg, 2)


def test_convert_real_file(
    benchmarks_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mk01 converts end to end into a valid instance file."""
    out_file = tmp_path / "mk01.json"
    code, _, _ = run_cli(
        capsys,
        "fjsp",
        str(benchmarks_dir / "fjsp" / "brandimarte" / "mk01.txt"),
        "-o",
        str(out_file),
    )
    assert code == 0
    inst = load_instance(out_file)
    assert (inst.name, inst.num_kernels, inst.num_devices) == ("mk01", 55, 6)


@pytest.mark.parametrize(
    ("fmt", "text", "extra", "parts"),
    [
        (
            "stg",
            TINY_STG.replace("3 4 1 1", "7 4 1 1"),
            ["--processors", "2"],
            ("line 5", "task id"),
        ),
        ("stg", TINY_STG, [], ("--processors", "required")),
        ("stg", TINY_STG, ["--processors", "0"], ("--processors", "(got 0)")),
        ("fjsp", TINY_FJSP, ["--processors", "2"], ("--processors", "only applies to stg")),
        ("fjsp", TINY_FJSP.replace("1 3 2\n", "1 4 2\n"), [], ("line 2", "machine", "'4'")),
        ("psplib", TINY_FJSP, [], ("jobs (incl. supersource/sink)", "is missing")),
        ("dnn-graph", json.dumps(tiny_dnn()), ["--inferences", "0"], ("--inferences", "(got 0)")),
        ("dnn-graph", "{", [], ("malformed JSON",)),
    ],
)
def test_convert_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    text: str,
    extra: list[str],
    parts: tuple[str, ...],
) -> None:
    """Bad input exits 2 with one line naming the file (or option) and the value at fault."""
    path = write(tmp_path, "input.dat", text)
    out_file = tmp_path / "out.json"
    code, out, err = run_cli(capsys, fmt, str(path), *extra, "-o", str(out_file))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("xpuplan convert: error:")
    for part in parts:
        assert part in err, (part, err)
    if not any(part.startswith("--") for part in parts):
        assert str(path) in err
    assert not out_file.exists()


def test_convert_missing_file_and_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing input file or output folder is a one-line error, exit 2."""
    code, _, err = run_cli(capsys, "fjsp", str(tmp_path / "nope.txt"))
    assert code == 2 and "nope.txt: no such file" in err
    fjsp = write(tmp_path, "tiny.txt", TINY_FJSP)
    code, _, err = run_cli(capsys, "fjsp", str(fjsp), "-o", str(tmp_path / "no" / "x.json"))
    assert code == 2 and "does not exist" in err and err.count("\n") == 1
