"""Transformer encoders (BERT-base/large, ViT-B/16, Whisper-tiny's encoder) and their layers.

Attention cost (one op for :math:`QK^T`, softmax and :math:`AV`, all heads):
for ``h`` query heads of width ``d_h`` and ``P`` (query, key) pairs per sequence,

.. math::  MACs = 2 h P d_h, \\qquad FLOPs = 2 \\, MACs + 5 h P

(:math:`QK^T` and :math:`AV` are :math:`h P d_h` multiply-adds each; the scaled softmax costs
about 5 operations per score). Without a mask :math:`P = q \\cdot kv`; with a causal mask over a
chunk of ``q`` new tokens after ``p`` cached ones, :math:`P = q p + q (q + 1) / 2` (a kernel that
skips masked blocks, as flash attention does). The op reads Q, K and V of the chunk plus the cached
keys and values, :math:`2 \\cdot p \\cdot h_{kv} d_h` elements per sequence.

Every op of these models carries ``tokens`` (how many tokens it processes, batch included) and
``token_wise`` (True when each token is processed independently: projections, FFN, norms,
elementwise; False for attention and for convolutions wider than one token); attention ops carry
``kv_len``.

Published figures: BERT (Devlin et al., NAACL 2019, Sec. 3): base 110 M, large 340 M parameters.
ViT-B/16 (Dosovitskiy et al., ICLR 2021, Table 1: 12 layers, width 768, MLP 3072, 12 heads, 86 M);
torchvision's ViT_B_16_Weights.IMAGENET1K_V1: 86,567,656 parameters, 17.56 "GFLOPS" (GMACs).
Whisper (Radford et al., 2022, Table 1): tiny has 4 layers, width 384, 6 heads (39 M parameters for
encoder and decoder together); its encoder takes a 30 s log-mel window (100 frames/s, 80 mels) and
halves it with a stride-2 conv: 1,500 tokens.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx

from xpuplan.models.zoo.graph_builder import ELEMENT_FLOPS, GraphBuilder, Tensor, per_token
from xpuplan.models.zoo.spec import ModelEntry, Param, common_params


def attention(
    b: GraphBuilder,
    name: str,
    inputs: list[Tensor],
    *,
    batch: int,
    q_len: int,
    past: int,
    heads: int,
    kv_heads: int,
    head_dim: int,
    causal: bool,
) -> Tensor:
    """One attention op over ``batch`` sequences (see the module docstring for its cost)."""
    kv_len = past + q_len
    pairs = q_len * past + (q_len * (q_len + 1) // 2 if causal else q_len * q_len)
    macs = 2 * batch * heads * pairs * head_dim
    flops = 2 * macs + ELEMENT_FLOPS["softmax"] * batch * heads * pairs
    cache = 2 * batch * past * kv_heads * head_dim * b.act_bytes
    return b.op(
        name,
        "attention",
        inputs,
        (batch, q_len, heads * head_dim),
        flops=flops,
        macs=macs,
        extra_read=cache,
        tokens=batch * q_len,
        token_wise=False,
        kv_len=kv_len,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        causal=causal,
    )


def self_attention(
    b: GraphBuilder, name: str, x: Tensor, heads: int, *, k_bias: bool = True
) -> Tensor:
    """Q, K, V projections (with biases), unmasked attention, output projection."""
    batch, seq, dim = x.shape
    tw = per_token(batch * seq)
    q = b.linear(f"{name}.q_proj", x, dim, **tw)
    k = b.linear(f"{name}.k_proj", x, dim, bias=k_bias, **tw)
    v = b.linear(f"{name}.v_proj", x, dim, **tw)
    a = attention(
        b,
        f"{name}.attention",
        [q, k, v],
        batch=batch,
        q_len=seq,
        past=0,
        heads=heads,
        kv_heads=heads,
        head_dim=dim // heads,
        causal=False,
    )
    return b.linear(f"{name}.o_proj", a, dim, **tw)


def ffn(
    b: GraphBuilder, name: str, x: Tensor, hidden: int, act: str, kernels: tuple[int, int] = (1, 1)
) -> Tensor:
    """Two-layer feed-forward net; ``kernels`` other than 1 make it FastSpeech's conv FFN."""
    batch, seq, dim = x.shape
    for idx, (width, kernel) in enumerate(((hidden, kernels[0]), (dim, kernels[1]))):
        tw = per_token(batch * seq, kernel == 1)
        if kernel == 1:
            x = b.linear(f"{name}.fc{idx + 1}", x, width, **tw)
        else:
            x = b.conv1d(
                f"{name}.conv{idx + 1}", x.view(batch, x.shape[2], seq), width, kernel, **tw
            )
            x = x.view(batch, seq, width)
        if idx == 0:
            x = b.act(f"{name}.{act}", x, act, tokens=batch * seq, token_wise=True)
    return x


