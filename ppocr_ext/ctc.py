"""The CTC maths on (T, C) posteriors (blank in column 0, `charset[i]` in column i + 1):
k-best readings (prefix beam search), the probability of a given string (forward
algorithm) and the greedy reading with its exact probability.

`ctc_string_logprob` is the CTC forward algorithm: log P(text | posteriors), summed
over every alignment. It scores a string under posteriors whose alignment is unknown,
which per-video consensus (`ppocr_ext.consensus`) needs, and it gives every reading an
exact sequence probability (`greedy_reading`), unlike the engine's mean of per-frame
maxima.

k-best: at the challenge's resolution `I` and `l` can be pixel-identical (DESIGN.md), so a
single greedy string hides what the model could not decide. Prefix beam search sums
the probability of every alignment that collapses to the same string, which gives the
user the alternatives *with* their probabilities. Greedy decoding is the k=1 special
case up to alignment merging.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

BLANK = 0  # OpenOCR's CTCLabelDecode puts 'blank' at index 0


def _candidates(probs: np.ndarray, cutoff: float) -> list[np.ndarray]:
    """Per time step, the symbols that can matter (all above `cutoff`, and always the
    single best), so the beam does not try 63 symbols everywhere."""
    keep = probs >= cutoff
    keep[np.arange(len(probs)), probs.argmax(1)] = True
    return [np.flatnonzero(row) for row in keep]


# The symbols a step offers the beam: those at or above this posterior. Measured 2026-12-06
# on the released recogniser's posteriors of the demo's 1,547 low-resolution test frames
# (k = 3, beam 16): 1e-3 / 3e-3 / 1e-2 took 2.82 / 1.76 / 0.92 s and gave the same exact
# match (0.6025) and truth in the top 3 (0.7246): a symbol under 1% at every step of its
# glyph does not make a top-3 reading.
CUTOFF = 1e-2


def ctc_kbest(probs: np.ndarray, charset: list[str], k: int = 3, beam: int = 16,
              cutoff: float = CUTOFF) -> list[tuple[str, float]]:
    """Return the `k` most probable strings for one sequence of CTC posteriors.

    probs: (T, C) softmax outputs, column 0 the blank, column i>0 is `charset[i-1]`.
    Returns [(text, probability)] best first; probabilities are P(text | image) summed
    over the alignments kept in the beam (so they are lower bounds that sum to <= 1).
    A step where only the blank can matter (most of a 64-position line) scales every
    beam alike, so it keeps their order and takes one pass instead of a search.
    """
    if probs.ndim != 2 or probs.shape[1] != len(charset) + 1:
        raise ValueError(f"expected (T, {len(charset) + 1}) posteriors, got {probs.shape}")
    probs = probs.astype(np.float64)
    # prefix -> (P(prefix, ends in blank), P(prefix, ends in a symbol))
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}
    for row, candidates in zip(probs, _candidates(probs, cutoff)):
        if candidates.size == 1 and candidates[0] == BLANK:
            p = row[BLANK]
            beams = {pre: ((pb + pnb) * p, 0.0) for pre, (pb, pnb) in beams.items()}
            continue
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
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


@dataclass(frozen=True)
class CtcReading:
    """A decoded crop. `confidence` = P(text | image) over all alignments; `char_min` =
    the lowest per-character probability (each character's best frame), 0 if empty."""

    text: str
    confidence: float
    char_min: float


def encode_text(text: str, charset: Sequence[str]) -> list[int]:
    """Class indices of `text` (blank is 0, so `charset[i]` is class i + 1)."""
    index = {char: i + 1 for i, char in enumerate(charset)}
    missing = sorted({char for char in text if char not in index})
    if missing:
        raise ValueError(f"text {text!r} has characters outside the dictionary: {missing}")
    return [index[char] for char in text]


def ctc_string_logprob(probs: np.ndarray, text: str | Sequence[int],
                       charset: Sequence[str] | None = None) -> float:
    """log P(text | probs) by the CTC forward algorithm (log space).

    probs: (T, C) softmax posteriors, blank at column 0. `text` is a string (then
    `charset` maps it to columns) or a sequence of class indices >= 1. Returns -inf
    when no alignment of T frames can produce the text (too long, or zero posteriors).
    """
    if probs.ndim != 2:
        raise ValueError(f"expected (T, C) posteriors, got shape {probs.shape}")
    if isinstance(text, str):
        if charset is None:
            raise ValueError("a text string needs the charset that maps it to columns")
        labels = encode_text(text, charset)
    else:
        labels = [int(label) for label in text]
    if any(not 0 < label < probs.shape[1] for label in labels):
        raise ValueError(f"labels {labels} outside 1..{probs.shape[1] - 1}")
    with np.errstate(divide="ignore"):
        logp = np.log(probs.astype(np.float64))
    if not labels:
        return float(logp[:, BLANK].sum())
    ext = np.zeros(2 * len(labels) + 1, dtype=np.int64)   # blank, l1, blank, l2, ..., blank
    ext[1::2] = labels
    # a symbol may be reached from two states back (skipping the blank) unless it repeats
    skip = np.zeros(len(ext), dtype=bool)
    skip[2:] = (ext[2:] != BLANK) & (ext[2:] != ext[:-2])
    alpha = np.full(len(ext), -np.inf)
    alpha[0], alpha[1] = logp[0, ext[0]], logp[0, ext[1]]
    for row in logp[1:]:
        moved = alpha.copy()
        moved[1:] = np.logaddexp(moved[1:], alpha[:-1])
        moved[2:] = np.where(skip[2:], np.logaddexp(moved[2:], alpha[:-2]), moved[2:])
        alpha = moved + row[ext]
    return float(np.logaddexp(alpha[-1], alpha[-2]))


def greedy_reading(probs: np.ndarray, charset: Sequence[str]) -> CtcReading:
    """Best-path decoding (what the engine's CTCLabelDecode reads) with an exact
    sequence probability and the weakest character's probability."""
    best = probs.argmax(axis=1)
    peak = probs.max(axis=1)
    labels: list[int] = []
    char_probs: list[float] = []
    previous = BLANK
    for label, p in zip(best.tolist(), peak.tolist()):
        if label != BLANK:
            if label != previous:
                labels.append(label)
                char_probs.append(p)
            else:   # same character, later frame: keep its most confident frame
                char_probs[-1] = max(char_probs[-1], p)
        previous = label
    text = "".join(charset[label - 1] for label in labels)
    confidence = float(np.exp(ctc_string_logprob(probs, labels)))
    return CtcReading(text, confidence, min(char_probs) if char_probs else 0.0)
