"""Robustness augmentation: Gaussian noise, rain, fog.

Seed 001 (a robust-detection competition write-up): defences such as JPEG or denoising
hurt, while *simulating* the disturbances in training — Gaussian noise, rain, fog,
blur — made the model more robust. Frames users bring may carry any of these. The
defaults are scaled for crops a few dozen pixels tall: rain is drawn with 1-px drops
and no extra blur (albumentations' default 7-px blur would erase the text, cf. the
5x5-blur lesson of seed 000), fog stays light and blurs only itself
(common.corruptions.Haze: albumentations' fog blurs the whole image).
"""
from __future__ import annotations

import albumentations as A

from common.corruptions import Haze
from ppocr_ext.augment.base import AlbumentationsStep, as_range, check_probability


class RobustnessAug(AlbumentationsStep):
    """Engine transform: Gaussian noise (`noise_std` as a fraction of 255), rain
    (`rain_type` one of drizzle/default/heavy/torrential), fog (`fog_strength` range
    of albumentations' fog coefficient), each with its own probability."""

    def __init__(self, noise_prob: float = 0.3, noise_std=(0.02, 0.08),
                 rain_prob: float = 0.1, rain_type: str = "drizzle",
                 fog_prob: float = 0.1, fog_strength=(0.1, 0.3), **kwargs):
        super().__init__([
            A.GaussNoise(std_range=as_range("noise_std", noise_std, low=0),
                         p=check_probability("noise_prob", noise_prob)),
            A.RandomRain(rain_type=rain_type, drop_width=1, blur_value=1,
                         brightness_coefficient=0.9,
                         p=check_probability("rain_prob", rain_prob)),
            Haze(fog_coef_range=as_range("fog_strength", fog_strength, low=0),
                 alpha_coef=0.08, p=check_probability("fog_prob", fog_prob)),
        ])
