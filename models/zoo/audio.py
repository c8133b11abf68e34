"""Real-time noise suppression: DTLN (Westhausen & Meyer, "Dual-Signal Transformation LSTM
Network for Real-Time Noise Suppression", Interspeech 2020; "less than one million parameters").

DTLN runs on 16 kHz audio in blocks of 512 samples (32 ms) advanced by 128 samples (8 ms); each
block in gives one block out. Two stacked cores:

1. STFT magnitude (257 bins) -> LSTM 128 -> LSTM 128 -> dense 257 + sigmoid: a spectral mask,
   applied to the complex spectrum, inverse FFT back to 512 samples;
2. conv1d 1x1 (512 -> 256, no bias, a learned analysis basis) -> instant layer norm ->
   LSTM 128 -> LSTM 128 -> dense 256 + sigmoid: a mask on the learned features ->
   conv1d 1x1 (256 -> 512, no bias, the synthesis basis) -> overlap-add of 128 new samples.

One invocation processes ``frames`` blocks (default 2: 16 ms of new audio, inside the 10-20 ms
frame period of a call's audio pipeline); the LSTMs carry their state across invocations.

LSTM cost per step and layer (op type ``lstm``, ``steps`` sequential steps): the four gates are
:math:`4 (n_{in} + n_h) n_h` multiply-adds (FLOPs twice that) plus about :math:`30 n_h`
elementwise operations (bias, three sigmoids, two tanh, the cell update); parameters
:math:`4 (n_{in} + n_h) n_h + 4 n_h` (one bias per gate, as Keras). A real FFT of ``N`` points
costs about :math:`2.5 N \\log_2 N` operations.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx

from xpuplan.models.zoo.graph_builder import GraphBuilder, Tensor
from xpuplan.models.zoo.spec import ModelEntry, Param, common_params

BLOCK, SHIFT, BINS, HIDDEN, FEATURES = 512, 128, 257, 128, 256
_LSTM_ELEMENT_FLOPS = 30


def lstm(b: GraphBuilder, name: str, x: Tensor, hidden: int) -> Tensor:
    """One LSTM layer over ``x`` of shape (batch, steps, inputs); see the module docstring."""
    batch, steps, inputs = x.shape
    macs = batch * steps * 4 * (inputs + hidden) * hidden
    flops = 2 * macs + batch * steps * _LSTM_ELEMENT_FLOPS * hidden
    params = 4 * (inputs + hidden) * hidden + 4 * hidden
    return b.op(
        name,
        "lstm",
        [x],
        (batch, steps, hidden),
        flops=flops,
        macs=macs,
        params=params,
        steps=steps,
        hidden=hidden,
    )


def _fft(b: GraphBuilder, name: str, x: Tensor, out_shape: tuple[int, ...]) -> Tensor:
    frames = x.shape[0] * x.shape[1]
    return b.op(
        name, "fft", [x], out_shape, flops=frames * 2.5 * BLOCK * math.log2(BLOCK), points=BLOCK
    )


def build_dtln(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """DTLN as in the module docstring; stage 1 ops are ``layer`` 0, stage 2 ops ``layer`` 1."""
    b = GraphBuilder(name, "audio", p["precision"])
    batch, frames = p["batch"], p["frames"]
    blocks = b.input(batch, frames, BLOCK)
    b.layer = 0
    spectrum = _fft(b, "stage1.stft", blocks, (batch, frames, BINS, 2))
    # |X| = sqrt(re^2 + im^2): two multiplies, an add and a square root per bin.
    mag = b.op(
        "stage1.magnitude",
        "other",
        [spectrum],
        (batch, frames, BINS),
        flops=4 * batch * frames * BINS,
    )
    h = lstm(b, "stage1.lstm1", mag, HIDDEN)
    h = lstm(b, "stage1.lstm2", h, HIDDEN)
    mask = b.act("stage1.mask.sigmoid", b.linear("stage1.mask", h, BINS), "sigmoid")
    spectrum = b.eltwise("stage1.apply", "mul", spectrum, mask.view(batch, frames, BINS, 1))
    signal = _fft(b, "stage1.istft", spectrum, (batch, frames, BLOCK))
    b.layer = 1
    feats = b.linear("stage2.encode", signal, FEATURES, bias=False)
    normed = b.norm("stage2.norm", feats, "layernorm")
    h = lstm(b, "stage2.lstm1", normed, HIDDEN)
    h = lstm(b, "stage2.lstm2", h, HIDDEN)
    mask = b.act("stage2.mask.sigmoid", b.linear("stage2.mask", h, FEATURES), "sigmoid")
    feats = b.eltwise("stage2.apply", "mul", feats, mask)
    out = b.linear("stage2.decode", feats, BLOCK, bias=False)
    b.layer = -1
    # Overlap-add: each block adds its 512 samples into the output buffer, 128 leave per block.
    b.op("overlap_add", "add", [out], (batch, frames, SHIFT), flops=batch * frames * BLOCK)
    return b.graph


ENTRIES = (
    ModelEntry(
        "dtln",
        "audio",
        "Noise suppression DTLN (Westhausen & Meyer 2020): two LSTM cores on 32 ms blocks with "
        "8 ms shift; one call processes `frames` shifts (default 2 = 16 ms).",
        common_params(frames=Param(2, "int", 1, 250)),
        build_dtln,
        reference={
            "params_m": 1.0,
            "source": "Westhausen & Meyer, Interspeech 2020, abstract ('less than one "
            "million parameters'; an upper bound) and Sec. 2",
        },
        aliases=("noise-suppression",),
    ),
)
