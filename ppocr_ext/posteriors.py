"""Per-crop CTC posteriors, one interface for a torch recogniser and its ONNX export.

Pseudo-labelling, ensembles, per-video consensus and deployment all need more than the
engine's (text, confidence): they need the (T, C) softmax posteriors of each crop
(blank in column 0, `charset[i]` in column i + 1). `PosteriorRecognizer` gives them:

    recognizer = load_torch_recognizer("configs/rec/svtr_tiny_cpu.yml", "best.pth")
    probs = recognizer(crops)          # (N, T, C) float32; crops = encoded bytes or
                                       # OpenCV BGR uint8 arrays, mixed freely
    recognizer.charset                 # the dictionary, in column order

`load_onnx_recognizer(path)` returns the same interface backed by onnxruntime, for a
file written by `ppocr_ext.onnx_export.export_recognizer` (it needs no config, no .pth).
Both preprocess through one `CropPreprocessor` built from the same
`inference_spec` (the config's Eval pipeline without its label steps, as evaluation
saw it), which the ONNX file carries in its metadata; arrays go through a lossless PNG
round trip so they follow exactly the path of image files.

Only CTC recognisers have posteriors in this sense; attention decoders (SAR) emit
per-step distributions of another meaning and are refused with a clear error.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import cv2
import numpy as np
import torch
from tqdm import tqdm

from common.images import CROP_LIMITS, BadImage, check_encoded
from common.labels import LabelFileError, format_problems, read_label_file
from common.lmdb_io import is_lmdb, iter_lmdb, lmdb_names
from common.onnx_io import OnnxExportError
from ppocr_ext.engine import fused_attention, infer_forward, load_engine
from ppocr_ext.rec_config import ConfigError, load_config
from ppocr_ext.rec_infer import Recognizer, list_images

LOG = logging.getLogger(__name__)
Crop = Union[bytes, np.ndarray]
CTC_POSTPROCESS = "CTCLabelDecode"
# Global keys that name files on the machine that trained: never part of an export.
MACHINE_PATH_KEYS = frozenset({"character_dict_path", "pretrained_model", "checkpoints",
                                "output_dir", "save_res_path", "infer_img"})
# An exported recogniser's metadata keys and tensor names: files exported before the
# code moved out of `ppocr_ext.onnx_export` carry the same keys, so they keep loading.
SPEC_KEY = "ppocr_ext.inference_spec"
SOURCE_KEY = "ppocr_ext.source"
INPUT_NAME, OUTPUT_NAME = "image", "probs"


# ------------------------------------------------------------------ preprocessing

def require_ctc(cfg: dict) -> None:
    if cfg["PostProcess"]["name"] != CTC_POSTPROCESS:
        raise ConfigError(f"{cfg.get('filename', 'config')}: posteriors need a CTC recogniser "
                          f"(PostProcess {CTC_POSTPROCESS}), this one uses "
                          f"{cfg['PostProcess']['name']}")


def inference_spec(cfg: dict, charset: Sequence[str]) -> dict:
    """What a deployed recogniser needs besides its weights, as plain JSON data."""
    require_ctc(cfg)
    steps = [op for op in cfg["Eval"]["dataset"]["transforms"]
             if not next(iter(op)).endswith("LabelEncode") and next(iter(op)) != "KeepKeys"]
    if not steps or not next(iter(steps[0])).startswith("Decode"):
        raise ConfigError(f"{cfg.get('filename', 'config')}: Eval.dataset.transforms must "
                          "start with a Decode step (e.g. DecodeImage)")
    scalars = {key: value for key, value in cfg["Global"].items()
               if key not in MACHINE_PATH_KEYS
               and (value is None or isinstance(value, (str, int, float, bool)))}
    return {"algorithm": cfg["Architecture"]["algorithm"], "charset": list(charset),
            "steps": steps, "global": scalars, "config": cfg.get("filename")}


class CropPreprocessor:
    """Crop -> (CHW float32 image, valid ratio), exactly as the Eval pipeline does."""

    def __init__(self, spec: dict):
        load_engine()
        from openrec.preprocess import create_operators
        self.decode = create_operators(spec["steps"][:1], spec["global"])[0]
        self.steps = create_operators(spec["steps"][1:], spec["global"])

    def __call__(self, crop: Crop) -> tuple[np.ndarray, float]:
        """An encoded crop (a user's file) is checked against CROP_LIMITS first; an array
        (the pipeline's own cut) is not: its pixels already exist, and the localiser's
        line on a frame under salt-and-pepper noise can be 46:1 (367x8 on a 376-pixel
        frame), which the recogniser's resize reads like any other line."""
        if isinstance(crop, np.ndarray):
            ok, encoded = cv2.imencode(".png", crop) if crop.size else (False, None)
            if not ok:
                raise BadImage(f"array of shape {crop.shape} is not an image")
            crop = encoded.tobytes()
        elif not isinstance(crop, (bytes, bytearray)) or len(crop) == 0:
            raise BadImage("empty or not encoded image bytes")
        else:
            check_encoded(bytes(crop), CROP_LIMITS)
        try:
            data = self.decode({"image": bytes(crop)})
        except (AssertionError, TypeError, ValueError, cv2.error) as err:
            raise BadImage("cannot be decoded (empty or corrupt)") from err
        if not isinstance(data["image"], np.ndarray) or data["image"].size == 0:
            raise BadImage("cannot be decoded (corrupt or not an image)")
        for op in self.steps:
            data = op(data)
        return data["image"].astype(np.float32), float(data.get("valid_ratio", 1.0))


def stack_batch(prepared: Sequence[tuple[np.ndarray, float]]) -> tuple[np.ndarray, np.ndarray]:
    """NCHW batch (zero-padded to the largest image) and the valid ratios."""
    height = max(image.shape[-2] for image, _ in prepared)
    width = max(image.shape[-1] for image, _ in prepared)
    batch = np.zeros((len(prepared), prepared[0][0].shape[0], height, width), np.float32)
    for index, (image, _) in enumerate(prepared):
        batch[index, :, :image.shape[-2], :image.shape[-1]] = image
    return batch, np.array([ratio for _, ratio in prepared], np.float32)


# ------------------------------------------------------------------ recognisers

class PosteriorRecognizer:
    """Crops -> (N, T, C) CTC posteriors. Subclasses implement `_forward`."""

    def __init__(self, spec: dict, name: str):
        self.spec = spec
        self.charset: list[str] = list(spec["charset"])
        self.name = name
        self.preprocess = CropPreprocessor(spec)

    def prepare(self, crop: Crop) -> tuple[np.ndarray, float]:
        """Preprocess one crop; `BadImage` if it cannot be decoded."""
        return self.preprocess(crop)

    def forward(self, prepared: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
        """Posteriors of already prepared crops."""
        batch, ratios = stack_batch(prepared)
        return self._forward(batch, ratios)

    def posteriors(self, crops: Sequence[Crop], batch_size: int = 64) -> np.ndarray:
        """(N, T, C) float32 softmax posteriors of `crops`, blank in column 0.
        Raises `BadImage` naming the index of the first crop that cannot be decoded."""
        if len(crops) == 0:
            return np.zeros((0, 0, len(self.charset) + 1), np.float32)
        outputs = []
        for first in range(0, len(crops), batch_size):
            prepared = []
            for index, crop in enumerate(crops[first:first + batch_size], start=first):
                try:
                    prepared.append(self.prepare(crop))
                except BadImage as err:
                    raise BadImage(f"crop {index}: {err}") from err
            outputs.append(self.forward(prepared))
        return np.concatenate(outputs)

    __call__ = posteriors

    def _forward(self, batch: np.ndarray, ratios: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class TorchPosteriors(PosteriorRecognizer):
    """A trained CTC recogniser run by torch (`bf16`: bfloat16 autocast)."""

    def __init__(self, cfg: dict, bf16: bool = False):
        require_ctc(cfg)   # before building what may be a large network
        self.recognizer = Recognizer(cfg, bf16=bf16)   # builds the model, loads weights
        charset = self.recognizer.post_process.character[1:]
        super().__init__(inference_spec(cfg, charset), name=str(self.recognizer.weights))
        self.model = self.recognizer.model
        self.device = self.recognizer.device
        self.bf16 = bf16

    @torch.inference_mode()
    def _forward(self, batch: np.ndarray, ratios: np.ndarray) -> np.ndarray:
        """With SVTR's fused attention, as `tools/infer_rec.py` reads (ppocr_ext.engine)."""
        images = torch.from_numpy(batch).to(self.device)
        valid = torch.from_numpy(ratios).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16), fused_attention():
            probs = infer_forward(self.model, images, valid, self.spec["algorithm"])
        return probs.float().cpu().numpy()


def load_torch_recognizer(config: str | os.PathLike, weights: str | os.PathLike,
                          overrides: Sequence[str] = (), bf16: bool = False) -> TorchPosteriors:
    """A config + trained weights (`best.pth`) as a `PosteriorRecognizer`."""
    cfg = load_config(config, overrides)
    if not Path(weights).is_file():
        raise ConfigError(f"{weights}: weights file not found")
    cfg["Global"]["pretrained_model"] = str(Path(weights).resolve())
    cfg["Global"]["checkpoints"] = None
    if not isinstance(cfg.get("Eval"), dict):
        raise ConfigError(f"{config}: needs an Eval section (its transforms define inference)")
    return TorchPosteriors(cfg, bf16=bf16)


class OnnxPosteriors(PosteriorRecognizer):
    """An exported recogniser run by onnxruntime; same interface as TorchPosteriors.
    `threads`: onnxruntime's intra-op threads (default: its own choice)."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        import onnxruntime as ort   # an optional back end: loaded only when asked for

        path = Path(path)
        if not path.is_file():
            raise OnnxExportError(f"{path}: ONNX file not found")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options,
                                                providers=ort.get_available_providers())
        except Exception as err:   # onnxruntime raises its own exception types
            raise OnnxExportError(f"{path}: onnxruntime cannot load it ({err})") from err
        metadata = self.session.get_modelmeta().custom_metadata_map
        if SPEC_KEY not in metadata:
            raise OnnxExportError(f"{path}: no '{SPEC_KEY}' metadata; export recognisers "
                                  "with tools/export_onnx.py")
        super().__init__(json.loads(metadata[SPEC_KEY]), name=str(path))
        self.source = json.loads(metadata.get(SOURCE_KEY, "{}"))

    def _forward(self, batch: np.ndarray, ratios: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]


def load_onnx_recognizer(path: str | os.PathLike, threads: int | None = None) -> OnnxPosteriors:
    """An exported `.onnx` recogniser as a `PosteriorRecognizer` (call it on crops)."""
    return OnnxPosteriors(path, threads)


def load_recognizer(model: Sequence[str], bf16: bool = False) -> PosteriorRecognizer:
    """From a command line's `--model`: `CONFIG WEIGHTS` (torch) or `MODEL.onnx`."""
    if len(model) == 1 and str(model[0]).endswith(".onnx"):
        return load_onnx_recognizer(model[0])
    if len(model) == 2:
        return load_torch_recognizer(model[0], model[1], bf16=bf16)
    raise ConfigError(f"--model {' '.join(map(str, model))}: give CONFIG.yml WEIGHTS.pth "
                      "or one MODEL.onnx")


# ------------------------------------------------------------------ crop sources

@dataclass(frozen=True)
class CropSample:
    """One crop: its name (file name, or `lmdb:<index>`), encoded bytes, label if any."""

    name: str
    data: bytes
    label: str | None


UNNAMED = "lmdb:"   # name prefix of crops from an LMDB that stores no file names


def read_crops(source: str | os.PathLike, label_file: str | os.PathLike | None = None,
               charset: Sequence[str] = ()) -> list[CropSample]:
    """Crops of an LMDB (labels from the LMDB; names as stored by our writer, else
    `lmdb:<index>`, which cannot be grouped by video) or of an image folder (labels from
    `label_file` when given; images without a row get label None)."""
    source = Path(source)
    if is_lmdb(source):
        if label_file is not None:
            raise ConfigError(f"{source}: an LMDB carries its own labels; drop --labels")
        samples = list(iter_lmdb(source))
        names = lmdb_names(source) or [f"{UNNAMED}{index:09d}" for index in range(1, len(samples) + 1)]
        return [CropSample(name, image, label) for name, (image, label) in zip(names, samples)]
    if not source.exists():
        raise ConfigError(f"{source}: no such folder, image or LMDB")
    paths, _ = list_images(source)
    labels: dict[str, str] = {}
    if label_file is not None:
        entries, problems = read_label_file(label_file, charset)
        if problems:
            raise LabelFileError(format_problems(f"{label_file}: bad rows", problems))
        labels = {entry.name: entry.label for entry in entries}
        missing = sorted(set(labels) - {path.name for path in paths})
        if missing:
            LOG.warning("%s: %d labelled images are not in %s (e.g. %s)", label_file,
                        len(missing), source, ", ".join(missing[:3]))
    return [CropSample(path.name, path.read_bytes(), labels.get(path.name)) for path in paths]


@dataclass
class SampleRun:
    """Posteriors of the crops that could be read (`indexes` into the sample list) and
    the crops that were skipped, by name and reason."""

    indexes: list[int]
    probs: np.ndarray
    skipped: list[dict]


def run_samples(recognizer: PosteriorRecognizer, samples: Sequence[CropSample],
                batch_size: int = 64, desc: str = "reading") -> SampleRun:
    """Posteriors of every readable sample; one bad image never stops a set."""
    indexes, outputs, skipped = [], [], []
    for first in tqdm(range(0, len(samples), batch_size), desc=desc, unit="batch",
                      disable=len(samples) <= batch_size):
        prepared = []
        for index in range(first, min(first + batch_size, len(samples))):
            try:
                prepared.append(recognizer.prepare(samples[index].data))
                indexes.append(index)
            except BadImage as err:
                LOG.warning("skipped %s: %s", samples[index].name, err)
                skipped.append({"name": samples[index].name, "reason": str(err)})
        if prepared:
            outputs.append(recognizer.forward(prepared))
    probs = np.concatenate(outputs) if outputs else \
        np.zeros((0, 0, len(recognizer.charset) + 1), np.float32)
    return SampleRun(indexes, probs, skipped)
