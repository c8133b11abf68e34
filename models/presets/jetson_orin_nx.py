"""``jetson-orin-nx-16gb``: NVIDIA Jetson Orin NX 16 GB (the Twill platform, arXiv 2507.00491).

Sources (cited by tag next to each number below)

[DS]
    NVIDIA Jetson Orin NX series data sheet DS-10712-001 and product brief: up to 100 TOPS
    (sparse INT8), 10-25 W, Ampere GPU with 1024 CUDA cores and 32 tensor cores, 2x NVDLA v2,
    8x Arm Cortex-A78AE in two 4-core clusters, 16 GB 128-bit LPDDR5 at 102.4 GB/s.
[NVP]
    NVIDIA's ``nvpmodel_p3767_0000.conf`` (Jetson Linux r35; the copy in the public repository
    LineageOS/android_device_nvidia_concord, ``nvpmodel/``): the power modes MAXN, 10W, 15W, 25W,
    default 15W (``PM_CONFIG DEFAULT=2``); CPU minimum 729.6 MHz in every mode.
[DLA-SW]
    NVIDIA/Deep-Learning-Accelerator-SW, README: Jetson AGX Orin 64 GB peak sparse INT8 TOPS per
    power mode (GPU 171 at 1.3 GHz with 64 tensor cores at MAXN; 2x DLA 40 in the 15W mode); "the
    maximum DLA TOPs on Jetson Orin NX 16GB are comparable to the 15W power mode on Jetson AGX Orin
    64GB"; 2 DLAs run ResNet-50 (bs 2) at 1072 images/s in that mode; DLA perf/W 3.5-3.9x the
    GPU's on ResNet-50. ``operators/README.md``: the ONNX operators Orin's DLA runs.
[FORUM]
    NVIDIA developer forum, "Maximum power consumption bounds for Orin AGX" (thread 323456): stress
    tests on a Jetson AGX Orin at MAXN draw 40.4 W on the GPU rail (2048 CUDA cores at 1.3 GHz)
    and 15.2 W on the CPU rail (12 A78AE cores at 2.2 GHz).
[MLPERF]
    MLPerf Inference v3.0, closed division, "NVIDIA Orin NX (TensorRT)" (mlcommons/
    inference_results_v3.0, ``closed/NVIDIA/results/Orin_NX_TRT``): ResNet-50 SingleStream on the
    GPU alone, median 1.085 ms; BERT-99 (BERT-large, SQuAD v1.1) SingleStream, 16.94 ms at the
    99th percentile (the longest, 384-token inputs); ResNet-50 Offline on the GPU and both DLAs,
    2518 images/s. These calibrate the GPU (tests/models/test_roofline.py).

Modelling choices
-----------------
* ``cpu``: one device with 2 units, the two 4-core clusters; a kernel occupies a cluster.
* ``gpu``: one unit. nvpmodel's 10W and 15W modes power-gate 2 of the 4 TPCs (``TPC_PG_MASK``
  252 instead of 240 [NVP]), modelled as ``compute_scale`` 0.5.
* ``dla0``, ``dla1``: two devices, not one device with two units, because the 10W mode caps them
  differently (153.6 vs 115 MHz [NVP]).
* Level power follows :mod:`xpuplan.models.presets.dvfs` (``P ~ f V^2``) from the top-level figure
  given for each device; idle power is an assumption (NVIDIA publishes no per-rail idle figures),
  chosen so the module idles at about 3 W.
[ORT-EP]
    ONNX Runtime bindings (not runnable without the Jetson build of onnxruntime-gpu): ONNX Runtime
    documentation, "TensorRT Execution Provider": ``trt_fp16_enable``, ``trt_dla_enable`` and
    ``trt_dla_core`` select fp16 and a DLA core; the CUDA provider (``CUDAExecutionProvider``)
    runs the nodes TensorRT does not take; ONNX Runtime's CPU provider on the CPU.
"""

from __future__ import annotations

from xpuplan.models.platform import DeviceSpec, OrtBinding, Platform, PowerMode
from xpuplan.models.presets.dvfs import scaled_levels

# Op types Orin's DLA cannot run, from NVIDIA's ONNX support matrix [DLA-SW operators/README.md]:
# * attention: MatMul runs on the DLA only when its second input is a constant (a weight), so
#   Q @ K^T and P @ V (two activations) cannot; Twill (arXiv 2507.00491) names multi-head
#   attention as a DLA gap too.
# * layernorm, rmsnorm: need ReduceMean, Sqrt and Div, none of which TensorRT maps to the DLA.
# * gelu: needs Erf (not supported); the DLA's activations are ReLU, Sigmoid, TanH, Clip, LeakyReLU.
# * hswish: HardSwish and HardSigmoid are "none" in the matrix.
# * embedding, rope: a Gather of token/position-dependent rows; the DLA has no data-dependent
#   gather (Gather is only "reconstructed" for constant indices).
# * lstm: no recurrent layer on the DLA (only GRU, by reconstruction).
# * other: a closed list of supported layers, so an op of unknown type is assumed not to run.
# Supported: conv, depthwise_conv, conv_transpose, matmul (weights), softmax (native on Orin),
# batchnorm (Scale), relu, sigmoid, tanh, silu (Sigmoid + Mul), add, mul, pool, global_pool
# (AveragePool over the whole map, as in NVIDIA's ResNet-50 reference where only Top-K leaves the
# DLA), upsample (Resize), concat, reshape (Shuffle).
DLA_UNSUPPORTED_OPS = frozenset(
    {"attention", "layernorm", "rmsnorm", "gelu", "hswish", "embedding", "rope", "lstm", "other"}
)

