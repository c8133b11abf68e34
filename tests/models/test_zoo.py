"""The model zoo: published figures, graph schema, parameters, and LLM prefill/decode scaling."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xpuplan.models import InvalidInput
from xpuplan.models.opgraph import OP_TYPES, totals, validate_op_graph
from xpuplan.models.zoo import (
    LLM_NAMES,
    build_model,
    count_macs,
    count_params,
    llm_arch,
    model_info,
    model_names,
)

# A changed, valid parameter set for every model (exercises each model's own parameters).
CHANGED: dict[str, dict[str, Any]] = {
    "resnet-50": {"batch": 2, "resolution": 160},
    "resnet-152": {"resolution": (192, 256)},
    "vgg-19": {"resolution": 256, "precision": "int8"},
    "mobilenet-v3": {"resolution": 320},
    "yolov8n": {"resolution": (384, 640)},
    "selfie-segmentation": {"resolution": (160, 256)},
    "face-landmark": {"resolution": 256, "batch": 3},
    "palm-detection": {"resolution": 192},
    "hand-landmark": {"resolution": 384},
    "hand-tracking": {"hands": 2},
    "fsrcnn": {"resolution": (360, 640), "scale": 3},
    "dtln": {"frames": 1},
    "fastspeech2-hifigan": {"phonemes": 20, "frames_per_phoneme": 8},
    "bert-base": {"seq_len": 384},
    "bert-large": {"seq_len": 64, "batch": 4},
    "vit-b-16": {"resolution": 384},
    "whisper-tiny-encoder": {"audio_s": 2.0},
    "llama-3.2-1b": {"tokens": 256, "past_tokens": 512, "logits": "all"},
    "llama-3.2-3b": {"phase": "decode", "kv_len": 600, "batch": 3, "weight_bits": 8},
    "llama-3.1-8b": {"phase": "decode", "kv_len": 4096, "weight_bits": 4},
}
TOKEN_FAMILIES = ("encoder", "llm")


def _rel(ours: float, published: float) -> float:
    return abs(ours - published) / published


def _weight_bytes(graph: nx.DiGraph, op_types: set[str]) -> float:
    return math.fsum(d["weight_bytes"] for _, d in graph.nodes(data=True) if d["type"] in op_types)


def test_changed_params_cover_every_model() -> None:
    """The table of changed parameters names every model of the registry."""
    assert set(CHANGED) == set(model_names())


@pytest.mark.parametrize("name", model_names())
def test_builds_with_defaults_and_follows_schema(name: str) -> None:
    """Each model builds with defaults: a valid, acyclic, connected graph with every attribute."""
    graph = build_model(name)
    info = model_info(name)
    validate_op_graph(graph, where=name)
    assert nx.is_directed_acyclic_graph(graph) and nx.is_weakly_connected(graph)
    assert graph.graph["name"] == name and graph.graph["precision"] == info.precision
    assert graph.graph["num_params"] == count_params(graph) > 0
    for op, data in graph.nodes(data=True):
        assert data["type"] in OP_TYPES
        assert isinstance(data["layer"], int) and data["layer"] >= -1, op
        assert data["flops"] >= 2 * data["macs"] >= 0, op
        if info.family in TOKEN_FAMILIES:
            assert data["tokens"] >= 1 and isinstance(data["token_wise"], bool), op
        if data["type"] == "attention":
            assert data["kv_len"] >= 1 and data["token_wise"] is False, op
    for src, dst, data in graph.edges(data=True):
        assert data["bytes"] == graph.nodes[src]["bytes_written"], (src, dst)
    layers = {data["layer"] for _, data in graph.nodes(data=True)} - {-1}
    assert layers == set(range(len(layers)))  # blocks numbered 0, 1, ... without gaps


@pytest.mark.parametrize("name", model_names())
def test_builds_with_changed_params(name: str) -> None:
    """Each model builds with changed parameters, and the work changes with them."""
    graph = build_model(name, **CHANGED[name])
    validate_op_graph(graph, where=name)
    default = totals(build_model(name))
    changed = totals(graph)
    assert (changed["flops"], changed["weight_bytes"]) != (
        default["flops"],
        default["weight_bytes"],
    )


# (model, published GMACs or None); tolerance 3% (MobileNetV3's 219 M MAdds are the paper's).
PUBLISHED_MACS = [
    ("resnet-50", 4.09),
    ("resnet-152", 11.51),
    ("vgg-19", 19.63),
    ("mobilenet-v3", 0.219),
    ("yolov8n", 4.35),
    ("vit-b-16", 17.56),
]
PUBLISHED_PARAMS = [
    "resnet-50",
    "resnet-152",
    "vgg-19",
    "mobilenet-v3",
    "yolov8n",
    "bert-base",
    "bert-large",
    "vit-b-16",
    "llama-3.2-1b",
    "llama-3.2-3b",
    "llama-3.1-8b",
]
# MediaPipe-class nets: widths were chosen to meet the published size (module docs), so 10%.
SIZED_TO_PUBLISHED = [
    "selfie-segmentation",
    "face-landmark",
    "palm-detection",
    "hand-landmark",
    "hand-tracking",
]


@pytest.mark.parametrize(("name", "gmacs"), PUBLISHED_MACS)
def test_macs_match_published(name: str, gmacs: float) -> None:
    """Multiply-accumulates at the default input are within 3% of the published figure."""
    assert model_info(name).reference["gmacs"] == gmacs
    assert _rel(count_macs(build_model(name)) / 1e9, gmacs) < 0.03


@pytest.mark.parametrize("name", PUBLISHED_PARAMS)
def test_params_match_published(name: str) -> None:
    """Parameter counts are within 3% of the published figure (model cards, papers)."""
    ref = model_info(name).reference
    published = ref["params_b"] * 1e9 if "params_b" in ref else ref["params_m"] * 1e6
    assert _rel(count_params(build_model(name)), published) < 0.03
    assert ref["source"]


@pytest.mark.parametrize("name", SIZED_TO_PUBLISHED)
def test_mediapipe_class_sizes(name: str) -> None:
    """The MediaPipe-class nets are within 10% of their published parameter counts."""
    ref = model_info(name).reference
    assert _rel(count_params(build_model(name)), ref["params_m"] * 1e6) < 0.10


def test_exact_torchvision_and_ultralytics_counts() -> None:
    """Where the layer tables are public the counts are exact (torchvision, Ultralytics, HF)."""
    exact = {
        "resnet-50": 25_557_032,
        "resnet-152": 60_192_808,
        "vgg-19": 143_667_240,
        "mobilenet-v3": 5_483_032,
        "yolov8n": 3_157_200,
        "vit-b-16": 86_567_656,
        "bert-base": 109_482_240,
    }
    for name, params in exact.items():
        assert count_params(build_model(name)) == params, name


def test_fsrcnn_complexity_formula() -> None:
    """FSRCNN's MACs are its 12,464 weights times the low-resolution pixels (Dong et al. 2016)."""
    ref = model_info("fsrcnn").reference
    for height, width in ((540, 960), (360, 640)):
        graph = build_model("fsrcnn", resolution=(height, width))
        assert count_macs(graph) == ref["macs_per_input_pixel"] * height * width
        out = graph.nodes["deconv"]["shape"]
        assert out == (1, 1, 2 * height, 2 * width)


