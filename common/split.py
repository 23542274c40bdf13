"""Train/validation split by video.

Frames of one video share their background (and, for real watermarks, the ID), so a
validation set holding other frames of a training video measures memory, not reading.
Challenge frames are named `<video-id>_<frame>_.jpg`; the video is that name without the
`_<frame>_` suffix. Any other name is treated as a video of its own.

A video's side is decided by a seeded hash of its id alone, not by shuffling the list
of videos. So the split is deterministic, independent of row order, and STABLE when
videos are added or removed (e.g. pseudo-labelled data added later, or one bad row
skipped): a video that was in validation never moves into training between rebuilds.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath
from typing import Sequence

_FRAME_SUFFIX = re.compile(r"^(?P<video>.+)_\d+_$")


def video_id(name: str) -> str:
    """Video a frame belongs to: `dir/v0200abc_9_.jpg` -> `dir/v0200abc`.

    The folder part is kept, so equal stems in different sub-folders stay apart; a name
    without the `_<frame>_` suffix is its own video (`IMG_0001.jpg` -> `IMG_0001`).
    """
    stem = str(PurePosixPath(name.replace("\\", "/")).with_suffix(""))
    match = _FRAME_SUFFIX.match(stem)
    return match.group("video") if match else stem


def video_score(video: str, seed: int) -> float:
    """Uniform number in [0, 1) fixed by (seed, video); below `val_fraction` = val."""
    digest = hashlib.blake2b(f"{seed}\0{video}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def split_by_video(names: Sequence[str], val_fraction: float,
                   seed: int = 0) -> tuple[list[str], list[str]]:
    """Split frame names into (train, val) so that no video lies on both sides.

    Each video goes to val with probability `val_fraction` (see `video_score`), so the
    val share of videos is `val_fraction` on average, not exactly. With a positive
    fraction both sides get at least one video. Each side keeps the input order.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0:
        return list(names), []
    score = {video: video_score(video, seed) for video in {video_id(n) for n in names}}
    if len(score) < 2:
        raise ValueError(f"cannot split {len(score)} video(s) into train and val; "
                         "use val_fraction 0 or add videos")
    val_videos = {video for video, value in score.items() if value < val_fraction}
    if not val_videos:
        val_videos = {min(score, key=score.get)}
    if len(val_videos) == len(score):
        val_videos.remove(max(score, key=score.get))
    train = [name for name in names if video_id(name) not in val_videos]
    val = [name for name in names if video_id(name) in val_videos]
    return train, val
