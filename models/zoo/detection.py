"""YOLOv8n object detector, from the architecture Ultralytics publishes (``yolov8.yaml``, scale n).

Architecture followed (scale n: depth 0.33, width 0.25; 80 classes; input 640x640):

* ``Conv`` = conv (no bias) -> BN -> SiLU.
* ``C2f(c_out, n, shortcut)``: Conv 1x1 to ``2c`` (``c = c_out / 2``), split in two halves,
  ``n`` bottlenecks on the last half (Conv 3x3 -> Conv 3x3, + input if ``shortcut``), concat of
  the two halves and every bottleneck output (``(2 + n) c``), Conv 1x1 to ``c_out``.
* ``SPPF``: Conv 1x1 to ``c/2``, three chained max-pools 5x5/1, concat of four, Conv 1x1.
* Backbone: Conv 16/2, Conv 32/2, C2f 32 (n=1), Conv 64/2, C2f 64 (n=2), Conv 128/2,
  C2f 128 (n=2), Conv 256/2, C2f 256 (n=1), SPPF 256.
* Neck (PAN, no shortcut): upsample, concat P4, C2f 128; upsample, concat P3, C2f 64 (P3 out);
  Conv 64/2, concat, C2f 128 (P4 out); Conv 128/2, concat, C2f 256 (P5 out).
* Decoupled head per level: box branch Conv 3x3 (64), Conv 3x3 (64), conv 1x1 to 4 x 16;
  class branch Conv 3x3 (80), Conv 3x3 (80), conv 1x1 to 80. Then the distribution focal loss
  decode (softmax over 16 bins, a fixed 1x1 conv of 16 weights), box decoding, class sigmoid.

Published (Ultralytics docs, YOLOv8 table, 640 px): 3.2 M parameters, 8.7 GFLOPs. Ultralytics
computes GFLOPs as 2 x thop's multiply-accumulates (``utils/torch_utils.get_flops``), so
8.7 GFLOPs = 4.35 GMACs; its summary of the unfused model lists 3,157,200 parameters.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from xpuplan.models.zoo.graph_builder import GraphBuilder, Tensor
from xpuplan.models.zoo.spec import ModelEntry, vision_params

_NUM_CLASSES = 80
_REG_MAX = 16


def _conv(
    b: GraphBuilder, name: str, x: Tensor, out_ch: int, kernel: int, stride: int = 1
) -> Tensor:
    return b.conv_bn(name, x, out_ch, kernel, stride=stride, act="silu")


def _c2f(b: GraphBuilder, name: str, x: Tensor, out_ch: int, num: int, shortcut: bool) -> Tensor:
    half = out_ch // 2
    y = _conv(b, f"{name}.cv1", x, 2 * half, 1)
    batch, _, height, width = y.shape
    # The split is a view: both halves come from cv1's output.
    parts = [Tensor((batch, half, height, width), y.producer)] * 2
    for idx in range(num):
        z = _conv(b, f"{name}.m{idx}.cv1", parts[-1], half, 3)
        z = _conv(b, f"{name}.m{idx}.cv2", z, half, 3)
        if shortcut:
            z = b.eltwise(f"{name}.m{idx}.add", "add", z, parts[-1])
        parts.append(z)
    cat = b.concat(f"{name}.concat", parts)
    return _conv(b, f"{name}.cv2", cat, out_ch, 1)


def _sppf(b: GraphBuilder, name: str, x: Tensor, out_ch: int) -> Tensor:
    y = _conv(b, f"{name}.cv1", x, x.shape[1] // 2, 1)
    pools = [y]
    for idx in range(3):
        pools.append(b.pool(f"{name}.pool{idx}", pools[-1], 5, 1, 2))
    return _conv(b, f"{name}.cv2", b.concat(f"{name}.concat", pools), out_ch, 1)


def build_yolov8n(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """YOLOv8n as in the module docstring; ``layer`` = the index of the yaml's module."""
    b = GraphBuilder(name, "cnn", p["precision"])
    height, width = p["resolution"]
    batch = p["batch"]
    x = b.input(batch, 3, height, width)
    b.layer = 0
    x = _conv(b, "m0", x, 16, 3, 2)
    b.layer = 1
    x = _conv(b, "m1", x, 32, 3, 2)
    b.layer = 2
    x = _c2f(b, "m2", x, 32, 1, True)
    b.layer = 3
    x = _conv(b, "m3", x, 64, 3, 2)
    b.layer = 4
    p3 = _c2f(b, "m4", x, 64, 2, True)
    b.layer = 5
    x = _conv(b, "m5", p3, 128, 3, 2)
    b.layer = 6
    p4 = _c2f(b, "m6", x, 128, 2, True)
    b.layer = 7
    x = _conv(b, "m7", p4, 256, 3, 2)
    b.layer = 8
    x = _c2f(b, "m8", x, 256, 1, True)
    b.layer = 9
    p5 = _sppf(b, "m9", x, 256)
    b.layer = 10
    x = b.upsample("m10", p5, 2)
    b.layer = 11
    x = b.concat("m11", [x, p4])
    b.layer = 12
    n4 = _c2f(b, "m12", x, 128, 1, False)
    b.layer = 13
    x = b.upsample("m13", n4, 2)
    b.layer = 14
    x = b.concat("m14", [x, p3])
    b.layer = 15
    out3 = _c2f(b, "m15", x, 64, 1, False)
    b.layer = 16
    x = _conv(b, "m16", out3, 64, 3, 2)
    b.layer = 17
    x = b.concat("m17", [x, n4])
    b.layer = 18
    out4 = _c2f(b, "m18", x, 128, 1, False)
    b.layer = 19
    x = _conv(b, "m19", out4, 128, 3, 2)
    b.layer = 20
    x = b.concat("m20", [x, p5])
    b.layer = 21
    out5 = _c2f(b, "m21", x, 256, 1, False)

    b.layer = -1
    box_ch = max(16, out3.shape[1] // 4, 4 * _REG_MAX)
    cls_ch = max(out3.shape[1], min(_NUM_CLASSES, 100))
    level_outs = []
    for level, feat in enumerate((out3, out4, out5)):
        box = _conv(b, f"head{level}.box0", feat, box_ch, 3)
        box = _conv(b, f"head{level}.box1", box, box_ch, 3)
        box = b.conv2d(f"head{level}.box2", box, 4 * _REG_MAX, 1, bias=True)
        cls = _conv(b, f"head{level}.cls0", feat, cls_ch, 3)
        cls = _conv(b, f"head{level}.cls1", cls, cls_ch, 3)
        cls = b.conv2d(f"head{level}.cls2", cls, _NUM_CLASSES, 1, bias=True)
        level_outs.append(b.concat(f"head{level}.concat", [box, cls]))
    anchors = sum(t.shape[2] * t.shape[3] for t in level_outs)
    preds = b.concat(
        "head.concat",
        [t.view(batch, t.shape[1], t.shape[2] * t.shape[3]) for t in level_outs],
        axis=2,
    )
    box_dist = Tensor((batch, 4, _REG_MAX, anchors), preds.producer)
    probs = b.softmax("dfl.softmax", box_dist)
    # The DFL conv: a fixed 1x1 conv 16 -> 1 (the bin indices) applied to each of the 4 sides.
    dist = b.linear("dfl.conv", probs.view(batch, 4, anchors, _REG_MAX), 1, bias=False)
    # dist2bbox with the anchor grid and strides: about 10 operations per anchor.
    boxes = b.op("decode.boxes", "other", [dist], (batch, 4, anchors), flops=10 * anchors * batch)
    scores = b.act(
        "decode.sigmoid", Tensor((batch, _NUM_CLASSES, anchors), preds.producer), "sigmoid"
    )
    b.concat("decode.output", [boxes, scores])
    return b.graph


ENTRIES = (
    ModelEntry(
        "yolov8n",
        "cnn",
        "YOLOv8n object detector (Ultralytics yolov8.yaml, scale n, 80 classes) at 640x640.",
        vision_params(640, multiple_of=32),
        build_yolov8n,
        reference={
            "gmacs": 4.35,
            "gflops": 8.7,
            "params_m": 3.157,
            "source": "Ultralytics YOLOv8 docs (640 px: 3.2 M params, 8.7 GFLOPs = 2 x "
            "GMACs per utils/torch_utils.get_flops); unfused model summary "
            "3,157,200 parameters",
        },
    ),
)
