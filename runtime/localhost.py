"""A platform for the machine this runs on (``xpuplan platform local``).

What is read from the machine: the ONNX Runtime providers that are installed, the CPU cores (one
unit each; a CPU binding of one thread per unit), the CPU's top clock (``cpufreq``, else
``/proc/cpuinfo``) and vector width (``/proc/cpuinfo`` flags), and power from the Linux powercap
(RAPL) counters where they are readable. What is assumed, and said so in the file's comments:
the memory bandwidth, the roofline efficiencies (``xpuplan profile --calibrated-platform`` fits
them) and, without RAPL, power (0 W: unknown). A GPU device is added when a GPU provider is
installed, with nominal figures to be calibrated the same way.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from xpuplan.models.platform import DeviceSpec, DvfsLevel, OrtBinding, Platform
from xpuplan.runtime.onnxrt import available_providers

# Providers that run on a GPU, in order of preference.
GPU_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "ROCMExecutionProvider",
    "MIGraphXExecutionProvider",
    "DmlExecutionProvider",
    "WebGpuExecutionProvider",
)
# Assumptions where the OS says nothing: one DDR4-3200 channel (25.6 GB/s) of memory bandwidth,
# a 2 GHz clock, and 8 fp32 ops per cycle per core (one SSE-width multiply-add).
DEFAULT_BANDWIDTH_GBPS = 25.6
DEFAULT_CLOCK_MHZ = 2000.0
_RAPL = Path("/sys/class/powercap/intel-rapl:0")


def cpu_clock_mhz() -> tuple[float, str]:
    """The CPU's top clock in MHz and where it was read."""
    max_freq = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    try:
        return int(max_freq.read_text()) / 1000, "cpufreq cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1]), "/proc/cpuinfo cpu MHz"
    except (OSError, ValueError, IndexError):
        pass
    return DEFAULT_CLOCK_MHZ, "assumed"


def fp32_ops_per_cycle() -> tuple[int, str]:
    """fp32 operations per cycle per core from the vector extensions in ``/proc/cpuinfo``.

    Two FMA pipes of the vector width (Intel and AMD cores since Haswell/Zen 2): AVX-512 64,
    AVX2 + FMA 32, Arm NEON (asimd) 16; otherwise 8.
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 8, "assumed"
    flags = set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.split(":", 1)[1].split())
            break
    if "avx512f" in flags:
        return 64, "avx512f"
    if {"avx2", "fma"} <= flags:
        return 32, "avx2+fma"
    if "asimd" in flags:
        return 16, "asimd"
    return 8, "no AVX2/FMA flag: assumed SSE"


def rapl_power_w(interval_s: float = 0.5) -> float | None:
    """The CPU package's average power over ``interval_s`` from RAPL, or None if unreadable."""
    energy = _RAPL / "energy_uj"
    try:
        first = int(energy.read_text())
        time.sleep(interval_s)
        second = int(energy.read_text())
    except (OSError, ValueError):
        return None
    if second < first:
        return None
    return (second - first) / 1e6 / interval_s


def local_platform() -> tuple[Platform, list[str]]:
    """This machine as a platform, and the comments that say what was read and assumed."""
    cores = os.cpu_count() or 1
    clock, clock_src = cpu_clock_mhz()
    per_cycle, width_src = fp32_ops_per_cycle()
    providers = available_providers()
    power = rapl_power_w()
    notes = [
        f"xpuplan platform local on {os.uname().nodename}: {cores} CPU cores (one unit each)",
        f"ONNX Runtime providers installed: {', '.join(providers)}",
        f"CPU clock {clock:g} MHz ({clock_src}); {per_cycle} fp32 ops/cycle/core ({width_src})",
        f"memory bandwidth {DEFAULT_BANDWIDTH_GBPS} GB/s is an ASSUMPTION; efficiencies are "
        "defaults: run xpuplan profile --calibrated-platform to fit them",
    ]
    if power is None:
        notes.append("power: UNKNOWN (no readable RAPL counter), idle and level power set to 0")
        idle_w = level_w = 0.0
    else:
        idle_w = round(power / cores, 3)
        level_w = 0.0
        notes.append(
            f"power: RAPL package {power:.2f} W at rest, split over the cores as idle power; "
            "dynamic power UNKNOWN (0)"
        )
    peak = clock * 1e6 * per_cycle
    cpu = DeviceSpec(
        name="cpu",
        kind="cpu",
        units=cores,
        levels=(DvfsLevel("nominal", clock, 1.0, level_w),),
        idle_power_w=idle_w,
        peak_ops={"fp32": peak, "fp16": peak, "int8": 2 * peak},
        bandwidth_gbps=DEFAULT_BANDWIDTH_GBPS,
        launch_overhead_us=10.0,
        onnxruntime=OrtBinding("CPUExecutionProvider", threads=1),
    )
    devices = [cpu]
    gpu_provider = next((p for p in GPU_PROVIDERS if p in providers), None)
    if gpu_provider is not None:
        notes.append(f"gpu: through {gpu_provider}; its peak and bandwidth are NOMINAL assumptions")
        devices.append(
            DeviceSpec(
                name="gpu",
                kind="gpu",
                units=1,
                levels=(DvfsLevel("nominal", 1000.0, 1.0, 0.0),),
                idle_power_w=0.0,
                peak_ops={"fp32": 10e12, "fp16": 20e12, "int8": 40e12},
                bandwidth_gbps=200.0,
                launch_overhead_us=20.0,
                onnxruntime=OrtBinding(gpu_provider),
            )
        )
    platform = Platform(
        name="local",
        devices=tuple(devices),
        mem_bw_gbps=DEFAULT_BANDWIDTH_GBPS if gpu_provider is None else 200.0,
        description=f"{os.uname().nodename} as measured by xpuplan platform local",
        unified_memory=gpu_provider is None,
        transfer_gbps=0.0 if gpu_provider is None else 16.0,
    )
    return platform, notes