# LPDDR5, 128 bit at 6400 MT/s [DS].
MEM_BW_GBPS = 102.4
# The 10W mode caps the memory clock (EMC) at 2133 MHz [NVP] against 3199 MHz uncapped
# (Jetson Linux developer guide, Orin NX power-mode table): 102.4 * 2133 / 3199.
MEM_BW_10W_GBPS = 68.3

CPU = DeviceSpec(
    name="cpu",
    kind="cpu",
    units=2,
    # [ORT-EP] The CPU execution provider on one 4-core cluster (a unit).
    onnxruntime=OrtBinding("CPUExecutionProvider", threads=4),
    # 8 of the 26 CPU steps (115.2 + 76.8 k MHz, up to 1984 MHz); nvpmodel keeps the CPU at or above
    # 729.6 MHz in every mode [NVP], so lower steps are never used.
    # Top power 3.7 W per cluster: [FORUM]'s 15.2 W for 12 cores at 2.2 GHz is 5.07 W per 4 cores;
    # at 1984 MHz the f V^2 model of dvfs.py gives 5.07 * 0.90 * 0.92 = 4.2 W, less the cluster's
    # 0.5 W idle power.
    levels=scaled_levels(
        (729.6, 960.0, 1190.4, 1344.0, 1497.6, 1651.2, 1804.8, 1984.0), top_power_w=3.7
    ),
    idle_power_w=0.5,
    # Per cluster at 1984 MHz: each A78 core has two 128-bit NEON FMA pipes (Arm Cortex-A78
    # software optimization guide): fp32 16, fp16 32, int8 (SDOT) 64 ops per cycle;
    # 4 cores x 1.984 GHz x ops per cycle. No bf16 on ARMv8.2 (bf16 runs as fp32).
    peak_ops={"fp32": 127.0e9, "fp16": 254.0e9, "int8": 508.0e9},
    # Assumption (no public figure): one cluster streams about half of the LPDDR5 peak.
    bandwidth_gbps=51.2,
    compute_efficiency=0.3,
    bandwidth_efficiency=0.6,
    launch_overhead_us=5.0,
)

GPU = DeviceSpec(
    name="gpu",
    kind="gpu",
    units=1,
    # [ORT-EP] TensorRT on the GPU at fp16 (the CUDA provider runs what TensorRT leaves).
    onnxruntime=OrtBinding("TensorrtExecutionProvider", {"trt_fp16_enable": True}),
    # The seven GPU clock steps, 306-918 MHz [NVP sysfs available_frequencies; DS max 918 MHz].
    # Top power 10 W: [FORUM]'s 40.4 W for 2048 cores at 1.3 GHz scaled to 1024 cores at 918 MHz
    # with the f V^2 model (40.4 * 0.5 * 0.706 * 0.78 = 11.1 W), less the GPU's 1.5 W idle power
    # (9.6 W), rounded up.
    levels=scaled_levels((306, 408, 510, 612, 714, 816, 918), top_power_w=10.0),
    idle_power_w=1.5,
    # Dense tensor-core rates at 918 MHz: AGX Orin's 171 sparse INT8 TOPS at 1.3 GHz with 64
    # tensor cores [DLA-SW] is 1024 dense INT8 ops per tensor core per cycle, so 32 x 1024 x 0.918
    # GHz = 30.1 TOPS INT8 (60.2 sparse; with the DLAs' 40 this is the data sheet's 100 TOPS [DS]);
    # fp16/bf16 half and int4 twice the INT8 rate (Ampere tensor cores); fp32 on the 1024 CUDA
    # cores: 1024 x 2 x 0.918 GHz.
    peak_ops={
        "int4": 60.2e12,
        "int8": 30.1e12,
        "fp16": 15.05e12,
        "bf16": 15.05e12,
        "fp32": 1.88e12,
    },
    bandwidth_gbps=MEM_BW_GBPS,
    # Calibrated on [MLPERF] (tests/models/test_roofline.py): BERT-large at 384 tokens (large
    # GEMMs) fixes the compute efficiency; ResNet-50 at batch 1 (55 small kernels, where the
    # launch overhead counts) and the GPU + 2 DLA Offline throughput then check it.
    compute_efficiency=0.5,
    # Assumption: no public Orin NX bandwidth measurement; 70% is a typical LPDDR5 stream figure.
    bandwidth_efficiency=0.7,
    # Assumption: a TensorRT kernel launch from a CUDA graph, a few microseconds.
    launch_overhead_us=5.0,
)


