"""Account IDs, video names and frame numbers drawn like the real challenge's.

Measured on the real train+val labels (DESIGN.md): IDs are uniform over the 62 symbols
[A-Za-z0-9], case-sensitive, with a length uniform over 8..15. Video ids are ByteDance
`xid`s: a 12-character prefix such as `v0200fg10000` followed by 20 lowercase base32hex
characters that encode a 4-byte Unix time, a 3-byte machine id, a 2-byte process id and a
3-byte counter (decoding the real names gives July 2022 and machine `6c39fc`). Frame numbers
in the real val labels are 0..9 with a flat histogram, so a video's frames are a sorted
random subset of 0..9 rather than always 0..n-1.
"""
import base64
import string

import numpy as np

ID_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
ID_MIN_LEN, ID_MAX_LEN = 8, 15

# Prefixes seen in the real val labels, most frequent first (v0200/v0300/v0d00 cover 99.6%).
VIDEO_PREFIXES = ("v0200fg10000", "v0300fg10000", "v0d00fg10000")
_XID_MACHINE = bytes.fromhex("6c39fc")
_XID_TIME_RANGE = (1658000000, 1658070000)  # the span the real names decode to
FRAME_SLOTS = 10  # real frame numbers are 0..9


def sample_id(rng: np.random.Generator, min_len: int = ID_MIN_LEN,
              max_len: int = ID_MAX_LEN) -> str:
    """One account ID: length uniform over min_len..max_len, symbols uniform over 62."""
    length = int(rng.integers(min_len, max_len + 1))
    return "".join(ID_ALPHABET[i] for i in rng.integers(0, len(ID_ALPHABET), size=length))


def sample_video_name(rng: np.random.Generator) -> str:
    """A video id shaped like the challenge's, e.g. `v0200fg10000cb9on3jc77uea7ubaeeg`."""
    prefix = VIDEO_PREFIXES[int(rng.integers(len(VIDEO_PREFIXES)))]
    timestamp = int(rng.integers(*_XID_TIME_RANGE)).to_bytes(4, "big")
    tail = rng.integers(0, 256, size=5, dtype=np.uint8).tobytes()  # pid + counter
    xid = base64.b32hexencode(timestamp + _XID_MACHINE + tail).decode().rstrip("=").lower()
    return prefix + xid


def sample_frame_numbers(rng: np.random.Generator, count: int) -> list[int]:
    """`count` distinct frame numbers from 0..9, sorted (the real names' frame field)."""
    if not 1 <= count <= FRAME_SLOTS:
        raise ValueError(f"a video has 1..{FRAME_SLOTS} frames, got {count}")
    return sorted(int(i) for i in rng.choice(FRAME_SLOTS, size=count, replace=False))


def frame_file_name(video: str, frame: int) -> str:
    """The challenge's file name `<video>_<frame>_.jpg`."""
    return f"{video}_{frame}_.jpg"
