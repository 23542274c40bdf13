"""Teaching the line head (model.LineHead) which text line of the mark is the ID line.

No box says where the ID line is. The rule of localization/id_line.py does, on most
frames: the mark's lowest text line near the classifier's evidence. Its answers on the
TRAIN frames are the head's targets (the cells of that line inside DDT's box: 1, every
other cell of the pair: 0), the same self-training step PSOL takes from DDT's boxes. The
rule is wrong where a caption sits under or over the mark; those captions change from
frame to frame while the mark's line looks the same everywhere, so the head learns the
line and overrides the rule at test time (bench/loc.md). The classifier stays frozen:
the head reads the descriptors the locator computes anyway.

The pair of the OTHER side, where the teacher says the mark is not, is a target too, all
0: its captions and @handles look like the mark and sit where a mark would, negatives
the classifier's middle strips never showed it. The head votes on the side, and this is
where it learns to tell them apart (the dev sets data/dev_loc + data/bench_video missed
9 of 2,573 frames without these negatives, 5 with them).

The same pass measures how tall the rule's lines are (the median, as a share of the
frame's short side): the head keeps it, and the cut never keeps fewer rows than
id_line.MIN_LINES such lines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from localization.geometry import integer_box
from localization.id_line import id_line_run
from localization.locator import Locator
from localization.model import LineHead, StripClassifier
from localization.training import WorkSet, fit_on_buckets, teacher_results

POSITIVE_WEIGHT = 5.0   # see train_line_head


@dataclass
class LineTargets:
    by_shape: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]   # shape -> (pairs, cell maps)
    line_height: float       # the rule's median line height / the frame's short side


def line_targets(teacher: Locator, work_set: WorkSet) -> LineTargets:
    """Per frame shape: both sides' pairs and their cell targets (the other side's all
    0), and the rule's typical line height. `teacher` is a ddt Locator WITHOUT the
    ID-line cut (the rule is applied here, so the line's own rows are known, not its
    padded crop). Frames without a blob or a line are left out."""
    stride = StripClassifier.STRIDE
    top_band, bottom_band = teacher.side_bands()
    out, heights = {}, []
    for shape, frames in work_set.buckets.items():
        pairs, maps = [], []
        for frame, result in teacher_results(teacher, frames, "ID-line pseudo-labels"):
            x0, y0, x1, y1 = integer_box(result.rows[0][0], shape[1], shape[0])
            anchor = None if result.anchor_row is None else result.anchor_row - y0
            run = id_line_run(frame[y0:y1, x0:x1], anchor)
            if run is None:
                continue
            heights.append((run[1] - run[0]) / min(shape))
            top = result.side == "top"
            band = top_band if top else bottom_band
            pair = teacher.pair(frame, top)
            # each cell's centre in frame (= working) pixels
            rows = band.work_row - band.start + (np.arange(pair.shape[0] // stride) + 0.5) * stride
            cols = (np.arange(pair.shape[1] // stride) + 0.5) * stride
            on_line = (rows >= y0 + run[0] - 1) & (rows <= y0 + run[1] + 1)
            in_box = (cols >= result.raw_box[0]) & (cols <= result.raw_box[2])
            target = np.outer(on_line, in_box).astype(np.float32)
            pairs += [pair, teacher.pair(frame, not top)]
            maps += [target, np.zeros_like(target)]
        if pairs:
            out[shape] = (np.stack(pairs), np.stack(maps))
    if not out:
        raise ValueError("the ID-line rule found no line on any train frame: nothing to teach the line head")
    return LineTargets(out, float(np.median(heights)))


def train_line_head(teacher: Locator, targets: LineTargets, steps: int, batch_size: int,
                    lr: float, seed: int) -> LineHead:
    """Fits the head on the frozen classifier's descriptors, computed by `teacher`'s
    inference copy of it (conv+BN folded: half the time of the training layout, the
    same values). Positive cells are a few percent of a pair: they weigh
    POSITIVE_WEIGHT times a negative one."""
    torch.manual_seed(seed)
    head = LineHead(teacher.classifier.channels[-1], line_height=targets.line_height)

    def batch_loss(bucket, pick):
        pairs, maps = bucket
        features = teacher.pair_features(pairs[pick]).clone()
        return nn.functional.binary_cross_entropy_with_logits(
            head(features), torch.from_numpy(maps[pick]), pos_weight=torch.tensor(POSITIVE_WEIGHT))
    return fit_on_buckets(head, list(targets.by_shape.values()), steps, batch_size, lr, seed,
                          "line head", batch_loss)


