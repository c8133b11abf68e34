"""Platforms: the devices of a heterogeneous SoC, their DVFS levels, power, memory and power modes.

A :class:`Platform` is validated, immutable data. Presets live in :mod:`xpuplan.models.presets`;
users' own platforms load from YAML with :func:`load_platform` and get the same validation.

Conventions
-----------
* A device has ``units`` identical, exclusive units (e.g. the two Cortex-A78AE clusters of an Orin
  NX are one ``cpu`` device with 2 units; a kernel on the CPU occupies one cluster).
* ``peak_ops`` is per unit at the top DVFS level, in operations per second per precision
  (a multiply-accumulate counts as 2 operations).
* A DVFS level's ``speed`` scales compute throughput relative to the top level (1.0); its
  ``power_w`` is the dynamic power of one unit running flat out at that level.
* The roofline time of ``W`` operations moving ``Q`` bytes at a level is
  ``max(W / (peak * speed * compute_efficiency), Q / (bandwidth_gbps * 1e9 * bandwidth_efficiency))
  + launch_overhead_us`` (see :mod:`xpuplan.models.costs`).
* ``idle_power_w`` is the static power of one unit, paid whenever the platform is on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from xpuplan.models.errors import InvalidInput
from xpuplan.models.fields import (
    MAX_REAL,
    MAX_UNITS,
    only_known,
    require_int,
    require_positive,
    required,
)
from xpuplan.models.yamlio import read_yaml

DEVICE_KINDS = ("cpu", "gpu", "npu", "dla")
PRECISIONS = ("fp32", "fp16", "bf16", "int8", "int4")


def _frozen_map(value: Mapping[str, Any]) -> MappingProxyType[str, Any]:
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


@dataclass(frozen=True)
class DvfsLevel:
    """One operating point of a device.

    Parameters
    ----------
    name
        Label used in instances and schedules, e.g. ``"918MHz"``.
    freq_mhz
        Clock frequency.
    speed
        Compute throughput relative to the device's top level (top level = 1.0).
    power_w
        Dynamic power of one unit running flat out at this level.
    """

    name: str
    freq_mhz: float
    speed: float
    power_w: float

    def validate(self, where: str) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInput("must be a non-empty string", field=f"{where}.name", value=self.name)
        require_positive(self.freq_mhz, f"{where}.freq_mhz")
        require_positive(self.speed, f"{where}.speed")
        if self.speed > 1:
            raise InvalidInput(
                "must be at most 1 (speed is relative to the device's top level)",
                field=f"{where}.speed",
                value=self.speed,
            )
        require_positive(self.power_w, f"{where}.power_w", allow_zero=True, maximum=MAX_REAL)


# Execution providers of ONNX Runtime (``onnxruntime.get_all_providers()`` of onnxruntime 1.32, and
# providers of its vendor builds: VitisAI, OpenVINO, QNN...); tests/models/test_onnx.py checks that
# this list holds every provider the installed onnxruntime knows.
ORT_PROVIDERS = frozenset(
    {
        "CPUExecutionProvider",
        "CUDAExecutionProvider",
        "TensorrtExecutionProvider",
        "NvTensorRTRTXExecutionProvider",
        "MIGraphXExecutionProvider",
        "ROCMExecutionProvider",
        "OpenVINOExecutionProvider",
        "VitisAIExecutionProvider",
        "DmlExecutionProvider",
        "QNNExecutionProvider",
        "CoreMLExecutionProvider",
        "NnapiExecutionProvider",
        "XnnpackExecutionProvider",
        "DnnlExecutionProvider",
        "ACLExecutionProvider",
        "ArmNNExecutionProvider",
        "RknpuExecutionProvider",
        "SNPEExecutionProvider",
        "CANNExecutionProvider",
        "TvmExecutionProvider",
        "VSINPUExecutionProvider",
        "WebGpuExecutionProvider",
        "WebNNExecutionProvider",
        "JsExecutionProvider",
        "AzureExecutionProvider",
    }
)


@dataclass(frozen=True)
class OrtBinding:
    """How a device runs ONNX models: an ONNX Runtime execution provider and its options.

    Parameters
    ----------
    provider
        An execution provider name (:data:`ORT_PROVIDERS`), e.g. ``"OpenVINOExecutionProvider"``.
    options
        The provider's options (``provider_options`` of ``onnxruntime.InferenceSession``), e.g.
        ``{"device_type": "NPU"}``.
    threads
        ``intra_op_num_threads`` of the session (None: ONNX Runtime's default); a kernel on a CPU
        device occupies one unit, so a CPU binding's threads are the threads of one unit.
    """

    provider: str
    options: Mapping[str, Any] = field(default_factory=dict)
    threads: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", _frozen_map(self.options))

    def validate(self, where: str) -> None:
        if self.provider not in ORT_PROVIDERS:
            raise InvalidInput(
                "is not an ONNX Runtime execution provider (e.g. CPUExecutionProvider, "
                "CUDAExecutionProvider, OpenVINOExecutionProvider)",
                field=f"{where}.provider",
                value=self.provider,
            )
        for key, value in self.options.items():
            if not isinstance(key, str) or not isinstance(value, str | int | float | bool):
                raise InvalidInput(
                    "must map option names to strings, numbers or booleans",
                    field=f"{where}.options.{key}",
                    value=value,
                )
        if self.threads is not None:
            require_int(self.threads, f"{where}.threads", 1)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"provider": self.provider, "options": dict(self.options)}
        if self.threads is not None:
            out["threads"] = self.threads
        return out


def binding_from_dict(raw: Any, where: str) -> OrtBinding:
    """An :class:`OrtBinding` from its YAML form ``{provider, options, threads}``."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("must be a mapping with a provider", field=where, value=raw)
    only_known(raw, {"provider", "options", "threads"}, where)
    options = raw.get("options", {})
    if not isinstance(options, Mapping):
        raise InvalidInput("must be a mapping", field=f"{where}.options", value=options)
    return OrtBinding(required(raw, "provider", where), dict(options), raw.get("threads"))


@dataclass(frozen=True)
class DeviceSpec:
    """A device of a platform (see the module docstring for the units of each number)."""

    name: str
    kind: str
    units: int
    levels: tuple[DvfsLevel, ...]
    idle_power_w: float
    peak_ops: Mapping[str, float]
    bandwidth_gbps: float
    compute_efficiency: float = 0.5
    bandwidth_efficiency: float = 0.7
    launch_overhead_us: float = 0.0
    unsupported_ops: frozenset[str] = frozenset()
    onnxruntime: OrtBinding | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        object.__setattr__(self, "peak_ops", _frozen_map(self.peak_ops))
        object.__setattr__(self, "unsupported_ops", frozenset(self.unsupported_ops))

    def validate(self, where: str) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInput("must be a non-empty string", field=f"{where}.name", value=self.name)
        if self.kind not in DEVICE_KINDS:
            raise InvalidInput(
                f"must be one of {', '.join(DEVICE_KINDS)}", field=f"{where}.kind", value=self.kind
            )
        require_int(self.units, f"{where}.units", 1, MAX_UNITS)
        if not self.levels:
            raise InvalidInput(
                "must list at least one DVFS level", field=f"{where}.levels", value=[]
            )
        names = set()
        for l_idx, level in enumerate(self.levels):
            level.validate(f"{where}.levels[{l_idx}]")
            if level.name in names:
                raise InvalidInput(
                    "repeats a level name", field=f"{where}.levels[{l_idx}].name", value=level.name
                )
            names.add(level.name)
        freqs = [level.freq_mhz for level in self.levels]
        if freqs != sorted(freqs) or len(set(freqs)) != len(freqs):
            raise InvalidInput(
                "must be listed by strictly increasing frequency",
                field=f"{where}.levels",
                value=freqs,
            )
        # A faster clock that computes slower or draws less power is a data error, and it would
        # break the solvers' assumption that a higher level trades energy for time.
        for l_idx in range(1, len(self.levels)):
            lower, higher = self.levels[l_idx - 1], self.levels[l_idx]
            for attr in ("speed", "power_w"):
                if getattr(higher, attr) < getattr(lower, attr):
                    raise InvalidInput(
                        f"must not fall as the frequency rises (the level below has "
                        f"{getattr(lower, attr):g})",
                        field=f"{where}.levels[{l_idx}].{attr}",
                        value=getattr(higher, attr),
                    )
        require_positive(
            self.idle_power_w, f"{where}.idle_power_w", allow_zero=True, maximum=MAX_REAL
        )
        if not self.peak_ops:
            raise InvalidInput(
                "must give the peak throughput of at least one precision",
                field=f"{where}.peak_ops",
                value={},
            )
        for prec, ops in self.peak_ops.items():
            if prec not in PRECISIONS:
                raise InvalidInput(
                    f"must be one of {', '.join(PRECISIONS)}",
                    field=f"{where}.peak_ops",
                    value=prec,
                )
            require_positive(ops, f"{where}.peak_ops.{prec}")
        require_positive(self.bandwidth_gbps, f"{where}.bandwidth_gbps")
        for attr in ("compute_efficiency", "bandwidth_efficiency"):
            value = getattr(self, attr)
            require_positive(value, f"{where}.{attr}")
            if value > 1:
                raise InvalidInput("must be at most 1", field=f"{where}.{attr}", value=value)
        require_positive(
            self.launch_overhead_us, f"{where}.launch_overhead_us", allow_zero=True, maximum=1e9
        )
        if self.onnxruntime is not None:
            if not isinstance(self.onnxruntime, OrtBinding):
                raise InvalidInput(
                    "must be an ONNX Runtime binding",
                    field=f"{where}.onnxruntime",
                    value=self.onnxruntime,
                )
            self.onnxruntime.validate(f"{where}.onnxruntime")

    @property
    def top_level(self) -> DvfsLevel:
        return self.levels[-1]

    def level(self, name: str) -> DvfsLevel:
        for level in self.levels:
            if level.name == name:
                return level
        raise InvalidInput(
            f"device {self.name!r} has no such DVFS level", field="level", value=name
        )

    def supports(self, op_type: str) -> bool:
        return op_type not in self.unsupported_ops


@dataclass(frozen=True)
class PowerMode:
    """A named power mode (e.g. nvpmodel's 15W): caps on levels and active units, and a budget.

    Parameters
    ----------
    max_freq_mhz
        Device name -> highest allowed frequency; levels above it are removed.
    units
        Device name -> number of active units (the others are powered off: no idle power).
    compute_scale
        Device name -> fraction of the device's compute that stays on (e.g. 2 of 4 GPU TPCs).
    power_budget_w
        The platform's power budget in this mode (None keeps the platform's).
    mem_bw_gbps
        A cap on the shared memory bandwidth (e.g. a lowered memory clock).
    """

    name: str
    max_freq_mhz: Mapping[str, float] = field(default_factory=dict)
    units: Mapping[str, int] = field(default_factory=dict)
    compute_scale: Mapping[str, float] = field(default_factory=dict)
    power_budget_w: float | None = None
    mem_bw_gbps: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        for attr in ("max_freq_mhz", "units", "compute_scale"):
            object.__setattr__(self, attr, _frozen_map(getattr(self, attr)))


@dataclass(frozen=True)
class Platform:
    """A heterogeneous SoC.

    Parameters
    ----------
    devices
        The devices, each with its DVFS levels and roofline parameters.
    mem_bw_gbps
        Peak bandwidth of the shared memory.
    unified_memory
        True when all devices share one physical memory (no copies between devices).
    transfer_gbps
        Bandwidth of a copy between two devices' memories (ignored with unified memory).
    sync_overhead_us
        What a hand-over between two devices costs even on unified memory (fences, cache
        maintenance, a driver round trip).
    power_budget_w
        The platform's power budget (a cap on total power), or None.
    power_modes
        Named modes; ``default_power_mode`` (if any) names the one applied by default.
    power_mode
        The mode already applied by :meth:`with_power_mode` (None: the platform as defined).
    """

    name: str
    devices: tuple[DeviceSpec, ...]
    mem_bw_gbps: float
    description: str = ""
    unified_memory: bool = True
    transfer_gbps: float = 0.0
    sync_overhead_us: float = 0.0
    power_budget_w: float | None = None
    power_modes: tuple[PowerMode, ...] = ()
    default_power_mode: str | None = None
    power_mode: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", tuple(self.devices))
        object.__setattr__(self, "power_modes", tuple(self.power_modes))
        self._validate()

    def _validate(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInput("must be a non-empty string", field="name", value=self.name)
        if not self.devices:
            raise InvalidInput("must list at least one device", field="devices", value=[])
        names = set()
        for d_idx, dev in enumerate(self.devices):
            dev.validate(f"devices[{d_idx}]")
            if dev.name in names:
                raise InvalidInput("repeats a name", field=f"devices[{d_idx}].name", value=dev.name)
            names.add(dev.name)
        require_positive(self.mem_bw_gbps, "mem_bw_gbps")
        require_positive(self.transfer_gbps, "transfer_gbps", allow_zero=True)
        if not self.unified_memory and self.transfer_gbps < 1e-3:
            raise InvalidInput(
                "must be at least 0.001 (GB/s) when memory is not unified",
                field="transfer_gbps",
                value=self.transfer_gbps,
            )
        require_positive(self.sync_overhead_us, "sync_overhead_us", allow_zero=True, maximum=1e9)
        if self.power_budget_w is not None:
            require_positive(self.power_budget_w, "power_budget_w", maximum=MAX_REAL)
            if self.power_budget_w < self.idle_power_w:
                raise InvalidInput(
                    f"is below the platform's idle power ({self.idle_power_w:g} W)",
                    field="power_budget_w",
                    value=self.power_budget_w,
                )
        mode_names = set()
        for p_idx, mode in enumerate(self.power_modes):
            where = f"power_modes[{p_idx}]"
            if not isinstance(mode.name, str) or not mode.name or mode.name in mode_names:
                raise InvalidInput(
                    "must be a new non-empty name", field=f"{where}.name", value=mode.name
                )
            mode_names.add(mode.name)
            for attr in ("max_freq_mhz", "units", "compute_scale"):
                for dev_name, value in getattr(mode, attr).items():
                    if dev_name not in names:
                        raise InvalidInput(
                            "names no device of this platform",
                            field=f"{where}.{attr}",
                            value=dev_name,
                        )
                    require_positive(value, f"{where}.{attr}.{dev_name}")
            for dev_name, units in mode.units.items():
                if not isinstance(units, int) or units > self.device(dev_name).units:
                    most = self.device(dev_name).units
                    raise InvalidInput(
                        f"must be an integer between 1 and the device's {most} units",
                        field=f"{where}.units.{dev_name}",
                        value=units,
                    )
            for dev_name, scale in mode.compute_scale.items():
                if scale > 1:
                    raise InvalidInput(
                        "must be at most 1 (the fraction of the device's compute left on)",
                        field=f"{where}.compute_scale.{dev_name}",
                        value=scale,
                    )
            for dev_name, cap in mode.max_freq_mhz.items():
                if cap < self.device(dev_name).levels[0].freq_mhz:
                    raise InvalidInput(
                        "is below the device's lowest DVFS level",
                        field=f"{where}.max_freq_mhz.{dev_name}",
                        value=cap,
                    )
            if mode.power_budget_w is not None:
                require_positive(mode.power_budget_w, f"{where}.power_budget_w")
                idle = sum(
                    mode.units.get(dev.name, dev.units) * dev.idle_power_w for dev in self.devices
                )
                if mode.power_budget_w < idle:
                    raise InvalidInput(
                        f"is below the platform's idle power in this mode ({idle:g} W)",
                        field=f"{where}.power_budget_w",
                        value=mode.power_budget_w,
                    )
            if mode.mem_bw_gbps is not None:
                require_positive(mode.mem_bw_gbps, f"{where}.mem_bw_gbps")
        for attr in ("default_power_mode", "power_mode"):
            if getattr(self, attr) is not None and getattr(self, attr) not in mode_names:
                raise InvalidInput(
                    "names no power mode of this platform", field=attr, value=getattr(self, attr)
                )

    # ------------------------------------------------------------------ lookups
    @property
    def device_names(self) -> tuple[str, ...]:
        return tuple(dev.name for dev in self.devices)

    def device(self, name: str) -> DeviceSpec:
        for dev in self.devices:
            if dev.name == name:
                return dev
        raise InvalidInput(
            f"platform {self.name!r} has no such device (devices: {', '.join(self.device_names)})",
            field="device",
            value=name,
        )

    @property
    def idle_power_w(self) -> float:
        """Static power of every unit of every device."""
        return sum(dev.units * dev.idle_power_w for dev in self.devices)

    def transfer_delay_us(self, num_bytes: float) -> float:
        """Time to hand ``num_bytes`` of data from one device to another."""
        if self.unified_memory:
            return self.sync_overhead_us
        return self.sync_overhead_us + num_bytes / (self.transfer_gbps * 1e3)

    def with_power_mode(self, name: str) -> Platform:
        """The platform as it runs in power mode ``name``: capped levels, units, budget.

        Levels above a device's frequency cap are removed, active units and compute are scaled,
        and the mode's budget and memory bandwidth replace the platform's where given.
        Modes do not stack: applying a second, different mode is an error.
        """
        if self.power_mode == name:
            return self
        if self.power_mode is not None:
            raise InvalidInput(
                f"platform {self.name!r} is already in power mode {self.power_mode!r}; "
                "apply a mode to the platform as defined",
                field="power_mode",
                value=name,
            )
        mode = next((m for m in self.power_modes if m.name == name), None)
        if mode is None:
            known = ", ".join(m.name for m in self.power_modes) or "none"
            raise InvalidInput(
                f"platform {self.name!r} has no such power mode (modes: {known})",
                field="power_mode",
                value=name,
            )
        devices = []
        for dev in self.devices:
            cap = mode.max_freq_mhz.get(dev.name)
            scale = mode.compute_scale.get(dev.name, 1.0)
            # Speeds stay relative to the device's true top level, so a capped mode is slower;
            # gated compute (e.g. 2 of 4 TPCs) draws no dynamic power either.
            levels = tuple(
                replace(lvl, power_w=lvl.power_w * scale)
                for lvl in dev.levels
                if cap is None or lvl.freq_mhz <= cap + 1e-6
            )
            devices.append(
                replace(
                    dev,
                    levels=levels,
                    units=mode.units.get(dev.name, dev.units),
                    peak_ops={p: ops * scale for p, ops in dev.peak_ops.items()},
                )
            )
        return replace(
            self,
            devices=tuple(devices),
            power_budget_w=mode.power_budget_w
            if mode.power_budget_w is not None
            else self.power_budget_w,
            mem_bw_gbps=min(self.mem_bw_gbps, mode.mem_bw_gbps or self.mem_bw_gbps),
            power_mode=name,
        )


# ---------------------------------------------------------------------- YAML
def platform_from_dict(data: Any) -> Platform:
    """Build a platform from a parsed YAML/JSON document (the shape of :func:`platform_to_dict`)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("must be a mapping", field="(document)", value=data)
    allowed = {
        "name",
        "description",
        "devices",
        "mem_bw_gbps",
        "unified_memory",
        "transfer_gbps",
        "sync_overhead_us",
        "power_budget_w",
        "power_modes",
        "default_power_mode",
        "power_mode",
    }
    only_known(data, allowed, "")
    for key in ("name", "default_power_mode", "power_mode"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InvalidInput("must be a string", field=key, value=data[key])
    devices = []
    raw_devices = data.get("devices")
    if not isinstance(raw_devices, list):
        raise InvalidInput("must be a list", field="devices", value=raw_devices)
    for d_idx, raw in enumerate(raw_devices):
        where = f"devices[{d_idx}]"
        if not isinstance(raw, Mapping):
            raise InvalidInput("must be a mapping", field=where, value=raw)
        only_known(
            raw,
            {
                "name",
                "kind",
                "units",
                "levels",
                "idle_power_w",
                "peak_ops",
                "bandwidth_gbps",
                "compute_efficiency",
                "bandwidth_efficiency",
                "launch_overhead_us",
                "unsupported_ops",
                "onnxruntime",
            },
            where,
        )
        levels = []
        raw_levels = raw.get("levels")
        if not isinstance(raw_levels, list):
            raise InvalidInput("must be a list", field=f"{where}.levels", value=raw_levels)
        for l_idx, lraw in enumerate(raw_levels):
            lwhere = f"{where}.levels[{l_idx}]"
            if not isinstance(lraw, Mapping):
                raise InvalidInput("must be a mapping", field=lwhere, value=lraw)
            only_known(lraw, {"name", "freq_mhz", "speed", "power_w"}, lwhere)
            levels.append(
                DvfsLevel(
                    required(lraw, "name", lwhere),
                    required(lraw, "freq_mhz", lwhere),
                    required(lraw, "speed", lwhere),
                    required(lraw, "power_w", lwhere),
                )
            )
        peak = raw.get("peak_ops", {})
        if not isinstance(peak, Mapping):
            raise InvalidInput("must be a mapping", field=f"{where}.peak_ops", value=peak)
        unsupported = raw.get("unsupported_ops", [])
        if not isinstance(unsupported, list) or not all(isinstance(x, str) for x in unsupported):
            raise InvalidInput(
                "must be a list of op types", field=f"{where}.unsupported_ops", value=unsupported
            )
        devices.append(
            DeviceSpec(
                name=required(raw, "name", where),
                kind=required(raw, "kind", where),
                units=raw.get("units", 1),
                levels=tuple(levels),
                idle_power_w=raw.get("idle_power_w", 0.0),
                peak_ops=dict(peak),
                bandwidth_gbps=required(raw, "bandwidth_gbps", where),
                compute_efficiency=raw.get("compute_efficiency", 0.5),
                bandwidth_efficiency=raw.get("bandwidth_efficiency", 0.7),
                launch_overhead_us=raw.get("launch_overhead_us", 0.0),
                unsupported_ops=frozenset(unsupported),
                onnxruntime=None
                if raw.get("onnxruntime") is None
                else binding_from_dict(raw["onnxruntime"], f"{where}.onnxruntime"),
            )
        )
    modes = []
    raw_modes = data.get("power_modes", [])
    if not isinstance(raw_modes, list):
        raise InvalidInput("must be a list", field="power_modes", value=raw_modes)
    for p_idx, raw in enumerate(raw_modes):
        where = f"power_modes[{p_idx}]"
        if not isinstance(raw, Mapping):
            raise InvalidInput("must be a mapping", field=where, value=raw)
        only_known(
            raw,
            {
                "name",
                "max_freq_mhz",
                "units",
                "compute_scale",
                "power_budget_w",
                "mem_bw_gbps",
                "description",
            },
            where,
        )
        for attr in ("max_freq_mhz", "units", "compute_scale"):
            if not isinstance(raw.get(attr, {}), Mapping):
                raise InvalidInput(
                    "must be a mapping", field=f"{where}.{attr}", value=raw.get(attr)
                )
        modes.append(
            PowerMode(
                name=required(raw, "name", where),
                max_freq_mhz=dict(raw.get("max_freq_mhz", {})),
                units=dict(raw.get("units", {})),
                compute_scale=dict(raw.get("compute_scale", {})),
                power_budget_w=raw.get("power_budget_w"),
                mem_bw_gbps=raw.get("mem_bw_gbps"),
                description=str(raw.get("description", "")),
            )
        )
    return Platform(
        name=required(data, "name", ""),
        devices=tuple(devices),
        mem_bw_gbps=required(data, "mem_bw_gbps", ""),
        description=str(data.get("description", "")),
        unified_memory=_bool(data.get("unified_memory", True), "unified_memory"),
        transfer_gbps=data.get("transfer_gbps", 0.0),
        sync_overhead_us=data.get("sync_overhead_us", 0.0),
        power_budget_w=data.get("power_budget_w"),
        power_modes=tuple(modes),
        default_power_mode=data.get("default_power_mode"),
        power_mode=data.get("power_mode"),
    )


def platform_to_dict(platform: Platform) -> dict[str, Any]:
    """The YAML/JSON form of a platform; :func:`platform_from_dict` reads it back equal."""
    return {
        "name": platform.name,
        "description": platform.description,
        "mem_bw_gbps": platform.mem_bw_gbps,
        "unified_memory": platform.unified_memory,
        "transfer_gbps": platform.transfer_gbps,
        "sync_overhead_us": platform.sync_overhead_us,
        "power_budget_w": platform.power_budget_w,
        "default_power_mode": platform.default_power_mode,
        "power_mode": platform.power_mode,
        "devices": [
            {
                "name": dev.name,
                "kind": dev.kind,
                "units": dev.units,
                "idle_power_w": dev.idle_power_w,
                "peak_ops": dict(dev.peak_ops),
                "bandwidth_gbps": dev.bandwidth_gbps,
                "compute_efficiency": dev.compute_efficiency,
                "bandwidth_efficiency": dev.bandwidth_efficiency,
                "launch_overhead_us": dev.launch_overhead_us,
                "unsupported_ops": sorted(dev.unsupported_ops),
                **({} if dev.onnxruntime is None else {"onnxruntime": dev.onnxruntime.to_dict()}),
                "levels": [
                    {
                        "name": lv.name,
                        "freq_mhz": lv.freq_mhz,
                        "speed": lv.speed,
                        "power_w": lv.power_w,
                    }
                    for lv in dev.levels
                ],
            }
            for dev in platform.devices
        ],
        "power_modes": [
            {
                "name": m.name,
                "description": m.description,
                "max_freq_mhz": dict(m.max_freq_mhz),
                "units": dict(m.units),
                "compute_scale": dict(m.compute_scale),
                "power_budget_w": m.power_budget_w,
                "mem_bw_gbps": m.mem_bw_gbps,
            }
            for m in platform.power_modes
        ],
    }


def load_platform(path: str | os.PathLike[str]) -> Platform:
    """Read a platform from a YAML file, validated like the presets."""
    data = read_yaml(path)
    try:
        return platform_from_dict(data)
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None


def _bool(value: Any, field_: str) -> bool:
    # bool("false") is True: a quoted YAML boolean must not silently mean the opposite.
    if not isinstance(value, bool):
        raise InvalidInput("must be true or false", field=field_, value=value)
    return value
