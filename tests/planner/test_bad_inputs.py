"""A catalogue of bad inputs a user meets, each run through the command line in-process.

Every case must end with exit code 2, exactly one line on stderr naming what is wrong (the file
and field, or the option), no traceback, and nothing written or changed in the folder (names,
sizes and modification times compared). Cases from issue 14.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import tiny_instance
from xpuplan.models import instance_to_json
from xpuplan.planner.cli import main

PLATFORM = "ryzen-ai-hx370"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _instance_text(mutate: Callable[[dict], None]) -> str:
    doc = instance_to_json(tiny_instance())
    mutate(doc)
    return json.dumps(doc)


def _set_duration(value: int) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        doc["kernels"][0]["modes"][0]["duration"] = value

    return mutate


def _scenario(task: str, extra: str = "") -> str:
    """A one-task scenario; ``task`` is the YAML of the task's body (indented by four)."""
    return f"name: s\n{extra}tasks:\n  - name: a\n{task}"


SMALL_TASK = "    model: mobilenet-v3\n    arrival: {type: periodic, rate_hz: 10}\n"

DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_YAML = "a: " + "[" * 5_000 + "]" * 5_000 + "\n"
# The "billion laughs": 342 bytes that expand to 9^9 strings.
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([prev] * 9)}]\n"
    for name, prev in zip("abcdefghi", ['"lol"', *("*" + c for c in "abcdefgh")], strict=True)
)


def _platform_text(**device_changes: object) -> str:
    text = (EXAMPLES / "platforms" / "rk3588.yaml").read_text()
    for key, value in device_changes.items():
        # Change the first device's line "    key: ..." (the CPU).
        lines = text.splitlines()
        for l_idx, line in enumerate(lines):
            if line.startswith(f"    {key}:"):
                lines[l_idx] = f"    {key}: {value}"
                break
        else:
            raise AssertionError(key)
        text = "\n".join(lines) + "\n"
    return text


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str]
    argv: tuple[str, ...]
    expected: tuple[str, ...]


def _solve(name: str = "i.json") -> tuple[str, ...]:
    return ("solve", "{tmp}/" + name, "--solver", "heft", "-o", "{tmp}/s.json")


def _instance_cmd(scenario: str = "{tmp}/s.yaml", *extra: str) -> tuple[str, ...]:
    return (
        "instance",
        "--platform",
        PLATFORM,
        "--scenario",
        scenario,
        *extra,
        "-o",
        "{tmp}/out.json",
    )


