"""Exact JSON read and write of ``xpuplan.instance/1`` and ``xpuplan.schedule/1``.

Reading is strict: unknown keys, wrong types and broken rules raise :class:`InvalidInput` naming
the file, the field and the value. Writing goes through a temporary file and a rename, so a failed
command never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from xpuplan.models.bulk import gc_paused
from xpuplan.models.errors import InvalidInput
from xpuplan.models.instance import (
    INSTANCE_FORMAT,
    Device,
    Edge,
    Instance,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
)
from xpuplan.models.schedule import SCHEDULE_FORMAT, Assignment, ObjectiveValue, Schedule

_MISSING = object()


class _Fields:
    """Typed access to one JSON object, with errors that name the field's path."""

    def __init__(self, data: Any, where: str, allowed: tuple[str, ...]) -> None:
        # A parsed JSON object is a dict: that C-level check first, the Mapping ABC's (several
        # times slower, once per object of a file of thousands) only for other mappings.
        if not isinstance(data, dict) and not isinstance(data, Mapping):
            raise InvalidInput("must be a JSON object", field=where or "(document)", value=data)
        unknown = [key for key in data if key not in allowed]
        if unknown:
            field = f"{where}.{unknown[0]}" if where else str(unknown[0])
            raise InvalidInput(
                f"is not a known field (known: {', '.join(allowed)})",
                field=field,
                value=unknown[0],
                show_value=False,
            )
        self.data = data
        self.where = where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise InvalidInput("is required", field=self.path(key), value=None, show_value=False)
        return default

    def list(self, key: str, default: Any = _MISSING) -> list[Any]:
        value = self.get(key, default)
        if not isinstance(value, list):
            raise InvalidInput("must be a JSON array", field=self.path(key), value=value)
        return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("must be a finite number", field=where, value=value)
    return value


# ---------------------------------------------------------------------- instance
def instance_from_json(data: Any) -> Instance:
    """Build an :class:`Instance` from its parsed JSON form."""
    # A few objects per kernel, mode and edge, none in a cycle: see models/bulk.py.
    with gc_paused():
        return _instance_from_json(data)


def _instance_from_json(data: Any) -> Instance:
    doc = _Fields(
        data,
        "",
        (
            "format",
            "name",
            "time_unit",
            "devices",
            "resources",
            "power_cap_w",
            "dvfs",
            "jobs",
            "kernels",
            "edges",
            "objective",
        ),
    )
    fmt = doc.get("format")
    if fmt != INSTANCE_FORMAT:
        raise InvalidInput(f"must be {INSTANCE_FORMAT!r}", field="format", value=fmt)
    devices = []
    for d_idx, raw in enumerate(doc.list("devices")):
        f = _Fields(raw, f"devices[{d_idx}]", ("name", "units", "idle_power_w", "kind"))
        devices.append(
            Device(
                f.get("name"), f.get("units", 1), f.get("idle_power_w", 0.0), f.get("kind", None)
            )
        )
    resources = []
    for r_idx, raw in enumerate(doc.list("resources", [])):
        f = _Fields(raw, f"resources[{r_idx}]", ("name", "capacity"))
        resources.append(Resource(f.get("name"), f.get("capacity")))
    jobs = []
    for j_idx, raw in enumerate(doc.list("jobs")):
        f = _Fields(raw, f"jobs[{j_idx}]", ("name", "release", "deadline", "weight"))
        jobs.append(
            Job(f.get("name"), f.get("release", 0), f.get("deadline", None), f.get("weight", 1.0))
        )
    kernels = []
    for k_idx, raw in enumerate(doc.list("kernels")):
        f = _Fields(raw, f"kernels[{k_idx}]", ("name", "job", "modes", "attrs"))
        modes = []
        for m_idx, mraw in enumerate(f.list("modes")):
            mf = _Fields(
                mraw,
                f"kernels[{k_idx}].modes[{m_idx}]",
                ("device", "level", "duration", "power_w", "demands"),
            )
            demands = mf.get("demands", {})
            if not isinstance(demands, Mapping):
                raise InvalidInput("must be a JSON object", field=mf.path("demands"), value=demands)
            modes.append(
                Mode(
                    mf.get("device"),
                    mf.get("level", ""),
                    mf.get("duration"),
                    mf.get("power_w", 0.0),
                    dict(demands),
                )
            )
        attrs = f.get("attrs", {})
        if not isinstance(attrs, Mapping):
            raise InvalidInput("must be a JSON object", field=f.path("attrs"), value=attrs)
        kernels.append(Kernel(f.get("name"), f.get("job"), tuple(modes), dict(attrs)))
    edges = []
    for e_idx, raw in enumerate(doc.list("edges", [])):
        f = _Fields(raw, f"edges[{e_idx}]", ("src", "dst", "cross_device_delay", "resume_cost"))
        edges.append(
            Edge(
                f.get("src"), f.get("dst"), f.get("cross_device_delay", 0), f.get("resume_cost", 0)
            )
        )
    objective = _objective_from_json(doc.get("objective", {"type": "makespan"}), "objective")
    # An empty problem is legal in memory (a run in which nothing completed) but a file with
    # nothing to schedule is a mistake the solvers should not meet.
    if not jobs:
        raise InvalidInput("must list at least one job", field="jobs", value=[])
    if not kernels:
        raise InvalidInput("must list at least one kernel", field="kernels", value=[])
    return Instance(
        name=doc.get("name"),
        devices=tuple(devices),
        jobs=tuple(jobs),
        kernels=tuple(kernels),
        edges=tuple(edges),
        objective=objective,
        resources=tuple(resources),
        power_cap_w=doc.get("power_cap_w", None),
        dvfs=doc.get("dvfs", "per-kernel"),
        time_unit=doc.get("time_unit", "us"),
    )


