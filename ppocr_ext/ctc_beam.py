"""k-best readings from CTC posteriors (prefix beam search).

At the challenge's resolution `I` and `l` can be pixel-identical (DESIGN.md), so a
single greedy string hides what the model could not decide. Prefix beam search sums
the probability of every alignment that collapses to the same string, which gives the
user the alternatives *with* their probabilities. Greedy decoding is the k=1 special
case up to alignment merging.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

BLANK = 0  # OpenOCR's CTCLabelDecode puts 'blank' at index 0


def _prune(row: np.ndarray, cutoff: float) -> np.ndarray:
    """Indices of the symbols that can matter at this time step (all above `cutoff`,
    and always the single best), so the beam does not try 63 symbols everywhere."""
    keep = np.flatnonzero(row >= cutoff)
    return keep if keep.size else np.array([int(row.argmax())])


def ctc_kbest(probs: np.ndarray, charset: list[str], k: int = 3, beam: int = 16,
              cutoff: float = 1e-3) -> list[tuple[str, float]]:
    """Return the `k` most probable strings for one sequence of CTC posteriors.

    probs: (T, C) softmax outputs, column 0 the blank, column i>0 is `charset[i-1]`.
    Returns [(text, probability)] best first; probabilities are P(text | image) summed
    over the alignments kept in the beam (so they are lower bounds that sum to <= 1).
    """
    if probs.ndim != 2 or probs.shape[1] != len(charset) + 1:
        raise ValueError(f"expected (T, {len(charset) + 1}) posteriors, got {probs.shape}")
    # prefix -> (P(prefix, ends in blank), P(prefix, ends in a symbol))
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}
    for row in probs.astype(np.float64):
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
        candidates = _prune(row, cutoff)
        for prefix, (p_b, p_nb) in beams.items():
            total = p_b + p_nb
            last = prefix[-1] if prefix else None
            for c in candidates:
                p = row[c]
                if c == BLANK:
                    nxt[prefix][0] += total * p
                elif c == last:
                    # a repeat extends the prefix only after a blank; otherwise it merges
                    nxt[prefix + (c,)][1] += p_b * p
                    nxt[prefix][1] += p_nb * p
                else:
                    nxt[prefix + (c,)][1] += total * p
        ranked = sorted(nxt.items(), key=lambda kv: kv[1][0] + kv[1][1], reverse=True)
        beams = {pre: (pb, pnb) for pre, (pb, pnb) in ranked[:beam]}
    ranked = sorted(beams.items(), key=lambda kv: kv[1][0] + kv[1][1], reverse=True)
    return [("".join(charset[i - 1] for i in pre), float(pb + pnb))
            for pre, (pb, pnb) in ranked[:k]]
