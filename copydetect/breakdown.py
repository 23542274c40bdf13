"""Scores of a copy search broken down the way its users ask: per edit (which reposts it
misses), per query kind, and the precision-recall curve as a picture.

Per edit, as the 2021 challenge's per-transformation analysis: the queries carrying that
edit plus every distractor query, scored by uAP and recall at rank 1, so a descriptor that
matches mirrored copies but is confidently wrong on distractors pays for it in every row.
"""
from __future__ import annotations

from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common.atomic import atomic_path  # noqa: E402
from common.split import video_id  # noqa: E402
from copydetect.metrics import CopyScores, evaluate  # noqa: E402


def query_groups(queries: list[dict]) -> dict[str, set[str]]:
    """{group: query ids}: one group per edit of the copies ('chain' for combined ones),
    'same video' for the held-out frames, 'unedited distractors' is not a group."""
    groups: dict[str, set[str]] = defaultdict(set)
    for row in queries:
        if row["kind"] == "copy":
            groups[row["edit"]].add(row["query_id"])
        elif row["kind"] == "same_video":
            groups["same video"].add(row["query_id"])
    return dict(sorted(groups.items()))


def per_group(truth, rows, queries: list[dict]) -> dict[str, CopyScores]:
    """evaluate() on each group's queries plus all distractors."""
    distractors = {q["query_id"] for q in queries if q["kind"] == "distractor"}
    out = {}
    for group, ids in query_groups(queries).items():
        keep = ids | distractors
        out[group] = evaluate([t for t in truth if t[0] in ids], [r for r in rows if r[0] in keep])
    return out


OUTCOMES = ("right frame", "another frame of the right video", "another video", "no answer")


def outcomes(truth, rows, queries: list[dict]) -> dict[str, int]:
    """How each query that has a match ends at rank 1, by OUTCOMES: what caps frame-level
    uAP where video-level is high is "another frame of the right video" (the generator's
    videos move their camera by a few pixels between sampled frames, so a cropped copy of
    one frame can fit a neighbour as well)."""
    video_of = {q["query_id"]: q["video"] for q in queries}
    first = {}
    for query, reference, score in rows:
        if query not in first or score > first[query][1]:
            first[query] = (reference, score)
    counts = dict.fromkeys(OUTCOMES, 0)
    for query, reference in truth:
        found = first.get(query, (None, 0.0))[0]
        if found is None:
            counts["no answer"] += 1
        elif found == reference:
            counts["right frame"] += 1
        elif video_id(found) == video_of[query]:
            counts["another frame of the right video"] += 1
        else:
            counts["another video"] += 1
    return counts


def pr_curve_png(path, curves: dict[str, CopyScores], title: str) -> None:
    """One precision-recall line per method, uAP in the legend."""
    figure, axes = plt.subplots(figsize=(5, 4), dpi=110)
    for name, scores in curves.items():
        axes.plot(scores.recalls, scores.precisions, label=f"{name} (uAP {scores.uap:.3f})")
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8, loc="lower left")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp)
    plt.close(figure)