CASES = [
    # ------------------------------------------------------------- instance files
    Case(
        "duration-5000-digits",
        {
            "i.json": _instance_text(_set_duration(0)).replace(
                '"duration": 0', '"duration": ' + "9" * 5000
            )
        },
        _solve(),
        ("i.json", "cannot be read", "digits"),
    ),
    Case(
        "duration-2^63",
        {"i.json": _instance_text(_set_duration(2**63))},
        _solve(),
        ("i.json", "kernels[0].modes[0].duration", "between 1 and"),
    ),
    Case(
        "weight-1e308",
        {"i.json": _instance_text(lambda d: d["jobs"][0].update(weight=1e308))},
        _solve(),
        ("i.json", "jobs[0].weight", "at most"),
    ),
    Case(
        "idle-power-1e308",
        {"i.json": _instance_text(lambda d: d["devices"][0].update(idle_power_w=1e308))},
        _solve(),
        ("i.json", "devices[0].idle_power_w", "at most"),
    ),
    Case(
        "idle-power-huge-int",
        {"i.json": _instance_text(lambda d: d["devices"][0].update(idle_power_w=10**400))},
        _solve(),
        ("i.json", "devices[0].idle_power_w", "finite"),
    ),
    Case(
        "power-nan",
        {
            "i.json": _instance_text(
                lambda d: d["kernels"][0]["modes"][0].update(power_w="x")
            ).replace('"x"', "NaN")
        },
        _solve(),
        ("i.json", "kernels[0].modes[0].power_w", "finite"),
    ),
    Case(
        "no-jobs",
        {"i.json": _instance_text(lambda d: d.update(jobs=[], kernels=[], edges=[]))},
        _solve(),
        ("i.json", "jobs", "at least one job"),
    ),
    Case(
        "ten-million-units",
        {"i.json": _instance_text(lambda d: d["devices"][0].update(units=10**7))},
        _solve(),
        ("i.json", "devices[0].units", "between 1 and 1,024"),
    ),
    Case("deep-json", {"i.json": DEEP_JSON}, _solve(), ("i.json", "nested too deeply")),
    Case("instance-is-a-folder", {}, ("solve", "{tmp}", "--solver", "heft"), ("is a folder",)),
    # ------------------------------------------------------------- scenario files
    Case(
        "priority-huge-int",
        {"s.yaml": _scenario(SMALL_TASK + "    priority: " + "9" * 40 + "\n")},
        _instance_cmd(),
        ("s.yaml", "tasks[0].priority", "between 0 and"),
    ),
    Case(
        "priority-1e308",
        {"s.yaml": _scenario(SMALL_TASK + "    priority: 1.0e+308\n")},
        _instance_cmd(),
        ("s.yaml", "tasks[0].priority", "integer"),
    ),
    Case(
        "rate-1e-5-hz",
        {
            "s.yaml": _scenario(
                "    model: mobilenet-v3\n    arrival: {type: periodic, rate_hz: 1.0e-5}\n"
            )
        },
        _instance_cmd(),
        ("s.yaml", "tasks[0].arrival.rate_hz", "between"),
    ),
    Case(
        "rate-1e7-hz",
        {
            "s.yaml": _scenario(
                "    model: mobilenet-v3\n    arrival: {type: periodic, rate_hz: 1.0e+7}\n"
            )
        },
        _instance_cmd(),
        ("s.yaml", "tasks[0].arrival.rate_hz", "between"),
    ),
    Case(
        "rate-1e-5-hz-simulate",
        {
            "s.yaml": _scenario(
                "    model: mobilenet-v3\n    arrival: {type: periodic, rate_hz: 1.0e-5}\n"
            )
        },
        ("simulate", "--platform", PLATFORM, "--scenario", "{tmp}/s.yaml", "--policy", "edf"),
        ("s.yaml", "tasks[0].arrival.rate_hz"),
    ),
    Case(
        "poisson-rate-tiny",
        {
            "s.yaml": _scenario(
                "    model: mobilenet-v3\n    arrival: {type: poisson, rate_per_min: 1.0e-320}\n"
            )
        },
        _instance_cmd(),
        ("s.yaml", "tasks[0].arrival.rate_per_min"),
    ),
    Case("alias-bomb", {"s.yaml": ALIAS_BOMB}, _instance_cmd(), ("s.yaml", "aliases")),
    Case("deep-yaml", {"s.yaml": DEEP_YAML}, _instance_cmd(), ("s.yaml", "nested more than")),
    Case(
        "unknown-model",
        {"s.yaml": _scenario("    model: resnet50\n    arrival: {type: periodic, rate_hz: 10}\n")},
        _instance_cmd(),
        ("s.yaml", "tasks[0].models[0]", "not a known model"),
    ),
    Case(
        "impossible-deadline",
        {"s.yaml": _scenario(SMALL_TASK + "    deadline_ms: 0.001\n")},
        _instance_cmd(),
        ("s.yaml", "tasks[0].deadline_ms", "shorter than the fastest"),
    ),
    Case(
        "bad-model-parameter",
        {
            "s.yaml": _scenario(
                "    models: [{name: resnet-50, params: {batch: -3}}]\n"
                "    arrival: {type: periodic, rate_hz: 10}\n"
            )
        },
        _instance_cmd(),
        ("s.yaml", "tasks[0].models[0].params.batch"),
    ),
    Case(
        "prompt-longer-than-the-context",
        {
            "s.yaml": _scenario(
                "    model: llama-3.2-1b\n    class: proactive\n    prompt_tokens: 300000\n"
                "    output_tokens: 8\n    arrival: {type: periodic, rate_hz: 1}\n"
            )
        },
        _instance_cmd(),
        ("s.yaml", "tasks[0].prompt_tokens"),
    ),
    # ------------------------------------------------------------- platform files
    Case(
        "tiny-peak-rate",
        {"p.yaml": _platform_text(peak_ops="{fp32: 1.0e-300, fp16: 1.0e-300, int8: 1.0e-300}")},
        (
            "instance",
            "--platform",
            "{tmp}/p.yaml",
            "--scenario",
            "video-call",
            "-o",
            "{tmp}/o.json",
        ),
        ("p.yaml", "devices[0]", "duration"),
    ),
    Case(
        "huge-launch-overhead",
        {"p.yaml": _platform_text(launch_overhead_us="1.0e+300")},
        (
            "instance",
            "--platform",
            "{tmp}/p.yaml",
            "--scenario",
            "video-call",
            "-o",
            "{tmp}/o.json",
        ),
        ("p.yaml", "launch_overhead_us", "at most"),
    ),
    # ------------------------------------------------------------- options
    Case("horizon-inf", {}, _instance_cmd("video-call", "--horizon", "inf"), ("--horizon",)),
    Case(
        "horizon-1e6",
        {},
        _instance_cmd("video-call", "--horizon", "1e6"),
        ("--horizon", "kernels", "shorter --horizon"),
    ),
    Case(
        "horizon-without-arrivals",
        {
            "s.yaml": _scenario(
                "    model: mobilenet-v3\n"
                "    arrival: {type: periodic, rate_hz: 10, offset_ms: 50}\n"
            )
        },
        _instance_cmd("{tmp}/s.yaml", "--horizon", "0.01"),
        ("--horizon", "no arrival"),
    ),
    Case("seed-negative", {}, _instance_cmd("video-call", "--seed", "-1"), ("--seed",)),
    Case("seed-2^40", {}, _instance_cmd("video-call", "--seed", str(2**40)), ("--seed",)),
    Case(
        "duration-inf",
        {},
        (
            "simulate",
            "--platform",
            PLATFORM,
            "--scenario",
            "video-call",
            "--policy",
            "edf",
            "--duration",
            "inf",
        ),
        ("--duration",),
    ),
    Case(
        "duration-1e-9",
        {},
        (
            "simulate",
            "--platform",
            PLATFORM,
            "--scenario",
            "video-call",
            "--policy",
            "edf",
            "--duration",
            "1e-9",
        ),
        ("--duration",),
    ),
    Case(
        "time-limit-nan",
        {"i.json": _instance_text(lambda d: None)},
        ("solve", "{tmp}/i.json", "--time-limit", "nan"),
        ("--time-limit",),
    ),
    # ------------------------------------------------------------- outputs
    Case(
        "output-is-a-folder",
        {"i.json": _instance_text(lambda d: None), "d/keep": ""},
        ("solve", "{tmp}/i.json", "--solver", "heft", "-o", "{tmp}/d"),
        ("-o", "is a folder"),
    ),
    Case(
        "output-folder-missing",
        {"i.json": _instance_text(lambda d: None)},
        ("solve", "{tmp}/i.json", "--solver", "heft", "-o", "{tmp}/no/s.json"),
        ("-o", "does not exist"),
    ),
    Case(
        "plan-gantt-folder-missing",
        {},
        (
            "plan",
            "--platform",
            PLATFORM,
            "--scenario",
            "video-call",
            "--solver",
            "heft",
            "-o",
            "{tmp}/out.json",
            "--gantt",
            "{tmp}/nodir/g.png",
        ),
        ("--gantt", "does not exist"),
    ),
    Case(
        "plan-trace-folder-missing",
        {},
        (
            "plan",
            "--platform",
            PLATFORM,
            "--scenario",
            "video-call",
            "--solver",
            "heft",
            "-o",
            "{tmp}/out.json",
            "--trace",
            "{tmp}/nodir/t.json",
        ),
        ("--trace", "does not exist"),
    ),
    Case(
        "plan-gantt-unknown-format",
        {},
        ("plan", "--solver", "heft", "-o", "{tmp}/out.json", "--gantt", "{tmp}/g.txt"),
        ("--gantt", ".png"),
    ),
    Case(
        "plan-same-file-twice",
        {},
        ("plan", "--solver", "heft", "-o", "{tmp}/out.json", "--trace", "{tmp}/out.json"),
        ("--trace", "same file"),
    ),
    # ------------------------------------------------------------- more options
    Case(
        "workers-0",
        {"i.json": _instance_text(lambda d: None)},
        (*_solve(), "--workers", "0"),
        ("--workers",),
    ),
    Case(
        "time-limit-0",
        {"i.json": _instance_text(lambda d: None)},
        (*_solve(), "--time-limit", "0"),
        ("--time-limit",),
    ),
    Case("levels-0", {}, _instance_cmd("video-call", "--levels", "0"), ("--levels",)),
    Case(
        "max-kernels-0", {}, _instance_cmd("video-call", "--max-kernels", "0"), ("--max-kernels",)
    ),
    Case(
        "power-cap-negative", {}, _instance_cmd("video-call", "--power-cap", "-1"), ("--power-cap",)
    ),
    Case("power-cap-inf", {}, _instance_cmd("video-call", "--power-cap", "inf"), ("--power-cap",)),
    Case(
        "noise-negative",
        {},
        (
            "simulate",
            "--platform",
            PLATFORM,
            "--scenario",
            "video-call",
            "--policy",
            "edf",
            "--noise-cv",
            "-1",
        ),
        ("--noise-cv",),
    ),
    # --noise-cv / --quantile: a robust plan's margin (issue 13)
    *(
        Case(
            f"{cmd}-{name}",
            {},
            (
                cmd,
                "--platform",
                PLATFORM,
                "--scenario",
                "video-call",
                *args,
                *(("--solver", "heft") if cmd == "plan" else ()),
                "-o",
                "{tmp}/out.json",
            ),
            expected,
        )
        for cmd in ("plan", "instance")
        for name, args, expected in (
            ("quantile-0", ("--noise-cv", "0.1", "--quantile", "0"), ("--quantile", "'0'")),
            ("quantile-1", ("--noise-cv", "0.1", "--quantile", "1"), ("--quantile", "'1'")),
            ("quantile-nan", ("--noise-cv", "0.1", "--quantile", "nan"), ("--quantile",)),
            ("quantile-word", ("--noise-cv", "0.1", "--quantile", "p99"), ("--quantile", "p99")),
            ("noise-cv-negative", ("--noise-cv", "-0.1", "--quantile", "0.9"), ("--noise-cv",)),
            ("noise-cv-inf", ("--noise-cv", "inf", "--quantile", "0.9"), ("--noise-cv", "inf")),
            ("quantile-alone", ("--quantile", "0.99"), ("--quantile", "0.99", "--noise-cv")),
            ("noise-cv-alone", ("--noise-cv", "0.1"), ("--noise-cv", "0.1", "--quantile")),
        )
    ),
    Case(
        "simulate-a-day",
        {},
        (
            "simulate",
            "--platform",
            PLATFORM,
            "--scenario",
            "video-call",
            "--policy",
            "edf",
            "--duration",
            "86400",
        ),
        ("--duration", "kernels", "shorter --duration"),
    ),
    Case(
        "option-infinite",
        {},
        (
            "simulate",
            "--platform",
            PLATFORM,
            "--scenario",
            "video-call",
            "--policy",
            "edf",
            "--option",
            "aging_s=inf",
        ),
        ("--option aging_s", "finite"),
    ),
    Case(
        "output-empty",
        {"i.json": _instance_text(lambda d: None)},
        ("solve", "{tmp}/i.json", "-o", ""),
        ("-o", "file name"),
    ),
    Case(
        "convert-huge-processors",
        {"g.stg": "1\n0 0 0\n1 0 0\n"},
        ("convert", "stg", "{tmp}/g.stg", "--processors", str(10**9)),
        ("--processors", "at most"),
    ),
    Case(
        "schedule-start-float",
        {
            "i.json": _instance_text(lambda d: None),
            "s.json": json.dumps(
                {
                    "format": "xpuplan.schedule/1",
                    "instance": "tiny",
                    "assignments": [
                        {"kernel": "a1", "device": "npu", "level": "hi", "start": 0.5, "end": 5}
                    ],
                }
            ),
        },
        ("verify", "{tmp}/i.json", "{tmp}/s.json"),
        ("s.json", "assignments[0].start", "integer"),
    ),
    Case(
        "deep-plan",
        {"p.json": DEEP_JSON},
        ("verify", "{tmp}/p.json"),
        ("p.json", "nested too deeply"),
    ),
    Case(
        "scenario-horizon-huge",
        {"s.yaml": _scenario(SMALL_TASK, extra="horizon_s: 1.0e+300\n")},
        _instance_cmd(),
        ("s.yaml", "horizon_s", "at most"),
    ),
    Case(
        "listed-time-huge",
        {
            "s.yaml": _scenario(
                "    model: mobilenet-v3\n    arrival: {type: listed, times_ms: [0, 1.0e+300]}\n"
            )
        },
        _instance_cmd(),
        ("s.yaml", "tasks[0].arrival.times_ms[1]", "at most"),
    ),
]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if not p.is_symlink()
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, text in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    before = _snapshot(tmp_path)
    started = time.perf_counter()
    code = main([arg.format(tmp=tmp_path) for arg in case.argv])
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for part in case.expected:
        assert part in err, (part, err)
    assert _snapshot(tmp_path) == before
    # Refused before any heavy work (a generous bound: these take milliseconds to a second or
    # two on a loaded machine; the escapes they replace took minutes and gigabytes).
    assert elapsed < 30, elapsed


