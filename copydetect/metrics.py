"""The copy-detection scores of the 2021 Image Similarity Challenge (seed 004), computed as
its evaluation computes them, so figures here compare with the challenge's.

Micro average precision (uAP): every (query, reference, score) prediction of every query
in one list, sorted by score; precision and recall after each, recall counted over all
ground-truth pairs; uAP = sum of (recall step x precision). Equal scores are ordered
false matches first (the worst case), so a constant score earns nothing. A confident
false match costs every query ranked below it, which is why the challenge asks for a
score normalised across queries. Also: recall at precision 0.9 (the highest recall any
threshold reaches with precision >= 0.9, and that threshold) and recall at rank 1 / 10
(a ground-truth pair found among its query's 1 / 10 best-scored predictions; ties count
against it).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CopyScores:
    uap: float
    recall_at_p90: float | None       # None: no threshold reaches precision 0.9
    threshold_at_p90: float | None
    recall_at_1: float
    recall_at_10: float
    precisions: np.ndarray            # after each prediction, by decreasing score
    recalls: np.ndarray


def precision_recall(correct: np.ndarray, scores: np.ndarray, positives: int):
    """Precision and recall after each prediction (decreasing score, false first on
    ties) and the scores in that order."""
    order = np.lexsort((correct.astype(int), -scores))   # last key first: score, then false
    correct, scores = correct[order], scores[order]
    hits = np.cumsum(correct)
    return hits / np.arange(1, len(correct) + 1), hits / max(positives, 1), scores


def evaluate(truth: list[tuple[str, str]], predictions: list[tuple[str, str, float]]) -> CopyScores:
    """`truth`: (query, reference) pairs; `predictions`: (query, reference, score), at
    most one per pair (a duplicate would count twice, so it is refused)."""
    pairs = [(q, r) for q, r, _ in predictions]
    if len(set(pairs)) != len(pairs):
        raise ValueError("predictions hold the same (query, reference) pair more than once")
    truth_set = set(truth)
    correct = np.array([pair in truth_set for pair in pairs], bool)
    scores = np.array([s for _, _, s in predictions], float)
    precisions, recalls, ordered = precision_recall(correct, scores, len(truth_set))
    uap = float(np.sum(np.diff(np.concatenate([[0.0], recalls])) * precisions))
    good = precisions >= 0.9
    at_p90 = int(np.argmax(np.where(good, recalls, -1))) if good.any() else None
    by_query = defaultdict(list)
    for q, r, s in predictions:
        by_query[q].append((s, r))
    ranks = [_rank(by_query.get(q, []), r) for q, r in truth_set]
    n = max(len(ranks), 1)
    return CopyScores(
        uap=uap,
        recall_at_p90=None if at_p90 is None else float(recalls[at_p90]),
        threshold_at_p90=None if at_p90 is None else float(ordered[at_p90]),
        recall_at_1=sum(rank < 1 for rank in ranks) / n,
        recall_at_10=sum(rank < 10 for rank in ranks) / n,
        precisions=precisions, recalls=recalls)


def _rank(results: list[tuple[float, str]], reference: str) -> float:
    """0-based rank of `reference` among a query's results, ties counted against it;
    infinite when it is not there."""
    scores = [s for s, r in results if r == reference]
    if not scores:
        return float("inf")
    return sum(s >= scores[0] for s, r in results if r != reference)
