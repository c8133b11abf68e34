"""Frame super-resolution: FSRCNN (Dong, Loy & Tang, "Accelerating the Super-Resolution
Convolutional Neural Network", ECCV 2016), the fast SR net, upscaling 960x540 frames to 1080p.

FSRCNN(d=56, s=12, m=4) works on the luma channel of the low-resolution frame:

=========  =====================================  ====================
feature    conv 5x5, 1 -> d, PReLU                25 d weights
shrink     conv 1x1, d -> s, PReLU                d s
mapping    m x conv 3x3, s -> s, PReLU            9 m s^2
expand     conv 1x1, s -> d, PReLU                s d
deconv     transposed conv 9x9 / n, d -> 1        81 d
=========  =====================================  ====================

The paper's complexity is :math:`(25d + sd + 9ms^2 + ds + 81d) \\cdot S_{LR}` multiply-adds
(every layer, the deconvolution included, runs once per low-resolution pixel), i.e. its 12,464
weights times the number of input pixels: 6.46 GMACs for a 960x540 frame. Chroma is upscaled
bicubically outside the network, as the paper does.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from xpuplan.models.zoo.graph_builder import GraphBuilder
from xpuplan.models.zoo.spec import ModelEntry, Param, vision_params

FSRCNN_D, FSRCNN_S, FSRCNN_M = 56, 12, 4


def build_fsrcnn(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """FSRCNN(56, 12, 4) at ``scale`` on a ``resolution`` (height, width) luma frame."""
    b = GraphBuilder(name, "cnn", p["precision"])
    height, width = p["resolution"]
    x = b.input(p["batch"], 1, height, width)
    b.layer = 0
    x = b.act("feature.prelu", b.conv2d("feature", x, FSRCNN_D, 5, bias=True), "prelu")
    b.layer = 1
    x = b.act("shrink.prelu", b.conv2d("shrink", x, FSRCNN_S, 1, bias=True), "prelu")
    for idx in range(FSRCNN_M):
        b.layer = 2 + idx
        x = b.conv2d(f"map{idx}", x, FSRCNN_S, 3, bias=True)
        x = b.act(f"map{idx}.prelu", x, "prelu")
    b.layer = 2 + FSRCNN_M
    x = b.act("expand.prelu", b.conv2d("expand", x, FSRCNN_D, 1, bias=True), "prelu")
    b.layer = -1
    b.conv_transpose("deconv", x, 1, 9, p["scale"])
    return b.graph


ENTRIES = (
    ModelEntry(
        "fsrcnn",
        "cnn",
        "Frame super-resolution FSRCNN(56,12,4) (Dong et al., ECCV 2016), x2 from 960x540 to "
        "1920x1080 on the luma channel.",
        vision_params((540, 960), low=8, scale=Param(2, "choice", choices=(2, 3, 4))),
        build_fsrcnn,
        reference={
            "weights_k": 12.464,
            "macs_per_input_pixel": 12464,
            "source": "Dong, Loy & Tang, ECCV 2016, Sec. 3.3 (FSRCNN(56,12,4): 12,464 "
            "weights; complexity (25d+sd+9ms^2+ds+81d) S_LR)",
        },
        aliases=("super-resolution",),
    ),
)
