"""The resolution gap between training and test frames, and JPEG loss.

The real test frames are ~1/1.7 the resolution of the training frames (the winning write-up
resized training frames by 1/1.7 to match). A test frame here goes through what a real one
plausibly did: the video's own compression at full size, a downscale, and a lower-quality
JPEG screenshot. Training frames only get the first and a last, milder JPEG.
"""
import numpy as np

from common.screenshot import Screenshot, encode_jpeg, shrink_as_player

TEST_SCALE = 1.7
TRAIN_JPEG_QUALITY = (75, 95)
VIDEO_JPEG_QUALITY = (60, 92)   # stands in for the video codec's loss at full size
TEST_JPEG_QUALITY = (35, 75)
TEST_LINEAR_SHARE = 0.3         # test frames shrunk bilinearly instead of by area-averaging
TRAIN_CHAIN = Screenshot(jpeg=TRAIN_JPEG_QUALITY)
TEST_CHAIN = Screenshot(jpeg=TEST_JPEG_QUALITY, video_jpeg=VIDEO_JPEG_QUALITY,
                        linear_share=TEST_LINEAR_SHARE)   # after a shrink by TEST_SCALE


def test_size(train_w: int, train_h: int, scale: float = TEST_SCALE) -> tuple[int, int]:
    """(w, h) of a test frame: the train size divided by `scale`, rounded."""
    return max(1, int(round(train_w / scale))), max(1, int(round(train_h / scale)))


def train_frame_jpeg(rng, frame: np.ndarray) -> bytes:
    return encode_jpeg(frame, int(rng.integers(*TRAIN_JPEG_QUALITY, endpoint=True)))


def test_frame_jpeg(rng, frame: np.ndarray, size: tuple[int, int]) -> bytes:
    """Video compression, a downscale to `size` (mostly area-averaging, as players and
    screenshot tools do, sometimes bilinear), then a low-quality JPEG."""
    video_quality = int(rng.integers(*VIDEO_JPEG_QUALITY, endpoint=True))
    small = shrink_as_player(frame, size, video_quality,
                             linear=rng.random() >= 1 - TEST_LINEAR_SHARE)
    return encode_jpeg(small, int(rng.integers(*TEST_JPEG_QUALITY, endpoint=True)))


def scale_box(box, sx: float, sy: float) -> list[int]:
    """A [x0, y0, x1, y1) box mapped to a resized frame, rounded outwards."""
    return [int(np.floor(box[0] * sx)), int(np.floor(box[1] * sy)),
            int(np.ceil(box[2] * sx)), int(np.ceil(box[3] * sy))]