def _objective_from_json(raw: Any, where: str) -> Objective:
    f = _Fields(raw, where, ("type", "objectives"))
    subs = tuple(
        _objective_from_json(sub, f"{where}.objectives[{o_idx}]")
        for o_idx, sub in enumerate(f.list("objectives", []))
    )
    obj = Objective(f.get("type"), subs)
    obj.validate(where)
    return obj


def instance_to_json(instance: Instance) -> dict[str, Any]:
    """The JSON form of an instance; ``instance_from_json`` reads it back equal."""
    out: dict[str, Any] = {
        "format": INSTANCE_FORMAT,
        "name": instance.name,
        "time_unit": instance.time_unit,
        "devices": [_device_json(dev) for dev in instance.devices],
    }
    if instance.resources:
        out["resources"] = [{"name": r.name, "capacity": r.capacity} for r in instance.resources]
    out["power_cap_w"] = instance.power_cap_w
    out["dvfs"] = instance.dvfs
    out["jobs"] = [
        {"name": j.name, "release": j.release, "deadline": j.deadline, "weight": j.weight}
        for j in instance.jobs
    ]
    out["kernels"] = [_kernel_json(ker) for ker in instance.kernels]
    out["edges"] = [_edge_json(e) for e in instance.edges]
    out["objective"] = instance.objective.to_json()
    return out


def _device_json(dev: Device) -> dict[str, Any]:
    out: dict[str, Any] = {"name": dev.name, "units": dev.units, "idle_power_w": dev.idle_power_w}
    if dev.kind is not None:
        out["kind"] = dev.kind
    return out


def _kernel_json(ker: Kernel) -> dict[str, Any]:
    modes = []
    for m in ker.modes:
        mode: dict[str, Any] = {
            "device": m.device,
            "level": m.level,
            "duration": m.duration,
            "power_w": m.power_w,
        }
        if m.demands:
            mode["demands"] = dict(m.demands)
        modes.append(mode)
    out: dict[str, Any] = {"name": ker.name, "job": ker.job, "modes": modes}
    if ker.attrs:
        out["attrs"] = dict(ker.attrs)
    return out


def _edge_json(edge: Edge) -> dict[str, Any]:
    out: dict[str, Any] = {"src": edge.src, "dst": edge.dst}
    if edge.cross_device_delay:
        out["cross_device_delay"] = edge.cross_device_delay
    if edge.resume_cost:
        out["resume_cost"] = edge.resume_cost
    return out


# ---------------------------------------------------------------------- schedule
def schedule_from_json(data: Any) -> Schedule:
    """Build a :class:`Schedule` from its parsed JSON form."""
    doc = _Fields(
        data,
        "",
        (
            "format",
            "instance",
            "solver",
            "status",
            "objective",
            "lower_bound",
            "solve_seconds",
            "assignments",
            "preemptions",
            "message",
        ),
    )
    fmt = doc.get("format")
    if fmt != SCHEDULE_FORMAT:
        raise InvalidInput(f"must be {SCHEDULE_FORMAT!r}", field="format", value=fmt)
    assignments = []
    for a_idx, raw in enumerate(doc.list("assignments")):
        f = _Fields(
            raw, f"assignments[{a_idx}]", ("kernel", "device", "unit", "level", "start", "end")
        )
        assignments.append(
            Assignment(
                f.get("kernel"),
                f.get("device"),
                f.get("unit", 0),
                f.get("level", ""),
                f.get("start"),
                f.get("end"),
            )
        )
    preemptions = None
    if doc.get("preemptions", None) is not None:
        preemptions = []
        for p_idx, pair in enumerate(doc.list("preemptions")):
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(x, str) for x in pair)
            ):
                raise InvalidInput(
                    "must be a pair of kernel names", field=f"preemptions[{p_idx}]", value=pair
                )
            preemptions.append((pair[0], pair[1]))
    solve_seconds = doc.get("solve_seconds", 0.0)
    _number(solve_seconds, "solve_seconds")
    message = doc.get("message", None)
    if message is not None and not isinstance(message, str):
        raise InvalidInput("must be a string or null", field="message", value=message)
    return Schedule(
        instance=doc.get("instance"),
        assignments=tuple(assignments),
        solver=str(doc.get("solver", "")),
        status=doc.get("status", "feasible"),
        objective=_value_from_json(doc.get("objective", None), "objective"),
        lower_bound=_value_from_json(doc.get("lower_bound", None), "lower_bound"),
        solve_seconds=float(solve_seconds),
        preemptions=None if preemptions is None else tuple(preemptions),
        message=message,
    )


