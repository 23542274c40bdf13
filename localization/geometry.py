"""Boxes, strips and crops in frame pixel coordinates.

A localisation result is a list of ROWS of boxes: the crop is each row's boxes joined
left to right, rows joined top to bottom. Direct cropping needs that shape (top and
bottom bands; in landscape four corners), a learned box is the one-row, one-box case.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

Box = tuple[float, float, float, float]          # x0, y0, x1, y1 (x1, y1 exclusive)
Rows = list[list[Box]]
# a tilted mark's crop: rows are boxes in the frame turned by `angle` degrees
# (counter-clockwise, OpenCV's convention) about the pivot (x, y), where its line is level
Tilt = tuple[float, float, float]                # angle, pivot x, pivot y


def is_landscape(width: int, height: int) -> bool:
    return width > height


def direct_crop_rows(width: int, height: int) -> Rows:
    """The seed's first scheme: portrait top and bottom 1/10; landscape top and bottom
    1/5, each only its left and right 2/5 (the ID is never centred)."""
    if is_landscape(width, height):
        band = int(height / 5)
        left, right = int(width / 5 * 2), int(width / 5 * 3)
        return [[(0, 0, left, band), (right, 0, width, band)],
                [(0, height - band, left, height), (right, height - band, width, height)]]
    band = int(height / 10)
    return [[(0, 0, width, band)], [(0, height - band, width, height)]]


MAX_WORK_ASPECT = 8


def work_size(width: int, height: int, strips: int, strip_height: int,
              width_multiple: int) -> tuple[int, int]:
    """Working resolution: height = strips * strip_height (every strip exactly
    `strip_height` rows), width scaled alike and rounded to `width_multiple` so the
    stride-4 feature map tiles it. The width is bounded at MAX_WORK_ASPECT heights: a
    3000x2 frame once became a 480000x320 working image (7.7 GB); the frame readers
    refuse such frames (common.images.FRAME_LIMITS), this bounds library callers too."""
    work_h = strips * strip_height
    work_w = max(width_multiple, math.floor(width * work_h / height / width_multiple + 0.5) * width_multiple)
    return min(work_w, MAX_WORK_ASPECT * work_h // width_multiple * width_multiple), work_h


def to_work(gray: np.ndarray, strips: int, strip_height: int, width_multiple: int) -> np.ndarray:
    work_w, work_h = work_size(gray.shape[1], gray.shape[0], strips, strip_height, width_multiple)
    return cv2.resize(gray, (work_w, work_h), interpolation=cv2.INTER_AREA)


def strip_rows(index: int, strip_height: int) -> slice:
    """Rows of strip `index` (0-based) in a working-resolution frame."""
    return slice(index * strip_height, (index + 1) * strip_height)


def stitch_strips(work: np.ndarray, first: int, second: int, strip_height: int) -> np.ndarray:
    return np.concatenate([work[strip_rows(first, strip_height)],
                           work[strip_rows(second, strip_height)]], axis=0)


def pad_box(box: Box, margin_x: float, margin_y: float, width: int, height: int,
            left_extra: float = 0.0) -> Box:
    """Grow by margins given as fractions of the frame's SHORT side (the watermark is
    scaled with the video's width, i.e. the short side, in both orientations), clipped
    to the frame; `left_extra` more on the left only."""
    short = min(width, height)
    mx, my = margin_x * short, margin_y * short
    x0, y0, x1, y1 = box
    return (max(0.0, x0 - mx - left_extra * short), max(0.0, y0 - my),
            min(float(width), x1 + mx), min(float(height), y1 + my))


def integer_box(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """Round outwards (never cut into the box), clipped, at least one pixel."""
    x0 = min(max(0, math.floor(box[0])), width - 1)
    y0 = min(max(0, math.floor(box[1])), height - 1)
    x1 = max(x0 + 1, min(width, math.ceil(box[2])))
    y1 = max(y0 + 1, min(height, math.ceil(box[3])))
    return x0, y0, x1, y1


def scale_rows(rows: Rows, factor_x: float, factor_y: float) -> Rows:
    return [[(b[0] * factor_x, b[1] * factor_y, b[2] * factor_x, b[3] * factor_y) for b in row]
            for row in rows]


def level(image: np.ndarray, tilt: Tilt, box: Box | None = None) -> np.ndarray:
    """The image turned by `tilt` (the whole frame, or only the pixels of `box` in the
    turned frame's coordinates, as an image of the box's size). Borders reflect."""
    angle, px, py = tilt
    matrix = cv2.getRotationMatrix2D((px, py), angle, 1.0)
    height, width = image.shape[:2]
    x0, y0, x1, y1 = (0, 0, width, height) if box is None else integer_box(box, width, height)
    matrix[:, 2] -= (x0, y0)
    return cv2.warpAffine(image, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT_101)


def turn_box(box: Box, tilt: Tilt, inverse: bool = False) -> Box:
    """The bounding box of `box`'s corners turned by `tilt` (frame -> level coordinates),
    or back (`inverse`)."""
    angle, px, py = tilt
    matrix = cv2.getRotationMatrix2D((px, py), -angle if inverse else angle, 1.0)
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]]) @ matrix.T
    return (float(corners[:, 0].min()), float(corners[:, 1].min()),
            float(corners[:, 0].max()), float(corners[:, 1].max()))


def crop_rows(image: np.ndarray, rows: Rows, tilt: Tilt | None = None) -> np.ndarray:
    """Cut every box and stitch: row boxes side by side (heights aligned to the row's
    tallest by bottom padding), rows stacked (widths aligned by right padding). With a
    `tilt`, the boxes are cut from the levelled frame (`level`)."""
    if tilt is not None:
        if len(rows) != 1 or len(rows[0]) != 1:
            raise ValueError("a tilted crop is one box (the ID-line cut's)")
        return level(image, tilt, rows[0][0])
    height, width = image.shape[:2]
    stitched_rows = []
    for row in rows:
        pieces = []
        for box in row:
            x0, y0, x1, y1 = integer_box(box, width, height)
            pieces.append(image[y0:y1, x0:x1])
        tallest = max(p.shape[0] for p in pieces)
        pieces = [_pad_to(p, tallest, p.shape[1]) for p in pieces]
        stitched_rows.append(np.concatenate(pieces, axis=1))
    widest = max(r.shape[1] for r in stitched_rows)
    return np.concatenate([_pad_to(r, r.shape[0], widest) for r in stitched_rows], axis=0)


def _pad_to(piece: np.ndarray, height: int, width: int) -> np.ndarray:
    if piece.shape[:2] == (height, width):
        return piece
    pad = [(0, height - piece.shape[0]), (0, width - piece.shape[1])] + [(0, 0)] * (piece.ndim - 2)
    return np.pad(piece, pad, mode="edge")


def rows_area(rows: Rows, width: int, height: int) -> int:
    """Pixels actually cropped (integer boxes), for the crop-area share."""
    total = 0
    for row in rows:
        for box in row:
            x0, y0, x1, y1 = integer_box(box, width, height)
            total += (x1 - x0) * (y1 - y0)
    return total


def box_inside(inner: Box, outer: tuple[int, int, int, int], tolerance: float = 0.0) -> bool:
    return (inner[0] >= outer[0] - tolerance and inner[1] >= outer[1] - tolerance
            and inner[2] <= outer[2] + tolerance and inner[3] <= outer[3] + tolerance)


def hit(truth: Box, rows: Rows, width: int, height: int, tolerance: float = 0.0) -> bool:
    """The whole watermark lies inside ONE cropped box (a watermark cut in two by the
    stitching would not be readable)."""
    return any(box_inside(truth, integer_box(b, width, height), tolerance)
               for row in rows for b in row)


def intersection(a: Box, b: Box) -> float:
    """Area shared by two boxes (0 when they do not overlap)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(truth: Box, rows: Rows, width: int, height: int) -> float:
    """IoU of the watermark box with the union of the (disjoint) cropped boxes."""
    inter = sum(intersection(integer_box(box, width, height), truth) for row in rows for box in row)
    truth_area = (truth[2] - truth[0]) * (truth[3] - truth[1])
    union = truth_area + rows_area(rows, width, height) - inter
    return inter / union if union > 0 else 0.0
