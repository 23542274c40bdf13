"""Low-resolution domain augmentation: make training crops look like test crops.

The challenge's test frames are the training frames' resolution divided by about 1.7
and JPEG re-encoded (DESIGN.md); the winning solution resized training frames by
1/1.7 to match. Here the gap is sampled instead of fixed: slight motion blur (as a
video frame has), a round trip through a random downscale around 1/1.7 (area down,
linear up — detail is lost, size is kept), then JPEG re-compression, in that order,
the order a real frame goes through them.
"""
from __future__ import annotations

import albumentations as A
import cv2

from ppocr_ext.augment.base import AlbumentationsStep, as_range, check_probability


class LowResAug(AlbumentationsStep):
    """Engine transform: motion blur, downscale-and-back, JPEG, each with its own
    probability. `downscale_range` is the factor range (1/1.7 = 0.59 in the middle),
    `jpeg_quality` the JPEG quality range, `motion_kernel` the motion-blur length."""

    def __init__(self, motion_prob: float = 0.2, motion_kernel: int = 3,
                 downscale_prob: float = 0.5, downscale_range=(0.5, 0.75),
                 jpeg_prob: float = 0.5, jpeg_quality=(50, 95), **kwargs):
        motion_kernel = int(motion_kernel)
        if motion_kernel < 3 or motion_kernel % 2 == 0:
            raise ValueError(f"motion_kernel must be an odd size >= 3, got {motion_kernel}")
        low, high = as_range("downscale_range", downscale_range, low=0.05)
        if high >= 1.0:
            raise ValueError(f"downscale_range must stay below 1, got {downscale_range!r}")
        quality = as_range("jpeg_quality", jpeg_quality, low=1)
        super().__init__([
            A.MotionBlur(blur_limit=(motion_kernel, motion_kernel), allow_shifted=False,
                         p=check_probability("motion_prob", motion_prob)),
            A.Downscale(scale_range=(low, high),
                        interpolation_pair={"downscale": cv2.INTER_AREA,
                                            "upscale": cv2.INTER_LINEAR},
                        p=check_probability("downscale_prob", downscale_prob)),
            A.ImageCompression(quality_range=(int(quality[0]), int(quality[1])),
                               p=check_probability("jpeg_prob", jpeg_prob)),
        ])
