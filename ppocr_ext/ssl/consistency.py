"""Per-position consistency between an EMA teacher and the student on unlabeled crops
(mean teacher + FixMatch-style confidence masking, as in Zheng et al. CVPR 2022's
character-level consistency, seed 002).

The teacher reads a WEAKLY augmented view, the student a STRONGLY augmented view of the
same crop. A CTC recogniser emits one distribution per horizontal position, so the two
readings are compared position by position; the strong augmentations must therefore
keep the geometry (colour, blur, noise, low resolution, JPEG: yes; TIA warps, crops:
no), which is what `configs/rec/svtr_tiny_cpu_semi.yml` uses.

Positions where the teacher is unsure (max probability < `threshold`) contribute
nothing, and so do whole crops whose teacher reading has fewer than `min_chars`
symbols: early in CTC training the teacher is confidently all-blank (DESIGN.md: ~7 min
of empty output), and copying that would hold the student in the stall.
"""
from __future__ import annotations

import torch

from ppocr_ext.ssl.ema import ema_update, frozen_copy

MODES = ("kl", "argmax")
BLANK = 0   # OpenOCR's CTCLabelDecode puts 'blank' first; CTCLoss(blank=0)


def ctc_reading_lengths(classes: torch.Tensor) -> torch.Tensor:
    """Symbols a greedy CTC decode of (B, T) class indices yields: runs of equal
    non-blank classes count once."""
    starts = torch.ones_like(classes, dtype=torch.bool)
    starts[:, 1:] = classes[:, 1:] != classes[:, :-1]
    return ((classes != BLANK) & starts).sum(dim=1)


def consistency_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor,
                     threshold: float, mode: str = "kl",
                     min_chars: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, mask) for student logits and teacher probabilities, both (B, T, classes).

    mode 'kl': KL(teacher || student) per position (soft targets); 'argmax': cross-
    entropy to the teacher's most likely class (hard pseudo-targets). The loss is the
    masked sum over ALL positions (FixMatch's normalisation), so it grows as the teacher
    becomes confident; `mask` (B, T) marks the positions that counted.
    """
    if mode not in MODES:
        raise ValueError(f"consistency mode {mode!r}: choose one of {MODES}")
    if student_logits.shape != teacher_probs.shape:
        raise ValueError(f"student {tuple(student_logits.shape)} and teacher "
                         f"{tuple(teacher_probs.shape)} outputs differ in shape")
    teacher_probs = teacher_probs.detach().float()
    confidence, classes = teacher_probs.max(dim=-1)
    mask = confidence >= threshold
    if min_chars > 0:
        mask &= (ctc_reading_lengths(classes) >= min_chars).unsqueeze(1)
    log_student = student_logits.float().log_softmax(dim=-1)
    if mode == "kl":
        per_position = (teacher_probs * (teacher_probs.clamp_min(1e-8).log()
                                         - log_student)).sum(dim=-1)
    else:
        per_position = -log_student.gather(-1, classes.unsqueeze(-1)).squeeze(-1)
    loss = (per_position * mask).sum() / mask.numel()
    return loss, mask


class MeanTeacher:
    """An EMA copy of the student (eval mode, no gradients) that reads weak views.
    In eval mode OpenOCR's CTC decoder returns softmax probabilities."""

    def __init__(self, student: torch.nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {decay}")
        self.model = frozen_copy(student)
        self.decay = decay

    def update(self, student: torch.nn.Module) -> None:
        ema_update(self.model, student, self.decay)

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        self.model.eval()
        return self.model(images).float()
