"""`AlignedCTCLoss`: CTC plus a cross-entropy at the output positions where the renderer
says each glyph lies, so a recogniser trained from scratch leaves CTC's all-blank stall.

Why: from random weights CTC first learns that blank everywhere is the cheapest output
and sits there (loss ~40-48) until the encoder finds where glyphs are: SVTR-Tiny on the
crop stream left it between steps 600 and 1,000 even with the clean-first curriculum
(models/svtr_tiny_synth/README.md), the smallest SVTRv2 was still all-blank at step
1,240 (bench/encoders.md), the one-hour recipe spent its first ~750 steps, ~37 of its
CPU-minutes, there (bench/recipe_1h.md). The crop renderer knows each glyph's ink extent
(`synth.crops.render_aligned_crop`), so the encoder can be told directly where each
symbol is; CTC keeps deciding everything the targets leave open.

Targets for a crop read at T output positions (SVTRResize stretches the crop to the
input, so position t looks at the crop's columns around (t + 0.5) / T of its width):
- the position nearest each glyph's ink centre: that glyph's symbol;
- positions left of the ID's first ink or right of its last (prefix, colon, margins): blank;
- the rest (between glyph centres): unsupervised, CTC decides (repeat or blank).
Samples without spans (real crops: NaN rows) or whose spans do not match their encoded
label add nothing. The cross-entropy is summed over a crop's supervised positions and
averaged over the crops that have any, the scale of CTC's loss (a sum over the crop's
positions, averaged over crops), so `align_weight` 1 weighs the two alike.

Config:
    Loss:
      name: AlignedCTCLoss
      align_weight: 1.0      # weight of the alignment cross-entropy beside CTC's loss
      zero_infinity: true
    Train.dataset: SynthCropDataSet with `align_targets: true`, and `glyph_spans` as the
    fourth key of KeepKeys (`[image, label, length, glyph_spans]`).
"""
import torch
import torch.nn.functional as F
from torch import nn

IGNORE = -100
# what the dataset's KeepKeys must keep first (ppocr_ext.synth_dataset checks it), so the
# batch the loss receives holds the spans at this index
SPANS_KEEP_KEYS = ["image", "label", "length", "glyph_spans"]
SPANS_KEY_INDEX = SPANS_KEEP_KEYS.index("glyph_spans")


def kept_keys(transforms: list) -> list | None:
    """The keys the last KeepKeys of a config's transform list keeps (None: it has none)."""
    keep = [op["KeepKeys"]["keep_keys"] for op in transforms if isinstance(op, dict) and "KeepKeys" in op]
    return keep[-1] if keep else None


def keeps_spans(transforms: list) -> bool:
    """Whether a transform list hands this loss its batch: SPANS_KEEP_KEYS kept first."""
    keep = kept_keys(transforms)
    return keep is not None and keep[:len(SPANS_KEEP_KEYS)] == SPANS_KEEP_KEYS


def alignment_targets(spans: torch.Tensor, label: torch.Tensor, length: torch.Tensor,
                      positions: int) -> torch.Tensor:
    """(B, T) targets: a class index, 0 for blank, or IGNORE (see the module docstring).
    `spans` (B, G, 2) glyph ink [x0, x1) as fractions of the crop's width, NaN rows for
    none; `label` (B, L) the engine's encoded label (blank is 0); `length` (B,)."""
    batch = spans.shape[0]
    targets = torch.full((batch, positions), IGNORE, dtype=torch.long)
    valid = ~torch.isnan(spans[..., 0])
    usable = (valid.sum(1) == length) & (length > 0)
    if not usable.any():
        return targets
    centres = (torch.arange(positions, dtype=torch.float32) + 0.5) / positions
    first = torch.where(valid, spans[..., 0], torch.inf).amin(1, keepdim=True)
    last = torch.where(valid, spans[..., 1], -torch.inf).amax(1, keepdim=True)
    outside = (centres < first) | (centres >= last)
    targets[outside & usable[:, None]] = 0
    rows, glyphs = torch.nonzero(valid & usable[:, None], as_tuple=True)
    middle = spans[rows, glyphs].mean(-1)
    column = (middle * positions).long().clamp(0, positions - 1)
    targets[rows, column] = label[rows, glyphs].long()
    return targets


class AlignedCTCLoss(nn.Module):
    """CTC + `align_weight` x cross-entropy on `alignment_targets` (engine loss plugin)."""

    def __init__(self, align_weight: float = 1.0, zero_infinity: bool = True, **kwargs):
        super().__init__()
        if align_weight < 0:
            raise ValueError(f"Loss.align_weight must be >= 0, got {align_weight}")
        from openrec.losses.ctc_loss import CTCLoss

        self.ctc = CTCLoss(zero_infinity=zero_infinity)
        self.align_weight = float(align_weight)

    def forward(self, predicts, batch):
        if len(batch) <= SPANS_KEY_INDEX:
            raise ValueError("AlignedCTCLoss needs glyph_spans as a kept key: "
                             f"Train.dataset.transforms KeepKeys {SPANS_KEEP_KEYS}")
        ctc = self.ctc(predicts, batch)["loss"]
        targets = alignment_targets(batch[SPANS_KEY_INDEX].float().cpu(), batch[1].cpu(),
                                    batch[2].cpu(), predicts.size(1)).to(predicts.device)
        crops = int((targets != IGNORE).any(1).sum())
        align = F.cross_entropy(predicts.float().flatten(0, 1), targets.flatten(),
                                ignore_index=IGNORE, reduction="sum") / max(1, crops)
        return {"loss": ctc + self.align_weight * align, "ctc_loss": ctc, "align_loss": align}