def test_audio_model_sizes() -> None:
    """DTLN stays under one million parameters; the vocoder part is HiFi-GAN V2's 0.92 M."""
    dtln = count_params(build_model("dtln"))
    assert 0.9e6 < dtln < model_info("dtln").reference["params_m"] * 1e6
    graph = build_model("fastspeech2-hifigan")
    vocoder = sum(d["params"] for op, d in graph.nodes(data=True) if op.startswith("vocoder."))
    published = model_info("fastspeech2-hifigan").reference["vocoder_params_m"] * 1e6
    assert _rel(vocoder, published) < 0.03
    # 50 phonemes x 6 frames x 256 samples per frame.
    assert graph.nodes["vocoder.post.tanh"]["shape"] == (1, 1, 50 * 6 * 256)


@pytest.mark.parametrize(("audio_s", "tokens"), [(30.0, 1500), (2.0, 100), (0.3, 15)])
def test_whisper_tokens(audio_s: float, tokens: int) -> None:
    """Whisper's encoder sees 100 mel frames per second halved by the stem: 30 s -> 1,500 tokens."""
    graph = build_model("whisper-tiny-encoder", audio_s=audio_s)
    attentions = [d for _, d in graph.nodes(data=True) if d["type"] == "attention"]
    assert len(attentions) == 4
    assert all(d["kv_len"] == tokens and d["tokens"] == tokens for d in attentions)


