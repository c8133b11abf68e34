"""Running imported ONNX models and their kernels on ONNX Runtime: profiling and calibration.

* :func:`session`: an ``onnxruntime.InferenceSession`` for a device's binding
  (:class:`xpuplan.models.platform.OrtBinding`);
* :func:`run_kernels`: every kernel of a kernel DAG extracted (:mod:`xpuplan.models.onnx.extract`)
  and run in topological order, each fed the boundary tensors of those before it;
* :func:`profile_scenario`: every kernel of every ONNX-backed model of a scenario, on every device
  whose provider is installed here, warmed up and timed (median and 90th percentile), as rows of
  :mod:`xpuplan.models.profiles` (at the device's top DVFS level: the machine runs at whatever
  level its governor picks, and :func:`xpuplan.models.costs.calibrate` scales the other levels);
* :func:`fit_roofline`: the compute and bandwidth efficiencies and launch overhead of a device that
  make the roofline of :mod:`xpuplan.models.roofline` match the measurements best (median
  relative error), so kernels without a row get calibrated estimates.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from xpuplan.models.errors import InvalidInput
from xpuplan.models.kernels import build_kernel_dag
from xpuplan.models.onnx import (
    KernelPart,
    OnnxModel,
    extract_kernel,
    is_onnx_ref,
    kernel_parts,
    onnx_params,
)
from xpuplan.models.platform import DeviceSpec, OrtBinding, Platform
from xpuplan.models.profiles import PROFILE_COLUMNS
from xpuplan.models.roofline import peak_ops
from xpuplan.models.scenario import Scenario

DEFAULT_REPEATS = 20
DEFAULT_WARMUP = 3


def available_providers() -> list[str]:
    """The execution providers of the installed onnxruntime."""
    return list(ort.get_available_providers())


def binding_available(binding: OrtBinding | None) -> bool:
    """Whether a binding's provider is installed here."""
    return binding is not None and binding.provider in available_providers()


def session(model: onnx.ModelProto, binding: OrtBinding | None = None) -> ort.InferenceSession:
    """An inference session of ``model`` on ``binding``'s provider (default: the CPU provider).

    Graph optimisations are on (as a deployment runs); one thread per session unless the binding
    says otherwise.

    Raises
    ------
    InvalidInput
        When the provider is not installed (field ``onnxruntime.provider``).
    """
    binding = binding or OrtBinding("CPUExecutionProvider", threads=1)
    if binding.provider not in available_providers():
        raise InvalidInput(
            f"is not installed here (available: {', '.join(available_providers())})",
            field="onnxruntime.provider",
            value=binding.provider,
        )
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if binding.threads is not None:
        options.intra_op_num_threads = binding.threads
        options.inter_op_num_threads = 1
    providers: list[Any] = [(binding.provider, dict(binding.options))]
    if binding.provider != "CPUExecutionProvider":
        providers.append("CPUExecutionProvider")
    return ort.InferenceSession(model.SerializeToString(), options, providers=providers)


def run_model(
    onnx_model: OnnxModel, feeds: Mapping[str, np.ndarray], binding: OrtBinding | None = None
) -> dict[str, np.ndarray]:
    """The whole (prepared) model's outputs for ``feeds``."""
    sess = session(onnx_model.model, binding)
    values = sess.run(list(onnx_model.outputs), dict(feeds))
    return dict(zip(onnx_model.outputs, values, strict=True))


def run_kernels(
    onnx_model: OnnxModel,
    parts: Sequence[KernelPart],
    feeds: Mapping[str, np.ndarray],
    binding: OrtBinding | None = None,
) -> dict[str, np.ndarray]:
    """Run each kernel as its own model, in order; return every boundary tensor (and the feeds)."""
    tensors: dict[str, np.ndarray] = dict(feeds)
    for part in parts:
        sess = session(extract_kernel(onnx_model, part), binding)
        values = sess.run(list(part.outputs), {name: tensors[name] for name in part.inputs})
        tensors.update(zip(part.outputs, values, strict=True))
    return tensors


# ---------------------------------------------------------------------- profiling
@dataclass(frozen=True)
class Measurement:
    """One kernel timed on one device, with what the roofline needs to fit it."""

    model: str
    kernel: str
    device: str
    level: str
    median_us: float
    p90_us: float
    flops: float
    bytes_moved: float
    precision: str
    onnx_nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RooflineFit:
    """A device's fitted roofline parameters and the median relative error before and after."""

    device: str
    compute_efficiency: float
    bandwidth_efficiency: float
    launch_overhead_us: float
    error_before: float
    error_after: float
    samples: int


