"""The calibrated roofline: each preset against public measurements, and generic properties.

Calibration anchors (the presets' docstrings cite each source):

======================================  =====================================  ================
anchor                                  measured                               band
======================================  =====================================  ================
Orin NX GPU, ResNet-50 INT8, batch 1    1.085 ms (MLPerf v3.0 SingleStream)    +-15%
Orin NX GPU, BERT-large INT8, 384 tok   16.94 ms (MLPerf v3.0, 99th pct)       +-15%
Orin NX DLA, ResNet-50 INT8, batch 2    536 img/s per DLA (NVIDIA DLA README)  +-15%
Orin NX GPU + 2 DLAs, ResNet-50         2518 img/s (MLPerf v3.0 Offline)       +-15%
Core Ultra NPU, 8B layer, 256 tokens    < 38 ms (Agent.xpu)                    25-38 ms
Core Ultra iGPU, attention at 2048      < 97 ms (Agent.xpu)                    <= 97 ms
Core Ultra iGPU, 8B INT4 decode         12 tok/s on a 185H                     9-13 tok/s
Core Ultra NPU, 8B INT4 decode          6.1 tok/s on a Core Ultra 7            4.5-7 tok/s
HX 370 iGPU, 8B Q4 prefill (pp512)      833-930 tok/s on Strix Halo, scaled    +-15%
HX 370 iGPU, 8B Q4 decode               41.6 tok/s on Strix Halo, scaled       +-15%
HX 370 NPU, 8B Q4 decode                43.7 tok/s on Strix Halo, scaled       +-15%
======================================  =====================================  ================

The workloads' FLOPs and bytes are computed here from the models' published shapes (a
multiply-accumulate is 2 operations), one roofline kernel per fused layer as the planner's fusion
makes them, so the launch overheads count as they would in a plan.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xpuplan.models.platform import PRECISIONS, DeviceSpec, Platform
from xpuplan.models.presets import core_ultra, get_platform, jetson_orin_nx, ryzen_ai
from xpuplan.models.roofline import peak_ops, roofline_cost

Kernel = tuple[float, float]  # (operations, bytes moved)

# Llama-3.1-8B (Meta's config.json): hidden 4096, 32 layers, 8 KV heads of 128, FFN 14336,
# vocabulary 128256.
LLAMA_HIDDEN, LLAMA_KV, LLAMA_FFN, LLAMA_LAYERS, LLAMA_VOCAB = 4096, 1024, 14336, 32, 128256
# Per layer: q and o (hidden x hidden), k and v (hidden x kv), gate, up and down (hidden x ffn).
LLAMA_LAYER_PARAMS = LLAMA_HIDDEN * (2 * LLAMA_HIDDEN + 2 * LLAMA_KV + 3 * LLAMA_FFN)
# The weights a decode step reads: every layer and the output head (the embedding table is
# indexed, not streamed).
LLAMA_DECODE_PARAMS = LLAMA_LAYERS * LLAMA_LAYER_PARAMS + LLAMA_HIDDEN * LLAMA_VOCAB

PRESETS = (jetson_orin_nx.PLATFORM, core_ultra.PLATFORM, ryzen_ai.PLATFORM)
# Every preset device in every power mode (modes remove levels and scale compute and power).
MODE_DEVICES = [
    (f"{p.name}[{m.name}]/{d.name}", d)
    for p in PRESETS
    for m in p.power_modes
    for d in p.with_power_mode(m.name).devices
]


# ------------------------------------------------------------------ workloads
def resnet50_kernels(batch: int) -> list[Kernel]:
    """ResNet-50 v1.5 at 224x224, INT8, one kernel per conv (+BN, ReLU, residual add) or pool.

    A k x k convolution from ``c_in`` to ``c_out`` channels with an ``h x h`` output does
    ``2 c_in c_out k^2 h^2`` operations per image and moves its int8 weights once plus its input and
    output maps (and the residual it adds). v1.5 strides the 3x3 conv of a downsampling block.
    """
    kernels: list[Kernel] = []

    def conv(c_in: int, c_out: int, k: int, h_in: int, stride: int, residual: bool = False) -> int:
        h_out = h_in // stride
        weights = c_in * c_out * k * k
        maps = c_in * h_in**2 + c_out * h_out**2 * (2 if residual else 1)
        kernels.append((2 * weights * h_out**2 * batch, weights + batch * maps))
        return h_out

    conv(3, 64, 7, 224, 2)
    kernels.append((9 * 64 * 56**2 * batch, batch * 64 * (112**2 + 56**2)))  # 3x3/2 max pool
    h, c_in = 56, 64
    for num_blocks, width, stride in ((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)):
        for b_idx in range(num_blocks):
            s = stride if b_idx == 0 else 1
            if b_idx == 0:
                conv(c_in, 4 * width, 1, h, s)  # projection shortcut
            conv(c_in, width, 1, h, 1)
            h_out = conv(width, width, 3, h, s)
            conv(width, 4 * width, 1, h_out, 1, residual=True)
            h, c_in = h_out, 4 * width
    # Global average pool and the 1000-way classifier.
    kernels.append((batch * (2048 * 49 + 2 * 2048 * 1000), 2048 * 1000 + batch * 2048 * 49))
    return kernels


def bert_large_kernels(tokens: int) -> list[Kernel]:
    """BERT-large (24 layers, hidden 1024, FFN 4096) over ``tokens`` tokens, INT8, 5 kernels/layer.

    QKV projection, attention (``QK^T`` and ``PV``: ``4 L^2 d`` operations, flash-style so the score
    matrix stays on chip), output projection (+add, LayerNorm), FFN up (+GELU), FFN down (+add, LN).
    """
    d, ffn, L = 1024, 4096, tokens
    layer: list[Kernel] = [
        (2 * d * 3 * d * L, 3 * d * d + 4 * L * d),
        (4 * L * L * d, 4 * L * d),
        (2 * d * d * L, d * d + 3 * L * d),
        (2 * d * ffn * L, d * ffn + L * d + L * ffn),
        (2 * d * ffn * L, d * ffn + L * ffn + 2 * L * d),
    ]
    return layer * 24


def llama_chunk_layer(tokens: int) -> Kernel:
    """The token-wise ops of one Llama-3.1-8B layer over a chunk (Agent.xpu's NPU kernel), W8A16.

    Operations ``2 x params x tokens``; bytes: int8 weights plus the fp16 activations each GEMM
    reads and writes (hidden in, q/k/v out, attention out in, o out, gate/up out, down in/out).
    """
    h, kv, f = LLAMA_HIDDEN, LLAMA_KV, LLAMA_FFN
    activations = tokens * (h + (h + 2 * kv) + h + h + h + 2 * f + f + h) * 2
    return 2 * LLAMA_LAYER_PARAMS * tokens, LLAMA_LAYER_PARAMS + activations


def llama_decode_step(bits_per_weight: float, context: int) -> Kernel:
    """One Llama-3.1-8B decode step: ``2 x params`` operations; weights plus the fp16 KV cache."""
    kv_cache = LLAMA_LAYERS * 2 * LLAMA_KV * 2 * context
    return 2 * LLAMA_DECODE_PARAMS, LLAMA_DECODE_PARAMS * bits_per_weight / 8 + kv_cache


def llama_prefill_kernels(tokens: int, bits_per_weight: float) -> list[Kernel]:
    """Llama-3.1-8B prefill of ``tokens`` tokens, one kernel per layer, causal attention."""
    attention = 4 * tokens * tokens * LLAMA_HIDDEN / 2
    activations = tokens * LLAMA_HIDDEN * 2 * 10
    layer = (
        2 * LLAMA_LAYER_PARAMS * tokens + attention,
        LLAMA_LAYER_PARAMS * bits_per_weight / 8 + activations,
    )
    return [layer] * LLAMA_LAYERS


def time_us(platform: Platform, device: str, kernels: list[Kernel], precision: str) -> float:
    """Sum of the kernels' roofline times at the device's top level (one unit)."""
    dev = platform.device(device)
    return sum(
        roofline_cost(
            dev,
            dev.top_level,
            flops=ops,
            bytes_moved=nbytes,
            precision=precision,
            mem_bw_gbps=platform.mem_bw_gbps,
        ).time_us
        for ops, nbytes in kernels
    )


def assert_near(predicted: float, measured: float, rel: float) -> None:
    assert abs(predicted - measured) <= rel * measured, (predicted, measured)


# ------------------------------------------------------------------ the workload formulas
def test_workload_formulas_match_published_sizes() -> None:
    """ResNet-50 v1.5 has 4.1 GMACs, Llama-3.1-8B 8.03 B parameters, BERT-large's encoder 302 M."""
    assert sum(ops for ops, _ in resnet50_kernels(1)) / 2 == pytest.approx(4.1e9, rel=0.02)
    embeddings_and_head = 2 * LLAMA_HIDDEN * LLAMA_VOCAB
    total_params = LLAMA_LAYERS * LLAMA_LAYER_PARAMS + embeddings_and_head
    assert total_params == pytest.approx(8.03e9, rel=0.01)
    qkv_ops = bert_large_kernels(1)[0][0]
    assert 24 * (qkv_ops / 2 * 4 / 3 + 2 * 1024 * 4096) == pytest.approx(302e6, rel=0.01)


# ------------------------------------------------------------------ Jetson Orin NX
def test_orin_gpu_resnet50_single_stream() -> None:
    """MLPerf v3.0 Orin NX ResNet-50 SingleStream on the GPU: median 1.085 ms."""
    orin = get_platform("jetson-orin-nx-16gb", "MAXN")
    assert_near(time_us(orin, "gpu", resnet50_kernels(1), "int8") / 1e3, 1.085, 0.15)


def test_orin_gpu_bert_large_384_tokens() -> None:
    """MLPerf v3.0 Orin NX BERT-99 SingleStream: 16.94 ms at the 99th percentile (384 tokens)."""
    orin = get_platform("jetson-orin-nx-16gb", "MAXN")
    assert_near(time_us(orin, "gpu", bert_large_kernels(384), "int8") / 1e3, 16.94, 0.15)


def test_orin_dla_resnet50() -> None:
    """NVIDIA: 2 DLAs run ResNet-50 (bs 2) at 1072 img/s at AGX Orin 15W, Orin NX's DLA maximum."""
    orin = get_platform("jetson-orin-nx-16gb", "MAXN")
    images_per_s = 2 / time_us(orin, "dla0", resnet50_kernels(2), "int8") * 1e6
    assert_near(images_per_s, 1072 / 2, 0.15)


def test_orin_offline_gpu_and_dlas() -> None:
    """MLPerf v3.0 Orin NX ResNet-50 Offline on the GPU and both DLAs together: 2518 img/s."""
    orin = get_platform("jetson-orin-nx-16gb", "MAXN")
    gpu = 32 / time_us(orin, "gpu", resnet50_kernels(32), "int8") * 1e6
    # dla0 and dla1 are identical at MAXN: two of them at batch 2.
    dlas = 2 * 2 / time_us(orin, "dla0", resnet50_kernels(2), "int8") * 1e6
    assert_near(gpu + dlas, 2518, 0.15)


def test_orin_15w_mode_is_slower() -> None:
    """In 15W the GPU has half its TPCs at <= 612 MHz: ResNet-50 takes longer than at MAXN."""
    maxn = time_us(get_platform("jetson-orin-nx-16gb", "MAXN"), "gpu", resnet50_kernels(1), "int8")
    m15 = time_us(get_platform("jetson-orin-nx-16gb", "15W"), "gpu", resnet50_kernels(1), "int8")
    assert 1.5 * maxn < m15 < 3.0 * maxn


# ------------------------------------------------------------------ Core Ultra 125H
def test_core_ultra_npu_prefill_chunk() -> None:
    """Agent.xpu: a 256-token chunk of the 8B model (W8A16) on the NPU takes < 38 ms.

    Per layer, not per model: the whole model's 32 layers would need 32 x 112 GFLOP in 38 ms,
    94 TFLOPS, sixteen times the NPU's fp16 peak. The chunk size is chosen where a kernel just
    saturates the NPU, so the time is close to the bound: the band is 25-38 ms.
    """
    cu = get_platform("core-ultra-125h")
    predicted = time_us(cu, "npu", [llama_chunk_layer(256)], "fp16") / 1e3
    assert 25.0 <= predicted <= 38.0


def test_core_ultra_igpu_attention_bound() -> None:
    """Agent.xpu: attention of one 8B layer at sequence 2048 on the iGPU takes < 97 ms."""
    cu = get_platform("core-ultra-125h")
    L, d = 2048, LLAMA_HIDDEN
    kernel = (4 * L * L * d, L * (2 * d + 2 * LLAMA_KV) * 2)
    assert time_us(cu, "igpu", [kernel], "fp16") / 1e3 <= 97.0


def test_core_ultra_igpu_decode() -> None:
    """Llama-3-8B INT4 decodes at 12 tok/s on a 185H's iGPU; at the 125H's 89.6 GB/s, 9-13 tok/s.

    INT4 with an fp16 scale per 128 weights is 4.125 bits per weight. The 185H was likely on
    LPDDR5x-7467 (119.5 GB/s): scaled to 89.6 GB/s that is 9 tok/s, on DDR5-5600 it stays 12.
    """
    cu = get_platform("core-ultra-125h")
    tokens_per_s = 1e6 / time_us(cu, "igpu", [llama_decode_step(4.125, 512)], "fp16")
    assert 9.0 <= tokens_per_s <= 13.0


def test_core_ultra_npu_decode() -> None:
    """An 8B INT4 model decodes at 6.1 tok/s on a Core Ultra 7's NPU (second-hand): 4.5-7 tok/s."""
    cu = get_platform("core-ultra-125h")
    tokens_per_s = 1e6 / time_us(cu, "npu", [llama_decode_step(4.125, 512)], "fp16")
    assert 4.5 <= tokens_per_s <= 7.0


def test_core_ultra_measured_powers() -> None:
    """Compute-bound kernels at the top level draw Agent.xpu's NPU 10, iGPU 31, CPU 58 W."""
    cu = get_platform("core-ultra-125h", "115W")
    for name, watts in (("npu", 10.0), ("igpu", 31.0), ("cpu", 58.0)):
        dev = cu.device(name)
        cost = roofline_cost(dev, dev.top_level, flops=1e12, bytes_moved=0.0, precision="fp16")
        assert cost.power_w == pytest.approx(watts)


# ------------------------------------------------------------------ Ryzen AI 9 HX 370
# Strix Halo (Ryzen AI MAX 385: Radeon 8050S, 32 CUs at 2.8 GHz, 256 GB/s) -> HX 370 (16 CUs at
# 2.9 GHz, 120 GB/s): prefill scales with the iGPU's fp16 rate, decode with memory bandwidth.
HALO_TO_HX370_COMPUTE = (16 * 2.9) / (32 * 2.8)
HALO_TO_HX370_BANDWIDTH = 120.0 / 256.0
Q4_K_M_BITS = 4.9  # llama.cpp's Q4_K_M of Llama-3.1-8B: 4.58 GiB for 8.03 B weights


def test_ryzen_igpu_prefill() -> None:
    """Strix Halo iGPU prefill 833-930 tok/s (pp512, 8B Q4_K_M), scaled by compute: +-15%."""
    rz = get_platform("ryzen-ai-hx370")
    tokens_per_s = 512 / time_us(rz, "igpu", llama_prefill_kernels(512, Q4_K_M_BITS), "fp16") * 1e6
    low, high = 833 * HALO_TO_HX370_COMPUTE, 930 * HALO_TO_HX370_COMPUTE
    assert 0.85 * low <= tokens_per_s <= 1.15 * high


def test_ryzen_igpu_decode() -> None:
    """Strix Halo iGPU decode 41.6 tok/s (tg64, 8B Q4_K_M), scaled by bandwidth: +-15%."""
    rz = get_platform("ryzen-ai-hx370")
    tokens_per_s = 1e6 / time_us(rz, "igpu", [llama_decode_step(Q4_K_M_BITS, 64)], "fp16")
    assert_near(tokens_per_s, 41.6 * HALO_TO_HX370_BANDWIDTH, 0.15)


def test_ryzen_npu_decode() -> None:
    """Strix Halo NPU decode 43.7 tok/s (8B Q4_K_M, same XDNA 2 NPU), scaled by bandwidth: +-15%."""
    rz = get_platform("ryzen-ai-hx370")
    tokens_per_s = 1e6 / time_us(rz, "npu", [llama_decode_step(Q4_K_M_BITS, 64)], "bf16")
    assert_near(tokens_per_s, 43.7 * HALO_TO_HX370_BANDWIDTH, 0.15)


# ------------------------------------------------------------------ generic properties
# Zero or at least one operation / byte: subnormal sizes only test float underflow.
kernels = st.tuples(
    st.one_of(st.just(0.0), st.floats(min_value=1.0, max_value=1e13)),
    st.one_of(st.just(0.0), st.floats(min_value=1.0, max_value=1e11)),
    st.sampled_from(PRECISIONS),
)


@pytest.mark.parametrize(("label", "dev"), MODE_DEVICES, ids=[m[0] for m in MODE_DEVICES])
@settings(max_examples=25, deadline=None)
@given(kernel=kernels)
def test_higher_level_never_slower_never_less_power(
    label: str, dev: DeviceSpec, kernel: tuple[float, float, str]
) -> None:
    """For every preset device and mode, a higher level is never slower and never draws less."""
    ops, nbytes, precision = kernel
    costs = [
        roofline_cost(dev, level, flops=ops, bytes_moved=nbytes, precision=precision)
        for level in dev.levels
    ]
    for lower, higher in itertools.pairwise(costs):
        assert higher.time_us <= lower.time_us * (1 + 1e-12)
        assert higher.power_w >= lower.power_w * (1 - 1e-12)


@pytest.mark.parametrize(("label", "dev"), MODE_DEVICES, ids=[m[0] for m in MODE_DEVICES])
@settings(max_examples=25, deadline=None)
@given(nbytes=st.floats(min_value=1e6, max_value=1e11), share=st.floats(0.0, 1.0))
def test_memory_bound_kernels_gain_nothing_from_dvfs(
    label: str, dev: DeviceSpec, nbytes: float, share: float
) -> None:
    """A kernel memory-bound at the lowest level is equally fast at every level, cheapest lowest."""
    lowest = dev.levels[0]
    memory_us = nbytes / (dev.bandwidth_gbps * dev.bandwidth_efficiency * 1e3)
    rate = peak_ops(dev, "fp16") * lowest.speed * dev.compute_efficiency
    ops = share * memory_us * 1e-6 * rate
    costs = [
        roofline_cost(dev, level, flops=ops, bytes_moved=nbytes, precision="fp16")
        for level in dev.levels
    ]
    assert all(c.time_us == pytest.approx(costs[0].time_us) for c in costs)
    energies = [c.power_w * c.time_us for c in costs]
    assert energies == sorted(energies)


def test_memory_bound_decode_gains_little_on_orin() -> None:
    """Orin GPU, 1B-parameter INT8 decode step: tripling the clock (306 -> 918 MHz) gains < 5%."""
    gpu = get_platform("jetson-orin-nx-16gb", "MAXN").device("gpu")
    slow, fast = (
        roofline_cost(gpu, gpu.level(name), flops=2e9, bytes_moved=1e9, precision="int8")
        for name in ("306MHz", "918MHz")
    )
    assert fast.time_us >= 0.95 * slow.time_us
    assert fast.power_w * fast.time_us > slow.power_w * slow.time_us


@pytest.mark.parametrize(
    ("platform", "device", "precision", "used"),
    [
        ("core-ultra-125h", "cpu", "fp16", "fp32"),  # no fp16 arithmetic: the wider fp32
        ("core-ultra-125h", "igpu", "bf16", "fp32"),
        ("core-ultra-125h", "npu", "int4", "int8"),
        ("ryzen-ai-hx370", "npu", "fp16", "bf16"),
        ("ryzen-ai-hx370", "cpu", "fp16", "bf16"),
        ("jetson-orin-nx-16gb", "cpu", "int4", "int8"),
        ("jetson-orin-nx-16gb", "dla0", "fp32", "fp16"),  # nothing wider: the nearest narrower
        ("jetson-orin-nx-16gb", "dla0", "bf16", "fp16"),
    ],
)
def test_precision_fallback(platform: str, device: str, precision: str, used: str) -> None:
    """A precision a device lacks runs at the nearest wider one it has, else the nearer narrower."""
    dev = get_platform(platform).device(device)
    assert precision not in dev.peak_ops
    assert peak_ops(dev, precision) == dev.peak_ops[used]


@pytest.mark.parametrize(("label", "dev"), MODE_DEVICES, ids=[m[0] for m in MODE_DEVICES])
def test_narrower_precision_never_slower(label: str, dev: DeviceSpec) -> None:
    """On every preset device, int4 >= int8 >= fp16 >= fp32 in peak throughput (after fallback)."""
    rates = [peak_ops(dev, p) for p in ("int4", "int8", "fp16", "fp32")]
    assert rates == sorted(rates, reverse=True)
