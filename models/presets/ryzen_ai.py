"""``ryzen-ai-hx370``: AMD Ryzen AI 9 HX 370 (Strix Point; the RTGen study's class of platform).

Sources (cited by tag next to each number below)

[AMD]
    AMD's product page for the Ryzen AI 9 HX 370, as tabulated by ComputerBase (2024-07, "Ryzen
    AI 9 HX 375: AMD macht die 55-TOPS-APU offiziell") and PurePC (Computex 2024): 12 cores /
    24 threads = 4 Zen 5 (up to 5.1 GHz) + 8 Zen 5c, base 2.0 GHz; Radeon 890M, RDNA 3.5, 16 CUs
    up to 2.9 GHz; XDNA 2 NPU 50 TOPS INT8; 80 platform TOPS = 50 (NPU) + 30 (CPU and GPU);
    default TDP 28 W, configurable 15-54 W; LPDDR5X-7500.
[HALO]
    r/LocalLLaMA, "Offloading LLM matrix multiplication to the AMD XDNA2 NPU on Ryzen AI MAX 385"
    (second-hand, one user's llama.cpp runs): Llama-3.1-8B Q4_K_M on Strix Halo (Radeon 8050S,
    32 CUs at 2.8 GHz, 256 GB/s LPDDR5X-8000): Vulkan iGPU prefill 833 tokens/s (pp512) and
    decode 41.6 tokens/s at 52.2 W package; iGPU prefill + NPU decode 930 / 43.7 tokens/s at
    41.5 W. Strix Halo has the same XDNA 2 NPU and a larger RDNA 3.5 iGPU; its figures are scaled
    here by compute (prefill) and bandwidth (decode), as tests/models/test_roofline.py does.
[FFLM]
    r/LocalLLaMA, "Strix Halo NPU performance compared to GPU and CPU in Linux" (second-hand):
    about 20 W package power while the XDNA 2 NPU runs an LLM.

Modelling choices
-----------------
* ``cpu``: one unit for the 12 cores (Zen 5 and Zen 5c differ in clock, so they are not
  identical units; an inference engine spreads one inference over all of them).
* Power figures are package powers less an assumed ~12 W for the SoC and LPDDR5X under an LLM
  load; they are the weakest numbers of this preset (no per-device measurement is public).
* Idle powers (CPU 1.5 W, iGPU 0.8 W, NPU 0.3 W) are assumptions: no per-device idle figure is
  public; they keep the package's idle power of a few watts.
* Power modes are AMD's cTDP range: 15 W, the default 28 W, 54 W [AMD]; each sets the budget.
[ORT-EP]
    ONNX Runtime bindings (not runnable on a machine without these providers): AMD Ryzen AI
    Software documentation, "Model deployment with ONNX Runtime": the NPU through the
    ``VitisAIExecutionProvider`` with a ``config_file`` (vaip_config.json), the iGPU through the
    DirectML provider (``DmlExecutionProvider``); ONNX Runtime's CPU provider on the CPU.
"""

from __future__ import annotations

from xpuplan.models.platform import DeviceSpec, OrtBinding, Platform, PowerMode
from xpuplan.models.presets.dvfs import scaled_levels

# LPDDR5X-7500 on a 128-bit bus: 7500 MT/s x 16 bytes [AMD].
MEM_BW_GBPS = 120.0