@dataclass
class ProfileResult:
    """What :func:`profile_scenario` measured."""

    measurements: list[Measurement] = field(default_factory=list)
    whole_model_us: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    fits: dict[str, RooflineFit] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    max_kernels: int | None = None

    def rows(self) -> list[tuple[str, str, str, str, float, str]]:
        """Profile rows (:data:`xpuplan.models.profiles.PROFILE_COLUMNS`), median latencies."""
        return [
            (m.model, m.kernel, m.device, m.level, round(m.median_us, 3), "")
            for m in self.measurements
        ]

    def write_csv(self, path: str) -> None:
        """Write the rows, with comments giving the source, the p90s and the fits."""
        lines = [
            "# xpuplan profile: ONNX Runtime "
            f"{ort.__version__}, median of the timed runs; kernels of build_kernel_dag with "
            f"max_kernels={self.max_kernels} (kernels are named by their nodes: another "
            "--max-kernels reuses the rows of the kernels it shares)",
        ]
        for (model, device), (med, p90) in sorted(self.whole_model_us.items()):
            lines.append(
                f"# whole model {model} on {device}: median {med:.1f} us, p90 {p90:.1f} us"
            )
        for fit in self.fits.values():
            lines.append(
                f"# roofline fit {fit.device}: compute_efficiency {fit.compute_efficiency:.4g}, "
                f"bandwidth_efficiency {fit.bandwidth_efficiency:.4g}, launch_overhead_us "
                f"{fit.launch_overhead_us:.4g}; median error {fit.error_before:.1%} -> "
                f"{fit.error_after:.1%} over {fit.samples} kernels"
            )
        lines.append(",".join(PROFILE_COLUMNS))
        for m in self.measurements:
            lines.append(f"# {m.kernel} on {m.device}: p90 {m.p90_us:.1f} us")
            lines.append(f"{m.model},{m.kernel},{m.device},{m.level},{m.median_us:.3f},")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


def onnx_models_of(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Model name -> parameters, for the ONNX-backed models of ``scenario`` (first use wins)."""
    out: dict[str, dict[str, Any]] = {}
    for task in scenario.tasks:
        for ref in task.models:
            if is_onnx_ref(ref.params) and ref.name not in out:
                out[ref.name] = dict(ref.params)
    return out


def profile_scenario(
    platform: Platform,
    scenario: Scenario,
    *,
    max_kernels: int | None = 6,
    repeats: int = DEFAULT_REPEATS,
    warmup: int = DEFAULT_WARMUP,
    seed: int = 0,
    progress: Callable[[int], Any] | None = None,
    on_total: Callable[[int], Any] | None = None,
) -> ProfileResult:
    """Time every kernel of every ONNX-backed model of ``scenario`` on every runnable device.

    A device is runnable when its binding's provider is installed (others are listed in
    ``skipped``). Each kernel is extracted, fed the boundary tensors a run of the kernels before
    it produced (so data-dependent ops see real values), warmed up ``warmup`` times and timed
    ``repeats`` times, interleaved with the whole model and the other kernels round by round
    (:func:`_interleaved_times`: the partition overhead is then measured under the same load).
    Each device's roofline is fitted to its measurements.

    Raises
    ------
    InvalidInput
        When the scenario has no ONNX model, or no device of the platform can run here.
    """
    models = onnx_models_of(scenario)
    if not models:
        raise InvalidInput(
            "has no ONNX model (name one with model: FILE.onnx)",
            field="scenario",
            value=scenario.name,
        )
    result = ProfileResult(max_kernels=max_kernels)
    devices: list[DeviceSpec] = []
    for dev in platform.devices:
        if dev.onnxruntime is None:
            result.skipped[dev.name] = "no onnxruntime binding"
        elif not binding_available(dev.onnxruntime):
            result.skipped[dev.name] = f"{dev.onnxruntime.provider} not installed"
        else:
            devices.append(dev)
    if not devices:
        reasons = "; ".join(f"{k}: {v}" for k, v in result.skipped.items())
        raise InvalidInput(
            f"no device can run ONNX models here ({reasons}; available: "
            f"{', '.join(available_providers())})",
            field="devices.onnxruntime.provider",
            value=platform.name,
        )
    plans = []
    for name, params in models.items():
        dag = build_kernel_dag(name, platform, max_kernels=max_kernels, levels="top", **params)
        onnx_model = onnx_params(name, params)
        plans.append((name, onnx_model, dag, kernel_parts(onnx_model, dag)))
    if on_total is not None:
        on_total(sum(len(parts) + 1 for *_, parts in plans) * len(devices) * repeats)
    for name, onnx_model, dag, parts in plans:
        feeds = onnx_model.sample_inputs(seed)
        for dev in devices:
            times = _interleaved_times(
                onnx_model, parts, feeds, dev.onnxruntime, repeats, warmup, progress
            )
            result.whole_model_us[(name, dev.name)] = _median_p90(times[0])
            for part, kernel_times in zip(parts, times[1:], strict=True):
                med, p90 = _median_p90(kernel_times)
                data = dag.nodes[part.name]
                result.measurements.append(
                    Measurement(
                        model=name,
                        kernel=part.name,
                        device=dev.name,
                        level=dev.top_level.name,
                        median_us=med,
                        p90_us=p90,
                        flops=float(data["flops"]),
                        bytes_moved=float(
                            data["bytes_read"] + data["bytes_written"] + data["weight_bytes"]
                        ),
                        precision=str(data["precision"]),
                        onnx_nodes=part.nodes,
                    )
                )
    for dev in devices:
        samples = [m for m in result.measurements if m.device == dev.name]
        if samples:
            result.fits[dev.name] = fit_roofline(dev, platform, samples)
    return result


def _interleaved_times(
    onnx_model: OnnxModel,
    parts: Sequence[KernelPart],
    feeds: Mapping[str, np.ndarray],
    binding: OrtBinding | None,
    repeats: int,
    warmup: int,
    progress: Callable[[int], Any] | None,
) -> list[list[float]]:
    """Wall times (us) of the whole model, then of each kernel, over ``repeats`` rounds.

    Each kernel is fed the boundary tensors that the kernels before it produced. Every round times
    the whole model once and each kernel once, so that a change of load on the machine hits the
    whole run and the kernels alike (their sum against the whole run is the partition overhead).
    """
    tensors = run_kernels(onnx_model, parts, feeds, binding)
    runs: list[tuple[ort.InferenceSession, dict[str, np.ndarray]]] = [
        (session(onnx_model.model, binding), dict(feeds))
    ]
    for part in parts:
        runs.append(
            (
                session(extract_kernel(onnx_model, part), binding),
                {t: tensors[t] for t in part.inputs},
            )
        )
    for sess, inputs in runs:
        for _ in range(warmup):
            sess.run(None, inputs)
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for r_idx, (sess, inputs) in enumerate(runs):
            start = time.perf_counter_ns()
            sess.run(None, inputs)
            times[r_idx].append((time.perf_counter_ns() - start) / 1000)
        if progress is not None:
            progress(len(runs))
    return times


def _median_p90(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


# ---------------------------------------------------------------------- roofline fit
def _roofline_terms(
    device: DeviceSpec, platform: Platform, samples: Iterable[Measurement]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(compute us at efficiency 1, memory us at efficiency 1, measured us) per sample."""
    bandwidth = min(device.bandwidth_gbps, platform.mem_bw_gbps)
    comp, mem, meas = [], [], []
    for m in samples:
        comp.append(m.flops / peak_ops(device, m.precision) * 1e6)
        mem.append(m.bytes_moved / (bandwidth * 1e9) * 1e6)
        meas.append(m.median_us)
    return np.array(comp), np.array(mem), np.array(meas)