# ------------------------------------------------------------------ outputs that must be safe
def test_output_through_a_symlink_writes_its_target(tmp_path, capsys):
    """-o link.json writes the file the link points at; the link stays a link."""
    instance = tmp_path / "i.json"
    instance.write_text(_instance_text(lambda d: None))
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert main(["solve", str(instance), "--solver", "heft", "-o", str(link)]) == 0
    capsys.readouterr()
    assert link.is_symlink()
    assert json.loads(target.read_text())["format"] == "xpuplan.schedule/1"


def test_output_to_a_fifo_is_refused(tmp_path, capsys):
    """A path that is not a regular file (here a named pipe) is refused and left alone."""
    instance = tmp_path / "i.json"
    instance.write_text(_instance_text(lambda d: None))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code = main(["solve", str(instance), "--solver", "heft", "-o", str(fifo)])
    err = capsys.readouterr().err
    assert code == 2 and "not a regular file" in err and err.count("\n") == 1
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_found_before_the_solve(tmp_path, capsys):
    instance = tmp_path / "i.json"
    instance.write_text(_instance_text(lambda d: None))
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code = main(["solve", str(instance), "-o", str(folder / "s.json")])
    finally:
        folder.chmod(0o700)
    err = capsys.readouterr().err
    assert code == 2 and "not writable" in err


