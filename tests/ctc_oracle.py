"""The exhaustive CTC sum: the definition that beam search and string scoring approximate.

Shared by the tests of `ppocr_ext.ctc`, `ppocr_ext.consensus` and `ppocr_ext.ensemble` so
they check against one oracle. Exponential in the number of frames: keep posteriors to a handful of frames.
"""
import itertools

import numpy as np

CHARS = ["I", "l", "a"]


def brute_force(probs, chars=CHARS) -> dict[str, float]:
    """P(string) for every string, by enumerating every alignment (index 0 = blank)."""
    totals: dict[str, float] = {}
    for path in itertools.product(range(probs.shape[1]), repeat=probs.shape[0]):
        p = float(np.prod([probs[t, c] for t, c in enumerate(path)]))
        collapsed = [c for i, c in enumerate(path) if c != 0 and (i == 0 or path[i - 1] != c)]
        text = "".join(chars[c - 1] for c in collapsed)
        totals[text] = totals.get(text, 0.0) + p
    return totals


def one_hot(seq, eps=0.0):
    """Posteriors that put (1 - eps) on each listed index (0 = blank)."""
    probs = np.full((len(seq), len(CHARS) + 1), eps / len(CHARS))
    for t, c in enumerate(seq):
        probs[t, c] = 1.0 - eps
    return probs
