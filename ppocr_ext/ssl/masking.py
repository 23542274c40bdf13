"""Random masks of image patches for masked-image modelling (DiG, SimMIM).

DiG masks 60% of the non-overlapping 4x4 patches of a text image. SVTRNet's patch
embedding is two stride-2 3x3 convolutions, i.e. one token per 4x4 pixels, so a mask
drawn on a grid of `patch_size` cells maps onto tokens (`patch_size` must be a multiple
of the token stride) and onto pixels. The masked view applies it twice (see
`ppocr_ext.ssl.dig`): masked pixels are set to 0 (mid grey after the engine's
normalisation), so the 7x7 receptive field of a neighbouring token's convolutions
cannot see into a masked patch; and masked tokens are replaced by a learned mask token,
so the network knows which positions it has to fill in.
"""
from __future__ import annotations

import torch


def patch_grid(image_hw, patch_hw) -> tuple[int, int]:
    """(rows, cols) of patches; the image must tile exactly."""
    (height, width), (ph, pw) = image_hw, patch_hw
    if ph <= 0 or pw <= 0 or height % ph or width % pw:
        raise ValueError(f"patch size {list(patch_hw)} does not tile the {height}x{width} "
                         "input exactly")
    return height // ph, width // pw


def random_patch_mask(batch: int, grid: tuple[int, int], ratio: float,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Bool (batch, rows, cols), True = masked: exactly round(ratio * cells) random
    patches per image (a fixed count, as in SimMIM/MAE, so every batch is as hard)."""
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"mask_ratio must be in (0, 1), got {ratio}")
    cells = grid[0] * grid[1]
    masked = int(round(ratio * cells))
    order = torch.rand(batch, cells, generator=generator).argsort(dim=1)
    mask = torch.zeros(batch, cells, dtype=torch.bool)
    mask.scatter_(1, order[:, :masked], True)
    return mask.view(batch, *grid)


def upsample(mask: torch.Tensor, factor_hw) -> torch.Tensor:
    """Each cell of a (batch, rows, cols) mask repeated into a factor_h x factor_w block."""
    fh, fw = factor_hw
    return mask.repeat_interleave(fh, dim=1).repeat_interleave(fw, dim=2)