def test_plan_writes_every_output(tmp_path, capsys):
    """plan -o/--gantt/--trace: all three written when all paths are good."""
    argv = ["plan", "--solver", "heft", "-o", str(tmp_path / "p.json")]
    argv += ["--gantt", str(tmp_path / "g.png"), "--trace", str(tmp_path / "t.json")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "planning the example --platform ryzen-ai-hx370 --scenario video-call" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "p.json", "t.json"]
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------ verify
def test_verify_does_not_call_an_unchecked_claim_valid(tmp_path, capsys):
    """A schedule with no assignments claiming infeasible: exit 4, 'not verified'."""
    instance = tmp_path / "i.json"
    instance.write_text(_instance_text(lambda d: None))
    for status in ("infeasible", "unknown"):
        schedule = tmp_path / "s.json"
        schedule.write_text(
            json.dumps(
                {
                    "format": "xpuplan.schedule/1",
                    "instance": "tiny",
                    "status": status,
                    "assignments": [],
                }
            )
        )
        assert main(["verify", str(instance), str(schedule)]) == 4
        out = capsys.readouterr().out
        assert out.startswith("not verified") and "valid" not in out.replace("not verified", "")
        assert main(["verify", str(instance), str(schedule), "--json"]) == 4
        doc = json.loads(capsys.readouterr().out)
        assert doc["verified"] is False and doc["valid"] is None


