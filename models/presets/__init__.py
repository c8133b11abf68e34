"""Built-in platforms and the look-up of a platform by preset name or YAML file.

Three presets, one module each, every number with its source:

===================== ==================================================== ===============
name                  what                                                 module
===================== ==================================================== ===============
jetson-orin-nx-16gb   NVIDIA Jetson Orin NX 16 GB (Twill)                  jetson_orin_nx
core-ultra-125h       Intel Core Ultra 5 125H (Agent.xpu)                  core_ultra
ryzen-ai-hx370        AMD Ryzen AI 9 HX 370 (RTGen-class Ryzen AI)         ryzen_ai
===================== ==================================================== ===============

A preset is returned in its default power mode (NVIDIA's 15W for the Orin, the base power for the
laptops) unless another mode is named. Users' own platforms are YAML files in the shape of
:func:`xpuplan.models.platform.platform_to_dict` (see ``examples/platforms/``).

The built-in scenarios sit beside them in :mod:`xpuplan.models.presets.scenarios`.

Examples
--------
>>> platform_names()
['jetson-orin-nx-16gb', 'core-ultra-125h', 'ryzen-ai-hx370']
>>> orin = get_platform("jetson-orin-nx-16gb", "10W")
>>> orin.device("cpu").units, orin.device("gpu").top_level.name, orin.power_budget_w
(1, '612MHz', 10.0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xpuplan.models.errors import InvalidInput
from xpuplan.models.platform import Platform, load_platform
from xpuplan.models.presets import core_ultra, jetson_orin_nx, ryzen_ai

_NAME2PLATFORM: dict[str, Platform] = {
    preset.PLATFORM.name: preset.PLATFORM for preset in (jetson_orin_nx, core_ultra, ryzen_ai)
}


def platform_names() -> list[str]:
    """Names of the built-in platforms.

    Returns
    -------
    list[str]
        Each accepted by :func:`get_platform`.

    Examples
    --------
    >>> platform_names()
    ['jetson-orin-nx-16gb', 'core-ultra-125h', 'ryzen-ai-hx370']
    """
    return list(_NAME2PLATFORM)


def _in_mode(platform: Platform, power_mode: str | None) -> Platform:
    """``platform`` in ``power_mode``, else in its default mode (unless a mode is applied)."""
    if power_mode is None and platform.power_mode is not None:
        return platform
    mode = power_mode if power_mode is not None else platform.default_power_mode
    return platform if mode is None else platform.with_power_mode(mode)


def get_platform(name: str, power_mode: str | None = None) -> Platform:
    """A built-in platform, in ``power_mode`` or else in its default power mode.

    Parameters
    ----------
    name
        One of :func:`platform_names` (:func:`resolve_platform` also reads YAML files).
    power_mode
        A named power mode of the platform (e.g. ``"MAXN"`` on the Jetson); default its default.

    Returns
    -------
    Platform
        Devices with DVFS levels, power and roofline parameters, the memory bandwidth, the power
        budget of the mode.

    Raises
    ------
    InvalidInput
        ``name`` is no preset (``field="platform"``), or ``power_mode`` is not one of its modes
        (``field="power_mode"``).

    Examples
    --------
    >>> orin = get_platform("jetson-orin-nx-16gb", "MAXN")
    >>> orin.power_mode, [dev.name for dev in orin.devices]
    ('MAXN', ['cpu', 'gpu', 'dla0', 'dla1'])
    """
    platform = _NAME2PLATFORM.get(name)
    if platform is None:
        raise InvalidInput(
            f"is no built-in platform (known: {', '.join(_NAME2PLATFORM)})",
            field="platform",
            value=name,
        )
    return _in_mode(platform, power_mode)


def resolve_platform(name_or_path: str, power_mode: str | None = None) -> Platform:
    """A preset by name, or a platform YAML file (a path ending in .yaml/.yml, or one that exists).

    The file's ``default_power_mode`` applies like a preset's; errors name the file.
    """
    if name_or_path in _NAME2PLATFORM:
        return get_platform(name_or_path, power_mode)
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        platform = load_platform(path)
        try:
            return _in_mode(platform, power_mode)
        except InvalidInput as exc:
            raise exc.in_file(str(path)) from None
    raise InvalidInput(
        f"is neither a built-in platform ({', '.join(_NAME2PLATFORM)}) nor a YAML file",
        field="platform",
        value=name_or_path,
    )


def platform_summary(platform: Platform) -> dict[str, Any]:
    """A JSON-ready overview of a platform (``xpuplan list platforms --json``).

    Peak throughput is per unit at the top level the platform (in its power mode) allows, in
    TOPS (int) or TFLOPS (float): ``peak_ops * speed_of_top_level / 1e12``.
    """
    devices = []
    for dev in platform.devices:
        top = dev.top_level
        devices.append(
            {
                "name": dev.name,
                "kind": dev.kind,
                "units": dev.units,
                "levels": [level.name for level in dev.levels],
                "top_level_power_w": top.power_w,
                "idle_power_w": dev.idle_power_w,
                "peak_tera_ops": {
                    prec: round(ops * top.speed / 1e12, 3) for prec, ops in dev.peak_ops.items()
                },
                "bandwidth_gbps": dev.bandwidth_gbps,
                "compute_efficiency": dev.compute_efficiency,
                "bandwidth_efficiency": dev.bandwidth_efficiency,
                "unsupported_ops": sorted(dev.unsupported_ops),
            }
        )
    return {
        "name": platform.name,
        "description": platform.description,
        "devices": devices,
        "mem_bw_gbps": platform.mem_bw_gbps,
        "unified_memory": platform.unified_memory,
        "power_budget_w": platform.power_budget_w,
        "idle_power_w": round(platform.idle_power_w, 3),
        "power_modes": [mode.name for mode in platform.power_modes],
        "default_power_mode": platform.default_power_mode,
        "power_mode": platform.power_mode,
    }


__all__ = ["get_platform", "platform_names", "platform_summary", "resolve_platform"]
