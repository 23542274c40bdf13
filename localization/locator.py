"""Inference: frames -> crop boxes, by direct cropping, strip classifier + DDT, or PSOL.

How the top/bottom decision and DDT combine (`ddt.decision`):
- "classifier" (default): the seed's test-time rule. Strip 1 and strip N are each
  stitched with a middle strip and scored; the higher score (plus, with
  `side_peak_weight`, the score map's peak) picks the side. DDT's heatmap is read only
  over the chosen edge strip (in the same forward pass: the pair's descriptor map is what
  the classifier pooled), and its largest positive blob (or with `pick`, the one holding
  the score map's peak) is the box.
- "ddt": the seed's released code path. DDT runs on the stitched strip 1 + strip N
  pair; the largest positive blob anywhere in it decides the side and the box. One
  forward pass instead of two.
PSOL keeps the classifier's decision and replaces the heatmap by a box regressor trained
on DDT's pseudo-boxes. Optionally (`id_line`) the box is then cut down to the mark's ID
line by localization/id_line.py, the line chosen by the line head when there is one.
Boxes are mapped back to ORIGINAL frame pixels and padded by a margin there, so the crop
is taken from the full-quality frame.
"""
from __future__ import annotations

from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from common.restore import despeckled
from localization.ddt import DDTProjection, blob_box
from localization.geometry import (Box, Rows, Tilt, direct_crop_rows, integer_box, level, pad_box,
                                   stitch_strips, to_work, turn_box)
from localization.id_line import MIN_LINES, TILT_REACH, fit_along_line, id_line_run, line_tilt, padded
from localization.model import BoxRegressor, LineHead, StripClassifier, for_inference, normalise

METHODS = ("direct", "ddt", "psol")
DECISIONS = ("classifier", "ddt")
PICKS = ("area", "classifier")


@dataclass(frozen=True)
class WorkParams:
    """The working resolution every learned method sees."""
    strips: int = 10
    strip_height: int = 32
    width_multiple: int = 8

    def work(self, gray: np.ndarray) -> np.ndarray:
        """The frame as the learned stages see it: impulse noise removed (see
        common/restore.py; the strip classifier, trained on clean frames, took the wrong
        edge for 11% of the dev frames under salt and pepper), resized to the working
        resolution."""
        return to_work(despeckled(gray), self.strips, self.strip_height, self.width_multiple)


@dataclass
class Localisation:
    rows: Rows                       # crop boxes in frame pixels (see geometry.py)
    side: str | None = None          # "top" or "bottom" for learned methods
    score: float | None = None       # classifier logit(top pair) - logit(bottom pair)
    fallback: bool = False           # no positive blob: the whole edge strip was kept
    raw_box: Box | None = None       # the unpadded box in frame pixels
    anchor_row: float | None = None  # frame row where the evidence (score map + line head) peaks
    # the line head's logits along the frame's rows (frame rows, values), max over the
    # box's columns: which of the box's text lines is the ID (localization/id_line.py)
    line_evidence: tuple[np.ndarray, np.ndarray] | None = None
    tilt: Tilt | None = None         # a tilted line: `rows` are in the levelled frame ...
    straight_rows: Rows | None = None   # ... and this is its level cut, which the reader
                                        # also reads and keeps where it reads surer

    def straightened(self) -> "Localisation":
        """This localisation with its level cut instead of the levelled one."""
        return replace(self, rows=self.straight_rows, tilt=None, straight_rows=None)

    def frame_box(self) -> Box:
        """The crop's bounding box in the frame's own pixels."""
        boxes = [box for row in self.rows for box in row]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes),
               max(b[2] for b in boxes), max(b[3] for b in boxes))
        return box if self.tilt is None else turn_box(box, self.tilt, inverse=True)


@dataclass
class Margins:
    x: float = 0.04                  # fractions of the frame's short side, see geometry.pad_box
    y: float = 0.02
    # more on the left: the mark reads `抖音号:<ID>` left to right whichever edge it sits
    # on, and its thin CJK prefix is what the heatmap loses on bright backgrounds
    left: float = 0.0