def _dla(name: str) -> DeviceSpec:
    """One NVDLA v2 core (both are identical; the power modes cap them separately)."""
    return DeviceSpec(
        name=name,
        kind="dla",
        units=1,
        # [ORT-EP] TensorRT with the DLA core of this device enabled.
        onnxruntime=OrtBinding(
            "TensorrtExecutionProvider",
            {"trt_fp16_enable": True, "trt_dla_enable": True, "trt_dla_core": int(name[-1])},
        ),
        # No public DLA clock table: levels at the nvpmodel caps (115, 153.6 MHz in the 10W mode;
        # 614.4 MHz in 15W/25W [NVP]) plus 1/2 and 3/4 of the top (assumed steps).
        # Top power 0.9 W: [DLA-SW] measures the DLA 3.9x more energy-efficient than the GPU on
        # ResNet-50 in AGX Orin's 15W mode (whose DLA clock matches Orin NX's top); with the GPU's
        # 10 W for 30.1 TOPS and the DLA's 10 TOPS at a similar efficiency:
        # 10 W x (10 / 30.1) / 3.9 = 0.85 W.
        levels=scaled_levels((115.0, 153.6, 307.2, 460.8, 614.4), top_power_w=0.9),
        idle_power_w=0.2,
        # Dense rates at 614.4 MHz: 2 DLAs = 40 sparse INT8 TOPS (AGX Orin's 15W mode, which
        # [DLA-SW] says matches Orin NX's maximum), so 10 dense INT8 TOPS per DLA; NVDLA's fp16
        # rate is half its INT8 rate; no fp32 (fp32 kernels run as fp16).
        peak_ops={"int8": 10.0e12, "fp16": 5.0e12},
        # Assumption: a DLA reaches the DRAM through the same fabric as the GPU.
        bandwidth_gbps=MEM_BW_GBPS,
        # Calibrated on [DLA-SW]'s ResNet-50 throughput (1072 images/s on 2 DLAs at bs=2).
        compute_efficiency=0.53,
        bandwidth_efficiency=0.7,
        launch_overhead_us=10.0,
        unsupported_ops=DLA_UNSUPPORTED_OPS,
    )


POWER_MODES = (
    # nvpmodel modes [NVP]. MAXN lifts every cap and has no budget ("the NONE power model").
    PowerMode(name="MAXN", description="no caps, no power budget (nvpmodel MAXN)"),
    PowerMode(
        name="10W",
        description="4 cores <= 1190.4 MHz, 2 TPCs <= 612 MHz, DLA 153.6/115 MHz, EMC 2133 MHz",
        max_freq_mhz={"cpu": 1190.4, "gpu": 612.0, "dla0": 153.6, "dla1": 115.0},
        units={"cpu": 1},
        compute_scale={"gpu": 0.5},
        power_budget_w=10.0,
        mem_bw_gbps=MEM_BW_10W_GBPS,
    ),
    PowerMode(
        name="15W",
        description="4 cores <= 1651.2 MHz, 2 TPCs <= 612 MHz, DLA 614.4 MHz (NVIDIA's default)",
        max_freq_mhz={"cpu": 1651.2, "gpu": 612.0, "dla0": 614.4, "dla1": 614.4},
        units={"cpu": 1},
        compute_scale={"gpu": 0.5},
        power_budget_w=15.0,
    ),
    PowerMode(
        name="25W",
        description="8 cores <= 1497.6 MHz, 4 TPCs <= 408 MHz, DLA 614.4 MHz",
        max_freq_mhz={"cpu": 1497.6, "gpu": 408.0, "dla0": 614.4, "dla1": 614.4},
        power_budget_w=25.0,
    ),
)

PLATFORM = Platform(
    name="jetson-orin-nx-16gb",
    description=(
        "NVIDIA Jetson Orin NX 16 GB: 8x Cortex-A78AE (2 clusters), Ampere GPU (1024 CUDA, "
        "32 tensor cores), 2x NVDLA v2, 102.4 GB/s LPDDR5 unified memory; nvpmodel 10W/15W/25W/MAXN"
    ),
    devices=(CPU, GPU, _dla("dla0"), _dla("dla1")),
    mem_bw_gbps=MEM_BW_GBPS,
    unified_memory=True,
    # Assumption: a hand-over between engines on unified memory costs a fence and a driver
    # round trip, tens of microseconds (cuDLA/CUDA event synchronisation).
    sync_overhead_us=30.0,
    power_budget_w=None,
    power_modes=POWER_MODES,
    default_power_mode="15W",
)
