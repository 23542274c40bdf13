"""The one place a command line becomes an `IdReader`: the `--loc-config / --loc-opt /
--model` arguments that `tools/read_ids.py` and `tools/bench.py` share, and the reader
they assemble from them (the localiser is loaded, never trained, on this path). With no
`--model` and the default `--loc-config`, it reads with the released models."""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import torch

from localization.config import load_config, parse_overrides
from localization.locator_factory import load_locator
from pipeline.read_ids import IdReader
from ppocr_ext.posteriors import load_recognizer
from ppocr_ext.rec_config import PROJECT_ROOT
from ppocr_ext.released import released_reading

DEFAULT_LOC_CONFIG = "configs/loc/ddt.yml"
# the released localiser (models/loc_ddt, trained by `make localize` on the demo's frames)
# cutting the ID line the released recogniser reads
RELEASED_LOC_OPTS = [f"model.checkpoint={PROJECT_ROOT / 'models' / 'loc_ddt' / 'strip_ddt.pt'}",
                     "output.id_line=true"]


def recogniser_name(model: list[str] | None) -> str:
    """How a report names the recogniser of `--model`: its paths, or `released (the form
    read here)`."""
    if model:
        return " ".join(model)
    paths, bf16 = released_reading()
    form = " ".join(str(Path(path).relative_to(PROJECT_ROOT)) for path in paths)
    return f"released ({form}{', bf16 autocast' if bf16 else ''})"


def add_reader_arguments(parser: argparse.ArgumentParser, threads: int = 2) -> argparse.ArgumentParser:
    """`--loc-config`, `--loc-opt`, `--model`, `--scales`, `--k`, `--no-restore` and
    `--threads` (default `threads`; 0: torch's default)."""
    parser.add_argument("--loc-config", default=DEFAULT_LOC_CONFIG,
                        help="localiser config; its trained checkpoints are loaded (never "
                             "trained here: run tools/localize.py first)")
    parser.add_argument("--loc-opt", nargs="*", default=[],
                        help="localiser overrides key=value; with the default --loc-config they "
                             f"apply after {' '.join(RELEASED_LOC_OPTS)} (the released localiser)")
    parser.add_argument("--model", nargs="+", metavar="PATH",
                        help="recogniser: CONFIG.yml WEIGHTS.pth, or one MODEL.onnx (none: the released "
                             "models/svtr_tiny_synth, its float16 weights under bf16 autocast on "
                             "a CPU with native bf16, model.int8.onnx elsewhere; "
                             "ppocr_ext/released.py)")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0],
                        help="multi-scale testing: also read crops with margins scaled by these "
                             "and fuse the readings (e.g. 1 0.9 1.15; pipeline/multiscale.py)")
    parser.add_argument("--k", type=int, default=3, help="alternatives per frame")
    parser.add_argument("--no-restore", dest="restore", action="store_false",
                        help="read frames as they are: no salt-and-pepper removal or grain "
                             "smoothing where a frame carries them (common/restore.py)")
    parser.add_argument("--threads", type=int, default=threads,
                        help="torch threads (0: torch's default)")
    return parser


def build_reader(args: argparse.Namespace, batch_size: int = 64, bf16: bool = False) -> IdReader:
    """The localiser of `--loc-config/--loc-opt` and the recogniser of `--model` (the
    released one when absent), with `--threads` torch threads (0: leave torch's setting)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    return assemble_reader(args.loc_config, args.loc_opt, args.model, k=args.k,
                           batch_size=batch_size, bf16=bf16, scales=args.scales,
                           restore=args.restore)


def assemble_reader(loc_config: str = DEFAULT_LOC_CONFIG, loc_opts: list[str] = (),
                    model: list[str] | None = None, k: int = 3, batch_size: int = 64,
                    bf16: bool = False, scales: tuple[float, ...] = (1.0,),
                    restore: bool = True) -> IdReader:
    """An `IdReader`; with no arguments, the released localiser and recogniser
    (`assemble_reader().read_folder("frames/")`)."""
    released = RELEASED_LOC_OPTS if loc_config == DEFAULT_LOC_CONFIG else []
    train_command = shlex.join(["python", "tools/localize.py", "-c", loc_config,
                                *(["-o", *loc_opts] if loc_opts else [])])
    locator = load_locator(load_config(loc_config, parse_overrides([*released, *loc_opts])),
                           train_command=train_command)
    if not model:   # the released recogniser, in its fastest form here (ppocr_ext.released)
        model, released_bf16 = released_reading()
        bf16 = bf16 or released_bf16
    recognizer = load_recognizer(model, bf16=bf16)
    return IdReader(locator, recognizer, k=k, batch_size=batch_size, scales=scales,
                    restore=restore)
