"""Image classifiers: ResNet-50/152, VGG-19 and MobileNetV3-Large, written from the papers' tables.

Published figures used as references (torchvision's model tables list "GFLOPS" that are in fact
multiply-accumulates: 4.09 for ResNet-50, whose 2 x 4.09 G operations are commonly quoted as
8.2 GFLOPs; the MobileNetV3 paper speaks of MAdds):

* ResNet (He et al., CVPR 2016, Table 1); torchvision's v1.5 (stride on the 3x3 conv):
  ResNet-50 25,557,032 parameters, 4.09 GMACs; ResNet-152 60,192,808, 11.51 GMACs at 224x224.
* VGG-19 (Simonyan & Zisserman, ICLR 2015, Table 1, configuration E): 143,667,240 parameters,
  19.63 GMACs (torchvision).
* MobileNetV3-Large 1.0 (Howard et al., ICCV 2019, Tables 1 and 3): 219 M MAdds, 5.4 M parameters.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from xpuplan.models.zoo.graph_builder import GraphBuilder, Tensor
from xpuplan.models.zoo.spec import ModelEntry, vision_params

# (blocks per stage) of the bottleneck ResNets; stage widths are 64, 128, 256, 512, expansion 4.
_RESNET_STAGES = {"resnet-50": (3, 4, 6, 3), "resnet-152": (3, 8, 36, 3)}
_RESNET_SOURCE = (
    "He et al., Deep Residual Learning, CVPR 2016, Table 1; figures of torchvision's "
    "model docs (ResNet50/152_Weights.IMAGENET1K_V1, 'GFLOPS' = GMACs)"
)


def build_resnet(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """Bottleneck ResNet v1.5 (stride on the 3x3 conv), BN after every conv, ReLU.

    Stem: conv 7x7/2 (64) -> BN -> ReLU -> max-pool 3x3/2. Stage ``s`` (width
    ``w = 64 * 2^s``): blocks of conv 1x1 (w) -> 3x3 (w, stride 2 in the first block of
    stages 2-4) -> 1x1 (4w), a projection shortcut conv 1x1 in each stage's first block, add,
    ReLU. Head: global average pool, fully connected 2048 -> 1000. ``layer`` = block index.
    """
    b = GraphBuilder(name, "cnn", p["precision"])
    height, width = p["resolution"]
    x = b.input(p["batch"], 3, height, width)
    x = b.conv_bn("stem", x, 64, 7, stride=2, act="relu")
    x = b.pool("stem.maxpool", x, 3, 2, 1)
    for stage, num_blocks in enumerate(_RESNET_STAGES[name]):
        w = 64 * 2**stage
        for block in range(num_blocks):
            b.layer += 1
            stride = 2 if block == 0 and stage > 0 else 1
            pre = f"layer{stage + 1}.{block}"
            y = b.conv_bn(f"{pre}.conv1", x, w, 1, act="relu")
            y = b.conv_bn(f"{pre}.conv2", y, w, 3, stride=stride, act="relu")
            y = b.conv_bn(f"{pre}.conv3", y, 4 * w, 1)
            shortcut = x
            if block == 0:
                shortcut = b.conv_bn(f"{pre}.downsample", x, 4 * w, 1, stride=stride)
            y = b.eltwise(f"{pre}.add", "add", y, shortcut)
            x = b.act(f"{pre}.relu", y, "relu")
    b.layer = -1
    x = b.global_pool("head.avgpool", x)
    b.linear("head.fc", x.view(p["batch"], x.shape[1]), 1000)
    return b.graph


_VGG19 = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    512,
    "M",
)


def build_vgg19(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """VGG-19 (configuration E): 16 conv 3x3 (+bias, ReLU), 5 max-pools 2x2/2, 3 FC layers.

    The classifier sees a 512 x 7 x 7 map: at other resolutions an adaptive average pool
    (torchvision's) brings the map to 7 x 7. FC 25088 -> 4096 -> 4096 -> 1000 with ReLU
    (dropout is inactive at inference). ``layer`` = conv index; the classifier is the head.
    """
    b = GraphBuilder(name, "cnn", p["precision"])
    height, width = p["resolution"]
    x = b.input(p["batch"], 3, height, width)
    num_pools = 0
    for item in _VGG19:
        if item == "M":
            num_pools += 1
            x = b.pool(f"pool{num_pools}", x, 2, 2)
            continue
        b.layer += 1
        x = b.conv2d(f"conv{b.layer}", x, int(item), 3, bias=True)
        x = b.act(f"conv{b.layer}.relu", x, "relu")
    b.layer = -1
    if x.shape[2:] != (7, 7):
        x = b.adaptive_pool("head.avgpool", x, 7)
    x = x.view(p["batch"], 512 * 7 * 7)
    for idx, width_out in enumerate((4096, 4096, 1000)):
        x = b.linear(f"head.fc{idx + 1}", x, width_out)
        if idx < 2:
            x = b.act(f"head.fc{idx + 1}.relu", x, "relu")
    return b.graph


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor``, never below 90% (MobileNet convention)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def bneck(
    b: GraphBuilder,
    name: str,
    x: Tensor,
    kernel: int,
    expand: int,
    out_ch: int,
    se: bool,
    act: str,
    stride: int,
) -> Tensor:
    """MobileNetV3 inverted residual: expand 1x1 -> depthwise KxK -> [SE] -> project 1x1 (+add).

    The expansion conv is left out when ``expand`` equals the input width. SE: global pool ->
    1x1 conv to ``make_divisible(expand / 4)`` -> ReLU -> 1x1 conv back -> hard-sigmoid -> scale.
    The residual add applies when stride is 1 and the width is kept.
    """
    in_ch = x.shape[1]
    y = b.conv_bn(f"{name}.expand", x, expand, 1, act=act) if expand != in_ch else x
    y = b.conv_bn(f"{name}.dw", y, expand, kernel, stride=stride, groups=expand, act=act)
    if se:
        squeeze = make_divisible(expand / 4)
        s = b.global_pool(f"{name}.se.pool", y)
        s = b.conv2d(f"{name}.se.fc1", s, squeeze, 1, bias=True)
        s = b.act(f"{name}.se.relu", s, "relu")
        s = b.conv2d(f"{name}.se.fc2", s, expand, 1, bias=True)
        s = b.act(f"{name}.se.hsigmoid", s, "hsigmoid")
        y = b.eltwise(f"{name}.se.scale", "mul", y, s)
    y = b.conv_bn(f"{name}.project", y, out_ch, 1)
    if stride == 1 and in_ch == out_ch:
        y = b.eltwise(f"{name}.add", "add", y, x)
    return y


# MobileNetV3-Large, Table 1 of Howard et al.: (kernel, expansion, out, SE, activation, stride).
_MBV3_LARGE = (
    (3, 16, 16, False, "relu", 1),
    (3, 64, 24, False, "relu", 2),
    (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2),
    (5, 120, 40, True, "relu", 1),
    (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hswish", 2),
    (3, 200, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1),
    (3, 480, 112, True, "hswish", 1),
    (3, 672, 112, True, "hswish", 1),
    (5, 672, 160, True, "hswish", 2),
    (5, 960, 160, True, "hswish", 1),
    (5, 960, 160, True, "hswish", 1),
)


def build_mobilenet_v3(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """MobileNetV3-Large 1.0 (Howard et al. 2019, Table 1): stem conv 3x3/2 (16, h-swish),
    15 bnecks, conv 1x1 (960, h-swish), pool, 1x1 conv 1280 (no BN, h-swish), classifier 1000."""
    b = GraphBuilder(name, "cnn", p["precision"])
    height, width = p["resolution"]
    x = b.input(p["batch"], 3, height, width)
    x = b.conv_bn("stem", x, 16, 3, stride=2, act="hswish")
    for idx, (kernel, expand, out_ch, se, act, stride) in enumerate(_MBV3_LARGE):
        b.layer = idx
        x = bneck(b, f"bneck{idx}", x, kernel, expand, out_ch, se, act, stride)
    b.layer = -1
    x = b.conv_bn("head.conv", x, 960, 1, act="hswish")
    x = b.global_pool("head.pool", x).view(p["batch"], 960)
    x = b.linear("head.fc1", x, 1280)
    x = b.act("head.fc1.hswish", x, "hswish")
    b.linear("head.fc2", x, 1000)
    return b.graph


ENTRIES = (
    ModelEntry(
        "resnet-50",
        "cnn",
        "ResNet-50 v1.5 image classifier (He et al. 2016; stride on the 3x3 conv as torchvision).",
        vision_params(224),
        build_resnet,
        reference={"gmacs": 4.09, "params_m": 25.557, "source": _RESNET_SOURCE},
    ),
    ModelEntry(
        "resnet-152",
        "cnn",
        "ResNet-152 v1.5 image classifier (He et al. 2016); one of Twill's motivating models.",
        vision_params(224),
        build_resnet,
        reference={"gmacs": 11.51, "params_m": 60.193, "source": _RESNET_SOURCE},
    ),
    ModelEntry(
        "vgg-19",
        "cnn",
        "VGG-19 image classifier (Simonyan & Zisserman 2015, config E); a Twill motivating model.",
        vision_params(224),
        build_vgg19,
        reference={
            "gmacs": 19.63,
            "params_m": 143.667,
            "source": "Simonyan & Zisserman, ICLR 2015, Table 1 (E); torchvision model docs "
            "VGG19_Weights.IMAGENET1K_V1 ('GFLOPS' = GMACs)",
        },
    ),
    ModelEntry(
        "mobilenet-v3",
        "cnn",
        "MobileNetV3-Large 1.0 image classifier at 224x224 (Howard et al., ICCV 2019).",
        vision_params(224),
        build_mobilenet_v3,
        reference={
            "gmacs": 0.219,
            "params_m": 5.4,
            "source": "Howard et al., Searching for MobileNetV3, ICCV 2019, Table 3 "
            "(219 M MAdds, 5.4 M parameters)",
        },
    ),
)