def test_vit_tokens() -> None:
    """ViT-B/16 at 224 px has 196 patches plus [CLS]; 384 px gives 577 tokens."""
    for resolution, tokens in ((224, 197), (384, 577)):
        graph = build_model("vit-b-16", resolution=resolution)
        assert graph.nodes["layers.0.attn.attention"]["kv_len"] == tokens


@pytest.mark.parametrize(
    ("name", "parts"),
    [("hand-tracking", ("palm.", "landmark.")), ("fastspeech2-hifigan", ("acoustic.", "vocoder."))],
)
def test_sub_models_have_distinct_layers(name: str, parts: tuple[str, ...]) -> None:
    """Sub-models sharing a graph number their layers apart (per-layer fusion keeps them apart)."""
    graph = build_model(name)
    layer_sets = [
        {d["layer"] for op, d in graph.nodes(data=True) if op.startswith(part)} - {-1}
        for part in parts
    ]
    assert all(layer_sets) and not layer_sets[0] & layer_sets[1]


def test_resnet50_granularity() -> None:
    """ResNet-50 stays at a few hundred ops (one per conv, norm, activation, add)."""
    graph = build_model("resnet-50")
    assert 150 < graph.number_of_nodes() < 300
    assert sum(1 for _, d in graph.nodes(data=True) if d["type"] == "conv") == 53


# From the Hugging Face config.json files of meta-llama/Llama-3.2-1B, -3.2-3B, -3.1-8B: layers,
# hidden, heads, KV heads, head dim, intermediate size, vocabulary, tied embeddings.
PUBLISHED_CONFIGS = {
    "llama-3.2-1b": (16, 2048, 32, 8, 64, 8192, 128256, True),
    "llama-3.2-3b": (28, 3072, 24, 8, 128, 8192, 128256, True),
    "llama-3.1-8b": (32, 4096, 32, 8, 128, 14336, 128256, False),
}


@pytest.mark.parametrize("name", LLM_NAMES)
def test_llm_structure(name: str) -> None:
    """An LLM graph has 15 ops per layer, the published shape, and its analytic size."""
    arch = llm_arch(name)
    graph = build_model(name)
    per_layer = [
        sum(1 for _, d in graph.nodes(data=True) if d["layer"] == layer)
        for layer in range(arch.layers)
    ]
    assert per_layer == [15] * arch.layers
    assert count_params(graph) == arch.num_params
    assert graph.graph["family"] == "llm-prefill"
    assert (
        arch.layers,
        arch.hidden,
        arch.heads,
        arch.kv_heads,
        arch.head_dim,
        arch.ffn_hidden,
        arch.vocab,
        arch.tie_embeddings,
    ) == PUBLISHED_CONFIGS[name]
    with pytest.raises(dataclasses.FrozenInstanceError):
        arch.layers = 1  # type: ignore[misc]


def _attention_flops(name: str, tokens: int, past: int) -> float:
    """Causal attention FLOPs of a chunk: (4 d_h + 5) heads pairs per layer."""
    arch = llm_arch(name)
    pairs = tokens * past + tokens * (tokens + 1) // 2
    return arch.layers * arch.heads * pairs * (4 * arch.head_dim + 5)


@pytest.mark.parametrize("name", LLM_NAMES)
def test_prefill_flops_are_two_params_per_token_plus_attention(name: str) -> None:
    """Prefill FLOPs with all logits ~ 2 * params * N + attention (Kaplan et al. 2020), within 1%.

    The parameters are those that take part in a matmul: all but an untied input embedding table
    (a gather); a tied table is also the output projection.
    """
    tokens = 512
    arch = llm_arch(name)
    graph = build_model(name, tokens=tokens, logits="all")
    matmul_params = arch.num_params - (0 if arch.tie_embeddings else arch.vocab * arch.hidden)
    expected = 2 * matmul_params * tokens + _attention_flops(name, tokens, 0)
    assert _rel(totals(graph)["flops"], expected) < 0.01


def test_chunked_prefill_adds_up() -> None:
    """Two chunks of 128 tokens (the second after 128 cached) cost exactly one 256-token prefill."""
    name = "llama-3.2-3b"
    whole = totals(build_model(name, tokens=256, logits="none"))
    first = totals(build_model(name, tokens=128, logits="none"))
    second = totals(build_model(name, tokens=128, past_tokens=128, logits="none"))
    assert math.isclose(first["flops"] + second["flops"], whole["flops"], rel_tol=1e-12)
    assert second["bytes_read"] > first["bytes_read"]  # the second chunk reads the KV cache