@dataclass(frozen=True)
class Band:
    """Where a box may lie: rows [start, stop) of a stitched pair, which show the frame's
    working rows from `work_row` on (the pair is contiguous there)."""
    start: int
    stop: int
    work_row: int

    def feature_rows(self) -> slice:
        """The band's rows in a pair's stride-4 descriptor (and score) map."""
        return slice(self.start // StripClassifier.STRIDE, self.stop // StripClassifier.STRIDE)


def cut_to_id_line(gray: np.ndarray, result: Localisation, line_height: float | None = None) -> None:
    """Second stage (localization/id_line.py): keep only the rows of the mark's ID line
    inside the located box (the '♪抖音' logo line sits above it, captions may sit next
    to it), at least MIN_LINES typical lines (`line_height`: a share of the frame's
    short side), then fit the box to that line: widened where its ends were cut, trimmed
    where it overhangs the text (localization.id_line.fit_along_line). A tilted line
    (localization.id_line.line_tilt, measured on the cut line and a line height around
    it, so the logo line does not count) is levelled about the box's centre and cut
    again in the levelled frame (`result.tilt`), the level cut kept beside it
    (`result.straight_rows`). Fallbacks (no blob) are left whole."""
    if result.fallback or len(result.rows) != 1 or len(result.rows[0]) != 1:
        return
    box = result.rows[0][0]
    line = _line_box(gray, box, result, line_height)
    if line is None:
        return
    x0, y0, x1, y1 = integer_box(line, gray.shape[1], gray.shape[0])
    reach = int(TILT_REACH * (y1 - y0))
    angle = line_tilt(gray[max(0, y0 - reach):y1 + reach, x0:x1])
    if angle:
        tilt = (angle, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        levelled = _line_box(level(gray, tilt), turn_box(box, tilt), result, line_height)
        if levelled is not None:
            result.straight_rows, result.tilt, line = [[line]], tilt, levelled
    result.rows = [[line]]


def _line_box(gray: np.ndarray, box: Box, result: Localisation, line_height: float | None) -> Box | None:
    """The ID line's box inside `box` (see cut_to_id_line), None when no line stands out."""
    height, width = gray.shape[:2]
    x0, y0, x1, y1 = integer_box(box, width, height)
    anchor = None if result.anchor_row is None else result.anchor_row - y0
    evidence = None
    if result.line_evidence is not None:
        evidence = np.interp(np.arange(y0, y1) + 0.5, *result.line_evidence)
    run = id_line_run(gray[y0:y1, x0:x1], anchor, evidence)
    if run is None:
        return None
    min_rows = MIN_LINES * line_height * min(height, width) if line_height else 0.0
    top, bottom = padded(run, y1 - y0, min_rows)
    left, right = fit_along_line(gray[y0 + top:y0 + bottom], x0, x1, run[1] - run[0],
                                 (run[0] - top, run[1] - top))
    return max(0.0, left), float(y0 + top), min(float(width), right), float(y0 + bottom)


class Locator:
    def __init__(self, method: str, work: WorkParams, margins: Margins,
                 classifier: StripClassifier | None = None,
                 projection: DDTProjection | None = None,
                 regressor: BoxRegressor | None = None, decision: str = "classifier",
                 partner_strips: tuple[int, int] = (2, 9), threshold: float = 0.0,
                 join_gap: float = 0.0, bf16: bool = False, id_line: bool = False,
                 pick: str = "area", side_peak_weight: float = 0.0,
                 line_head: LineHead | None = None):
        if method not in METHODS:
            raise ValueError(f"unknown localisation method {method!r}; choose from {METHODS}")
        if decision not in DECISIONS:
            raise ValueError(f"unknown ddt.decision {decision!r}; choose from {DECISIONS}")
        if pick not in PICKS:
            raise ValueError(f"unknown ddt.pick {pick!r}; choose from {PICKS}")
        if method != "direct" and (classifier is None or projection is None):
            raise ValueError(f"method {method!r} needs a trained classifier and DDT projection")
        if method == "psol" and regressor is None:
            raise ValueError("method 'psol' needs a trained box regressor")
        if any(not 2 <= p <= work.strips - 1 for p in partner_strips):
            raise ValueError(f"ddt.partner_strips {partner_strips} must be strips 2..{work.strips - 1}")
        self.method, self.work, self.margins = method, work, margins
        self.classifier, self.projection, self.regressor = classifier, projection, regressor
        self.decision, self.threshold, self.bf16 = decision, threshold, bf16
        self.id_line, self.pick, self.side_peak_weight = id_line, pick, side_peak_weight
        self.partners = (partner_strips[0] - 1, partner_strips[1] - 1)
        self.join = round(join_gap * work.strip_height)
        self.classifier = for_inference(classifier) if classifier is not None else None
        self.regressor = for_inference(regressor) if regressor is not None else None
        self.line_head = line_head.eval() if line_head is not None else None

    def locate(self, grays: list[np.ndarray]) -> list[Localisation]:
        """Gray frames (any sizes) -> one Localisation each, in order."""
        if self.method == "direct":
            return [Localisation(direct_crop_rows(g.shape[1], g.shape[0])) for g in grays]
        works = [self.work.work(g) for g in grays]
        groups = defaultdict(list)
        for index, work in enumerate(works):
            groups[work.shape].append(index)
        results: list[Localisation | None] = [None] * len(grays)
        for indexes in groups.values():
            stack = np.stack([works[i] for i in indexes])
            sizes = [(grays[i].shape[1], grays[i].shape[0]) for i in indexes]
            located = (self._by_edge_pair(stack, sizes) if self.decision == "ddt" and self.method == "ddt"
                       else self._by_classifier(stack, sizes))
            for index, result in zip(indexes, located):
                results[index] = result
        if self.id_line:
            line_height = getattr(self.line_head, "line_height", None)
            for gray, result in zip(grays, results):
                cut_to_id_line(gray, result, line_height)
        return results

    def side_bands(self) -> tuple[Band, Band]:
        """The top and bottom search bands of the classifier decision. With a partner
        strip next to its edge strip (2 and N-1, the default) the pair IS the frame's
        top or bottom 2/N, so a watermark straddling the strip border stays whole."""
        sh, last = self.work.strip_height, self.work.strips - 1
        top_partner, bottom_partner = self.partners
        top = Band(0, 2 * sh, 0) if top_partner == 1 else Band(0, sh, 0)
        bottom = (Band(0, 2 * sh, (last - 1) * sh) if bottom_partner == last - 1
                  else Band(sh, 2 * sh, last * sh))
        return top, bottom

    # -- one batch of equally sized working frames ------------------------------------
    def pair_features(self, pairs: np.ndarray) -> torch.Tensor:
        """The classifier's descriptor maps (B, C, h, w) of uint8 pairs (B, H, W), in
        inference mode (clone them to use them in autograd)."""
        images = normalise(torch.from_numpy(pairs)).contiguous(memory_format=torch.channels_last)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else nullcontext()
        with torch.inference_mode(), autocast:
            return self.classifier.features(images).float()

    def _blob(self, heat: np.ndarray, band: Band, width: int,
              evidence: np.ndarray | None = None) -> Box | None:
        """DDT's blob inside the band; with `evidence` (the classifier's score map of the
        same pair) the blob holding its peak rather than the largest (ddt.blob_box)."""
        rows = band.feature_rows()
        return blob_box(heat[rows], band.stop - band.start, width, self.threshold, self.join,
                        None if evidence is None else evidence[rows])

    def pair(self, work: np.ndarray, top: bool) -> np.ndarray:
        """The stitched pair the classifier scores for one side of a working frame: strip
        1 over its partner, or strip N's partner over strip N."""
        sh, last = self.work.strip_height, self.work.strips - 1
        first, second = (0, self.partners[0]) if top else (self.partners[1], last)
        return stitch_strips(work, first, second, sh)

    def _by_classifier(self, works: np.ndarray, sizes) -> list[Localisation]:
        pairs = np.stack([self.pair(w, True) for w in works] + [self.pair(w, False) for w in works])
        features = self.pair_features(pairs)
        n, width = len(works), works.shape[2]
        with torch.inference_mode():
            logits = self.classifier.score(features).numpy()
            evidence_maps = self.classifier.score_map(features).float().numpy()
        line_maps = self._line_maps(features)
        if line_maps is not None:
            # the line head votes too, on the side and on the blob: a caption may hold
            # the classifier's peak, it rarely also looks like the mark's ID line
            evidence_maps = evidence_maps + line_maps
        margin = self._side_margin(logits, evidence_maps)
        is_top = margin >= 0
        chosen = [k if is_top[k] else n + k for k in range(n)]
        bands = [self.side_bands()[0 if top else 1] for top in is_top]
        by_evidence = self.method == "ddt" and self.pick == "classifier"
        if self.method == "psol":
            boxes = self._regress(np.stack([pairs[c, b.start:b.stop] for c, b in zip(chosen, bands)]))
        else:
            maps = self.projection.heatmap(features[chosen])
            boxes = [self._blob(heat, band, width, evidence_maps[c] if by_evidence else None)
                     for heat, band, c in zip(maps, bands, chosen)]
        results = []
        for k, c in enumerate(chosen):
            anchor = self._peak_row(evidence_maps[c], bands[k]) if by_evidence else None
            result = self._finish(boxes[k], bands[k], sizes[k], width, anchor)
            result.side, result.score = ("top" if is_top[k] else "bottom"), float(margin[k])
            if line_maps is not None and not result.fallback:
                result.line_evidence = self._line_profile(line_maps[c], bands[k], result.rows[0][0],
                                                          sizes[k], width)
            results.append(result)
        return results

    def _by_edge_pair(self, works: np.ndarray, sizes) -> list[Localisation]:
        """The seed's code path: one pass over strip 1 stitched with strip N; the largest
        blob anywhere decides the side, then it is clipped to that strip."""
        sh, last = self.work.strip_height, self.work.strips - 1
        pairs = np.stack([stitch_strips(w, 0, last, sh) for w in works])
        maps = self.projection.heatmap(self.pair_features(pairs))
        width = works.shape[2]
        results = []
        for k, heat in enumerate(maps):
            box = self._blob(heat, Band(0, 2 * sh, 0), width)
            top = box is None or (box[1] + box[3]) / 2 < sh
            band = Band(0, sh, 0) if top else Band(sh, 2 * sh, last * sh)
            if box is not None:
                box = (box[0], max(0.0, box[1] - band.start), box[2],
                       min(float(sh), box[3] - band.start))
            result = self._finish(box, band, sizes[k], width)
            result.side = "top" if top else "bottom"
            results.append(result)
        return results

    @staticmethod
    def _peak_row(evidence: np.ndarray, band: Band) -> float:
        """Row (band pixels, cell centre) of the score map's peak inside the band."""
        rows = evidence[band.feature_rows()]
        return (np.unravel_index(int(rows.argmax()), rows.shape)[0] + 0.5) * StripClassifier.STRIDE

    def _line_maps(self, features: torch.Tensor) -> np.ndarray | None:
        """The line head's logit maps of the pairs, when the ID-line cut will use them."""
        if not self.id_line or self.line_head is None:
            return None
        with torch.inference_mode():
            return self.line_head(features).float().numpy()

    def _line_profile(self, line_map: np.ndarray, band: Band, box: Box, size: tuple[int, int],
                      work_width: int) -> tuple[np.ndarray, np.ndarray]:
        """(frame rows, logits): the band's rows of `line_map`, max over the columns the
        padded `box` (frame pixels) covers, each at its cell's centre row."""
        width, height = size
        stride = StripClassifier.STRIDE
        fx = width / work_width
        fy = height / (self.work.strips * self.work.strip_height)
        first = int(box[0] / fx // stride)
        last = max(first + 1, int(np.ceil(box[2] / fx / stride)))
        values = line_map[band.feature_rows(), first:last].max(axis=1)
        rows = (band.work_row + (np.arange(len(values)) + 0.5) * stride) * fy
        return rows, values

    def _side_margin(self, logits: np.ndarray, evidence_maps: np.ndarray) -> np.ndarray:
        """Top-vs-bottom margin of each frame (>= 0: top) from the logits and evidence
        maps (the score map, plus the line head's logits when there is one) of its n top
        pairs followed by its n bottom pairs.

        The logit is the head on the per-channel MAXIMA, which may come from different
        places: a caption's channels move it too, and a caption sitting in the mark's band
        can pull the band's logit below the other's. An evidence map's peak is the
        evidence at ONE place. `side_peak_weight` adds the peaks' difference to the
        logits' (0: the seed's rule; chosen on the dev sets, bench/loc_dev.md)."""
        n = len(logits) // 2
        margin = logits[:n] - logits[n:]
        if self.side_peak_weight:
            top_band, bottom_band = self.side_bands()
            peaks_top = evidence_maps[:n, top_band.feature_rows()].max(axis=(1, 2))
            peaks_bottom = evidence_maps[n:, bottom_band.feature_rows()].max(axis=(1, 2))
            margin = margin + self.side_peak_weight * (peaks_top - peaks_bottom)
        return margin

    def frame_heatmap(self, gray: np.ndarray) -> np.ndarray:
        """DDT heatmap over the WHOLE frame (all strips in one pass), upsampled to the
        frame size: for looking at what the component responds to, not for deciding."""
        work = self.work.work(gray)
        heat = self.projection.heatmap(self.pair_features(work[None]))[0]
        return cv2.resize(heat, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)

    def _regress(self, bands: np.ndarray) -> list[Box]:
        images = normalise(torch.from_numpy(bands)).contiguous(memory_format=torch.channels_last)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else nullcontext()
        with torch.inference_mode(), autocast:
            fractions = self.regressor(images).float().numpy()
        height, width = bands.shape[1], bands.shape[2]
        return [(min(f[0], f[2]) * width, min(f[1], f[3]) * height,
                 max(f[0], f[2]) * width, max(f[1], f[3]) * height) for f in fractions]

    def _finish(self, band_box: Box | None, band: Band, size: tuple[int, int],
                work_width: int, anchor: float | None = None) -> Localisation:
        """Band pixels -> frame pixels, then pad in the frame (`anchor`: a band row)."""
        width, height = size
        fallback = band_box is None
        if fallback:
            band_box = (0.0, 0.0, float(work_width), float(band.stop - band.start))
        fx = width / work_width
        fy = height / (self.work.strips * self.work.strip_height)
        top = band.work_row
        raw = (band_box[0] * fx, (top + band_box[1]) * fy, band_box[2] * fx, (top + band_box[3]) * fy)
        padded = raw if fallback else pad_box(raw, self.margins.x, self.margins.y, width, height,
                                                    self.margins.left)
        anchor_row = None if anchor is None else (top + anchor) * fy
        return Localisation([[padded]], fallback=fallback, raw_box=raw, anchor_row=anchor_row)
