"""Standard Task Graph Set (Kasahara lab, Waseda) ``.stg`` files ->
:class:`xpuplan.models.Instance`.

Format
------
Line 1 holds ``n``, the number of real tasks. Then ``n + 2`` lines ``id time npred pred...``:
task ``0`` is a dummy entry and task ``n + 1`` a dummy exit, both of time 0; ids run from 0 to
``n + 1`` in order. Everything from a ``#`` to the end of its line is a comment (the files end with
a ``#`` block describing how the graph was generated).

The problem is :math:`P|prec|C_{max}`: ``m`` identical processors, no communication costs. It
becomes one device ``"p"`` with ``units = m``, one job, one kernel ``"t<id>"`` per real task with a
single mode of duration ``time`` and level ``"-"``, and the precedence edges, in time unit
``"unit"``. Tasks of time 0 (the two dummies, and any other) are dropped and their precedence
kept by :func:`xpuplan.models.formats.precedence.contract_zero_tasks`: the entry has no predecessor
and the exit no successor, so for the published files this drops exactly the dummy edges.
"""

from __future__ import annotations

import os
from pathlib import Path

from xpuplan.models.errors import InvalidInput
from xpuplan.models.fields import require_int
from xpuplan.models.formats.precedence import contract_zero_tasks
from xpuplan.models.formats.text import data_lines, fail, parse_int, take_id_list, take_ints
from xpuplan.models.instance import Device, Edge, Instance, Job, Kernel, Mode, Objective

DEVICE = "p"
JOB = "stg"
LEVEL = "-"


def stg_to_instance(
    path: str | os.PathLike[str], processors: int, *, name: str | None = None
) -> Instance:
    """Read an ``.stg`` file as the instance of scheduling it on ``processors`` identical units.

    Parameters
    ----------
    path
        The ``.stg`` file.
    processors
        ``m``, the number of identical processors (>= 1).
    name
        The instance's name; default ``"stg-<folder>-<stem>-m<m>"`` (e.g. ``stg-50-rand0009-m4``).

    Returns
    -------
    Instance
        Minimising the makespan :math:`C_{max} = \\max_k end_k`.

    Raises
    ------
    InvalidInput
        Naming the file, the line, the field and the value at fault.
    """
    require_int(processors, "processors", 1)
    times, preds = read_stg(path)
    edges = [(pred, task) for task, task_preds in enumerate(preds) for pred in task_preds]
    dropped = {task for task, time in enumerate(times) if time == 0}
    if len(dropped) == len(times):
        raise fail(path, None, "tasks", "no task has a positive time", show_value=False)
    try:
        kept_edges = contract_zero_tasks(range(len(times)), edges, dropped)
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None
    src = Path(path)
    kernels = tuple(
        Kernel(f"t{task}", JOB, (Mode(DEVICE, LEVEL, time),), {"stg_id": task})
        for task, time in enumerate(times)
        if task not in dropped
    )
    try:
        return Instance(
            name=name or f"stg-{src.parent.name}-{src.stem}-m{processors}",
            devices=(Device(DEVICE, processors),),
            jobs=(Job(JOB),),
            kernels=kernels,
            edges=tuple(Edge(f"t{u}", f"t{v}") for u, v in kept_edges),
            objective=Objective("makespan"),
            time_unit="unit",
        )
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None


def read_stg(path: str | os.PathLike[str]) -> tuple[list[int], list[list[int]]]:
    """The task times and predecessor lists of an ``.stg`` file, dummies included (ids 0..n+1)."""
    lines = data_lines(path, comment="#")
    if not lines:
        raise fail(path, None, "number of tasks", "the file holds no task graph", show_value=False)
    head = lines[0]
    if len(head.tokens) != 1:
        raise fail(
            path,
            head.number,
            "number of tasks",
            "line 1 must hold only the number of tasks",
            head.text.strip(),
        )
    num_tasks = parse_int(path, head.number, "number of tasks", head.tokens[0], minimum=1)
    num_records = num_tasks + 2
    records = lines[1:]
    if len(records) < num_records:
        last = records[-1].number if records else head.number
        raise fail(
            path,
            last,
            "tasks",
            f"expected {num_records} task lines (n + 2 with the dummies), found {len(records)}",
            len(records),
            show_value=False,
        )
    if len(records) > num_records:
        extra = records[num_records]
        raise fail(
            path,
            extra.number,
            "tasks",
            f"unexpected data after the {num_records} task lines (comments start with #)",
            extra.text.strip(),
        )
    times: list[int] = []
    preds: list[list[int]] = []
    for task, line in enumerate(records):
        task_id, time, num_preds = take_ints(path, line, 0, 3, "task record", minimum=0)
        if task_id != task:
            raise fail(
                path,
                line.number,
                "task id",
                f"expected task {task} (ids run 0..n+1 in order)",
                line.tokens[0],
            )
        task_preds = take_id_list(
            path,
            line,
            num_preds,
            ids=range(num_records),
            own=task,
            list_field=f"predecessors of task {task}",
            item_field=f"predecessor of task {task}",
            what="task",
        )
        if len(set(task_preds)) != len(task_preds):
            raise fail(
                path,
                line.number,
                f"predecessors of task {task}",
                "repeat a task",
                " ".join(line.tokens[3:]),
            )
        times.append(time)
        preds.append(task_preds)
    return times, preds
