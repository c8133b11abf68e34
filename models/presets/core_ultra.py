"""``core-ultra-125h``: Intel Core Ultra 5 125H (Meteor Lake H; the Agent.xpu platform).

Sources (cited by tag next to each number below)

[AXPU]
    Agent.xpu, arXiv 2506.24045 (v2), run on a Core Ultra 5 125H with OpenVINO 2025.2: Arc iGPU
    ~18 TOPS, NPU ~11.5 TOPS; measured power NPU ~10 W, iGPU 25 W (decode) to 31 W (prefill), CPU
    12-58 W; a 256-token prefill chunk of Llama-3.1-8B (W8A16) on the NPU < 38 ms.
[ARK]
    Intel ARK, Core Ultra 5 125H: 4 P-cores (max turbo 4.5 GHz, base 1.2 GHz), 8 E-cores and
    2 low-power E-cores (max turbo 3.6 / 2.5 GHz), Arc graphics with 7 Xe-cores up to 2.2 GHz,
    Intel AI Boost NPU; Processor Base Power 28 W, Minimum Assured Power 20 W, Maximum Assured
    Power 65 W, Maximum Turbo Power 115 W; DDR5-5600 or LPDDR5/x-7467.
[MTL]
    Intel's Meteor Lake architecture disclosure: the NPU (3720) has two neural compute engines
    with 4096 INT8 (2048 FP16) MACs per cycle in all; 11.5 TOPS / (2 x 4096) = 1.4 GHz.
[DECODE]
    Public decode speeds (``../shared/research/calibration.md``): Llama-3-8B INT4 on a Core Ultra 9
    185H's iGPU with OpenVINO, 12 tokens/s; an 8B INT4 model on a Core Ultra 7's NPU, 6.1 tokens/s
    (second-hand). These calibrate the bandwidth efficiencies (tests/models/test_roofline.py).

Modelling choices
-----------------
* ``cpu``: one unit for the whole hybrid CPU. An inference engine (OpenVINO's CPU plugin in
  latency mode, llama.cpp) spreads one inference over all P- and E-cores, so two CPU kernels at
  once would share the cores, not run side by side; and the P- and E-clusters are not identical,
  which a device's equal units could not express.
* Level powers are package powers as Agent.xpu measured them (the SoC's uncore and memory traffic
  included), so concurrent devices double-count the uncore a little: a conservative error for a
  power cap.
* Idle powers (CPU 1.5 W, iGPU 0.8 W, NPU 0.3 W) are assumptions: no per-device idle figure is
  public; they keep the package's idle power of a few watts.
* Power modes are Intel's power levels (PL1 = base 28 W by default, the assured range 20-65 W,
  PL2 = 115 W); they set only the budget, and the planner picks DVFS levels under it.
[ORT-EP]
    ONNX Runtime bindings (not runnable without the OpenVINO build of onnxruntime): ONNX Runtime
    documentation, "OpenVINO Execution Provider": provider option ``device_type`` selects ``CPU``,
    ``GPU`` or ``NPU``, ``precision`` FP16/FP32 on the GPU; ONNX Runtime's CPU provider on the CPU.
"""

from __future__ import annotations

from xpuplan.models.platform import DeviceSpec, OrtBinding, Platform, PowerMode
from xpuplan.models.presets.dvfs import scaled_levels

# DDR5-5600, two 64-bit channels: 5600 MT/s x 16 bytes [ARK].
MEM_BW_GBPS = 89.6

CPU = DeviceSpec(
    name="cpu",
    kind="cpu",
    units=1,
    # [ORT-EP] The CPU execution provider on the one unit (all cores).
    onnxruntime=OrtBinding("CPUExecutionProvider"),
    # Levels by P-core clock, from its 1.2 GHz base to its 4.5 GHz max turbo [ARK]; the E-cores
    # scale with it (one clock domain is an approximation).
    # Top power 58 W: the CPU's highest measured power [AXPU].
    levels=scaled_levels((1200, 2000, 2800, 3600, 4500), top_power_w=58.0),
    idle_power_w=1.5,
    # All cores at max turbo [ARK]: Redwood Cove P-core 2x256-bit FMA = 32 fp32 FLOP/cycle,
    # Crestmont E-core 2x128-bit FMA = 16; AVX-VNNI INT8 at 4x the fp32 rate:
    # fp32 = 4 x 32 x 4.5 + 8 x 16 x 3.6 + 2 x 16 x 2.5 = 1117 GFLOPS. No fp16/bf16 arithmetic
    # (no AVX-512), so fp16 kernels run at the fp32 rate.
    peak_ops={"fp32": 1.117e12, "int8": 4.467e12},
    bandwidth_gbps=MEM_BW_GBPS,
    # Assumptions (no CPU anchor among the public figures).
    compute_efficiency=0.3,
    bandwidth_efficiency=0.6,
    launch_overhead_us=5.0,
)

