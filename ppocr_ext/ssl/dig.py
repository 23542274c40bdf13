"""DiG (Yang et al., ACM MM 2022): discriminative + generative self-supervised
pre-training of the recogniser's encoder on unlabeled text crops.

One step sees two views of each crop: a MASKED view (60% of its 4x4 patches hidden,
`ppocr_ext.ssl.masking`) and an AUGMENTED view (`ppocr_ext.augment` preset).
- Generative: a linear head on the encoder's last token grid predicts the pixels of
  each token's footprint (SimMIM-style); the loss is the squared error on masked
  pixels only.
- Discriminative: the encoder's output sequence (what the CTC decoder reads) is pooled
  into `instances` windows (SeqCLR's window-to-instance mapping); a projector, and for
  the online branch a predictor, map them to vectors; InfoNCE pairs the online masked
  view with the momentum augmented view and vice versa, every other window of the batch
  being a negative. The momentum branch is an EMA of the online one (BYOL/MoCo v3).
  L = L_contrastive + pixel_loss_weight * L_pixel.

The online encoder is OpenOCR's `SVTRNet`, built from the recogniser config's own
`Architecture.Encoder`, and is never wrapped or copied: masking enters through a
forward hook on its patch embedding, the token grid leaves through a pre-hook on its
final pooling. So `encoder_state_dict()` has exactly the recogniser's `encoder.*`
keys and shapes.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ppocr_ext.engine import load_engine
from ppocr_ext.ssl.ema import cosine_momentum, ema_update, frozen_copy
from ppocr_ext.ssl.masking import patch_grid, random_patch_mask, upsample

SUPPORTED_ENCODERS = ("SVTRNet",)


def mlp(in_dim: int, hidden_dim: int, out_dim: int, layers: int) -> nn.Sequential:
    """DiG's heads: `layers` linear layers with LayerNorm + GELU between them (3 for
    the projector, 2 for the predictor). A few lines, so no library for it."""
    blocks: list[nn.Module] = []
    dim = in_dim
    for _ in range(layers - 1):
        blocks += [nn.Linear(dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.GELU()]
        dim = hidden_dim
    blocks.append(nn.Linear(dim, out_dim))
    return nn.Sequential(*blocks)


def infonce_loss(query: torch.Tensor, key: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE with row i of `key` the positive of row i of `query` and all other rows
    negatives, scaled by 2*temperature as in MoCo v3 (which DiG builds on) so the
    gradient size does not depend on the temperature."""
    query, key = F.normalize(query.float(), dim=1), F.normalize(key.float(), dim=1)
    logits = query @ key.t() / temperature
    targets = torch.arange(len(query), device=query.device)
    return F.cross_entropy(logits, targets) * 2.0 * temperature


def window_instances(sequence: torch.Tensor, instances: int) -> torch.Tensor:
    """(B, T, C) sequence -> (B * instances, C): mean over `instances` equal windows
    along the reading direction (SeqCLR's window-to-instance mapping)."""
    pooled = F.adaptive_avg_pool1d(sequence.transpose(1, 2), instances)
    return pooled.transpose(1, 2).flatten(0, 1)


def build_svtr_encoder(encoder_cfg: dict) -> nn.Module:
    """The recogniser's encoder, exactly as `BaseRecognizer` builds it (3 input
    channels, no STN in front)."""
    load_engine()
    from openrec.modeling.encoders import build_encoder
    cfg = copy.deepcopy(encoder_cfg)
    if cfg.get("name") not in SUPPORTED_ENCODERS:
        raise ValueError(f"DiG pre-training supports Architecture.Encoder.name in "
                         f"{SUPPORTED_ENCODERS}, got {cfg.get('name')!r}")
    if not cfg.get("last_stage", True) or cfg.get("use_lenhead") or cfg.get("feature2d"):
        raise ValueError("DiG pre-training needs SVTRNet with last_stage: true and without "
                         "use_lenhead/feature2d (the CTC recogniser's layout)")
    cfg["in_channels"] = 3
    return build_encoder(cfg)


class Branch(nn.Module):
    """Encoder + learned mask token + projector: what the momentum branch mirrors."""

    def __init__(self, encoder_cfg: dict, hidden_dim: int, proj_dim: int, instances: int):
        super().__init__()
        self.encoder = build_svtr_encoder(encoder_cfg)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.encoder.embed_dim[0]))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.projector = mlp(self.encoder.out_channels, hidden_dim, proj_dim, layers=3)
        self.instances = instances
        self._token_mask: torch.Tensor | None = None
        self._grid: torch.Tensor | None = None
        self.encoder.patch_embed.register_forward_hook(self._mask_tokens)
        self.encoder.avg_pool.register_forward_pre_hook(self._keep_grid)

    def _mask_tokens(self, module, inputs, tokens):
        if self._token_mask is None:
            return None
        masked = self._token_mask.flatten(1).unsqueeze(-1).to(tokens.device)
        return torch.where(masked, self.mask_token.to(tokens.dtype), tokens)

    def _keep_grid(self, module, inputs):
        self._grid = inputs[0]

    def forward(self, images: torch.Tensor, token_mask: torch.Tensor | None = None):
        """(last token grid (B, C, h, w), projected instances (B*instances, D))."""
        self._token_mask = token_mask
        try:
            sequence = self.encoder(images)
        finally:
            self._token_mask = None
        grid, self._grid = self._grid, None
        return grid, self.projector(window_instances(sequence, self.instances))