def encoder_layer(
    b: GraphBuilder,
    name: str,
    x: Tensor,
    *,
    heads: int,
    hidden: int,
    act: str,
    pre_norm: bool,
    k_bias: bool = True,
    kernels: tuple[int, int] = (1, 1),
) -> Tensor:
    """Post-norm (BERT, FastSpeech) or pre-norm (ViT, Whisper) encoder layer, 11-12 ops."""
    tw = per_token(x.shape[0] * x.shape[1])
    h = b.norm(f"{name}.attn_norm", x, "layernorm", **tw) if pre_norm else x
    h = self_attention(b, f"{name}.attn", h, heads, k_bias=k_bias)
    x = b.eltwise(f"{name}.attn_add", "add", x, h, **tw)
    if not pre_norm:
        x = b.norm(f"{name}.attn_norm", x, "layernorm", **tw)
    h = b.norm(f"{name}.ffn_norm", x, "layernorm", **tw) if pre_norm else x
    h = ffn(b, f"{name}.ffn", h, hidden, act, kernels)
    x = b.eltwise(f"{name}.ffn_add", "add", x, h, **tw)
    return x if pre_norm else b.norm(f"{name}.ffn_norm", x, "layernorm", **tw)


# name -> (layers, hidden, heads, ffn hidden)
_BERT = {"bert-base": (12, 768, 12, 3072), "bert-large": (24, 1024, 16, 4096)}
_BERT_VOCAB, _BERT_POSITIONS, _BERT_TYPES = 30522, 512, 2