def _value_from_json(raw: Any, where: str) -> ObjectiveValue | None:
    if raw is None:
        return None
    if isinstance(raw, list):
        return tuple(_number(x, f"{where}[{i}]") for i, x in enumerate(raw))
    return _number(raw, where)


def _value_to_json(value: ObjectiveValue | None) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    """The JSON form of a schedule; ``schedule_from_json`` reads it back equal."""
    out: dict[str, Any] = {
        "format": SCHEDULE_FORMAT,
        "instance": schedule.instance,
        "solver": schedule.solver,
        "status": schedule.status,
        "objective": _value_to_json(schedule.objective),
        "lower_bound": _value_to_json(schedule.lower_bound),
        "solve_seconds": schedule.solve_seconds,
        "assignments": [
            {
                "kernel": a.kernel,
                "device": a.device,
                "unit": a.unit,
                "level": a.level,
                "start": a.start,
                "end": a.end,
            }
            for a in schedule.assignments
        ],
    }
    if schedule.preemptions is not None:
        out["preemptions"] = [list(p) for p in schedule.preemptions]
    if schedule.message is not None:
        out["message"] = schedule.message
    return out


# ---------------------------------------------------------------------- files
def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; a missing or malformed file raises :class:`InvalidInput` naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise InvalidInput("is a folder, not a file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot be read: {exc}", file=str(path)) from None
    return parse_json(text, str(path))


