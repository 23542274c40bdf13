"""Small VGG-like networks trained from scratch (plain torch, no pre-trained weights).

`StripClassifier` answers the only question the weak labels can ask: "does this
stitched pair of strips contain the watermark?". Its last convolution (stride 4) is the
descriptor map DDT projects. Global MAX pooling, not average: the watermark covers a
few percent of a pair, and a presence question should not be diluted by the rest.

`BoxRegressor` is PSOL's localisation network: trained on DDT's pseudo-boxes, it maps
a band (the edge strip the classifier chose) to one box.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def _conv_bn_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


def vgg_features(channels: tuple[int, int, int]) -> nn.Sequential:
    """conv-pool-conv-conv-pool-conv-conv: stride 4, receptive field ~30 px, i.e. a few
    glyphs of a 7-px-high watermark at the working resolution."""
    c1, c2, c3 = channels
    return nn.Sequential(
        *_conv_bn_relu(1, c1), nn.MaxPool2d(2),
        *_conv_bn_relu(c1, c2), *_conv_bn_relu(c2, c2), nn.MaxPool2d(2),
        *_conv_bn_relu(c2, c3), *_conv_bn_relu(c3, c3))


INPUT_FORMAT = "gray, each image standardised: (x - mean) / (std + 8)"


def normalise(gray_uint8: torch.Tensor, floor: float = 8.0) -> torch.Tensor:
    """uint8 (B, H, W) -> float (B, 1, H, W), each image standardised on its own.

    The watermark is defined by LOCAL contrast (white ink, dark edge) whatever the
    scene's brightness; standardising each pair removes the scene's level and spread,
    which made a tiny training run learn the side several times more reliably than a
    fixed [0, 255] scaling did. `floor` keeps a flat strip from amplifying its noise."""
    images = gray_uint8.float().unsqueeze(1)
    mean = images.mean(dim=(2, 3), keepdim=True)
    spread = images.std(dim=(2, 3), keepdim=True) + floor
    return (images - mean) / spread


class StripClassifier(nn.Module):
    STRIDE = 4

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 64)):
        super().__init__()
        self.channels = tuple(channels)
        self.features = vgg_features(self.channels)
        self.head = nn.Linear(self.channels[-1], 1)

    def score(self, features: torch.Tensor) -> torch.Tensor:
        """Logit of "watermark present" from a descriptor map (B, C, h, w)."""
        return self.head(features.amax(dim=(2, 3))).squeeze(1)

    def score_map(self, features: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, h, w): the head applied at every location. The logit is
        the head on the per-channel maximum, so where this map peaks is where the
        evidence for "the mark is here" sits (a class-activation map)."""
        weight = self.head.weight[0].to(features.dtype)
        return torch.einsum("bchw,c->bhw", features, weight) + self.head.bias.to(features.dtype)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(images))


class LineHead(nn.Module):
    """Which text line of a located mark is the ID line: one logit per location of the
    strip classifier's descriptor map (which stays frozen).

    The rule "the ID is the mark's lowest text line" fails where a caption, an @handle or
    a number sits right under or over the mark: both are text, and row energy cannot tell
    them apart. The classifier's descriptors can (what the mark's line looks like is what
    it learned), but no box ever says which location is the line: the head is taught by
    the rule's own answers on the train frames (localization/line_head.py), and because
    captions move from frame to frame while the mark does not, it learns the mark's line
    rather than the rule's mistakes. A 3x3 conv gives each location its neighbours' context
    (a line's ends, the line above); it costs nothing next to the classifier's pass.

    `line_height`: the typical ID-line height as a share of the frame's short side, as
    the rule measured it on the same train frames (the cut's floor, id_line.MIN_LINES);
    None for heads saved before it was kept."""

    def __init__(self, in_channels: int = 64, hidden: int = 32, line_height: float | None = None):
        super().__init__()
        self.in_channels, self.hidden, self.line_height = in_channels, hidden, line_height
        self.layers = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1),
                                    nn.ReLU(inplace=True), nn.Conv2d(hidden, 1, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) descriptors -> (B, h, w) logits of "the ID line is here"."""
        return self.layers(features)[:, 0]


class BoxRegressor(nn.Module):
    """Band (B, 1, H, W) -> box (B, 4) as (x0, y0, x1, y1) fractions of the band.

    Adaptive pooling to a fixed grid keeps where things are (a global pool would not)
    while accepting the different band widths of portrait and landscape frames."""

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 64),
                 grid: tuple[int, int] = (4, 24), hidden: int = 128):
        super().__init__()
        self.channels, self.grid, self.hidden = tuple(channels), tuple(grid), hidden
        self.features = vgg_features(self.channels)
        self.reduce = nn.Conv2d(self.channels[-1], 16, 1)
        self.pool = nn.AdaptiveAvgPool2d(self.grid)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * grid[0] * grid[1], hidden),
                                  nn.ReLU(inplace=True), nn.Linear(hidden, 4))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        raw = self.head(self.pool(torch.relu(self.reduce(self.features(images)))))
        return torch.sigmoid(raw)


def for_inference(network: nn.Module) -> nn.Module:
    """An eval-mode copy with every conv+BN pair of its `features` folded into one conv
    and channels-last weights: measured ~2x the frames/s of the training layout on CPU
    (unfused BN and mixed memory formats cost as much as the convolutions)."""
    fused = copy.deepcopy(network).eval()
    layers, folded = list(fused.features), []
    while layers:
        layer = layers.pop(0)
        if isinstance(layer, nn.Conv2d) and layers and isinstance(layers[0], nn.BatchNorm2d):
            layer = fuse_conv_bn_eval(layer, layers.pop(0))
        folded.append(layer)
    fused.features = nn.Sequential(*folded)
    return fused.to(memory_format=torch.channels_last)
