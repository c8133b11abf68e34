"""Small real-time vision nets of the MediaPipe kind: selfie segmentation, face mesh, hands.

Google publishes these models' inputs, outputs and sizes but not their layer tables, so each
builder below follows the published building blocks at the published input size, with widths and
depths chosen to land on the published parameter count (within 10%; the tests check it):

* **BlazeBlock** (Bazarevsky et al., BlazeFace, arXiv 1907.05047): depthwise KxK conv (stride 1
  or 2, with bias) -> pointwise 1x1 conv (with bias) -> add the input (max-pooled 2x2 and
  zero-padded in channels when the block downsamples or widens) -> activation.
* **selfie-segmentation**: "based on MobileNetV3, with modifications" at 256x256x3, output a
  256x256x1 mask (MediaPipe Selfie Segmentation docs); 106 K parameters (Qualcomm AI Hub card).
  Here: a MobileNetV3-Small-like encoder down to 1/32, a decoder that upsamples x2 per stage,
  fuses the encoder skip with an SE-style channel gate and refines with a 3x3 depthwise block,
  and a final 2x2/2 transposed conv to one channel and a sigmoid.
* **face-landmark**: FaceMesh (Kartynnik et al., arXiv 1907.06724): 192x192 input, 468 3-D
  landmarks and a face flag; a residual BlazeBlock net with PReLU; 603 K parameters (Qualcomm AI
  Hub, MediaPipe-Face-Detection card, MediaPipeFaceLandmarkDetector).
* **palm-detection**: BlazePalm (Zhang et al., MediaPipe Hands, arXiv 2006.10214): 256x256
  input, an encoder-decoder (FPN-like) of 5x5 BlazeBlocks and SSD heads on 32x32 (2 anchors),
  16x16 (2) and 8x8 (6) grids: 2,944 anchors, 18 regressors each (box + 7 keypoints); 1.76 M
  parameters (Qualcomm AI Hub, MediaPipe-Hand-Detection card).
* **hand-landmark**: 256x256 crop, 21 3-D landmarks, hand flag, handedness; 2.01 M parameters
  (same card). Here: BlazeBlock encoder to 8x8, FPN merge back to 32x32, a wide (288) BlazeBlock
  regression tower to 2x2 and three 2x2 conv heads.
* **hand-tracking**: palm detection followed by hand landmark on the crop, one graph
  (MediaPipe's pipeline re-runs the palm detector only when tracking is lost; a scenario that
  models that uses the two models separately).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import networkx as nx

from xpuplan.models.zoo.cnn import bneck
from xpuplan.models.zoo.graph_builder import GraphBuilder, Tensor
from xpuplan.models.zoo.spec import Builder, ModelEntry, Param, vision_params

_QAIHM = "Qualcomm AI Hub model card"


def blaze_block(
    b: GraphBuilder,
    name: str,
    x: Tensor,
    out_ch: int,
    kernel: int = 3,
    stride: int = 1,
    act: str = "relu",
) -> Tensor:
    """BlazeBlock (see the module docstring)."""
    y = b.conv2d(f"{name}.dw", x, x.shape[1], kernel, stride=stride, groups=x.shape[1], bias=True)
    y = b.conv2d(f"{name}.pw", y, out_ch, 1, bias=True)
    skip = b.pool(f"{name}.skip_pool", x, 2, 2) if stride == 2 else x
    y = b.eltwise(f"{name}.add", "add", y, skip)
    return b.act(f"{name}.{act}", y, act)


def _stage(
    b: GraphBuilder,
    name: str,
    x: Tensor,
    widths: tuple[int, ...],
    kernel: int,
    act: str,
    *,
    downsample: bool = False,
) -> Tensor:
    """BlazeBlocks of the given widths, one layer each; a block that widens halves the
    resolution, and so does the first one when ``downsample``."""
    for idx, width in enumerate(widths):
        b.next_layer()
        stride = 2 if width != x.shape[1] or (downsample and idx == 0) else 1
        x = blaze_block(b, f"{name}.{idx}", x, width, kernel, stride, act)
    return x


def selfie_segmentation(b: GraphBuilder, x: Tensor) -> Tensor:
    """MobileNetV3-style encoder-decoder (module docstring); returns the sigmoid mask."""
    x = b.conv_bn("stem", x, 16, 3, stride=2, act="hswish")
    skips = [x]
    encoder = (  # (kernel, expansion, out, SE, activation, stride), MobileNetV3-Small-like
        (3, 16, 16, True, "relu", 2),
        (3, 64, 24, False, "relu", 2),
        (3, 72, 24, False, "relu", 1),
        (5, 96, 32, True, "hswish", 2),
        (5, 128, 32, True, "hswish", 1),
        (5, 128, 48, True, "hswish", 2),
        (5, 160, 48, True, "hswish", 1),
    )
    for idx, (kernel, expand, out_ch, se, act, stride) in enumerate(encoder):
        b.layer = idx
        if stride == 2 and idx > 0:
            skips.append(x)
        x = bneck(b, f"enc{idx}", x, kernel, expand, out_ch, se, act, stride)
    for idx, skip in enumerate(reversed(skips)):
        b.layer = len(encoder) + idx
        name = f"dec{idx}"
        x = b.upsample(f"{name}.up", x, 2, bilinear=True)
        x = b.conv_bn(f"{name}.reduce", x, skip.shape[1], 1, act="relu")
        gate = b.global_pool(f"{name}.gate.pool", x)
        gate = b.conv2d(f"{name}.gate.fc", gate, skip.shape[1], 1, bias=True)
        gate = b.act(f"{name}.gate.sigmoid", gate, "sigmoid")
        fused = b.eltwise(f"{name}.gate.scale", "mul", skip, gate)
        x = b.eltwise(f"{name}.add", "add", x, fused)
        y = b.conv_bn(f"{name}.dw", x, x.shape[1], 3, groups=x.shape[1], act="relu")
        x = b.eltwise(f"{name}.refine.add", "add", x, y)
    b.layer = -1
    x = b.conv_transpose("head.up", x, 1, 2, 2)
    return b.act("head.sigmoid", x, "sigmoid")


def face_landmark(b: GraphBuilder, x: Tensor) -> Tensor:
    """FaceMesh-class residual net (module docstring); returns landmarks and flag, concatenated."""
    x = b.conv2d("stem.conv", x, 16, 3, stride=2, bias=True)
    x = b.act("stem.prelu", x, "prelu")
    x = _stage(b, "backbone", x, (16, 16, 32, 32, 32, 64, 64, 64, 128, 128, 128), 3, "prelu")
    x = _stage(b, "backbone.tail", x, (128, 128, 128), 3, "prelu", downsample=True)
    outs = []
    for head, width, tower in (("mesh", 1404, (128, 128, 128)), ("flag", 1, (128,))):
        y = _stage(b, f"{head}.tower", x, tower, 3, "prelu", downsample=True)
        b.layer = -1
        y = b.conv2d(f"{head}.reduce", y, 32, 1, bias=True)
        y = b.act(f"{head}.reduce.prelu", y, "prelu")
        y = blaze_block(b, f"{head}.block", y, 32, 3, 1, "prelu")
        outs.append(b.conv2d(f"{head}.out", y, width, 3, bias=True, padding=0))
    return b.concat("output", outs)


def palm_detection(b: GraphBuilder, x: Tensor) -> Tensor:
    """BlazePalm-class detector (module docstring); returns the concatenated SSD outputs."""
    x = b.conv2d("stem.conv", x, 32, 5, stride=2, bias=True)
    x = b.act("stem.relu", x, "relu")
    x = _stage(b, "stage1", x, (32,) * 7 + (64,) + (64,) * 7 + (128,) + (128,) * 7, 5, "relu")
    f32 = x
    f16 = _stage(b, "stage2", f32, (256,) * 8, 5, "relu")
    f8 = _stage(b, "stage3", f16, (256,) * 6, 5, "relu", downsample=True)
    b.next_layer()
    up = b.conv_transpose("up16", f8, 256, 2, 2)
    up = b.act("up16.relu", up, "relu")
    f16 = b.eltwise("up16.add", "add", up, f16)
    f16 = _stage(b, "fpn16", f16, (256, 256), 5, "relu")
    b.next_layer()
    up = b.conv_transpose("up32", f16, 128, 2, 2)
    up = b.act("up32.relu", up, "relu")
    f32 = b.eltwise("up32.add", "add", up, f32)
    f32 = _stage(b, "fpn32", f32, (128, 128), 5, "relu")
    b.layer = -1
    batch = x.shape[0]
    scores, boxes = [], []
    for grid, feat, anchors in (("32", f32, 2), ("16", f16, 2), ("8", f8, 6)):
        cls = b.conv2d(f"head{grid}.cls", feat, anchors, 1, bias=True)
        reg = b.conv2d(f"head{grid}.reg", feat, anchors * 18, 1, bias=True)
        scores.append(cls.view(batch, cls.numel // batch, 1))
        boxes.append(reg.view(batch, reg.numel // (18 * batch), 18))
    return b.concat("output", [b.concat("scores", scores), b.concat("boxes", boxes)], axis=2)


def hand_landmark(b: GraphBuilder, x: Tensor) -> Tensor:
    """BlazeHand-class landmark net (module docstring); returns the concatenated head outputs."""
    x = b.conv2d("stem.conv", x, 24, 3, stride=2, bias=True)
    x = b.act("stem.prelu", x, "prelu")
    f64 = _stage(b, "enc1", x, (24, 24, 48, 48, 48), 5, "prelu")
    f32 = _stage(b, "enc2", f64, (96, 96, 96), 5, "prelu")
    f16 = _stage(b, "enc3", f32, (192, 192, 192), 5, "prelu")
    f8 = _stage(b, "enc4", f16, (288, 288, 288), 5, "prelu")
    b.next_layer()
    up = b.upsample("fpn16.up", f8, 2, bilinear=True)
    up = b.conv2d("fpn16.reduce", up, 192, 1, bias=True)
    f16 = b.eltwise("fpn16.add", "add", up, f16)
    f16 = blaze_block(b, "fpn16.block", f16, 192, 5, 1, "prelu")
    b.next_layer()
    up = b.upsample("fpn32.up", f16, 2, bilinear=True)
    up = b.conv2d("fpn32.reduce", up, 96, 1, bias=True)
    f32 = b.eltwise("fpn32.add", "add", up, f32)
    f32 = blaze_block(b, "fpn32.block", f32, 96, 5, 1, "prelu")
    x = _stage(b, "tower16", f32, (288,) * 9, 5, "prelu")
    x = _stage(b, "tower8", x, (288,) * 3, 5, "prelu", downsample=True)
    x = _stage(b, "tower4", x, (288,) * 3, 5, "prelu", downsample=True)
    x = _stage(b, "tower2", x, (288,), 5, "prelu", downsample=True)
    b.layer = -1
    heads = [
        b.conv2d(f"head.{what}", x, width, 2, bias=True, padding=0)
        for what, width in (("landmarks", 63), ("flag", 1), ("handedness", 1))
    ]
    return b.concat("output", heads)


def _single(net: Callable[[GraphBuilder, Tensor], Tensor]) -> Builder:
    """A zoo builder that runs ``net`` on a batch of RGB images of the ``resolution`` parameter."""

    def build(name: str, p: dict[str, Any]) -> nx.DiGraph:
        b = GraphBuilder(name, "cnn", p["precision"])
        height, width = p["resolution"]
        net(b, b.input(p["batch"], 3, height, width))
        return b.graph

    return build


def build_hand_tracking(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """Palm detection on the frame, then hand landmarks on a 256x256 crop per hand.

    The crop (rotate, scale, resample; about 10 operations per crop pixel) depends on the
    detections, so it is an op fed by the detector; ``hands`` crops run as one batch.
    """
    b = GraphBuilder(name, "cnn", p["precision"])
    height, width = p["resolution"]
    frame = b.input(p["batch"], 3, height, width)
    with b.scope("palm."):
        detections = palm_detection(b, frame)
    crop_shape = (p["batch"] * p["hands"], 3, 256, 256)
    crop = b.op(
        "crop", "other", [frame, detections], crop_shape, flops=10 * (3 * 256 * 256) * crop_shape[0]
    )
    with b.scope("landmark."):
        hand_landmark(b, crop)
    return b.graph


ENTRIES = (
    ModelEntry(
        "selfie-segmentation",
        "cnn",
        "Portrait segmentation, MediaPipe Selfie Segmentation-class (MobileNetV3 encoder + "
        "light decoder, 256x256 -> 256x256 mask); widths set to the published size.",
        vision_params(256, multiple_of=32),
        _single(selfie_segmentation),
        reference={
            "params_m": 0.106,
            "source": f"{_QAIHM} MediaPipe-Selfie-Segmentation "
            "(256x256, 106K parameters); MediaPipe Selfie Segmentation docs",
        },
        aliases=("portrait-seg",),
    ),
    ModelEntry(
        "face-landmark",
        "cnn",
        "Face landmarks, MediaPipe FaceMesh-class (192x192 -> 468 3-D landmarks + face flag).",
        vision_params(192, low=192, multiple_of=64),
        _single(face_landmark),
        reference={
            "params_m": 0.603,
            "source": f"{_QAIHM} MediaPipe-Face-Detection "
            "(MediaPipeFaceLandmarkDetector 603K); Kartynnik et al. arXiv 1907.06724",
        },
        aliases=("face-landmarks",),
    ),
    ModelEntry(
        "palm-detection",
        "cnn",
        "Palm detector, BlazePalm-class (256x256, SSD heads over 2,944 anchors).",
        vision_params(256, multiple_of=32),
        _single(palm_detection),
        reference={
            "params_m": 1.76,
            "source": f"{_QAIHM} MediaPipe-Hand-Detection "
            "(MediaPipeHandDetector 1.76M); Zhang et al. arXiv 2006.10214",
        },
    ),
    ModelEntry(
        "hand-landmark",
        "cnn",
        "Hand landmarks, BlazeHand-class (256x256 crop -> 21 3-D landmarks, flag, handedness).",
        vision_params(256, low=256, multiple_of=128),
        _single(hand_landmark),
        reference={
            "params_m": 2.01,
            "source": f"{_QAIHM} MediaPipe-Hand-Detection "
            "(MediaPipeHandLandmarkDetector 2.01M); Zhang et al. arXiv 2006.10214",
        },
    ),
    ModelEntry(
        "hand-tracking",
        "cnn",
        "Hand/gesture tracking: palm detection then hand landmarks on each hand's crop.",
        vision_params(256, multiple_of=32, hands=Param(1, "int", 1, 4)),
        build_hand_tracking,
        reference={
            "params_m": 3.77,
            "source": f"{_QAIHM} MediaPipe-Hand-Detection (1.76M detector + 2.01M landmark)",
        },
    ),
)