def parse_json(text: str, source: str) -> Any:
    """Parse JSON text; errors name ``source`` (``NaN`` is left to the field checks)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=source
        ) from None
    except RecursionError:
        raise InvalidInput("is nested too deeply to read", file=source) from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise InvalidInput(
            f"holds a number that cannot be read ({str(exc).split(';')[0]})", file=source
        ) from None


def load_instance(path: str | os.PathLike[str]) -> Instance:
    """Read an ``xpuplan.instance/1`` file.

    Parameters
    ----------
    path
        The JSON file (``docs/formats.md`` describes the format).

    Returns
    -------
    Instance
        Validated; equal to the instance :func:`save_instance` wrote.

    Raises
    ------
    InvalidInput
        Naming the file, the field and the value at fault.

    Examples
    --------
    >>> import tempfile
    >>> from xpuplan.models import Device, Instance, Job, Kernel, Mode
    >>> inst = Instance("tiny", devices=(Device("cpu"),), jobs=(Job("j"),),
    ...                 kernels=(Kernel("k", "j", (Mode("cpu", "max", 5),)),))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_instance(f"{folder}/tiny.json", inst)
    ...     load_instance(f"{folder}/tiny.json") == inst
    True
    """
    with gc_paused():  # the parsed document is acyclic too (see instance_from_json)
        data = read_json(path)
    try:
        return instance_from_json(data)
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None


def load_schedule(path: str | os.PathLike[str]) -> Schedule:
    """Read an ``xpuplan.schedule/1`` file.

    Parameters
    ----------
    path
        The JSON file (``docs/formats.md`` describes the format).

    Returns
    -------
    Schedule
        Validated as data; :func:`xpuplan.models.check_schedule` checks it against its instance.

    Raises
    ------
    InvalidInput
        Naming the file, the field and the value at fault.

    Examples
    --------
    >>> import tempfile
    >>> sched = Schedule("tiny", (Assignment("k", "cpu", 0, "max", 0, 5),), objective=5)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_schedule(f"{folder}/sched.json", sched)
    ...     load_schedule(f"{folder}/sched.json") == sched
    True
    """
    data = read_json(path)
    try:
        return schedule_from_json(data)
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None


#: What writes one output file: called with the temporary path to write, in the target's folder.
FileWriter = Callable[[Path], None]


def check_output_path(path: str | os.PathLike[str], field: str = "-o") -> Path:
    """The file a write to ``path`` lands in, checked before any work is done.

    A symbolic link is followed (the link stays, its target is written). The target must be a
    regular file or not exist yet, and its folder must exist and be writable.

    Raises
    ------
    InvalidInput
        Naming ``field`` (the option that gave the path) and the path.
    """
    text = os.fspath(path)
    if not text:
        raise InvalidInput("must be a file name", field=field, value=text)
    target = Path(os.path.realpath(text))
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InvalidInput(f"cannot be written: {exc.strerror}", field=field, value=text) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise InvalidInput("is a folder; give a file name inside it", field=field, value=text)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(
                "is not a regular file (a device, pipe or socket); give a file name",
                field=field,
                value=text,
            )
        if not os.access(target, os.W_OK):
            raise InvalidInput("is a read-only file", field=field, value=text)
    folder = target.parent
    if not folder.is_dir():
        raise InvalidInput(
            f"cannot be written: the folder {str(folder)!r} does not exist",
            field=field,
            value=text,
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInput(
            f"cannot be written: the folder {str(folder)!r} is not writable",
            field=field,
            value=text,
        )
    return target


def check_output_paths(outputs: Sequence[tuple[str, str | os.PathLike[str] | None]]) -> None:
    """Check every ``(option, path)`` (None: not asked for) and that no two name one file."""
    seen: dict[Path, str] = {}
    for field, path in outputs:
        if path is None:
            continue
        target = check_output_path(path, field)
        if target in seen:
            raise InvalidInput(
                f"names the same file as {seen[target]}", field=field, value=os.fspath(path)
            )
        seen[target] = field


def write_files(items: Sequence[tuple[str | os.PathLike[str], FileWriter]]) -> None:
    """Write several files, all or none.

    Each writer fills a temporary file in its target's folder; only when every one succeeded are
    they renamed onto their targets (symbolic links followed, see :func:`check_output_path`).
    A failure removes the temporary files and leaves every target as it was.
    """
    targets = [check_output_path(path, "output") for path, _ in items]
    temps: list[Path] = []
    try:
        for target, (_, writer) in zip(targets, items, strict=True):
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
            )
            os.close(fd)
            tmp = Path(tmp_name)
            temps.append(tmp)
            # mkstemp makes the file private (0600); give it the permissions the file would
            # have had if written in place: those of the file it replaces, or the umask's.
            os.chmod(tmp, _file_mode(target))
            writer(tmp)
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise


def json_writer(data: Any, *, indent: int | None = 1) -> FileWriter:
    """A :data:`FileWriter` of ``data`` as strict JSON (serialised now, so errors come first)."""
    text = json.dumps(data, indent=indent, allow_nan=False) + "\n"

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return write


def write_json(path: str | os.PathLike[str], data: Any, *, indent: int | None = 1) -> None:
    """Write JSON atomically (see :func:`write_files`)."""
    write_files([(path, json_writer(data, indent=indent))])


def _file_mode(target: Path) -> int:
    """The permission bits of ``target`` if it exists, else ``0o666`` less the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask


def save_instance(path: str | os.PathLike[str], instance: Instance) -> None:
    """Write ``instance`` as an ``xpuplan.instance/1`` file, atomically.

    Parameters
    ----------
    path
        The file to write (its folder must exist); a failed write leaves no partial file.
    instance
        The instance; :func:`load_instance` reads it back equal.

    Examples
    --------
    >>> import tempfile
    >>> from xpuplan.models import Device, Instance, Job, Kernel, Mode
    >>> inst = Instance("tiny", devices=(Device("cpu"),), jobs=(Job("j"),),
    ...                 kernels=(Kernel("k", "j", (Mode("cpu", "max", 5),)),))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_instance(f"{folder}/tiny.json", inst)
    ...     load_instance(f"{folder}/tiny.json").name
    'tiny'
    """
    write_json(path, instance_to_json(instance))


def save_schedule(path: str | os.PathLike[str], schedule: Schedule) -> None:
    """Write ``schedule`` as an ``xpuplan.schedule/1`` file, atomically.

    Parameters
    ----------
    path
        The file to write (its folder must exist); a failed write leaves no partial file.
    schedule
        The schedule; :func:`load_schedule` reads it back equal.

    Examples
    --------
    >>> import tempfile
    >>> sched = Schedule("tiny", (Assignment("k", "cpu", 0, "max", 0, 5),), status="optimal")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_schedule(f"{folder}/sched.json", sched)
    ...     load_schedule(f"{folder}/sched.json").status
    'optimal'
    """
    write_json(path, schedule_to_json(schedule))
