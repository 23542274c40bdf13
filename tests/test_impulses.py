"""Salt-and-pepper noise is removed from the frame the learned localiser sees, and only
where it is present: clean frames, glyph strokes and Gaussian grain pass unchanged."""
import cv2
import numpy as np

from localization.geometry import to_work
from localization.impulses import IMPULSE_SHARE, despeckled, impulse_share
from localization.locator import WorkParams


def frame_with_text(seed=0):
    rng = np.random.default_rng(seed)
    gray = rng.integers(60, 140, (320, 180), dtype=np.uint8)
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    cv2.putText(gray, "Il1:a7Kq", (8, 300), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1)   # 1-px strokes
    return gray


def salt_and_pepper(gray, amount, seed=1):
    rng = np.random.default_rng(seed)
    out = gray.copy()
    hit = rng.random(gray.shape) < amount
    out[hit] = np.where(rng.random(int(hit.sum())) < 0.5, 0, 255)
    return out


def test_a_clean_frame_and_its_thin_strokes_pass_unchanged():
    gray = frame_with_text()
    assert impulse_share(gray) < IMPULSE_SHARE
    assert np.array_equal(despeckled(gray), gray)


def test_gaussian_grain_is_not_taken_for_impulses():
    gray = frame_with_text()
    grainy = np.clip(gray + np.random.default_rng(2).normal(0, 15, gray.shape), 0, 255).astype(np.uint8)
    assert np.array_equal(despeckled(grainy), grainy)


def test_salt_and_pepper_is_removed_before_the_working_resolution():
    gray = frame_with_text()
    noisy = salt_and_pepper(gray, 0.012)                    # the catalogue's severity 2
    assert impulse_share(noisy) > IMPULSE_SHARE
    cleaned = despeckled(noisy)
    assert ((cleaned == 0) | (cleaned == 255)).mean() < 0.1 * ((noisy == 0) | (noisy == 255)).mean()
    work = WorkParams()
    np.testing.assert_array_equal(work.work(noisy), work.work(cv2.medianBlur(noisy, 3)))
    np.testing.assert_array_equal(work.work(gray), to_work(gray, work.strips, work.strip_height,
                                                           work.width_multiple))
