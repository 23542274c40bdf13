"""Which glyph confusions cost accuracy, and what accuracy is left if they are forgiven.

Exact-match has a ceiling below 1 that depends on the font (I and l can render to the
same pixels, DESIGN.md). Instead of hiding it, the benchmark reports the most frequent
substitution pairs and the accuracy with the top pairs forgiven, cumulatively.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from rapidfuzz.distance import Levenshtein


def confusion_pairs(pairs: Iterable[tuple[str, str]]) -> Counter:
    """Count substitutions (truth char, predicted char) over aligned (truth, pred) pairs,
    as unordered pairs so that I->l and l->I add up."""
    counts: Counter = Counter()
    for truth, pred in pairs:
        for op in Levenshtein.editops(truth, pred):
            if op.tag == "replace":
                a, b = truth[op.src_pos], pred[op.dest_pos]
                counts[tuple(sorted((a, b)))] += 1
    return counts


def _canonical(forgive: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Map every character to one representative of its forgiven class (union-find)."""
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    for a, b in forgive:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {c: find(c) for c in parent}


def forgiven_accuracy(pairs: list[tuple[str, str]], forgive: Iterable[tuple[str, str]]) -> float:
    """Exact-match accuracy when the characters of each forgiven pair count as equal."""
    if not pairs:
        raise ValueError("no predictions to score")
    table = str.maketrans(_canonical(forgive))
    return sum(t.translate(table) == p.translate(table) for t, p in pairs) / len(pairs)


def ambiguity_report(pairs: list[tuple[str, str]], top: int = 8) -> dict:
    """Exact match, normalised edit distance, top confusion pairs and the accuracy with
    the first 1..n of them forgiven (cumulative, most frequent first)."""
    if not pairs:
        raise ValueError("no predictions to score")
    counts = confusion_pairs(pairs)
    ranked = counts.most_common(top)
    forgiven = []
    for n in range(1, len(ranked) + 1):
        chosen = [pair for pair, _ in ranked[:n]]
        forgiven.append({"forgiven": ["/".join(p) for p in chosen],
                         "accuracy": forgiven_accuracy(pairs, chosen)})
    ned = sum(Levenshtein.normalized_distance(t, p) for t, p in pairs) / len(pairs)
    return {
        "n": len(pairs),
        "exact_match": sum(t == p for t, p in pairs) / len(pairs),
        "norm_edit_distance": ned,
        "confusions": [{"pair": "/".join(p), "count": c} for p, c in ranked],
        "forgiven_cumulative": forgiven,
    }