def test_decode_grows_with_batch_and_kv_len() -> None:
    """A decode step costs more with more sequences and a longer cache; matmul weights are read
    once for the whole batch."""
    name = "llama-3.2-1b"
    base = totals(build_model(name, phase="decode", kv_len=1024, batch=1))
    batched = totals(build_model(name, phase="decode", kv_len=1024, batch=8))
    longer = totals(build_model(name, phase="decode", kv_len=4096, batch=1))
    assert batched["flops"] > base["flops"] and longer["flops"] > base["flops"]
    assert longer["bytes_read"] > base["bytes_read"]
    graph = build_model(name, phase="decode", kv_len=1024, batch=8)
    single = build_model(name, phase="decode", kv_len=1024, batch=1)
    assert _weight_bytes(graph, {"matmul"}) == _weight_bytes(single, {"matmul"})
    assert graph.graph["family"] == "llm-decode"
    assert graph.nodes["layers.0.attention"]["kv_len"] == 1024
    assert graph.nodes["layers.0.attention"]["tokens"] == 8


@pytest.mark.parametrize("name", LLM_NAMES)
@pytest.mark.parametrize(
    "params", [{"phase": "decode", "kv_len": 4096, "batch": 3}, {"tokens": 96, "past_tokens": 300}]
)
def test_attention_reads_the_gqa_kv_cache(name: str, params: dict) -> None:
    """Attention reads, besides its inputs, every sequence's cached K and V of its KV heads."""
    graph = build_model(name, **params)
    arch = llm_arch(name)
    cached = params.get("past_tokens", params.get("kv_len", 1) - 1)
    cache_reads = math.fsum(
        data["bytes_read"] - sum(graph.edges[p, op]["bytes"] for p in graph.predecessors(op))
        for op, data in graph.nodes(data=True)
        if data["type"] == "attention"
    )
    # 2 (K and V) x layers x KV heads x head dim x positions x 2 bytes (fp16), per sequence.
    expected = 2 * arch.layers * arch.kv_heads * arch.head_dim * cached * 2
    assert (
        cache_reads
        == arch.kv_cache_bytes(cached) * params.get("batch", 1)
        == (expected * params.get("batch", 1))
    )


@pytest.mark.parametrize("name", LLM_NAMES)
def test_weight_bytes_halve_from_8_to_4_bits(name: str) -> None:
    """Projection and embedding weight bytes halve from W8 to W4; the total nearly halves."""
    w8 = build_model(name, weight_bits=8)
    w4 = build_model(name, weight_bits=4)
    quantized = {"matmul", "embedding"}
    assert _weight_bytes(w8, quantized) == 2 * _weight_bytes(w4, quantized)
    assert _rel(totals(w8)["weight_bytes"], 2 * totals(w4)["weight_bytes"]) < 1e-3
    assert totals(w8)["flops"] == totals(w4)["flops"]


def test_lm_head_rows_follow_logits() -> None:
    """logits='last' projects one row, 'all' every token, 'none' leaves the head out."""
    name = "llama-3.2-1b"
    assert build_model(name, tokens=64).nodes["lm_head"]["shape"] == (1, 128256)
    assert build_model(name, tokens=64, logits="all").nodes["lm_head"]["shape"] == (64, 128256)
    assert "lm_head" not in build_model(name, tokens=64, logits="none")


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("resnet-50", {"resolution": 16}, "resolution"),
        ("resnet-50", {"resolution": (224, 224, 3)}, "resolution"),
        ("resnet-50", {"batch": 0}, "batch"),
        ("resnet-50", {"seq_len": 128}, "seq_len"),
        ("yolov8n", {"resolution": 650}, "resolution"),
        ("vgg-19", {"precision": "fp8"}, "precision"),
        ("bert-base", {"seq_len": 513}, "seq_len"),
        ("whisper-tiny-encoder", {"audio_s": 0}, "audio_s"),
        ("whisper-tiny-encoder", {"audio_s": float("nan")}, "audio_s"),
        ("fsrcnn", {"scale": 5}, "scale"),
        ("llama-3.2-1b", {"phase": "train"}, "phase"),
        ("llama-3.2-1b", {"kv_len": 100}, "kv_len"),
        ("llama-3.2-1b", {"phase": "decode", "tokens": 8}, "tokens"),
        ("llama-3.2-1b", {"phase": "decode", "kv_len": 0}, "kv_len"),
        ("llama-3.2-1b", {"tokens": 100_000, "past_tokens": 100_000}, "past_tokens"),
        ("llama-3.1-8b", {"weight_bits": 6}, "weight_bits"),
        ("llama-3.1-8b", {"tokens": True}, "tokens"),
    ],
)
def test_bad_params_raise_invalid_input(name: str, params: dict[str, Any], field: str) -> None:
    """Unknown, out-of-range, mistyped or misplaced parameters raise InvalidInput naming them."""
    with pytest.raises(InvalidInput) as err:
        build_model(name, **params)
    assert err.value.field == field