CPU = DeviceSpec(
    name="cpu",
    kind="cpu",
    units=1,
    # [ORT-EP] The CPU execution provider on the one unit (all cores).
    onnxruntime=OrtBinding("CPUExecutionProvider"),
    # Levels by Zen 5 clock, base 2.0 GHz to boost 5.1 GHz [AMD].
    # Top power 45 W: assumption, the 54 W cTDP ceiling [AMD] less ~9 W for the rest of the SoC
    # when only the CPU is busy.
    levels=scaled_levels((2000, 3000, 4000, 5100), top_power_w=45.0),
    idle_power_w=1.5,
    # All cores at boost: Zen 5 and Zen 5c in Strix Point execute AVX-512 on a 256-bit datapath,
    # 2 FMA pipes = 32 fp32 FLOP/cycle; Zen 5c boosts to 3.3 GHz (AMD):
    # fp32 = (4 x 5.1 + 8 x 3.3) x 32 = 1498 GFLOPS; bf16 (AVX512_BF16) 2x and INT8 (AVX512_VNNI)
    # 4x the fp32 rate. No fp16 arithmetic (fp16 runs at the bf16 rate).
    peak_ops={"fp32": 1.498e12, "bf16": 2.995e12, "int8": 5.99e12},
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
    # [ORT-EP] Ryzen AI Software runs ONNX models on the iGPU through the DirectML provider.
    onnxruntime=OrtBinding("DmlExecutionProvider", {"device_id": 0}),
    # Up to 2.9 GHz [AMD]; lower steps assumed.
    # Top power 20 W: [HALO]'s 52.2 W package for the 32-CU Strix Halo iGPU, less ~12 W for the SoC
    # and memory, is 1.25 W per CU; 16 CUs give 20 W.
    levels=scaled_levels((600, 1200, 1800, 2400, 2900), top_power_w=20.0),
    idle_power_w=0.8,
    # 16 CUs at 2.9 GHz: fp32 16 x 64 lanes x 2 (FMA) x 2 (dual issue) x 2.9 GHz = 11.9 TFLOPS;
    # RDNA 3 WMMA 512 fp16/bf16/INT8 ops per CU per cycle = 23.8 T, INT4 twice that. Cross-check:
    # 23.8 (GPU) + 6.0 (CPU) = AMD's 30 TOPS for CPU and GPU [AMD]. GPU databases that do not
    # count dual issue list half (5.9 TFLOPS fp32, 11.9 fp16); the calibrated compute efficiency
    # below absorbs the convention.
    peak_ops={
        "int4": 47.5e12,
        "int8": 23.76e12,
        "fp16": 23.76e12,
        "bf16": 23.76e12,
        "fp32": 11.88e12,
    },
    bandwidth_gbps=MEM_BW_GBPS,
    # Calibrated on [HALO] scaled to 16 CUs at 2.9 GHz and 120 GB/s (test_roofline.py).
    compute_efficiency=0.27,
    bandwidth_efficiency=0.75,
    launch_overhead_us=10.0,
)

NPU = DeviceSpec(
    name="npu",
    kind="npu",
    units=1,
    # [ORT-EP] The NPU through the Vitis AI execution provider and its compiler configuration.
    onnxruntime=OrtBinding("VitisAIExecutionProvider", {"config_file": "vaip_config.json"}),
    # AMD publishes no NPU clock. Top 1.5 GHz is derived: 32 AIE tiles x 512 INT8 MACs x 2 x
    # 1.5 GHz = 49 TOPS, AMD's 50 [AMD]; lower steps at 1/4, 1/2, 3/4 (assumed).
    # Top power 8 W: [FFLM]'s ~20 W package with the NPU busy, less ~12 W for the SoC and memory.
    levels=scaled_levels((375, 750, 1125, 1500), top_power_w=8.0),
    idle_power_w=0.3,
    # 50 TOPS INT8 [AMD]; bf16 assumed at half the INT8 MAC rate (as on the AIE-ML tiles).
    peak_ops={"int8": 50.0e12, "bf16": 25.0e12},
    bandwidth_gbps=MEM_BW_GBPS,
    # Assumption: no public HX 370 NPU prefill time.
    compute_efficiency=0.4,
    # Calibrated on [HALO]'s NPU decode (43.7 tokens/s at 256 GB/s) scaled to 120 GB/s.
    bandwidth_efficiency=0.75,
    # Assumption: an NPU kernel is dispatched through XRT, tens of microseconds.
    launch_overhead_us=50.0,
)

POWER_MODES = (
    # AMD's configurable TDP range [AMD]; each sets the package budget.
    PowerMode(name="15W", description="cTDP minimum", power_budget_w=15.0),
    PowerMode(name="28W", description="default TDP", power_budget_w=28.0),
    PowerMode(name="54W", description="cTDP maximum", power_budget_w=54.0),
)

PLATFORM = Platform(
    name="ryzen-ai-hx370",
    description=(
        "AMD Ryzen AI 9 HX 370 (Strix Point): 4 Zen 5 + 8 Zen 5c CPU, Radeon 890M iGPU (16 CUs, "
        "2.9 GHz), XDNA 2 NPU (50 TOPS), 120 GB/s LPDDR5X-7500 unified memory; cTDP 15-54 W"
    ),
    devices=(CPU, IGPU, NPU),
    mem_bw_gbps=MEM_BW_GBPS,
    unified_memory=True,
    # Assumption: a hand-over between the NPU and the iGPU through shared memory with a driver
    # synchronisation, tens of microseconds.
    sync_overhead_us=50.0,
    power_budget_w=28.0,
    power_modes=POWER_MODES,
    default_power_mode="28W",
)
