"""Flexible job shop files (FJSPLIB: Brandimarte 1993, Hurink et al. 1994) -> Instance.

Format
------
Line 1: ``num_jobs num_machines [average machines per operation]``. Then one line per job:
``num_ops``, then for each operation ``num_alternatives`` followed by that many
``machine duration`` pairs (machines numbered from 1). Operations of a job run in the listed order.

Mapping
-------
* machine ``k`` -> device ``"m<k>"`` with one unit;
* FJSP job ``j`` (1-based) -> Instance job ``"j<j>"`` (so per-job objectives such as the weighted
  completion time keep their meaning);
* operation ``o`` of job ``j`` -> kernel ``"j<j>/o<o>"`` with one mode ``(m<k>, "-", duration)`` per
  alternative machine;
* consecutive operations of a job -> an edge without delay;
* objective: makespan; time unit ``"unit"``.

An operation with an alternative of duration 0 (one operation of Hurink's ``orb7``) is dropped with
its precedence kept (:func:`xpuplan.models.formats.precedence.contract_zero_tasks`): choosing that
alternative takes no time and blocks no machine, so it dominates the others under every regular
objective. A job left without operations is dropped too.
"""

from __future__ import annotations

import os
from pathlib import Path

from xpuplan.models.errors import InvalidInput
from xpuplan.models.formats.precedence import contract_zero_tasks
from xpuplan.models.formats.text import data_lines, fail, parse_int, take_ints
from xpuplan.models.instance import Device, Edge, Instance, Job, Kernel, Mode, Objective

LEVEL = "-"
# Hurink et al.'s four data sets share file names (abz5.txt in each); bks.json suffixes the set.
HURINK_SETS = ("edata", "rdata", "sdata", "vdata")


def fjsp_name(path: str | os.PathLike[str]) -> str:
    """The benchmark name of an FJSPLIB file as ``fjsp/bks.json`` spells it.

    ``brandimarte/mk01.txt`` -> ``"mk01"``; ``hurink/edata/abz5.txt`` -> ``"abz5_edata"``.
    """
    src = Path(path)
    return f"{src.stem}_{src.parent.name}" if src.parent.name in HURINK_SETS else src.stem


def fjsp_to_instance(path: str | os.PathLike[str], *, name: str | None = None) -> Instance:
    """Read an FJSPLIB file as an :class:`Instance` minimising the makespan.

    Parameters
    ----------
    path
        The FJSPLIB text file.
    name
        The instance's name; default :func:`fjsp_name` of ``path``.

    Raises
    ------
    InvalidInput
        Naming the file, the line, the field and the value at fault.
    """
    num_machines, jobs = read_fjsp(path)
    ops = [(j_idx, o_idx) for j_idx, job in enumerate(jobs) for o_idx in range(len(job))]
    chains = [
        ((j_idx, o_idx - 1), (j_idx, o_idx))
        for j_idx, job in enumerate(jobs)
        for o_idx in range(1, len(job))
    ]
    dropped = {
        (j_idx, o_idx)
        for j_idx, o_idx in ops
        if any(duration == 0 for _, duration in jobs[j_idx][o_idx])
    }
    if len(dropped) == len(ops):
        raise fail(
            path, None, "operations", "no operation has a positive duration", show_value=False
        )
    kept_edges = contract_zero_tasks(ops, chains, dropped)

    def kernel_name(op: tuple[int, int]) -> str:
        return f"j{op[0] + 1}/o{op[1] + 1}"

    kernels = tuple(
        Kernel(
            kernel_name((j_idx, o_idx)),
            f"j{j_idx + 1}",
            tuple(Mode(f"m{machine}", LEVEL, duration) for machine, duration in jobs[j_idx][o_idx]),
        )
        for j_idx, o_idx in ops
        if (j_idx, o_idx) not in dropped
    )
    used_jobs = {ker.job for ker in kernels}
    try:
        return Instance(
            name=name or fjsp_name(path),
            devices=tuple(Device(f"m{machine}") for machine in range(1, num_machines + 1)),
            jobs=tuple(Job(f"j{j}") for j in range(1, len(jobs) + 1) if f"j{j}" in used_jobs),
            kernels=kernels,
            edges=tuple(Edge(kernel_name(u), kernel_name(v)) for u, v in kept_edges),
            objective=Objective("makespan"),
            time_unit="unit",
        )
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None


def read_fjsp(path: str | os.PathLike[str]) -> tuple[int, list[list[list[tuple[int, int]]]]]:
    """``(num_machines, jobs)``: ``jobs[j][o]`` lists the ``(machine, duration)`` alternatives."""
    lines = data_lines(path)
    if not lines:
        raise fail(path, None, "header", "the file is empty", show_value=False)
    head = lines[0]
    if len(head.tokens) not in (2, 3):
        raise fail(
            path,
            head.number,
            "header",
            "line 1 must be 'jobs machines [average]'",
            head.text.strip(),
        )
    num_jobs = parse_int(path, head.number, "number of jobs", head.tokens[0], minimum=1)
    num_machines = parse_int(path, head.number, "number of machines", head.tokens[1], minimum=1)
    records = lines[1:]
    if len(records) != num_jobs:
        at = (
            records[num_jobs].number
            if len(records) > num_jobs
            else (records[-1].number if records else head.number)
        )
        raise fail(
            path,
            at,
            "jobs",
            f"the header announces {num_jobs} job line(s), the file has {len(records)}",
            len(records),
            show_value=False,
        )
    jobs = []
    for j_idx, line in enumerate(records):
        job = f"job {j_idx + 1}"
        (num_ops,) = take_ints(path, line, 0, 1, f"{job}: number of operations", minimum=1)
        pos = 1
        ops: list[list[tuple[int, int]]] = []
        for o_idx in range(num_ops):
            op = f"{job}, operation {o_idx + 1}"
            (num_alts,) = take_ints(path, line, pos, 1, f"{op}: number of machines", minimum=1)
            pairs = take_ints(
                path, line, pos + 1, 2 * num_alts, f"{op}: machine/duration", minimum=0
            )
            alts = list(zip(pairs[0::2], pairs[1::2], strict=True))
            for a_idx, (machine, _) in enumerate(alts):
                if not 1 <= machine <= num_machines:
                    raise fail(
                        path,
                        line.number,
                        f"{op}: machine",
                        f"must be between 1 and {num_machines}",
                        line.tokens[pos + 1 + 2 * a_idx],
                    )
            if len({machine for machine, _ in alts}) != len(alts):
                raise fail(
                    path,
                    line.number,
                    f"{op}: machine",
                    "is listed twice",
                    " ".join(line.tokens[pos + 1 : pos + 1 + 2 * num_alts]),
                )
            ops.append(alts)
            pos += 1 + 2 * num_alts
        if pos != len(line.tokens):
            raise fail(
                path,
                line.number,
                job,
                f"unexpected data after its {num_ops} operation(s)",
                " ".join(line.tokens[pos:]),
            )
        jobs.append(ops)
    return num_machines, jobs