IGPU = DeviceSpec(
    name="igpu",
    kind="gpu",
    units=1,
    # [ORT-EP] The iGPU through OpenVINO.
    onnxruntime=OrtBinding(
        "OpenVINOExecutionProvider", {"device_type": "GPU", "precision": "FP16"}
    ),
    # Up to 2.2 GHz [ARK]; top power 31 W, the prefill (compute-bound) figure [AXPU].
    levels=scaled_levels((600, 1000, 1400, 1800, 2200), top_power_w=31.0),
    idle_power_w=0.8,
    # 18 TOPS INT8 [AXPU] (DP4a on the vector engines; Meteor Lake's Arc has no XMX), fp16 at half
    # and fp32 at a quarter of it. (7 Xe-cores x 128 fp32 lanes x 2 x 2.2 GHz gives 3.9 TFLOPS
    # fp32, 12% below; the calibrated efficiency absorbs the difference.)
    peak_ops={"int8": 18.0e12, "fp16": 9.0e12, "fp32": 4.5e12},
    bandwidth_gbps=MEM_BW_GBPS,
    # Assumption: no public iGPU prefill time for the 125H; checked against Agent.xpu's
    # "attention at sequence 2048 < 97 ms" (tests/models/test_roofline.py).
    compute_efficiency=0.5,
    # Calibrated on [DECODE]: 8B INT4 decode at 12 tokens/s on a 185H (test_roofline.py).
    bandwidth_efficiency=0.5,
    launch_overhead_us=10.0,
)

NPU = DeviceSpec(
    name="npu",
    kind="npu",
    units=1,
    # [ORT-EP] The NPU through OpenVINO.
    onnxruntime=OrtBinding("OpenVINOExecutionProvider", {"device_type": "NPU"}),
    # Top clock 1.4 GHz [MTL]; lower steps at 1/4, 1/2, 3/4 (assumed: Intel publishes no NPU
    # clock table). Top power 10 W [AXPU].
    levels=scaled_levels((350, 700, 1050, 1400), top_power_w=10.0),
    idle_power_w=0.3,
    # 11.5 TOPS INT8 [AXPU], fp16 at half the INT8 MAC rate [MTL].
    peak_ops={"int8": 11.5e12, "fp16": 5.75e12},
    bandwidth_gbps=MEM_BW_GBPS,
    # Calibrated: the 256-token chunk of one Llama-3.1-8B layer in < 38 ms [AXPU] fixes the
    # compute efficiency, 8B INT4 decode at 6.1 tokens/s [DECODE] the bandwidth efficiency.
    compute_efficiency=0.55,
    bandwidth_efficiency=0.25,
    # Assumption: a static NPU kernel is submitted through the driver's command queue.
    launch_overhead_us=50.0,
)

POWER_MODES = (
    # Intel's power levels for the 125H [ARK]; each sets the package budget.
    PowerMode(name="20W", description="Minimum Assured Power (cTDP down)", power_budget_w=20.0),
    PowerMode(name="28W", description="Processor Base Power (PL1)", power_budget_w=28.0),
    PowerMode(name="65W", description="Maximum Assured Power (cTDP up)", power_budget_w=65.0),
    PowerMode(name="115W", description="Maximum Turbo Power (PL2)", power_budget_w=115.0),
)

PLATFORM = Platform(
    name="core-ultra-125h",
    description=(
        "Intel Core Ultra 5 125H (Meteor Lake H): 4P+8E+2LPE CPU, Arc iGPU (7 Xe-cores, ~18 TOPS), "
        "NPU (~11.5 TOPS), 89.6 GB/s DDR5-5600 unified memory; Agent.xpu's platform"
    ),
    devices=(CPU, IGPU, NPU),
    mem_bw_gbps=MEM_BW_GBPS,
    unified_memory=True,
    # Assumption: OpenVINO hands tensors between the NPU and the iGPU through shared host memory
    # with a driver synchronisation, tens of microseconds.
    sync_overhead_us=50.0,
    power_budget_w=28.0,
    power_modes=POWER_MODES,
    # The base power is what the part is specified to sustain.
    default_power_mode="28W",
)