def test_verify_fills_a_level_left_out(tmp_path, capsys):
    """An assignment may leave out its level when its kernel has one mode on that device."""
    instance = tmp_path / "i.json"
    instance.write_text(_instance_text(lambda d: None))
    assert main(["solve", str(instance), "--solver", "cpsat", "-o", str(tmp_path / "s.json")]) == 0
    doc = json.loads((tmp_path / "s.json").read_text())
    dropped = 0
    for asg in doc["assignments"]:
        # tiny: a1 has one mode per device, b1 too; a2 has two NPU levels.
        if asg["kernel"] in ("a1", "b1"):
            del asg["level"]
            dropped += 1
    assert dropped == 2
    (tmp_path / "s.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["verify", str(instance), str(tmp_path / "s.json")]) == 0
    assert capsys.readouterr().out.startswith("valid")


# ------------------------------------------------------------------ byte-identical output
def test_no_timings_gives_identical_bytes(tmp_path, capsys):
    instance = tmp_path / "i.json"
    instance.write_text(_instance_text(lambda d: None))
    outputs = []
    for _ in range(2):
        out = tmp_path / "s.json"
        argv = ["solve", str(instance), "--json", "--no-timings", "-o", str(out)]
        assert main(argv) == 0
        outputs.append((capsys.readouterr().out, out.read_bytes()))
    assert outputs[0] == outputs[1]
    doc = json.loads(outputs[0][0])
    assert "seconds" not in doc and "solve_seconds" not in json.loads(outputs[0][1])
    assert doc["objective_units"] == ["us"] and doc["objective_text"] == "makespan 13 us"


def test_plan_repetition_error_names_the_plan_field(tmp_path, capsys):
    """A plan whose period_us is shorter than its makespan: the error names the plan file's
    field (period_us), not the runtime's internal repeat_us."""
    plan = tmp_path / "p.json"
    argv = ["plan", "--platform", PLATFORM, "--scenario", "video-call", "--solver", "heft"]
    assert main([*argv, "-o", str(plan)]) == 0
    capsys.readouterr()
    doc = json.loads(plan.read_text())
    doc["period_us"] = 10
    plan.write_text(json.dumps(doc))
    argv = ["simulate", "--platform", PLATFORM, "--scenario", "video-call"]
    argv += ["--policy", "time-triggered", "--plan", str(plan), "--duration", "0.5"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "p.json" in err and "period_us" in err and "repeat_us" not in err


def test_instance_modes_without_level(tmp_path, capsys):
    """A hand-written instance may leave out a mode's level (a device with one level)."""
    doc = instance_to_json(tiny_instance())
    for kernel in doc["kernels"]:
        kernel["modes"] = [m for m in kernel["modes"] if m["level"] == "hi"]
        for mode in kernel["modes"]:
            del mode["level"]
    instance = tmp_path / "i.json"
    instance.write_text(json.dumps(doc))
    schedule = tmp_path / "s.json"
    assert main(["solve", str(instance), "-o", str(schedule)]) == 0
    assert main(["verify", str(instance), str(schedule)]) == 0
    assert "valid (optimal" in capsys.readouterr().out