def test_unknown_model_names_the_known_ones() -> None:
    """An unknown model is an InvalidInput on field 'model' that lists the known names."""
    for call in (build_model, model_info, llm_arch):
        with pytest.raises(InvalidInput) as err:
            call("resnet-51")
        assert err.value.field == "model" and err.value.value == "resnet-51"
        assert ("llama-3.2-1b" if call is llm_arch else "resnet-50") in str(err.value)


def test_aliases_select_their_model() -> None:
    """Task-level aliases build the same graph as the model's own name and are not listed."""
    names = model_names()
    aliases = [alias for name in names for alias in model_info(name).aliases]
    assert len(aliases) == len(set(aliases)) and not set(aliases) & set(names)
    expected = {
        "portrait-seg": "selfie-segmentation",
        "face-landmarks": "face-landmark",
        "noise-suppression": "dtln",
        "super-resolution": "fsrcnn",
        "tts": "fastspeech2-hifigan",
    }
    for alias, name in expected.items():
        assert model_info(alias).name == name
        graph = build_model(alias)
        assert graph.graph["name"] == name and totals(graph) == totals(build_model(name))


def test_model_info_is_frozen_and_complete() -> None:
    """ModelInfo is a frozen dataclass with a family, defaults and a cited reference."""
    for name in model_names():
        info = model_info(name)
        assert info.family in ("cnn", "encoder", "llm", "audio")
        assert info.description and info.reference["source"]
        assert "batch" in info.default_params and "precision" in info.default_params
        with pytest.raises(dataclasses.FrozenInstanceError):
            info.name = "x"  # type: ignore[misc]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4096), st.integers(1, 4096), st.integers(0, 8192))
def test_prefill_flops_monotone_in_tokens(a: int, b: int, past: int) -> None:
    """More prefill tokens (at any cache length) never cost fewer FLOPs."""
    low, high = sorted((a, b))
    f_low = totals(build_model("llama-3.2-1b", tokens=low, past_tokens=past))["flops"]
    f_high = totals(build_model("llama-3.2-1b", tokens=high, past_tokens=past))["flops"]
    assert f_low <= f_high and (low == high or f_low < f_high)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 65536), st.integers(1, 64))
def test_decode_flops_monotone_in_kv_len_and_batch(kv_len: int, batch: int) -> None:
    """A decode step's FLOPs grow with the cache length and with the batch."""
    base = totals(build_model("llama-3.2-3b", phase="decode", kv_len=kv_len, batch=batch))
    more_kv = totals(build_model("llama-3.2-3b", phase="decode", kv_len=kv_len + 1, batch=batch))
    more_seq = totals(build_model("llama-3.2-3b", phase="decode", kv_len=kv_len, batch=batch + 1))
    assert base["flops"] < more_kv["flops"] and base["flops"] < more_seq["flops"]


@settings(max_examples=20, deadline=None)
@given(
    st.sampled_from(["resnet-50", "mobilenet-v3", "yolov8n", "selfie-segmentation"]),
    st.integers(1, 16),
    st.integers(1, 16),
)
def test_vision_macs_monotone_in_resolution(name: str, a: int, b: int) -> None:
    """A larger input never costs fewer MACs; the graph stays valid at every resolution."""
    low, high = sorted((32 * a, 32 * b))
    m_low = count_macs(build_model(name, resolution=low))
    m_high = count_macs(build_model(name, resolution=high))
    assert m_low <= m_high and (low == high or m_low < m_high)
