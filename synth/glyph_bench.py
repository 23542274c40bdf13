"""The glyph-ambiguity benchmark (`make bench-glyphs` -> bench/glyphs.md): for each of the
demo generator's faces and ID sizes, the nearest-template observer of
`synth.glyph_ambiguity` under each screenshot chain, its confusions and the exact-match
ceiling that follows. The faces are weighted as the generator draws them and the sizes as
its frames get them (the mark's size is a uniform share of the frame's short side).
"""
from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.atomic import atomic_write_text
from common.command import command_line, report_file
from common.hardware import describe_machine, machine
from synth.fonts import FontSet
from synth.frames import SynthConfig, domain_fonts
from synth.glyph_ambiguity import (CONDITIONS, OBSERVABLE, GlyphRenderer, exact_ceiling, observe_corrupted,
                                   top_confusions)
from synth.ids import ID_ALPHABET
from synth.watermark import SIZE_OF_SHORT_SIDE


def size_weights(short_side: int, least: float = 0.0) -> dict[int, float]:
    """P(size) of the generator's `round(short_side * U(SIZE_OF_SHORT_SIDE))`, leaving out
    sizes drawn less often than `least` (the rest renormalised)."""
    low, high = (short_side * share for share in SIZE_OF_SHORT_SIDE)
    weights = {}
    for size in range(int(np.floor(low)), int(np.ceil(high)) + 1):
        overlap = min(high, size + 0.5) - max(low, size - 0.5)
        if overlap > 0:
            weights[max(6, size)] = weights.get(max(6, size), 0.0) + overlap / (high - low)
    kept = {size: w for size, w in weights.items() if w >= least}
    return {size: w / sum(kept.values()) for size, w in kept.items()}


def face_names(fonts: FontSet) -> list[str]:
    """A name per Latin face: the face's own, or its file's stem where a family has several."""
    names = [face.name for face, _ in fonts.latin]
    return names if len(set(names)) == len(names) else [Path(path).stem for _, path in fonts.latin]


def measure(conditions: list[str], contexts: int, observations: int, least_size_share: float,
            seed: int, domain: str = "demo", corruptions: tuple[str, ...] = (), severity: float = 2) -> dict:
    """The observer's confusion counts for every (condition, face, size), as the chain
    leaves the glyphs (corruption None) and under each of `corruptions` at `severity`."""
    fonts = domain_fonts(domain)
    sizes = size_weights(min(SynthConfig().train_size), least_size_share)
    names = face_names(fonts)
    face_weights = dict(zip(names, fonts.latin_weights()))
    renderers = {(name, size): GlyphRenderer(path, size, face.index)
                 for name, (face, path) in zip(names, fonts.latin) for size in sizes}
    rng = np.random.default_rng(seed)
    rows = []
    for name in tqdm(conditions, desc="conditions"):
        for (face, size), renderer in tqdm(renderers.items(), desc=name, unit="face x size", leave=False):
            for corruption, counts in observe_corrupted(renderer, CONDITIONS[name], rng, corruptions,
                                                        severity, contexts, observations).items():
                rows.append({"condition": name, "corruption": corruption, "face": face, "size": size,
                             "weight": face_weights[face] * sizes[size], "ceiling": exact_ceiling(counts),
                             "confusions": top_confusions(counts), "counts": counts})
    return {"alphabet": ID_ALPHABET, "domain": domain, "rows": rows, "sizes": sizes,
            "face_weights": face_weights}


def summarize(result: dict, condition: str, k: int = 15, corruption: str | None = None) -> dict:
    """The weighted ceiling and the `k` most confused pairs of the weighted counts (each
    row's counts normalised by its observations first), as the chain leaves the glyphs or
    under `corruption`."""
    rows = [r for r in result["rows"] if r["condition"] == condition and r["corruption"] == corruption]
    total = sum(r["weight"] for r in rows)
    pooled = sum(r["counts"] / r["counts"].sum() * r["weight"] / total for r in rows)
    return {"ceiling": sum(r["ceiling"] * r["weight"] for r in rows) / total,
            "symbol_accuracy": float(np.mean(np.diag(pooled) / pooled.sum(axis=1))),
            "confusions": top_confusions(pooled, result["alphabet"], k)}


def misreads(counts: np.ndarray, alphabet: str = ID_ALPHABET) -> dict[str, float]:
    """The off-diagonal counts as {"I>l": n} (truth > read): the JSON's compact confusion table."""
    return {f"{alphabet[i]}>{alphabet[j]}": float(counts[i, j]) for i, j in zip(*np.nonzero(counts))
            if i != j}