def build_bert(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """BERT encoder with pooler: embeddings (word + position + type, LayerNorm), post-LN layers
    with GELU FFN, pooler dense + tanh on the [CLS] token. Vocabulary 30,522, 512 positions."""
    layers, dim, heads, hidden = _BERT[name]
    batch, seq = p["batch"], p["seq_len"]
    b = GraphBuilder(name, "encoder", p["precision"])
    tw = per_token(batch * seq)
    ids = b.input(batch, seq)
    x = b.op(
        "embed",
        "embedding",
        [ids],
        (batch, seq, dim),
        flops=2 * batch * seq * dim,
        params=(_BERT_VOCAB + _BERT_POSITIONS + _BERT_TYPES) * dim,
        weight_params=3 * batch * seq * dim,
        **tw,
    )
    x = b.norm("embed.norm", x, "layernorm", **tw)
    for layer in range(layers):
        b.layer = layer
        x = encoder_layer(
            b, f"layers.{layer}", x, heads=heads, hidden=hidden, act="gelu", pre_norm=False
        )
    b.layer = -1
    cls = Tensor((batch, dim), x.producer)
    pooled = b.linear("pooler.dense", cls, dim, tokens=batch, token_wise=True)
    b.act("pooler.tanh", pooled, "tanh", tokens=batch, token_wise=True)
    return b.graph


_VIT_PATCH, _VIT_DIM, _VIT_LAYERS, _VIT_HEADS, _VIT_MLP = 16, 768, 12, 12, 3072


def build_vit(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """ViT-B/16: patch embedding (conv 16x16/16, 768), [CLS] token and learned position
    embedding (197 positions, interpolated at other resolutions), 12 pre-LN layers with GELU MLP,
    final LayerNorm, linear head 768 -> 1000 on [CLS]."""
    batch = p["batch"]
    height, width = p["resolution"]
    b = GraphBuilder(name, "encoder", p["precision"])
    patches = (height // _VIT_PATCH) * (width // _VIT_PATCH)
    seq = patches + 1
    tw = per_token(batch * seq)
    x = b.conv2d(
        "embed.patch",
        b.input(batch, 3, height, width),
        _VIT_DIM,
        _VIT_PATCH,
        stride=_VIT_PATCH,
        padding=0,
        bias=True,
        tokens=batch * patches,
        token_wise=True,
    )
    x = x.view(batch, patches, _VIT_DIM)
    positions = (224 // _VIT_PATCH) ** 2 + 1
    x = b.op(
        "embed.cls_pos",
        "add",
        [x],
        (batch, seq, _VIT_DIM),
        flops=batch * seq * _VIT_DIM,
        params=_VIT_DIM + positions * _VIT_DIM,
        weight_params=(1 + seq) * _VIT_DIM,
        **tw,
    )
    for layer in range(_VIT_LAYERS):
        b.layer = layer
        x = encoder_layer(
            b, f"layers.{layer}", x, heads=_VIT_HEADS, hidden=_VIT_MLP, act="gelu", pre_norm=True
        )
    b.layer = -1
    x = b.norm("final_norm", x, "layernorm", **tw)
    b.linear("head", Tensor((batch, _VIT_DIM), x.producer), 1000, tokens=batch, token_wise=True)
    return b.graph


_WHISPER_MELS, _WHISPER_DIM, _WHISPER_LAYERS, _WHISPER_HEADS = 80, 384, 4, 6
MEL_FRAMES_PER_S = 100


def whisper_tokens(audio_s: float) -> tuple[int, int]:
    """(mel frames, encoder tokens) for ``audio_s`` seconds: 100 frames/s, halved by the stem."""
    frames = math.ceil(round(audio_s * MEL_FRAMES_PER_S, 6))
    return frames, -(-frames // 2)


def build_whisper_encoder(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """Whisper-tiny encoder: conv1d k3 (80 -> 384) + GELU, conv1d k3/2 + GELU, sinusoidal
    positions (a fixed table, no parameters), 4 pre-LN layers (no bias on K), final LayerNorm.

    Whisper pads every input to 30 s (1,500 tokens); a shorter ``audio_s`` models runtimes that
    shrink the audio context (the position table is cut to the token count).
    """
    batch = p["batch"]
    frames, seq = whisper_tokens(p["audio_s"])
    b = GraphBuilder(name, "encoder", p["precision"])
    tw = per_token(batch * seq)
    x = b.input(batch, _WHISPER_MELS, frames)
    x = b.conv1d("stem.conv1", x, _WHISPER_DIM, 3, tokens=batch * frames, token_wise=False)
    x = b.act("stem.gelu1", x, "gelu", tokens=batch * frames, token_wise=True)
    x = b.conv1d("stem.conv2", x, _WHISPER_DIM, 3, stride=2, tokens=batch * seq, token_wise=False)
    x = b.act("stem.gelu2", x, "gelu", **tw).view(batch, seq, _WHISPER_DIM)
    x = b.op(
        "embed.pos",
        "add",
        [x],
        x.shape,
        flops=x.numel,
        weight_params=seq * _WHISPER_DIM,
        quantized=False,
        **tw,
    )
    for layer in range(_WHISPER_LAYERS):
        b.layer = layer
        x = encoder_layer(
            b,
            f"layers.{layer}",
            x,
            heads=_WHISPER_HEADS,
            hidden=4 * _WHISPER_DIM,
            act="gelu",
            pre_norm=True,
            k_bias=False,
        )
    b.layer = -1
    b.norm("final_norm", x, "layernorm", **tw)
    return b.graph


_BERT_SOURCE = "Devlin et al., BERT, NAACL 2019, Sec. 3 (BERT-BASE 110M, BERT-LARGE 340M)"

ENTRIES = (
    ModelEntry(
        "bert-base",
        "encoder",
        "BERT-base encoder with pooler (12 layers, 768 wide, 12 heads); a Twill motivating model.",
        common_params(seq_len=Param(128, "int", 1, _BERT_POSITIONS)),
        build_bert,
        reference={"params_m": 110, "source": _BERT_SOURCE},
    ),
    ModelEntry(
        "bert-large",
        "encoder",
        "BERT-large encoder with pooler (24 layers, 1024 wide, 16 heads); a Twill motivating "
        "model.",
        common_params(seq_len=Param(128, "int", 1, _BERT_POSITIONS)),
        build_bert,
        reference={"params_m": 340, "source": _BERT_SOURCE},
    ),
    ModelEntry(
        "vit-b-16",
        "encoder",
        "ViT-B/16 image classifier at 224x224: 196 patches + [CLS] = 197 tokens.",
        common_params(resolution=Param(224, "size", 32, 1024, _VIT_PATCH)),
        build_vit,
        reference={
            "gmacs": 17.56,
            "params_m": 86.568,
            "source": "Dosovitskiy et al., ICLR 2021, Table 1 (86M); torchvision model "
            "docs ViT_B_16_Weights.IMAGENET1K_V1 ('GFLOPS' = GMACs)",
        },
    ),
    ModelEntry(
        "whisper-tiny-encoder",
        "encoder",
        "Whisper-tiny audio encoder (speech recognition front half): 30 s -> 1,500 tokens.",
        common_params(audio_s=Param(30.0, "float", 0.02, 30.0)),
        build_whisper_encoder,
        reference={
            "layers": 4,
            "width": 384,
            "heads": 6,
            "tokens_30s": 1500,
            "source": "Radford et al., Robust Speech Recognition via Large-Scale Weak "
            "Supervision, 2022, Table 1 and Sec. 2.2",
        },
    ),
)
