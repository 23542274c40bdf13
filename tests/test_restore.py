"""Salt and pepper and strong grain are taken out of a frame before it is read, and only
where the frame carries them: clean frames, 1-pixel glyph strokes and mild grain pass
unchanged, byte for byte."""
import cv2
import numpy as np
import pytest

from common.images import to_gray
from common.restore import GRAIN_SIGMA, IMPULSE_SHARE, despeckled, grain_sigma, impulse_mask, restored
from localization.geometry import to_work
from localization.locator import Locator, Margins, WorkParams
from pipeline.read_ids import IdReader


def frame_with_text(seed=0, colour=False):
    rng = np.random.default_rng(seed)
    gray = cv2.GaussianBlur(rng.integers(60, 140, (320, 180), dtype=np.uint8), (5, 5), 0)
    for x, y in ((8, 300), (8, 40)):
        cv2.putText(gray, "Il1:a7Kq", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1)  # 1-px strokes
    gray[150, 90] = 255      # a lone white pixel is not noise enough to act on
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR) if colour else gray


def salt_and_pepper(image, amount, seed=1):
    """Black or white in every channel at `amount` of the pixels (albumentations' way)."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    hit = rng.random(image.shape[:2]) < amount
    out[hit] = np.where(rng.random(int(hit.sum())) < 0.5, 0, 255)[:, None] if image.ndim == 3 \
        else np.where(rng.random(int(hit.sum())) < 0.5, 0, 255)
    return out, hit


def grainy(image, sigma, seed=2):
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape[:2] + (1,) * (image.ndim - 2))
    return np.clip(image + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("colour", [False, True])
def test_a_clean_frame_and_its_thin_strokes_pass_unchanged(colour):
    frame = frame_with_text(colour=colour)
    assert impulse_mask(to_gray(frame)).mean() < IMPULSE_SHARE
    assert restored(frame) is frame or np.array_equal(restored(frame), frame)


@pytest.mark.parametrize("colour", [False, True])
def test_salt_and_pepper_pixels_are_replaced_and_nothing_else(colour):
    frame = frame_with_text(colour=colour)
    noisy, hit = salt_and_pepper(frame, 0.012)               # the catalogue's severity 2
    cleaned = despeckled(noisy)
    changed = np.any(cleaned != noisy, axis=2) if colour else cleaned != noisy
    gray = noisy[..., 0] if colour else noisy
    assert not changed[(gray > 0) & (gray < 255)].any()      # only black or white pixels change
    assert changed[~hit].sum() <= 3                          # of the frame's own: stroke tips
    assert changed[hit].mean() > 0.9                         # nearly every impulse was
    error = lambda image: np.abs(image.astype(int) - frame).mean()
    assert error(cleaned) < 0.2 * error(noisy)
    assert error(cleaned) < error(cv2.medianBlur(noisy, 3))   # strokes kept, unlike a median


def test_grain_is_not_taken_for_impulses_and_only_strong_grain_is_smoothed():
    frame = frame_with_text(colour=True)
    mild, strong = grainy(frame, 3), grainy(frame, 20)
    assert abs(grain_sigma(strong) - 20) < 4 and grain_sigma(mild) < GRAIN_SIGMA < grain_sigma(strong)
    assert np.array_equal(despeckled(strong), strong)
    assert np.array_equal(restored(mild), mild)
    error = lambda image: np.abs(image.astype(int) - frame).mean()
    assert error(restored(strong)) < 0.7 * error(strong)


def test_the_learned_localiser_sees_salt_and_pepper_removed():
    frame = frame_with_text()
    noisy, _ = salt_and_pepper(frame, 0.012)
    work = WorkParams()
    np.testing.assert_array_equal(work.work(noisy), to_work(despeckled(noisy), work.strips,
                                                            work.strip_height, work.width_multiple))
    np.testing.assert_array_equal(work.work(frame), to_work(frame, work.strips, work.strip_height,
                                                            work.width_multiple))


def test_the_reader_reads_restored_frames_unless_told_not_to():
    noisy, _ = salt_and_pepper(frame_with_text(colour=True), 0.012)
    locator = Locator("direct", WorkParams(), Margins())
    restoring = IdReader(locator, recognizer=None)          # preparing frames reads nothing
    as_is = IdReader(locator, recognizer=None, restore=False)
    np.testing.assert_array_equal(restoring.prepared([noisy])[0], despeckled(noisy))
    np.testing.assert_array_equal(as_is.prepared([noisy])[0], noisy)