def to_markdown(info: dict, result: dict) -> str:
    lines = ["# Which glyphs the low-resolution pixels still tell apart", "",
             f"Command: `{info['command']}`  ", f"Date: {info['date']}  ",
             f"Machine: {describe_machine(info['machine'])}  ",
             f"Faces: the {result['domain']} domain's ({', '.join(f'{f} {w:.2f}' for f, w in result['face_weights'].items())}); "
             f"sizes at train resolution: {', '.join(f'{s} px {w:.2f}' for s, w in result['sizes'].items())} "
             f"(the shares its frames draw); {info['contexts']} contexts x {info['observations']} "
             "observations of each of the 62 symbols per face and size  ", "",
             "The observer (synth/glyph_ambiguity.py) knows the face, the size, both neighbours and the flat "
             "background, not the sub-pixel phase, the JPEG qualities or the kind of shrink; it reads the symbol "
             "of its nearest template over a grid of those. The ceiling is the exact match of a uniform random "
             "8-15-symbol ID at its per-symbol accuracy: a reader that knows less is not expected above it.", ""]
    for name in info["conditions"]:
        summary = summarize(result, name)
        lines += [f"## {CONDITIONS[name].name}", "",
                  f"Exact-match ceiling, weighted over faces and sizes: **{summary['ceiling']:.4f}** "
                  f"(symbol accuracy {summary['symbol_accuracy']:.4f})", "",
                  "Most confused pairs (share of the two symbols' observations read as the other, weighted): "
                  + ", ".join(f"{pair} {rate:.3f}" for pair, rate in summary["confusions"]) + ".", ""]
        if info["corruptions"]:
            lines += corruption_table(result, name, summary["ceiling"], info["severity"])
        lines += ["| face | size | ceiling | its three most confused pairs |", "|---|---|---|---|"]
        for r in (r for r in result["rows"] if r["condition"] == name and r["corruption"] is None):
            lines.append(f"| {r['face']} | {r['size']} | {r['ceiling']:.4f} | "
                         + ", ".join(f"{pair} {rate:.3f}" for pair, rate in r["confusions"]) + " |")
        lines.append("")
    return "\n".join(lines)


def corruption_table(result: dict, condition: str, clean: float, severity: float) -> list[str]:
    """The weighted ceiling under each corruption beside the chain's own (same observations)."""
    lines = [f"Under the robustness catalogue's corruptions at severity {severity:g} (common/corruptions.py), "
             "on the same observations: noise is new for every observation and unknown to the observer; "
             "every other corruption is one draw per context that the observer knows (kernel, direction, "
             "quality, angle), so its loss is what the pixels lose.", "",
             "| corruption | ceiling | drop | symbol accuracy | most confused pairs |", "|---|---|---|---|---|"]
    for corruption in dict.fromkeys(r["corruption"] for r in result["rows"] if r["corruption"]):
        s = summarize(result, condition, 3, corruption)
        lines.append(f"| {corruption} | {s['ceiling']:.4f} | {clean - s['ceiling']:+.4f} | "
                     f"{s['symbol_accuracy']:.4f} | " + ", ".join(f"{p} {r:.3f}" for p, r in s["confusions"]) + " |")
    return lines + [""]


def bench_glyphs_main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS))
    parser.add_argument("--contexts", type=int, default=6, help="random neighbours and backgrounds")
    parser.add_argument("--observations", type=int, default=2, help="draws of each symbol in a context")
    parser.add_argument("--least-size-share", type=float, default=0.02,
                        help="leave out sizes the generator draws less often than this")
    parser.add_argument("--domain", choices=("demo", "heldout"), default="demo",
                        help="the demo generator's faces, or the held-out families of the unseen-domain frames")
    parser.add_argument("--corruptions", nargs="+", default=[], choices=list(OBSERVABLE), metavar="NAME",
                        help="also read under these corruptions of the robustness catalogue: "
                             + ", ".join(OBSERVABLE))
    parser.add_argument("--severity", type=float, default=2.0, help="the corruptions' severity, 1-3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench/glyphs", help="writes OUT.md and OUT.json")
    args = parser.parse_args(argv)
    result = measure(args.conditions, args.contexts, args.observations, args.least_size_share, args.seed,
                     args.domain, tuple(args.corruptions), args.severity)
    info = {"command": command_line("bench_glyphs.py", argv),
            "date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
            "conditions": args.conditions, "contexts": args.contexts, "observations": args.observations,
            "corruptions": args.corruptions, "severity": args.severity}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    summaries = {name: {**summarize(result, name),
                        "corruptions": {c: summarize(result, name, corruption=c) for c in args.corruptions}}
                 for name in args.conditions}
    rows = [{**{k: v for k, v in r.items() if k != "counts"}, "observations_per_symbol": float(r["counts"][0].sum()),
             "misreads": misreads(r["counts"])} for r in result["rows"]]
    atomic_write_text(report_file(out, ".json"),
                      json.dumps({**info, **result, "rows": rows, "summaries": summaries}, indent=1))
    atomic_write_text(report_file(out, ".md"), to_markdown(info, result))
    print(report_file(out, ".md").read_text(encoding="utf-8"))
    return summaries
