"""Deep Descriptor Transforming (Wei et al., 2017/2019) on the strip classifier.

Descriptors (last conv map) of the POSITIVE pairs share one common pattern, the
watermark; the first principal component of the mean-centred descriptors points at it.
Projecting a location's descriptor on that component gives a heatmap whose positive
part is the object. The PCA (mean + component, sign fixed) is stored with the model,
so inference never needs a pass over a data set.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch


@dataclass
class DescriptorStats:
    """Streaming sums for the mean and covariance of every descriptor location."""
    total: np.ndarray
    outer: np.ndarray
    count: int = 0

    @classmethod
    def empty(cls, channels: int) -> "DescriptorStats":
        return cls(np.zeros(channels), np.zeros((channels, channels)))

    def add(self, features: torch.Tensor) -> None:
        """features (B, C, h, w)."""
        flat = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1]).double().numpy()
        self.total += flat.sum(axis=0)
        self.outer += flat.T @ flat
        self.count += flat.shape[0]


@dataclass
class DDTProjection:
    mean: np.ndarray        # (C,)
    component: np.ndarray   # (C,), sign fixed: positive = watermark

    @classmethod
    def from_stats(cls, stats: DescriptorStats) -> "DDTProjection":
        if stats.count < 2:
            raise ValueError("DDT needs descriptors of at least one positive pair")
        mean = stats.total / stats.count
        covariance = stats.outer / stats.count - np.outer(mean, mean)
        _, vectors = np.linalg.eigh(covariance)
        return cls(mean.astype(np.float32), vectors[:, -1].astype(np.float32))

    def heatmap(self, features: torch.Tensor) -> np.ndarray:
        """(B, C, h, w) -> (B, h, w) projections on the first component."""
        mean = torch.from_numpy(self.mean).view(1, -1, 1, 1)
        component = torch.from_numpy(self.component)
        return torch.einsum("bchw,c->bhw", features.float() - mean, component).numpy()

    def orient(self, positive_maps: list[np.ndarray], negative_maps: list[np.ndarray]) -> None:
        """PCA leaves the sign free. The watermark is in every positive pair and in no
        negative pair, so the sign under which positives peak higher than negatives is
        the one where "positive projection" means "watermark". Maps may differ in size."""
        def gap(sign: float) -> float:
            return (np.mean([(sign * m).max() for m in positive_maps])
                    - np.mean([(sign * m).max() for m in negative_maps]))
        if gap(-1.0) > gap(1.0):
            self.component = -self.component

    def state(self) -> dict:
        return {"mean": torch.from_numpy(self.mean), "component": torch.from_numpy(self.component)}

    @classmethod
    def from_state(cls, state: dict) -> "DDTProjection":
        return cls(state["mean"].numpy(), state["component"].numpy())


def blob_box(heatmap: np.ndarray, out_height: int, out_width: int, threshold: float = 0.0,
             join: int = 0, evidence: np.ndarray | None = None
             ) -> tuple[float, float, float, float] | None:
    """Heatmap (h, w) at feature resolution -> box of one connected region of
    heat > threshold * max(heat), in pixels of an (out_height, out_width) image; None
    when no location is positive.

    Which region: the largest (DDT's rule) or, given an `evidence` map of the same shape,
    the one holding the highest evidence. DDT's component answers "what do the positives
    share", which captions and @handles near the same edge also are; the classifier's
    own score map answers "what tells an edge strip with the mark from one without",
    and picks the mark among them (bench/loc.md, "pick").

    threshold 0 is DDT's own rule (positive projection = object); a fraction of the
    peak tightens the blob, whose halo is as wide as the receptive field. The maps are
    upsampled bilinearly BEFORE thresholding, so box edges fall between feature cells
    instead of on the stride-4 grid (a watermark is ~7 px high here). `join` closes
    horizontal gaps up to that many pixels first: a line of text whose middle sits on a
    bright background would otherwise break into pieces and the largest piece win."""
    peak = float(heatmap.max()) if heatmap.size else 0.0
    if peak <= 0:
        return None
    big = cv2.resize(heatmap.astype(np.float32), (out_width, out_height),
                     interpolation=cv2.INTER_LINEAR)
    mask = (big > max(0.0, threshold) * peak).astype(np.uint8)
    if join > 1:
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((1, join), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    if evidence is None:
        best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    else:
        big_evidence = cv2.resize(evidence.astype(np.float32), (out_width, out_height),
                                  interpolation=cv2.INTER_LINEAR)
        best = 1 + int(np.argmax([big_evidence[labels == c].max() for c in range(1, count)]))
    x, y, w, h = (int(v) for v in stats[best, :4])
    return float(x), float(y), float(x + w), float(y + h)
