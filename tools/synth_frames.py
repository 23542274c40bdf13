"""Generate synthetic challenge-like video frames (thin CLI over synth.frames.generate).

Example: python tools/synth_frames.py --out data/demo --videos 50
Writes <out>/train/, <out>/test/, train_labels.txt, test_labels.txt and boxes.json.
"""
import argparse
import json
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from synth.backgrounds import list_photos  # noqa: E402
from synth.fonts import DEFAULT_FONT_ROOT, LATIN_FACES  # noqa: E402
from synth.frames import DOMAINS, ID_MODES, SynthConfig, generate  # noqa: E402


def _size(text):
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 360x640, got {text!r}")
    return (w, h)


def _count_or_fraction(text):
    value = float(text)
    return value if value < 1 else int(value)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults and keep the description's line breaks."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--videos", type=int, default=50, help="number of videos (train + test)")
    parser.add_argument("--seed", type=int, default=0, help="same seed => byte-identical output")
    parser.add_argument("--test-videos", type=_count_or_fraction, default=0.2,
                        help="videos that go to test/ (at 1/--test-scale resolution): a count "
                             ">= 1 or a fraction < 1; no video is in both splits")
    parser.add_argument("--frames-min", type=int, default=3, help="fewest frames per video")
    parser.add_argument("--frames-max", type=int, default=10, help="most frames per video (<= 10)")
    parser.add_argument("--id-mode", choices=ID_MODES, default="frame",
                        help="'frame': every frame its own random ID (the challenge); "
                             "'video': one ID per video (real watermarks)")
    parser.add_argument("--id-min-len", type=int, default=8, help="shortest ID")
    parser.add_argument("--id-max-len", type=int, default=15, help="longest ID")
    parser.add_argument("--train-size", type=_size, default="360x640",
                        help="WIDTHxHEIGHT of a portrait train frame; landscape frames swap it")
    parser.add_argument("--portrait-fraction", type=float, default=0.75,
                        help="share of portrait videos (the rest are landscape)")
    parser.add_argument("--test-scale", type=float, default=1.7,
                        help="test frames are the train size divided by this")
    parser.add_argument("--fonts", default=",".join(LATIN_FACES),
                        help="comma-separated Latin faces for ':' and the ID, from: "
                             + ", ".join(LATIN_FACES))
    parser.add_argument("--domain", choices=DOMAINS, default="demo",
                        help="'heldout': only the font families and scene bases the "
                             "recogniser never trains on (the unseen-domain test); 'wild': "
                             "frames of any size (short side 144-1080 px, 9:16, 16:9, 1:1), "
                             "busy textures, the training faces; 'wild_heldout': other aspect "
                             "ratios, held-out faces and textures (the wild benchmark). All but "
                             "'demo' ignore --fonts, and 'wild*' ignore --train-size/--test-scale "
                             "(both splits follow the wild sizes)")
    parser.add_argument("--font-root", default=str(DEFAULT_FONT_ROOT),
                        help="folder holding liberation/, dejavu/, freefont/, wqy/ font files")
    parser.add_argument("--photos", default=None,
                        help="folder of your own background photos (searched recursively)")
    parser.add_argument("--photo-prob", type=float, default=0.5,
                        help="share of videos drawn on one of --photos")
    parser.add_argument("--no-bundled-photos", action="store_true",
                        help="never use the photo shipped by matplotlib as a background")
    parser.add_argument("--logo-prob", type=float, default=0.5,
                        help="share of videos whose watermark has the '♪抖音' logo line")
    parser.add_argument("--caption-prob", type=float, default=0.5,
                        help="share of videos with burned-in captions (distractor text)")
    parser.add_argument("--corner-jump", type=float, default=0.25,
                        help="share of frames whose mark is in the opposite corner")
    parser.add_argument("--flat-scenes", action="store_true",
                        help="the same frames with one flat grey behind the mark instead of a "
                             "scene (what backgrounds cost the reader: make bench-flat)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes rendering videos in parallel (output does not change)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier output in --out (refused otherwise)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        config = SynthConfig(
            train_size=args.train_size, portrait_fraction=args.portrait_fraction,
            test_scale=args.test_scale, frames_min=args.frames_min, frames_max=args.frames_max,
            id_mode=args.id_mode, id_min_len=args.id_min_len, id_max_len=args.id_max_len,
            latin_fonts=tuple(n.strip() for n in args.fonts.split(",") if n.strip()),
            font_root=args.font_root, photos=tuple(list_photos(args.photos)) if args.photos else (),
            photo_prob=args.photo_prob, bundled_photos=not args.no_bundled_photos,
            logo_prob=args.logo_prob, caption_prob=args.caption_prob, corner_jump=args.corner_jump,
            domain=args.domain, flat_scenes=args.flat_scenes)
        summary = generate(args.out, videos=args.videos, seed=args.seed,
                           test_videos=args.test_videos, workers=args.workers,
                           config=config, overwrite=args.overwrite)
    except (OSError, ValueError) as error:  # missing font/photo folder, existing output, bad knob
        sys.exit(f"synth_frames: {error}")
    summary.pop("config")
    print(json.dumps(summary))


if __name__ == "__main__":
    run_tool(main)