def roofline_error(device: DeviceSpec, platform: Platform, samples: Sequence[Measurement]) -> float:
    """Median relative error ``|T_roofline - T_measured| / T_measured`` at the top level."""
    comp, mem, meas = _roofline_terms(device, platform, samples)
    pred = _predict(
        comp, mem, device.compute_efficiency, device.bandwidth_efficiency, device.launch_overhead_us
    )
    return float(np.median(np.abs(pred - meas) / meas))


def _predict(comp: np.ndarray, mem: np.ndarray, ce: Any, be: Any, launch: Any) -> np.ndarray:
    return np.maximum(comp / ce, mem / be) + launch


def fit_roofline(
    device: DeviceSpec, platform: Platform, samples: Sequence[Measurement]
) -> RooflineFit:
    """Fit ``compute_efficiency``, ``bandwidth_efficiency`` (both in (0, 1]) and
    ``launch_overhead_us`` to the measurements, minimising the median relative error.

    A grid search: efficiencies on a log grid of 61 points from 1e-4 to 1 each, the launch
    overhead on 25 points from 0 to the smallest measurement, plus the device's own three
    figures (so the error after is never above the error before); the error is the median of
    ``|T - T_measured| / T_measured`` over the samples.
    """
    comp, mem, meas = _roofline_terms(device, platform, samples)
    before = roofline_error(device, platform, samples)
    # The device's own figures are candidates too, so the fit is never worse than no fit.
    effs = np.union1d(
        np.logspace(-4, 0, 61), [device.compute_efficiency, device.bandwidth_efficiency]
    )
    launches = np.union1d(np.linspace(0.0, float(meas.min()), 25), [device.launch_overhead_us])
    ce = effs[:, None, None, None]
    be = effs[None, :, None, None]
    la = launches[None, None, :, None]
    pred = np.maximum(comp[None, None, None, :] / ce, mem[None, None, None, :] / be) + la
    err = np.median(np.abs(pred - meas) / meas, axis=-1)
    i, j, k = np.unravel_index(int(np.argmin(err)), err.shape)
    return RooflineFit(
        device=device.name,
        compute_efficiency=float(effs[i]),
        bandwidth_efficiency=float(effs[j]),
        launch_overhead_us=float(launches[k]),
        error_before=before,
        error_after=float(err[i, j, k]),
        samples=len(samples),
    )


def calibrated_platform(platform: Platform, fits: Mapping[str, RooflineFit]) -> Platform:
    """``platform`` with each fitted device's efficiencies and launch overhead replaced."""
    devices = tuple(
        replace(
            dev,
            compute_efficiency=fits[dev.name].compute_efficiency,
            bandwidth_efficiency=fits[dev.name].bandwidth_efficiency,
            launch_overhead_us=round(fits[dev.name].launch_overhead_us, 3),
        )
        if dev.name in fits
        else dev
        for dev in platform.devices
    )
    return replace(platform, devices=devices)
