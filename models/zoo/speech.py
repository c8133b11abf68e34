"""Speech synthesis: a FastSpeech 2 acoustic model followed by a HiFi-GAN V2 vocoder.

FastSpeech 2 (Ren et al., ICLR 2021, Sec. 2 and Appendix A): phoneme embedding (256), sinusoidal
positions, 4 feed-forward Transformer blocks (post-LN; 2 heads, width 256; conv FFN with kernels
9 and 1, 1,024 filters), a variance adaptor (duration predictor on phonemes; length regulator;
pitch and energy predictors on frames, each two conv1d k3 (256) + ReLU + LayerNorm and a linear
output; pitch and energy quantised to 256 bins and embedded), 4 decoder blocks and a linear
projection to 80 mel bins. The post-net some re-implementations add is left out, as in the paper.
A phoneme inventory of 80 symbols (ARPAbet with stress marks and punctuation) is assumed.

HiFi-GAN V2 (Kong et al., NeurIPS 2020, Table 1 and Appendix A: 0.92 M parameters): conv1d k7
(80 -> 128); four upsampling stages (rates 8, 8, 2, 2, transposed-conv kernels 16, 16, 4, 4,
channels halving from 128 to 8), each followed by a multi-receptive-field fusion of three residual
blocks (kernels 3, 7, 11; dilations 1, 3, 5; leaky ReLU before every conv) averaged; leaky ReLU,
conv1d k7 to one channel, tanh. 256 audio samples per mel frame (22.05 kHz).

Sentence length: ``phonemes`` (default 50, a sentence of about 10 words) times
``frames_per_phoneme`` (default 6 frames = 70 ms at 86 frames/s, about 14 phonemes per second,
an ordinary speaking rate); 50 phonemes give 300 frames, 3.5 s of audio.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from xpuplan.models.zoo.graph_builder import GraphBuilder, Tensor, per_token
from xpuplan.models.zoo.spec import ModelEntry, Param, common_params
from xpuplan.models.zoo.transformer import encoder_layer

FS2_DIM, FS2_HEADS, FS2_FILTER, FS2_LAYERS, FS2_VOCAB, FS2_BINS = 256, 2, 1024, 4, 80, 256
MEL_BINS, HOP = 80, 256
# HiFi-GAN V2: initial channels, upsampling rates and kernels, resblock kernels and dilations.
HIFIGAN_CHANNELS, HIFIGAN_RATES, HIFIGAN_UP_KERNELS = 128, (8, 8, 2, 2), (16, 16, 4, 4)
HIFIGAN_RES_KERNELS, HIFIGAN_DILATIONS = (3, 7, 11), (1, 3, 5)


def _variance_predictor(b: GraphBuilder, name: str, x: Tensor) -> Tensor:
    """Two conv1d k3 + ReLU + LayerNorm, linear to one value per position."""
    batch, seq, dim = x.shape
    tw = per_token(batch * seq)
    for idx in range(2):
        y = b.conv1d(
            f"{name}.conv{idx}",
            x.view(batch, dim, seq),
            dim,
            3,
            tokens=batch * seq,
            token_wise=False,
        ).view(batch, seq, dim)
        y = b.act(f"{name}.relu{idx}", y, "relu", **tw)
        x = b.norm(f"{name}.norm{idx}", y, "layernorm", **tw)
    return b.linear(f"{name}.out", x, 1, **tw)


def _fft_blocks(b: GraphBuilder, name: str, x: Tensor, *, first_layer: int) -> Tensor:
    """FastSpeech 2's stack of feed-forward Transformer blocks, one layer each from
    ``first_layer``: post-LN, conv FFN with kernels 9 and 1."""
    for layer in range(FS2_LAYERS):
        b.layer = first_layer + layer
        x = encoder_layer(
            b,
            f"{name}.{layer}",
            x,
            heads=FS2_HEADS,
            hidden=FS2_FILTER,
            act="relu",
            pre_norm=False,
            kernels=(9, 1),
        )
    return x


def fastspeech2(b: GraphBuilder, batch: int, phonemes: int, frames: int) -> Tensor:
    """FastSpeech 2 from phoneme ids to a (batch, 80, frames) mel spectrogram."""
    tw = per_token(batch * phonemes)
    x = b.op(
        "embed",
        "embedding",
        [b.input(batch, phonemes)],
        (batch, phonemes, FS2_DIM),
        flops=batch * phonemes * FS2_DIM,
        params=FS2_VOCAB * FS2_DIM,
        weight_params=batch * phonemes * FS2_DIM,
        **tw,
    )
    x = _fft_blocks(b, "encoder", x, first_layer=0)
    b.layer = FS2_LAYERS
    duration = _variance_predictor(b, "duration", x)
    tw = per_token(batch * frames)
    x = b.op(
        "length_regulator",
        "other",
        [x, duration],
        (batch, frames, FS2_DIM),
        flops=0,
        **per_token(batch * frames, False),
    )
    for what in ("pitch", "energy"):
        value = _variance_predictor(b, what, x)
        emb = b.op(
            f"{what}.embed",
            "embedding",
            [value],
            x.shape,
            flops=batch * frames,
            params=FS2_BINS * FS2_DIM,
            weight_params=batch * frames * FS2_DIM,
            **tw,
        )
        x = b.eltwise(f"{what}.add", "add", x, emb, **tw)
    x = _fft_blocks(b, "decoder", x, first_layer=FS2_LAYERS + 1)
    b.layer = -1
    mel = b.linear("mel_linear", x, MEL_BINS, **tw)
    return mel.view(batch, MEL_BINS, frames)


def hifigan_v2(b: GraphBuilder, mel: Tensor) -> Tensor:
    """HiFi-GAN V2 generator from a mel spectrogram to a waveform (batch, 1, 256 x frames)."""
    x = b.conv1d("conv_pre", mel, HIFIGAN_CHANNELS, 7)
    for stage, (rate, kernel) in enumerate(zip(HIFIGAN_RATES, HIFIGAN_UP_KERNELS, strict=True)):
        b.layer = stage
        x = b.act(f"up{stage}.lrelu", x, "leaky_relu")
        x = b.conv_transpose(f"up{stage}", x, x.shape[1] // 2, kernel, rate)
        branches = []
        for res_kernel in HIFIGAN_RES_KERNELS:
            y = x
            for dilation in HIFIGAN_DILATIONS:
                pre = f"mrf{stage}.k{res_kernel}.d{dilation}"
                z = b.act(f"{pre}.lrelu1", y, "leaky_relu")
                z = b.conv1d(f"{pre}.conv1", z, z.shape[1], res_kernel, dilation=dilation)
                z = b.act(f"{pre}.lrelu2", z, "leaky_relu")
                z = b.conv1d(f"{pre}.conv2", z, z.shape[1], res_kernel)
                y = b.eltwise(f"{pre}.add", "add", z, y)
            branches.append(y)
        total = b.eltwise(f"mrf{stage}.sum1", "add", branches[0], branches[1])
        total = b.eltwise(f"mrf{stage}.sum2", "add", total, branches[2])
        x = b.op(f"mrf{stage}.mean", "mul", [total], total.shape, flops=total.numel)
    b.layer = -1
    x = b.act("post.lrelu", x, "leaky_relu")
    x = b.conv1d("conv_post", x, 1, 7)
    return b.act("post.tanh", x, "tanh")


def build_tts(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """FastSpeech 2 (ops ``acoustic.*``) then HiFi-GAN V2 (ops ``vocoder.*``)."""
    b = GraphBuilder(name, "audio", p["precision"])
    frames = p["phonemes"] * p["frames_per_phoneme"]
    with b.scope("acoustic."):
        mel = fastspeech2(b, p["batch"], p["phonemes"], frames)
    with b.scope("vocoder."):
        hifigan_v2(b, mel)
    return b.graph


ENTRIES = (
    ModelEntry(
        "fastspeech2-hifigan",
        "audio",
        "Speech synthesis: FastSpeech 2 acoustic model + HiFi-GAN V2 vocoder for one sentence "
        "(default 50 phonemes, 300 mel frames, 3.5 s of 22.05 kHz audio).",
        common_params(
            phonemes=Param(50, "int", 1, 1000), frames_per_phoneme=Param(6, "int", 1, 40)
        ),
        build_tts,
        reference={
            "vocoder_params_m": 0.92,
            "source": "Kong et al., HiFi-GAN, NeurIPS 2020, Table 1 (V2: 0.92M); "
            "Ren et al., FastSpeech 2, ICLR 2021, Appendix A (architecture)",
        },
        aliases=("tts",),
    ),
)