class DiG(nn.Module):
    """The pre-training model; `forward(clean, augmented)` returns the losses."""

    def __init__(self, encoder_cfg: dict, mask_ratio: float = 0.6, patch_size=(4, 4),
                 instances: int = 8, hidden_dim: int = 1024, proj_dim: int = 256,
                 temperature: float = 0.2, momentum: float = 0.99,
                 momentum_final: float = 1.0, pixel_loss_weight: float = 1.0,
                 contrastive_weight: float = 1.0):
        super().__init__()
        self.online = Branch(encoder_cfg, hidden_dim, proj_dim, instances)
        self.predictor = mlp(proj_dim, hidden_dim, proj_dim, layers=2)
        encoder = self.online.encoder
        self.image_hw = tuple(encoder.img_size)
        self.patch_size = tuple(int(v) for v in patch_size)
        self.grid = patch_grid(self.image_hw, self.patch_size)
        stride = (self.image_hw[0] // encoder.HW[0], self.image_hw[1] // encoder.HW[1])
        if self.patch_size[0] % stride[0] or self.patch_size[1] % stride[1]:
            raise ValueError(f"patch_size {list(self.patch_size)} must be a multiple of the "
                             f"encoder's {stride[0]}x{stride[1]} token stride")
        self.tokens_per_patch = (self.patch_size[0] // stride[0], self.patch_size[1] // stride[1])
        final_h, final_w = encoder.hw[1]
        self.pixel_stride = (self.image_hw[0] // final_h, self.image_hw[1] // final_w)
        self.pixel_head = nn.Linear(encoder.embed_dim[-1],
                                    3 * self.pixel_stride[0] * self.pixel_stride[1])
        self.mask_ratio = mask_ratio
        self.temperature = temperature
        self.momentum, self.momentum_final = momentum, momentum_final
        self.pixel_loss_weight = pixel_loss_weight
        self.contrastive_weight = contrastive_weight
        self.momentum_branch = frozen_copy(self.online)

    def train(self, mode: bool = True):
        super().train(mode)
        self.momentum_branch.eval()   # targets without dropout noise, always
        return self

    def no_weight_decay(self) -> set[str]:
        """Names the engine's optimiser builder exempts from weight decay."""
        return {f"online.encoder.{name}" for name in self.online.encoder.no_weight_decay()} \
            | {"online.mask_token"}

    def encoder_state_dict(self) -> dict[str, torch.Tensor]:
        """The online encoder's weights under the recogniser's key names."""
        return {f"encoder.{key}": value.detach().clone()
                for key, value in self.online.encoder.state_dict().items()}

    def load_encoder(self, state: dict[str, torch.Tensor]) -> None:
        """Start both encoders (online and momentum) from a recogniser's `encoder.*`
        weights, e.g. synthetic-crop pre-training, so DiG adapts a model that already
        reads to unlabeled crops of the user's domain. Raises ValueError when `state`
        holds no encoder, RuntimeError when it does not fit this one."""
        encoder = {key[len("encoder."):]: value for key, value in state.items()
                   if key.startswith("encoder.")}
        if not encoder:
            raise ValueError("no encoder.* weights in it")
        self.online.encoder.load_state_dict(encoder)
        self.momentum_branch.encoder.load_state_dict(encoder)

    def draw_mask(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return random_patch_mask(batch, self.grid, self.mask_ratio, generator)

    def reconstruct(self, grid: torch.Tensor) -> torch.Tensor:
        """Pixels (B, 3, H, W) predicted from the last token grid (B, C, h, w): each
        token predicts its own stride_h x stride_w footprint."""
        batch, _, rows, cols = grid.shape
        sh, sw = self.pixel_stride
        pixels = self.pixel_head(grid.permute(0, 2, 3, 1))           # B, h, w, 3*sh*sw
        pixels = pixels.view(batch, rows, cols, 3, sh, sw).permute(0, 3, 1, 4, 2, 5)
        return pixels.reshape(batch, 3, rows * sh, cols * sw)

    def forward(self, clean: torch.Tensor, augmented: torch.Tensor,
                patch_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Losses for a batch of normalised crops (B, 3, H, W) in two views; `clean` is
        masked here (`patch_mask`, drawn if not given) and is the pixel target."""
        if patch_mask is None:
            patch_mask = self.draw_mask(len(clean))
        patch_mask = patch_mask.to(clean.device)
        token_mask = upsample(patch_mask, self.tokens_per_patch)
        pixel_mask = upsample(patch_mask, self.patch_size).unsqueeze(1)   # B, 1, H, W
        masked = clean.masked_fill(pixel_mask, 0.0)

        grid, proj_masked = self.online(masked, token_mask)
        if self.contrastive_weight:
            _, proj_augmented = self.online(augmented)
            with torch.no_grad():
                _, key_masked = self.momentum_branch(masked, token_mask)
                _, key_augmented = self.momentum_branch(augmented)
            contrastive = (infonce_loss(self.predictor(proj_masked), key_augmented, self.temperature)
                           + infonce_loss(self.predictor(proj_augmented), key_masked,
                                          self.temperature))
        else:   # generative only (masked image modelling): one encoder pass, not four
            contrastive = grid.new_zeros(())
        error = (self.reconstruct(grid).float() - clean.float()) ** 2
        pixel = error.mean(1, keepdim=True)[pixel_mask].mean()
        return {"loss": self.contrastive_weight * contrastive + self.pixel_loss_weight * pixel,
                "contrastive": contrastive.detach(), "pixel": pixel.detach()}

    def update_momentum(self, step: int, total_steps: int) -> float:
        """EMA step of the momentum branch after an optimiser step; returns the decay."""
        decay = cosine_momentum(step, total_steps, self.momentum, self.momentum_final)
        ema_update(self.momentum_branch, self.online, decay)
        return decay
