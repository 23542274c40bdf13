"""`tools/export_onnx.py`: export a trained CTC recogniser and/or the localiser's
networks to ONNX, and check onnxruntime against torch. It knows both stages, so it
lives here (`ppocr_ext.onnx_export` and `localization.onnx_export` do the exports).
"""
from __future__ import annotations

import argparse

from common.config import ConfigError, flatten_overrides
from common.onnx_io import OPSET, OnnxExportError, quantize_int8
from localization.onnx_export import check_localizer, export_localizer, load_localizer_checkpoints
from ppocr_ext.onnx_export import check_crops, compare, export_recognizer
from ppocr_ext.posteriors import load_onnx_recognizer, load_torch_recognizer


# the recogniser's export (--weights, --out, --check-crops), then the localiser's
PATH_OPTIONS = (
    ("--weights", "recogniser weights, e.g. best.pth"),
    ("--out", "recogniser output file, e.g. output/rec/model.onnx"),
    ("--check-crops", "folder or LMDB of crops to compare torch and ONNX on (default: 16 "
                      "random images)"),
    ("--loc-classifier", "localisation checkpoint (strip classifier + DDT), the localization "
                         "config's model.checkpoint"),
    ("--loc-regressor", "PSOL box regressor checkpoint (psol.checkpoint)"),
    ("--loc-out", "folder for strip_classifier.onnx / box_regressor.onnx"),
)


def export_onnx_main(argv: list[str] | None = None) -> dict:
    """Export a trained CTC recogniser (and/or the localiser's networks) to ONNX and
    check onnxruntime against torch."""
    parser = argparse.ArgumentParser(description=export_onnx_main.__doc__)
    parser.add_argument("-c", "--config", help="recogniser config, e.g. configs/rec/svtr_tiny_cpu.yml")
    parser.add_argument("-o", "--opt", nargs="*", action="append", metavar="KEY=VALUE",
                        help="override recogniser config keys")
    for flag, meaning in PATH_OPTIONS:
        parser.add_argument(flag, help=meaning)
    parser.add_argument("--opset", type=int, default=OPSET)
    parser.add_argument("--int8", action="store_true",
                        help="also write the recogniser quantised to int8 beside --out "
                             "(NAME.int8.onnx: a third of the size, ~1.3x faster on CPU)")
    args = parser.parse_args(argv)
    recogniser = [args.config, args.weights, args.out]
    if any(recogniser) and not all(recogniser):
        parser.error("a recogniser export needs -c CONFIG, --weights and --out")
    if bool(args.loc_classifier) != bool(args.loc_out):
        parser.error("a localiser export needs --loc-classifier and --loc-out")
    if not any(recogniser) and not args.loc_classifier:
        parser.error("nothing to export: give -c/--weights/--out and/or --loc-classifier/--loc-out")
    result = {}
    try:
        if all(recogniser):
            torch_recognizer = load_torch_recognizer(args.config, args.weights,
                                                     flatten_overrides(args.opt))
            path = export_recognizer(torch_recognizer, args.out, args.opset)
            crops = check_crops(args.check_crops)
            result = compare(torch_recognizer, load_onnx_recognizer(path), crops)
            print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
            print(f"torch vs onnxruntime on {result['crops']} crops: same string on "
                  f"{result['same_strings']}, largest posterior difference "
                  f"{result['max_abs_diff']:.2e}")
            if args.int8:
                int8 = quantize_int8(path, path.with_suffix(".int8.onnx"))
                result["int8"] = compare(torch_recognizer, load_onnx_recognizer(int8), crops)
                print(f"wrote {int8} ({int8.stat().st_size / 1e6:.1f} MB); torch vs int8 on "
                      f"{result['int8']['crops']} crops: same string on "
                      f"{result['int8']['same_strings']}")
        if args.loc_classifier:
            classifier, projection, regressor, work, line_head = load_localizer_checkpoints(
                args.loc_classifier, args.loc_regressor)
            paths = export_localizer(classifier, projection, args.loc_out, regressor, work,
                                     args.opset, line_head)
            result["localizer_max_abs_diff"] = check_localizer(
                paths, classifier, projection, regressor, work["strip_height"], line_head)
            print(f"wrote {', '.join(map(str, paths))}; torch vs onnxruntime: largest "
                  f"relative difference {result['localizer_max_abs_diff']:.2e}")
    except (ConfigError, OnnxExportError, OSError) as err:
        raise SystemExit(f"error: {err}") from err
    if result.get("localizer_max_abs_diff", 0.0) > 1e-3:
        raise SystemExit("error: the exported localiser differs from torch")
    if result.get("differing"):
        raise SystemExit(f"error: ONNX reads differ from torch: {result['differing'][:5]}")
    return result
