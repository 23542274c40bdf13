"""Per-video consensus: one ID read jointly from all frames (and models) of a video.

A real watermark keeps its ID for the whole video, so frames that are each misread in
a different place can still agree on the truth. (The challenge's data gives every frame
its own random ID, so consensus is off by default and reported apart from frame-level
accuracy.)

Frames cannot be fused frame by frame: the crop moves, so their CTC alignments differ.
The fusion is therefore at the string level. Candidates are the union of every
observation's k-best strings (`ctc_kbest`); each candidate is scored under EVERY
observation's posteriors by the CTC forward algorithm, and the scores add:

    score(s) = sum over observations o of log P(s | o)

which is the log posterior of s under a uniform prior if the observations are
independent given the ID. An observation is one (frame, model) pair, so models with
different output lengths combine here too. `alternatives` normalises the scores over
the candidate set, so the user sees how sure the video-level reading is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from common.split import video_id
from ppocr_ext.ctc import ctc_kbest, ctc_string_logprob


@dataclass(frozen=True)
class Consensus:
    """The video's reading, its summed log-probability, the best candidates with
    probabilities normalised over the candidate set, and how many observations voted."""

    text: str
    logprob: float
    alternatives: list[tuple[str, float]]
    observations: int


def consensus(observations: Sequence[np.ndarray], charset: Sequence[str], k: int = 5,
              beam: int = 16) -> Consensus:
    """The string most probable under all `observations` ((T, C) posteriors each)."""
    if not observations:
        raise ValueError("consensus needs at least one observation")
    charset = list(charset)
    candidates: list[str] = []
    for probs in observations:
        for text, _ in ctc_kbest(probs, charset, k=k, beam=beam):
            if text not in candidates:
                candidates.append(text)
    if len(candidates) > 1 and "" in candidates:   # an empty reading is never an ID
        candidates.remove("")
    scores = np.array([sum(ctc_string_logprob(probs, text, charset) for probs in observations)
                       for text in candidates])
    order = np.argsort(-scores, kind="stable")
    finite = scores[np.isfinite(scores)]
    if finite.size:
        shares = np.exp(scores - finite.max())
        shares /= shares.sum()
    else:   # no candidate can be read from every observation (e.g. too long for one)
        shares = np.zeros_like(scores)
    best = int(order[0])
    return Consensus(candidates[best], float(scores[best]),
                     [(candidates[i], float(shares[i])) for i in order[:k]], len(observations))


def group_by_video(names: Sequence[str]) -> dict[str, list[int]]:
    """Indexes of each video's frames (`<video>_<frame>_` names), in input order."""
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        groups.setdefault(video_id(name), []).append(index)
    return groups


def consensus_by_video(names: Sequence[str], per_model: Sequence[Sequence[np.ndarray]],
                       charset: Sequence[str], k: int = 5) -> dict[str, Consensus]:
    """One `Consensus` per video. `per_model[m][i]` is model m's (T, C) posteriors of
    frame `names[i]`; every (frame, model) pair of a video is one observation."""
    for model, probs in enumerate(per_model):
        if len(probs) != len(names):
            raise ValueError(f"model {model + 1} has posteriors of {len(probs)} frames, "
                             f"expected {len(names)}")
    return {video: consensus([probs[i] for probs in per_model for i in indexes], charset, k=k)
            for video, indexes in group_by_video(names).items()}
